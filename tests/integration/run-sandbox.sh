#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run: CMD runs in the mounted env (PATH, VIRTUAL_ENV), with its
# exit status (128+N for signal N) and SIGTERM passed on; --memory kills
# an allocation past the limit, --pids stops a (bounded) fork bomb,
# --net none cannot reach a loopback server started outside while
# --net host can, --cpu 0.5 is in the cgroup's settings, the policy's
# res.* keys apply without options, and the cgroup is gone afterwards.
# Bad input and an unmounted env are refused before anything runs.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"
require_fuse
require_python
require_blast
require_root
"$BLAST_TEST_PYTHON" -c 'import ensurepip' 2>/dev/null ||
	skip "$BLAST_TEST_PYTHON lacks ensurepip"
ctl_setup
P=$W/proj
M=$P/.blast
mkdir "$P"

expect() {
	local want=$1
	shift
	ctl_run bctl "$@"
	[ "$RC" -eq "$want" ] || die "blastctl $*: expected exit $want, got $RC: $ERR"
}

note "refused before anything runs"
expect 0 create other --python "$BLAST_TEST_PYTHON"
expect 1 run other -- true
assert_one_error "env 'other' is not mounted"
expect 2 run other true
assert_usage_error
for bad in "--cpu 0" "--cpu x" "--memory 10Q" "--memory 0" "--net bridge" \
	"--unshare pid,user" "--pids 0"; do
	# shellcheck disable=SC2086 # the option and its value
	expect 2 run other $bad -- true
	assert_usage_error
done

on_exit cleanup_mount "$M"
expect 0 start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
PID=$(bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]=="proj"][0])')
on_exit kill_pid "$PID"
cd "$P"

note "the env is active; exit status"
expect 0 run -- python -c 'import os, sys; print(sys.prefix, os.environ["VIRTUAL_ENV"])'
assert_eq "$M $M" "$OUT" "sys.prefix and VIRTUAL_ENV"
assert_contains "$ERR" "network host"
expect 7 run proj -- sh -c 'exit 7'
expect 143 run -- sh -c 'kill -TERM $$'
expect 127 run -- no-such-command-here
assert_contains "$ERR" "cannot run 'no-such-command-here'"

note "--unshare pid,mount,ipc: CMD under a small init, with its own /proc"
expect 0 run --unshare pid,mount,ipc -- sh -c 'echo $$; ls /proc | grep -c "^[0-9]"'
assert_eq "2" "$(head -n1 <<<"$OUT")" "CMD's pid in its namespace"
[ "$(tail -n1 <<<"$OUT")" -le 4 ] || die "the new /proc shows $(tail -n1 <<<"$OUT") processes"
assert_contains "$ERR" "new pid ipc mount namespaces"
expect 3 run --unshare pid -- sh -c 'exit 3'

note "SIGTERM to blastctl reaches CMD"
"$BLASTCTL" --home "$H" run -- python -c '
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: (print("got TERM", flush=True), sys.exit(5)))
open(sys.argv[1], "w").close()
time.sleep(60)' "$P/ready" >"$W/sig.out" 2>/dev/null &
RP=$!
wait_until 120 "the run child to start" test -e "$P/ready"
kill -TERM "$RP"
rc=0
wait "$RP" || rc=$?
assert_eq 5 "$rc" "exit status after a forwarded SIGTERM"
assert_eq "got TERM" "$(cat "$W/sig.out")"
rm -f "$P/ready"
"$BLASTCTL" --home "$H" run --unshare pid -- python -c '
import signal, sys, time
signal.signal(signal.SIGTERM, lambda *a: (print("got TERM", flush=True), sys.exit(6)))
open(sys.argv[1], "w").close()
time.sleep(60)' "$P/ready" >"$W/sig.out" 2>/dev/null &
RP=$!
wait_until 120 "the run child (pid namespace) to start" test -e "$P/ready"
kill -TERM "$RP"
rc=0
wait "$RP" || rc=$?
assert_eq 6 "$rc" "exit status after SIGTERM through the namespace's init"
assert_eq "got TERM" "$(cat "$W/sig.out")"

# The cgroups of this machine, v2 or v1.
cg_usable() {
	[ -e /sys/fs/cgroup/cgroup.controllers ] && return 0
	[ -w /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/pids ] && [ -w /sys/fs/cgroup/cpu ]
}
cg_usable || skip "no writable cgroup v2 or v1 memory/cpu/pids here"

note "--memory: an allocation past the limit dies"
expect 137 run --memory 64M -- python -c 'b = b"x" * (256 << 20); print("allocated")'
assert_not_contains "$OUT" "allocated"
assert_contains "$ERR" "memory 64.0 MiB via cgroup"

