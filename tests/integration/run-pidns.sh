#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run as plain root (no sudo, no --unshare): CMD has its own PID
# namespace by default. ps and /proc list only the run's processes; a
# host process that runs as root without capabilities (what another
# run's CMD is) is out of sight, so its /proc/PID/root, the host's
# writable root, cannot be used to write outside the sandbox (old code:
# CMD saw every host pid and wrote through that root). /proc/1 is the
# run's own init, whose root is the sandbox's.
set -euo pipefail
. "$(dirname "$0")/run-lib.sh"
require_cmd setpriv ps
run_setup
O=$(mktemp -d /var/tmp/blast-pidns.XXXXXX)
on_exit rm -rf "$O"

note "a host process as root without capabilities (like a run's CMD)"
setpriv --securebits +noroot,+noroot_locked,+no_setuid_fixup,+no_setuid_fixup_locked \
	--bounding-set -all --inh-caps -all sleep 1000 &
SPID=$!
on_exit kill_pid "$SPID"
poll_until "the capability-less sleep" grep -q '^CapEff:.*0000000000000000$' "/proc/$SPID/status"

note "CMD sees only its own processes"
run_expect 0 run -- sh -c 'ls /proc | grep -c "^[0-9]"'
[ "$OUT" -le 4 ] || die "CMD sees $OUT processes in /proc"
run_expect 0 run -- ps -e -o pid=,comm=
assert_not_contains "$OUT" "sleep" "ps inside: the host's sleep"
[ "$(printf '%s\n' "$OUT" | wc -l)" -le 4 ] || die "ps inside lists: $OUT"
assert_contains "$ERR" "new pid" "run says it made a PID namespace"

note "the host process's root is out of reach"
ctl_run bctl run -- sh -c "echo x >/proc/$SPID/root$O/escaped && echo ESCAPED"
assert_not_contains "$OUT" "ESCAPED" "write through /proc/$SPID/root"
[ ! -e "$O/escaped" ] || die "CMD wrote $O/escaped through /proc/$SPID/root"
ctl_run bctl run -- test -e "/proc/$SPID"
[ "$RC" -ne 0 ] || die "/proc/$SPID (a host pid) exists inside"

note "/proc/1 is the run's init, its root the sandbox's"
run_expect 0 run -- cat /proc/1/comm
[ "$OUT" != "$(cat /proc/1/comm)" ] || die "/proc/1 inside is the host's pid 1 ($OUT)"
ctl_run bctl run -- sh -c "echo x >/proc/1/root$O/escaped1 && echo ESCAPED"
assert_not_contains "$OUT" "ESCAPED" "write through /proc/1/root"
[ ! -e "$O/escaped1" ] || die "CMD wrote $O/escaped1 through /proc/1/root"

note "the exit status still comes through the init"
run_expect 3 run -- sh -c 'exit 3'
run_expect 143 run -- sh -c 'kill -TERM $$'
echo "PASS: $TEST_NAME"
