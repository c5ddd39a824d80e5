#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Activation under policy: with resource limits in the env's policy,
# `blast start` puts the shell itself in the env's cgroup (blast-env-NAME)
# and `blast kill` takes it out again (bash and fish); without limits
# nothing changes and nothing is said.
set -euo pipefail
. "$(dirname "$0")/shell-lib.sh"
require_root
grep -qw pids /proc/self/cgroup 2>/dev/null || grep -q '^0::' /proc/self/cgroup ||
	skip "no pids cgroup controller here"
shell_setup
ctl_expect 0 kill proj
PATH=$(dirname "$BLASTCTL"):$PATH
export PATH

note "without limits: no cgroup, no message"
out=$(bash -c 'cd "$1"; eval "$(blastctl shell-init bash)"; blast start proj 2>/dev/null; echo "rc=$?"; cat /proc/$$/cgroup; blast kill 2>&1 >/dev/null | grep -v "unmounted env" || :' _ "$P" 2>&1) ||
	die "bash: $out"
assert_contains "$out" "rc=0" "start without limits"
assert_not_contains "$out" "blast-env-proj" "no cgroup without limits"
assert_not_contains "$out" "resource limits" "nothing said without limits"

ctl_expect 0 policy proj set res.pids 500
SH_TEST='
cd "$1"
eval "$(blastctl shell-init bash)"
blast start proj 2>/dev/null
echo "start=$?"
echo "in=$(grep -c blast-env-proj /proc/$$/cgroup)"
blast kill 2>/dev/null
echo "kill=$?"
echo "out=$(grep -c blast-env-proj /proc/$$/cgroup)"
'
out=$(bash -c "$SH_TEST" bash "$P" 2>&1) || die "bash: $out"
assert_contains "$out" "start=0" "bash: start with limits"
assert_contains "$out" "in=1" "bash: the shell is in the env's cgroup"
assert_contains "$out" "kill=0" "bash: kill"
assert_contains "$out" "out=0" "bash: the shell left the env's cgroup"

FISH_TEST='
cd $argv[1]
blastctl shell-init fish | source
blast start proj 2>/dev/null
echo "start=$status"
echo "in="(grep -c blast-env-proj /proc/$fish_pid/cgroup)
blast kill 2>/dev/null
echo "kill=$status"
echo "out="(grep -c blast-env-proj /proc/$fish_pid/cgroup)
'
out=$(fish -c "$FISH_TEST" "$P" 2>&1) || die "fish: $out"
assert_contains "$out" "start=0" "fish: start with limits"
assert_contains "$out" "in=1" "fish: the shell is in the env's cgroup"
assert_contains "$out" "out=0" "fish: the shell left the env's cgroup"
ctl_expect 0 policy proj unset res.pids
echo "PASS: $TEST_NAME"