note "--pids stops a fork bomb (bounded: 64 forks at most)"
expect 0 run --pids 16 -- python -c '
import os, time
n = 0
for _ in range(64):
    try:
        if os.fork() == 0:
            time.sleep(3); os._exit(0)
        n += 1
    except BlockingIOError:
        break
print(n)'
[ "$OUT" -lt 16 ] || die "--pids 16 let $OUT processes fork"

note "--net none cannot reach a loopback server outside; --net host can"
"$BLAST_TEST_PYTHON" -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"hi"); c.close()' >"$W/port" &
SRV=$!
on_exit kill_pid "$SRV"
wait_until 60 "the server's port" test -s "$W/port"
PORT=$(cat "$W/port")
connect='import socket, sys; print(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).recv(2).decode())'
expect 0 run --net host -- python -c "$connect" "$PORT"
assert_eq hi "$OUT"
expect 1 run --net none -- python -c "$connect" "$PORT"
assert_contains "$ERR" "Network is unreachable"
expect 1 run --net loopback -- python -c "$connect" "$PORT"
assert_contains "$ERR" "Connection refused"

note "--cpu 0.5 is in the cgroup's settings; the cgroup is gone afterwards"
# CMD has its own cgroup namespace: its cgroup is found by name (blastctl
# names it blast-run-ENV-PID) and by the pid cgroup.procs shows CMD
show_cpu='
set -e
top=/sys/fs/cgroup
[ -e $top/cgroup.controllers ] || top=$top/cpu/
# (CMD is in a PID namespace: the cgroup listing its own pid in cgroup.procs)
for d in $(find $top -maxdepth 4 -type d -name "blast-run-proj-*"); do
	grep -qx $$ "$d/cgroup.procs" && break
done
echo "$d"
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	cat "$d/cpu.max"
else
	cat "$d/cpu.cfs_quota_us" "$d/cpu.cfs_period_us" | tr "\n" " "
fi'
expect 0 run --cpu 0.5 -- sh -c "$show_cpu"
cgdir=$(head -n1 <<<"$OUT")
assert_contains "$cgdir" "blast-run-proj-"
assert_contains "$(tail -n1 <<<"$OUT")" "50000 100000"
[ ! -e "$cgdir" ] || die "cgroup $cgdir left behind"

note "the policy's limits apply without options; options override them"
expect 0 policy set res.cpu 0.25
expect 0 policy set res.pids 32
expect 0 run -- sh -c "$show_cpu"
assert_contains "$(tail -n1 <<<"$OUT")" "25000 100000"
assert_contains "$ERR" "cpu 0.25, pids 32 via cgroup"
expect 0 run --cpu 1 -- true
assert_contains "$ERR" "cpu 1, pids 32"
expect 0 policy set net.mode none
expect 1 run -- python -c "$connect" "$PORT"
assert_contains "$ERR" "network none"

note "a running shell placed in the env's limits (blast start) and out (blast kill)"
sleep 120 &
SH=$!
on_exit kill_pid "$SH"
orig=$(cat "/proc/$SH/cgroup")
expect 0 policy enter "$SH"
assert_contains "$ERR" "warning: net.mode none is not applied to a running shell"
assert_contains "$ERR" "pid $SH in env 'proj''s limits via cgroup"
assert_contains "$(cat "/proc/$SH/cgroup")" "blast-env-proj"
expect 0 policy leave "$SH"
assert_eq "$orig" "$(cat "/proc/$SH/cgroup")" "cgroups after leave"
for d in /sys/fs/cgroup/*/blast-env-proj /sys/fs/cgroup/memory/*/*/blast-env-proj; do
	[ ! -e "$d" ] || die "cgroup $d left behind"
done
expect 0 policy leave "$SH"
assert_contains "$ERR" "was not placed in env 'proj''s limits"
expect 2 policy enter notapid
assert_usage_error
expect 1 policy enter 999999999
assert_one_error "no process 999999999"

note "limits this machine cannot apply: clear errors, policy unchanged"
mkdir -p /dev/shm/blast-run-test.$$
on_exit rm -rf "/dev/shm/blast-run-test.$$"
bctl --json policy >"$W/pol.before"
cd "/dev/shm/blast-run-test.$$" # tmpfs: no block device to throttle
expect 1 policy proj set res.io-read 1M
assert_one_error "res.io-read cannot be applied on this machine: "
assert_contains "$ERR" "the current directory is not on a block device, and setrlimit cannot limit io bandwidth"
expect 1 run proj --io-write 1M -- true
assert_one_error "cannot apply the limits"
cd "$P"
bctl --json policy >"$W/pol.after"
assert_file_eq "$W/pol.before" "$W/pol.after" "policy after refused sets"
