#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run, filesystem default deny: CMD sees the host read-only (/,
# /etc, $HOME), a private /tmp (the host's untouched), writable only the
# project, its .blast and the policy's host.writable paths; host.readonly
# paths inside the project are read-only, host.hidden paths and
# $BLAST_HOME (the store, the control sockets) are not to be seen, so
# blastctl inside cannot read or change the env's policy. Bad host.*
# patterns are refused at set time, the policy unchanged.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"
require_fuse
require_python
require_blast
require_root
ctl_setup
P=$W/proj
M=$P/.blast
# a $HOME outside /tmp (whose private copy hides it anyway)
HOME=$(mktemp -d /var/tmp/blast-confine-home.XXXXXX)
on_exit rm -rf "$HOME"
H=$HOME/store # hidden by the rule, not by the private /tmp
mkdir -p "$P"

expect() {
	local want=$1
	shift
	ctl_run bctl "$@"
	[ "$RC" -eq "$want" ] || die "blastctl $*: expected exit $want, got $RC: $ERR"
}

on_exit cleanup_mount "$M"
expect 0 start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
PID=$(bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]=="proj"][0])')
on_exit kill_pid "$PID"
cd "$P"

note "bad host.* patterns: one-line error, nothing changed"
bctl --json policy >"$W/pol.before"
for bad in "relative/path" "/a/../b" "/a/./b" "/a//b" "/a/**/b" "/a/[b" "~user/x" ""; do
	expect 1 policy set host.writable "$bad"
	assert_one_error
done
expect 1 policy set host.hidden /
assert_one_error "cannot be hidden"
bctl --json policy >"$W/pol.after"
assert_file_eq "$W/pol.before" "$W/pol.after" "policy after refused sets"

note "the host's /tmp is untouched; / /etc \$HOME are read-only"
OUTSIDE=/tmp/blast-outside.$$.txt
rm -f "$OUTSIDE"
on_exit rm -f "$OUTSIDE"
expect 0 run proj -- sh -c "echo pwned > $OUTSIDE && cat $OUTSIDE"
assert_eq pwned "$OUT" "the private /tmp works inside"
[ ! -e "$OUTSIDE" ] || die "run wrote the host's /tmp: $(cat "$OUTSIDE")"
assert_contains "$ERR" "host read-only"
for f in /blast-pwned "/etc/blast-pwned" "$HOME/blast-pwned" "$BLAST_TEST_PYTHON.pwned"; do
	expect 1 run -- touch "$f"
	assert_contains "$ERR" "Read-only file system"
	[ ! -e "$f" ] || die "run wrote $f"
done

note "the project and the env's mount are writable"
expect 0 run -- sh -c "echo ok > '$P/in-project' && echo ok > '$M/in-env' && echo ok > in-cwd"
assert_eq ok "$(cat "$P/in-project")"
assert_eq ok "$(cat "$M/in-env")"
assert_eq ok "$(cat "$P/in-cwd")"

note "host.writable, host.readonly, host.hidden"
mkdir -p "$W/out-rw" "$W/out-hidden" "$P/src"
echo secret >"$W/out-hidden/key"
echo keep >"$P/src/file"
expect 1 run -- touch "$W/out-rw/f"
expect 0 policy set host.writable "$W/out-rw" "$W/no-such-dir-*"
expect 0 policy set host.readonly "$P/src"
expect 0 policy set host.hidden "$W/out-hidden"
expect 0 run -- sh -c "echo x > '$W/out-rw/f'"
assert_eq x "$(cat "$W/out-rw/f")"
expect 1 run -- touch "$P/src/file"
assert_contains "$ERR" "Read-only file system"
assert_eq keep "$(cat "$P/src/file")"
expect 1 run -- cat "$W/out-hidden/key"
assert_not_contains "$OUT" "secret"
expect 0 run -- sh -c "ls -A '$W/out-hidden' 2>/dev/null | wc -l"
assert_eq 0 "$OUT" "entries of a hidden directory"
# shellcheck disable=SC2088 # the pattern's ~, expanded by blastctl run
expect 0 policy set host.hidden '~/hidden-in-home'
mkdir -p "$HOME/hidden-in-home"
echo secret >"$HOME/hidden-in-home/key"
expect 1 run -- cat "$HOME/hidden-in-home/key"
expect 0 policy unset host.hidden
expect 0 policy unset host.readonly

note "\$BLAST_HOME is invisible: the store, the control socket, the policy"
[ -S "$H/run/proj.sock" ] || die "no control socket at $H/run/proj.sock"
expect 0 run -- sh -c "ls -A '$H' 2>/dev/null | wc -l"
assert_eq 0 "$OUT" "entries of BLAST_HOME inside"
expect 1 run -- env ASAN_OPTIONS="$INNER_ASAN" "$BLASTCTL" --home "$H" policy proj set fs.hidden x
expect 1 run -- env ASAN_OPTIONS="$INNER_ASAN" "$BLASTCTL" --home "$H" policy proj unset host.writable
bctl --json policy >"$W/pol.now"
assert_not_contains "$(cat "$W/pol.now")" '"fs.hidden"'
assert_contains "$(cat "$W/pol.now")" "out-rw"

note "a symlink planted in the project does not steer a writable bind"
# whoever can write the project (a run without this rule, say) swaps
# the writable directory for a symlink to /etc
ln -s /etc "$P/sub"
expect 0 policy set host.writable "$W/out-rw" "$P/sub"
expect 1 run -- touch /etc/blast-pwned
assert_one_error "host.writable path '$P/sub' goes through a symlink"
[ ! -e /etc/blast-pwned ] || die "a planted symlink made /etc writable"
rm "$P/sub"

note "a minimal /dev: no disks; ptys of its own"
disk=$(find /dev -maxdepth 1 -type b -print -quit)
if [ -n "$disk" ]; then
	expect 1 run -- test -e "$disk"
fi
expect 0 run -- sh -c 'ls /dev | tr "\n" " "'
assert_not_contains "$OUT" "mem "
expect 0 run -- python -c 'import os, pty; m, s = pty.openpty(); print(os.ttyname(s))'
assert_contains "$OUT" "/dev/pts/"
