#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run passes on the signals a shell would: SIGUSR1, SIGUSR2 and
# SIGWINCH reach CMD (which traps them); SIGTSTP stops CMD and blastctl,
# SIGCONT resumes both; SIGTERM ends CMD, whose exit status blastctl
# returns.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"
ctl_mount_setup
mkdir "$W/p"
env_start e "$W/p"

state() { # state PID: its state letter (R, S, T, ...)
	local s
	s=$(cat "/proc/$1/stat")
	s=${s##*) }
	echo "${s%% *}"
}
logged() { grep -qx "$1" "$W/p/log" 2>/dev/null; }
stopped() { [ "$(state "$1")" == T ]; }
running() { [ "$(state "$1")" != T ]; }

cat >"$W/p/child.sh" <<'SH'
for s in USR1 USR2 WINCH; do
	trap "echo $s >>'$1'" "$s"
done
trap "echo TERM >>'$1'; exit 7" TERM
echo $$ >"$1.pid"
while :; do sleep 0.05; done
SH
# job control: the run gets a process group of its own that is not
# orphaned (the kernel discards SIGTSTP to an orphaned one)
set -m
"$BLASTCTL" --home "$H" run e -- sh "$W/p/child.sh" "$W/p/log" 2>"$W/run.err" &
bpid=$!
set +m
on_exit kill_pid "$bpid"
poll_until "the command to start" test -s "$W/p/log.pid"
# CMD's pid outside its PID namespace
cpid=$(pgrep -f "^sh $W/p/child.sh $W/p/log\$")
on_exit kill_pid "$cpid"

for s in USR1 USR2 WINCH; do
	kill -"$s" "$bpid"
	poll_until "SIG$s to reach the command" logged "$s"
done

kill -TSTP "$bpid"
poll_until "the command to stop" stopped "$cpid"
poll_until "blastctl to stop" stopped "$bpid"
kill -CONT "$bpid"
poll_until "the command to resume" running "$cpid"
poll_until "blastctl to resume" running "$bpid"

kill -TERM "$bpid"
rc=0
wait "$bpid" || rc=$?
assert_eq 7 "$rc" "blastctl's exit status after SIGTERM"
logged TERM || die "SIGTERM did not reach the command"
exit 0
