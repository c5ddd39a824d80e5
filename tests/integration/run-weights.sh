#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run's soft knobs: res.cpu-weight / --cpu-weight (cpu.weight,
# v1 cpu.shares), res.memory-soft / --memory-soft (memory.high, v1
# memory.soft_limit_in_bytes), res.io-weight / --io-weight (io.weight,
# v1 blkio weights: refused with the reason where the disks' scheduler
# has none); bad values refused, the policy unchanged. A kill by the
# memory limit and forks refused by the pids limit are said with the
# limit, not a bare exit 137.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"
require_fuse
require_python
require_blast
require_root
ctl_setup
[ -e /sys/fs/cgroup/cgroup.controllers ] ||
	{ [ -w /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/cpu ] && [ -w /sys/fs/cgroup/pids ]; } ||
	skip "no writable cgroup v2 or v1 memory/cpu/pids here"
V2=false
[ -e /sys/fs/cgroup/cgroup.controllers ] && V2=true
P=$W/proj
M=$P/.blast
mkdir -p "$P"

expect() {
	local want=$1
	shift
	ctl_run bctl "$@"
	[ "$RC" -eq "$want" ] || die "blastctl $*: expected exit $want, got $RC: $OUT $ERR"
}

on_exit cleanup_mount "$M"
expect 0 start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
PID=$(bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]=="proj"][0])')
on_exit kill_pid "$PID"
cd "$P"

note "bad values: usage errors, policy unchanged"
for bad in "--cpu-weight 0" "--cpu-weight 10001" "--cpu-weight x" \
	"--io-weight -1" "--memory-soft 0" "--memory-soft 1Q"; do
	# shellcheck disable=SC2086 # the option and its value
	expect 2 run $bad -- true
	assert_usage_error
done
bctl --json policy >"$W/pol.before"
for bad in "res.cpu-weight 0" "res.cpu-weight 1.5" "res.io-weight 20000" "res.memory-soft 1Q"; do
	# shellcheck disable=SC2086
	expect 1 policy set $bad
	assert_one_error
done
bctl --json policy >"$W/pol.after"
assert_file_eq "$W/pol.before" "$W/pol.after" "policy after refused sets"

# cat FILE of controller CTRL's cgroup of the run (found by name and by
# CMD's pid in its cgroup.procs: CMD has its own cgroup and PID namespaces)
show='top=/sys/fs/cgroup; [ -e $top/cgroup.controllers ] || top=$top/$1
for d in $(find $top -maxdepth 4 -type d -name "blast-run-proj-*"); do
	grep -qx $$ "$d/cgroup.procs" && break
done
cat "$d/$2"'

note "cpu weight: the policy's, an option overrides it"
expect 0 policy set res.cpu-weight 50
if $V2; then
	expect 0 run -- sh -c "$show" - cpu cpu.weight
	assert_eq 50 "$OUT"
	expect 0 run --cpu-weight 400 -- sh -c "$show" - cpu cpu.weight
	assert_eq 400 "$OUT"
else
	expect 0 run -- sh -c "$show" - cpu cpu.shares
	assert_eq 512 "$OUT"
	expect 0 run --cpu-weight 400 -- sh -c "$show" - cpu cpu.shares
	assert_eq 4096 "$OUT"
fi
assert_contains "$ERR" "cpu-weight 400"
expect 0 policy unset res.cpu-weight

note "memory soft limit"
if $V2; then
	expect 0 run --memory-soft 32M -- sh -c "$show" - memory memory.high
else
	expect 0 run --memory-soft 32M -- sh -c "$show" - memory memory.soft_limit_in_bytes
fi
assert_eq 33554432 "$OUT"
assert_contains "$ERR" "memory-soft 32.0 MiB"
expect 0 policy set res.memory-soft 64M
expect 0 run --memory 128M -- true
assert_contains "$ERR" "memory 128.0 MiB, memory-soft 64.0 MiB"
expect 0 policy unset res.memory-soft

note "io weight: applied, or refused with the reason"
io_weights() {
	if $V2; then
		[ -n "$(find /sys/fs/cgroup -maxdepth 2 -name io.weight -print -quit)" ]
	else
		[ -e /sys/fs/cgroup/blkio/blkio.bfq.weight ] || [ -e /sys/fs/cgroup/blkio/blkio.weight ]
	fi
}
if io_weights; then
	expect 0 policy set res.io-weight 200
	expect 0 run -- true
	assert_contains "$ERR" "io-weight 200"
else
	expect 1 policy set res.io-weight 200
	assert_one_error "res.io-weight cannot be applied on this machine"
	assert_contains "$ERR" "no IO weights"
	expect 1 run --io-weight 200 -- true
	assert_one_error "cannot apply the limits"
fi

note "an out-of-memory kill is said, with the limit"
expect 137 run --memory 50M -- python -c 'b = b"x" * (300 << 20)'
assert_contains "$ERR" "blastctl: run: killed: out of memory (limit 50.0 MiB)"
expect 137 run --memory 50M --unshare pid -- python -c 'b = b"x" * (300 << 20)'
assert_contains "$ERR" "run: killed: out of memory (limit 50.0 MiB)"
expect 0 run --memory 50M -- true
assert_not_contains "$ERR" "out of memory"

note "forks the pids limit refused are said, with the limit"
expect 1 run --pids 10 -- python -c '
import os, sys, time
for _ in range(40):
    try:
        if os.fork() == 0:
            time.sleep(3); os._exit(0)
    except BlockingIOError:
        sys.exit(1)'
assert_contains "$ERR" "blastctl: run: the pids limit (10) refused"
