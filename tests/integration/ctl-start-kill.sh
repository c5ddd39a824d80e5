#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `blastctl start` mounts an env at ./.blast (creating it first): Python
# sees a venv there (sys.prefix is the mount, sys.base_prefix the base's),
# pip runs through the mount, bin/activate works in bash and dash and
# deactivate restores PATH, PS1 and PYTHONHOME exactly. `blastctl kill`
# flushes, unmounts and waits for the daemon; files survive kill + start
# with their bytes and mtimes; a busy mount is refused without --force and
# detached with it. Mounted elsewhere (also at a path with a space), pip's
# console scripts follow the env.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_fuse
require_python
require_blast
ctl_setup
PY=$BLAST_TEST_PYTHON
P=$W/proj
M=$P/.blast
mkdir "$P"

# pid_of NAME: the daemon pid list --json shows for env NAME ("" if none).
pid_of() {
	ctl_expect 0 list --json
	json_get "next(str(e['pid'] or '') for e in j['envs'] if e['name'] == '$1')"
}

# start_ok DIR ARGS...: start in DIR, check its output, register cleanups
# (unmount, kill the daemon by pid) and set PID.
start_ok() {
	local dir=$1
	shift
	on_exit cleanup_mount "$dir/.blast"
	ctl_run bctl start --dir "$dir" "$@"
	[ "$RC" -eq 0 ] || die "start --dir $dir $*: exit $RC: $ERR"
	assert_eq "$dir/.blast" "$OUT" "start prints the mountpoint"
	is_mounted "$dir/.blast" || die "$dir/.blast not mounted after start"
	PID=$(pid_of "${NAME:-$(basename "$dir")}")
	[ -n "$PID" ] || die "no daemon pid in list --json"
	on_exit kill_pid "$PID"
	assert_contains "$ERR" "at $dir/.blast (blastfs pid $PID)" "start's status line"
}

# kill_ok ARGS...: kill, check the daemon exited and the mount is gone.
kill_ok() {
	ctl_run bctl kill "$@"
	[ "$RC" -eq 0 ] || die "kill $*: exit $RC: $ERR"
	! is_mounted "$M" || die "$M still mounted after kill $*"
	! _lib_pid_alive "$PID" || die "blastfs $PID alive after kill $*"
	assert_eq "" "$(pid_of proj)" "pid after kill"
}

cd "$P"
NAME=proj start_ok "$P" --python "$PY"
assert_contains "$ERR" "created env 'proj'" "start creates a missing env"

# Python sees a venv at the mount.
base=$("$PY" -c 'import sys; print(sys.base_prefix)')
assert_eq "$M|$base" "$("$M/bin/python" -c 'import sys; print(sys.prefix + "|" + sys.base_prefix)')" \
	"sys.prefix|sys.base_prefix"
out=$("$M/bin/pip" --version)
assert_contains "$out" "from $M/lib/python" "pip --version through the mount"
head -n 1 "$M/bin/pip" | grep -qx "#!$M/bin/python" || die "pip's shebang: $(head -n 1 "$M/bin/pip")"

# bin/activate, in each shell: prompt, VIRTUAL_ENV, PATH; deactivate
# restores everything exactly, PS1 set or unset, PYTHONHOME set.
activate_check() {
	local sh=$1 ps1_setup=$2 out
	out=$(cd "$W" && "$sh" -c '
		set -u
		'"$ps1_setup"'
		PYTHONHOME=/nowhere; export PYTHONHOME
		state() { echo "PATH=$PATH|PS1=${PS1-<unset>}|PYTHONHOME=${PYTHONHOME-<unset>}|VE=${VIRTUAL_ENV-<unset>}"; }
		before=$(state)
		. "$1/bin/activate"
		echo "venv=$VIRTUAL_ENV prompt=$VIRTUAL_ENV_PROMPT"
		echo "python=$(command -v python)"
		echo "ps1=$PS1"
		echo "pythonhome=${PYTHONHOME-<unset>}"
		python -c "import sys; print(\"prefix=\" + sys.prefix)"
		deactivate
		after=$(state)
		[ "$before" = "$after" ] && echo restored || echo "changed: $before -> $after"
		case $(command -V deactivate 2>&1) in
		*function*) echo "deactivate left" ;;
		*) echo "deactivate gone" ;;
		esac
	' "$sh" "$M") || die "$sh: activate script failed: $out"
	assert_contains "$out" "venv=$M prompt=blast:proj" "$sh: VIRTUAL_ENV"
	assert_contains "$out" "python=$M/bin/python" "$sh: python on PATH"
	assert_contains "$out" "pythonhome=<unset>" "$sh: PYTHONHOME while active"
	assert_contains "$out" "prefix=$M" "$sh: python's prefix"
	assert_contains "$out" "restored" "$sh: deactivate"
	assert_contains "$out" "deactivate gone" "$sh: deactivate removes itself"
	echo "$out"
}
for sh in bash dash; do
	command -v "$sh" >/dev/null || { note "$sh not installed: skipped"; continue; }
	out=$(activate_check "$sh" 'PS1="orig> "')
	assert_contains "$out" "ps1=(blast:proj) orig> " "$sh: prompt"
	activate_check "$sh" 'unset PS1' >/dev/null
done

# Files written through the mount survive kill + start, bytes and mtimes.
SP=$(echo "$M"/lib/python*/site-packages)
mkdir -p "$SP/mypkg/sub"
echo 'x = 1' >"$SP/mypkg/__init__.py"
head -c 300000 /dev/urandom >"$SP/mypkg/big.bin"
printf 'tiny' >"$SP/mypkg/sub/t.txt"
ln -s ../__init__.py "$SP/mypkg/sub/link"
touch -d "2001-02-03 04:05:06.123456789" "$SP/mypkg/big.bin"
cp -a "$SP/mypkg" "$W/mypkg.ref"
kill_ok
NAME=proj start_ok "$P"
assert_same_tree --no-dir-mtime "$W/mypkg.ref" "$SP/mypkg"

# kill by name and by directory; start again in between.
kill_ok proj
NAME=proj start_ok "$P"
kill_ok "$P"
NAME=proj start_ok "$P"
kill_ok "$M"

# A busy mount: refused without --force, nothing changes.
NAME=proj start_ok "$P"
(cd "$M" && exec sleep 60) &
sleeper=$!
on_exit kill_pid "$sleeper"
ctl_run bctl kill
assert_eq 1 "$RC" "kill of a busy mount"
assert_one_error "mount '$M' is busy (a process has its cwd or open files inside); close them or use --force"
is_mounted "$M" || die "busy mount unmounted without --force"
_lib_pid_alive "$PID" || die "daemon died on a refused kill"
"$M/bin/python" -c 'pass' || die "mount unusable after a refused kill"
kill_ok --force
assert_contains "$ERR" "detached it lazily" "kill --force says it was lazy"
kill_pid "$sleeper"

# Mounted somewhere else, pip's scripts follow (also through distlib's
# /bin/sh wrapper for a path with a space), and activate names the mount.
for d in "$W/other" "$W/with space"; do
	mkdir "$d"
	NAME=proj start_ok "$d" proj
	assert_contains "$("$d/.blast/bin/pip" --version)" "from $d/.blast/lib/" "pip at $d"
	grep -qF "VIRTUAL_ENV='$d/.blast'" "$d/.blast/bin/activate" || die "activate at $d"
	ctl_run bctl kill "$d"
	[ "$RC" -eq 0 ] || die "kill $d: $ERR"
done

ctl_expect 0 check --store
exit 0
