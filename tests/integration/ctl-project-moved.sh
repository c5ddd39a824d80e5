#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The env follows its project directory. `start` keeps a marker beneath
# the mount (.blast/.blast-env) naming the env and its store, so after
# `kill; mv proj proj-moved; cd proj-moved; start` the same env (files,
# snapshots) is mounted there and its new place recorded. Moved while
# mounted, `kill NAME`, `kill .` and `kill --force NAME` find the mount
# where it is now. `list` shows an env whose project is gone (text and
# --json). A copy of a project (cp -a) is refused, naming both places and
# the fix, which works; so is a directory that only shares the name. A
# marker naming a destroyed env, one of another store, a malformed one
# and one that is a symlink are each handled with one clear line.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_mount_setup
PY=$BLAST_TEST_PYTHON

# Whatever is left mounted under $W, and every daemon of the store.
cleanup_all() {
	local f pid mp
	for f in "$H"/run/*.info; do
		[ -f "$f" ] || continue
		pid=$(sed -n 's/^pid=//p' "$f")
		kill_pid "$pid" 10 || true
	done
	awk '{ print $5 }' /proc/self/mountinfo | { grep "^$W/" || true; } |
		sort -r | while read -r mp; do
		cleanup_mount "$(printf '%b' "$mp")" || true
	done
}
on_exit cleanup_all

# Envs imported from a venv-shaped tree: no Python run, no pip seeding.
"$PY" "$(dirname "$0")/ctl-mktree.py" "$W/tree" >/dev/null
import_env() { bctl import "$1" "$W/tree" >/dev/null 2>&1 || die "import $1"; }

envs() {
	bctl list --json | "$PY" -c 'import json, sys
print(" ".join(sorted(e["name"] for e in json.load(sys.stdin)["envs"])))'
}
# field ENV KEY: ENV's KEY in list --json.
field() {
	bctl list --json | "$PY" -c 'import json, sys
e = [e for e in json.load(sys.stdin)["envs"] if e["name"] == sys.argv[1]][0]
print(e[sys.argv[2]])' "$1" "$2"
}
# start_in DIR [ARGS...]: start (no NAME unless given) in DIR, expect 0.
start_in() {
	local d=$1
	shift
	(cd "$d" && ctl_run bctl start "$@" && echo "$RC" >"$W/.rc")
	OUT=$(cat "$W/.out")
	ERR=$(cat "$W/.err")
	RC=$(cat "$W/.rc")
	[ "$RC" -eq 0 ] || die "start $* in $d: exit $RC: $ERR"
	assert_eq "$d/.blast" "$OUT" "start in $d prints its mountpoint"
	is_mounted "$d/.blast" || die "$d/.blast not mounted"
}
# refused_in DIR MSG [ARGS...]: start in DIR exits 1 with one error line
# containing MSG, and nothing changed (envs, mounts, DIR/.blast).
refused_in() {
	local d=$1 msg=$2 before mounts listing
	shift 2
	before=$(envs)
	mounts=$(grep -cF " $W/" /proc/self/mountinfo || true)
	listing=$(ls -lA "$d/.blast" 2>&1 || true)
	(cd "$d" && ctl_run bctl start "$@" && echo "$RC" >"$W/.rc")
	ERR=$(cat "$W/.err")
	RC=$(cat "$W/.rc")
	[ "$RC" -eq 1 ] || die "start $* in $d: expected exit 1, got $RC: $ERR"
	assert_one_error "$msg"
	assert_eq "$before" "$(envs)" "envs after refused start in $d"
	assert_eq "$mounts" "$(grep -cF " $W/" /proc/self/mountinfo || true)" "mounts after refused start in $d"
	assert_eq "$listing" "$(ls -lA "$d/.blast" 2>&1 || true)" "$d/.blast after refused start"
}
marker_env() { sed -n 's/^env=//p' "$1/.blast/.blast-env"; }

import_env proj
mkdir "$W/proj"
start_in "$W/proj"
echo mine >"$W/proj/.blast/mine.txt"
ctl_expect 0 save proj s1
ctl_expect 0 kill proj
assert_eq proj "$(marker_env "$W/proj")" "the marker names the env"
[ ! -e "$W/proj/.blast/.blast-env.new" ] || die "temporary marker left"

# 1. Moved while unmounted: the same env, its new place recorded.
mv "$W/proj" "$W/proj-moved"
assert_eq "True" "$(field proj project_gone)" "project gone once moved"
ctl_expect 0 list
assert_contains "$OUT" "(project gone: $W/proj)" "list says the project is gone"
start_in "$W/proj-moved"
assert_contains "$ERR" "env 'proj' moved with its project from '$W/proj' to '$W/proj-moved'" "move said"
assert_eq "proj" "$(envs)" "no new env"
assert_eq mine "$(cat "$W/proj-moved/.blast/mine.txt")" "the env's files"
ctl_expect 0 snapshots proj
assert_contains "$OUT" "s1" "the env's snapshots"
assert_eq "$W/proj-moved/.blast" "$(field proj mount)" "new place recorded"
assert_eq "$W/proj-moved" "$(field proj project)" "project"
assert_eq "False" "$(field proj project_gone)" "project not gone"

# 2. Moved while mounted: kill NAME, kill ., kill --force NAME.
mv "$W/proj-moved" "$W/m2"
assert_eq "$W/m2/.blast" "$(field proj mount)" "list: the mount where it is now"
ctl_expect 0 status proj --json
assert_eq "$W/m2/.blast" "$(json_get "j['mount']")" "status: the mount where it is now"
ctl_expect 0 kill proj
is_mounted "$W/m2/.blast" && die "kill NAME left the moved mount"
start_in "$W/m2"
mv "$W/m2" "$W/m3"
(cd "$W/m3" && ctl_run bctl kill . && echo "$RC" >"$W/.rc")
[ "$(cat "$W/.rc")" -eq 0 ] || die "kill . after a move: $(cat "$W/.err")"
is_mounted "$W/m3/.blast" && die "kill . left the moved mount"
start_in "$W/m3"
mv "$W/m3" "$W/m4"
(cd "$W/m4/.blast" && exec sleep 600) &
busy=$!
on_exit kill_pid "$busy"
poll_until "a process inside the mount" test "$(readlink "/proc/$busy/cwd")" == "$W/m4/.blast"
ctl_expect 0 kill --force proj
is_mounted "$W/m4/.blast" && die "kill --force left the moved mount"
kill_pid "$busy"
assert_eq proj "$(marker_env "$W/m4")" "marker kept through the moves"

# 3. A copy is refused, naming both places and the fix; the fix works.
cp -a "$W/m4" "$W/copy"
refused_in "$W/copy" "refusing to share env 'proj' between '$W/m4' and '$W/copy' (a copy of it?): give this one its own env with 'blastctl create copy --from proj' then 'blastctl start copy'"
start_in "$W/m4"
refused_in "$W/copy" "refusing to share env 'proj' between '$W/m4' and '$W/copy' (a copy of it?)"
ctl_expect 0 create copy --from proj
start_in "$W/copy" copy
ctl_expect 0 kill copy
ctl_expect 0 kill proj
assert_eq copy "$(marker_env "$W/copy")" "the copy's own env"
start_in "$W/copy"
assert_eq mine "$(cat "$W/copy/.blast/mine.txt")" "the copy's env is a clone"
ctl_expect 0 kill copy

# 4. A directory that only shares the env's name.
mkdir -p "$W/other/proj"
refused_in "$W/other/proj" "env 'proj' is the env of '$W/m4', not of '$W/other/proj'"

# 5. A marker naming a destroyed env (moved away before destroy).
import_env gone1
import_env d1b
mkdir "$W/d1"
start_in "$W/d1" gone1
ctl_expect 0 kill gone1
mv "$W/d1" "$W/d1b"
ctl_expect 0 destroy gone1
start_in "$W/d1b"
assert_contains "$ERR" "env 'gone1' of directory '$W/d1b' no longer exists (destroyed): the directory is now env 'd1b''s" "destroyed env said"
ctl_expect 0 kill d1b
assert_eq d1b "$(marker_env "$W/d1b")" "marker rewritten"
# destroy removes the marker of its project
ctl_expect 0 destroy d1b
[ ! -e "$W/d1b/.blast/.blast-env" ] || die "destroy left its project's marker"

# 6. A marker of another store.
H2=$W/home2
"$BLASTCTL" --home "$H2" import other "$W/tree" >/dev/null 2>&1
before=$(ls -lA "$W/m4/.blast")
ctl_run "$BLASTCTL" --home "$H2" start --dir "$W/m4"
assert_eq 1 "$RC" "start with another store's marker"
assert_one_error "directory '$W/m4' is the project of env 'proj' of store '$H', not of store '$H2': use --home '$H'"
assert_eq "$before" "$(ls -lA "$W/m4/.blast")" "marker unchanged"

# 7. Malformed and symlinked markers.
mkdir -p "$W/bad/.blast"
echo garbage >"$W/bad/.blast/.blast-env"
refused_in "$W/bad" "cannot read '$W/bad/.blast/.blast-env': not a project marker (remove it to start an env here)"
rm "$W/bad/.blast/.blast-env"
ln -s "$W/m4/.blast/.blast-env" "$W/bad/.blast/.blast-env"
refused_in "$W/bad" "cannot read '$W/bad/.blast/.blast-env': not a project marker"

assert_eq "" "$(grep -F " $W/" /proc/self/mountinfo || true)" "mounts left"
note "ok"
