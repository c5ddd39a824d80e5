#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# When blastctl run itself is killed (SIGKILL: it cannot clean up), CMD
# dies with it (PR_SET_PDEATHSIG), and the cgroup it leaves behind is
# removed by the next run.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"
ctl_mount_setup
require_root
mkdir "$W/p"
env_start e "$W/p"

gone() { ! _lib_pid_alive "$1"; }
cgroups_of() { find /sys/fs/cgroup -type d -name "blast-run-e-$1" 2>/dev/null | sort; }

"$BLASTCTL" --home "$H" run e --pids 64 -- sh -c 'echo $$ >"$0"; sleep 1000' \
	"$W/p/child.pid" 2>"$W/run.err" &
bpid=$!
on_exit kill_pid "$bpid"
poll_until "the command to start" test -s "$W/p/child.pid"
# CMD's pid outside its PID namespace: the sh whose command line is ours
cpid=$(pgrep -f "^sh -c .* $W/p/child.pid\$")
on_exit kill_pid "$cpid"
cgs=$(cgroups_of "$bpid")

kill -KILL "$bpid"
wait "$bpid" 2>/dev/null || true
poll_until "the command to die with blastctl" gone "$cpid"

if [ -z "$cgs" ]; then
	note "no cgroup for the run ($(cat "$W/run.err")): nothing to sweep"
	exit 0
fi
assert_eq "$cgs" "$(cgroups_of "$bpid")" "the killed run's cgroups, left behind"
ctl_expect 0 run e --pids 64 -- true
assert_eq "" "$(cgroups_of "$bpid")" "the killed run's cgroups after the next run"
exit 0
