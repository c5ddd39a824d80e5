#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `blastctl start` refuses, with one clear error line and nothing changed
# (no env created, no directory made, nothing mounted): an invalid name, a
# mountpoint that is a file or a non-empty directory, a missing
# interpreter, a second mount of a mounted env, a mount over another
# env's mount. `kill` of an env that is not mounted is an error. After
# `kill -9` of blastfs the stale mount is cleared by the next start (which
# says so) and by kill, and files closed before the kill are intact.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_fuse
require_python
require_blast
ctl_setup
PY=$BLAST_TEST_PYTHON

# Envs in the store and entries in the workdir: what "nothing changed"
# compares.
snapshot() {
	bctl list --json | "$PY" -c 'import json, sys
print(sorted(e["name"] for e in json.load(sys.stdin)["envs"]))'
	find "$W" -path "$H" -prune -o -path "$W/.out" -o -path "$W/.err" -o -print | sort
}

# refused CODE MSG ARGS...: start ARGS exits CODE with one error line
# containing MSG, and nothing changed.
refused() {
	local code=$1 msg=$2 before
	shift 2
	before=$(snapshot)
	ctl_expect "$code" start "$@"
	if [ "$code" -eq 2 ]; then
		assert_usage_error
		assert_contains "$ERR" "$msg"
	else
		assert_one_error "$msg"
	fi
	assert_eq "$before" "$(snapshot)" "state after refused start $*"
}

pid_of() {
	ctl_expect 0 list --json
	json_get "next(str(e['pid'] or '') for e in j['envs'] if e['name'] == '$1')"
}

start_ok() { # start_ok NAME DIR: mount, register cleanups, set PID
	on_exit cleanup_mount "$2/.blast"
	ctl_expect 0 start "$1" --dir "$2" --python "$PY"
	PID=$(pid_of "$1")
	[ -n "$PID" ] || die "no pid for $1"
	on_exit kill_pid "$PID"
}

mkdir "$W/p"
bctl init >/dev/null

# Names.
refused 2 "invalid env name '.bad'" .bad --dir "$W/p"
refused 2 "invalid env name 'a/b'" a/b --dir "$W/p"
refused 2 "invalid env name" "$(printf 'x%.0s' {1..65})" --dir "$W/p"
mkdir "$W/..."
refused 1 "cannot derive an env name from directory '$W/...'" --dir "$W/..."
refused 1 "cannot use directory '$W/nope'" --dir "$W/nope"

# The mountpoint.
touch "$W/p/.blast"
refused 1 "refusing to mount over '$W/p/.blast': not a directory" e1 --dir "$W/p"
rm "$W/p/.blast"
mkdir "$W/p/.blast"
echo mine >"$W/p/.blast/keep"
refused 1 "refusing to mount over non-empty directory '$W/p/.blast'" e1 --dir "$W/p"
assert_eq mine "$(cat "$W/p/.blast/keep")" "foreign file kept"
rm -r "$W/p/.blast"

# The interpreter.
refused 1 "interpreter '$W/no-python' not found" e1 --dir "$W/p" --python "$W/no-python"
refused 1 "'/bin/true' is not a Python interpreter" e1 --dir "$W/p" --python /bin/true

# A mounted env cannot be mounted again, here or elsewhere, and another
# env cannot go over its mount.
mkdir "$W/a" "$W/b"
start_ok e1 "$W/a"
refused 1 "env 'e1' is already mounted at '$W/a/.blast' (blastfs pid $PID)" e1 --dir "$W/b"
refused 1 "env 'e1' is already mounted at '$W/a/.blast' (blastfs pid $PID)" e1 --dir "$W/a"
refused 1 "refusing to mount over '$W/a/.blast': env 'e1' is mounted there (blastfs pid $PID)" \
	e2 --dir "$W/a" --python "$PY"

# kill of what is not mounted.
ctl_expect 1 kill e2
assert_one_error "no env named 'e2'"
bctl create e2 --python "$PY" 2>/dev/null
ctl_expect 1 kill e2
assert_one_error "env 'e2' is not mounted"
ctl_expect 1 kill "$W/b"
assert_one_error "no env is mounted at '$W/b/.blast'"
ctl_expect 1 kill "$W/nope"
assert_one_error "no env or directory named '$W/nope'"

# kill -9 of blastfs leaves a stale mount: start clears it and says so.
echo "closed before the kill" >"$W/a/.blast/note.txt"
head -c 200000 /dev/urandom >"$W/a/.blast/blob.bin"
cp "$W/a/.blast/blob.bin" "$W/blob.ref"
ctl_expect 0 status e1
kill -KILL "$PID"
kill_pid "$PID"
is_mounted "$W/a/.blast" || die "no stale mount after kill -9"
assert_eq "" "$(pid_of e1)" "list shows no daemon after kill -9"
ctl_expect 1 status e1
assert_one_error "env 'e1' is not mounted"
start_ok e1 "$W/a"
assert_contains "$ERR" "cleared stale mount '$W/a/.blast'" "start clears the stale mount"
assert_eq "closed before the kill" "$(cat "$W/a/.blast/note.txt")" "file closed before kill -9"
cmp "$W/blob.ref" "$W/a/.blast/blob.bin" || die "big file closed before kill -9 differs"

# ... and so does kill, by name and by directory.
kill -KILL "$PID"
kill_pid "$PID"
ctl_expect 0 kill e1
assert_contains "$ERR" "cleared stale mount '$W/a/.blast'" "kill NAME clears a stale mount"
! is_mounted "$W/a/.blast" || die "stale mount left by kill NAME"
start_ok e1 "$W/a"
kill -KILL "$PID"
kill_pid "$PID"
ctl_expect 0 kill "$W/a"
assert_contains "$ERR" "cleared stale mount '$W/a/.blast'" "kill DIR clears a stale mount"
! is_mounted "$W/a/.blast" || die "stale mount left by kill DIR"

ctl_expect 0 check --store
exit 0
