# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for blastfs's integration tests (fs-*.sh), on top of lib.sh: a
# private store, envs imported from directories, daemons run in the
# foreground with their pid and exit status tracked, clean unmounts, the
# control socket's "sync", and daemon logs shown when a test fails.
#
#     . "$(dirname "$0")/fs-lib.sh"
#     fs_setup                       # $W workdir, $H store, exported
#     fs_import env1 "$W/src"        # or fs_import env1 (empty root)
#     fs_mount env1 "$W/mnt"         # daemon up, mount ready, cleanup registered
#     ...
#     fs_sync env1                   # seal pending writes, sync LMDB
#     fs_umount env1                 # unmount, daemon must exit 0 by itself
#     fs_pass                        # "PASS: <test>" and no log dump
#
# Executed (not sourced), it offers the same to hook commands that the
# Python testers run (they need W and H in the environment):
#     bash fs-lib.sh remount NAME MOUNTPOINT
#     bash fs-lib.sh sync NAME
#
# A daemon started here is `blastfs -f` under a tiny wrapper that records
# its pid ($W/run/NAME.pid) and, once it exits, its status ($W/run/NAME.rc);
# stdout and stderr go to $W/run/NAME.log.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# FS_DIR: where these scripts live (fsposix.py, fsdiff.py, fs-lib.sh).
FS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# FS_TIMEOUT: seconds to wait for a mount to appear or a daemon to exit
# (a wait, not a budget: 30 s was too short for an ASan daemon's final seal
# at load 30).
FS_TIMEOUT=${FS_TIMEOUT:-180}
# FS_MAX_RSS_MB: a daemon whose resident memory passes this is killed by a
# watchdog (so a runaway daemon fails its test instead of the machine), and
# fs_umount fails if the daemon's peak RSS (VmHWM) was above it. 0: no limit.
FS_MAX_RSS_MB=${FS_MAX_RSS_MB:-2048}

# fs_setup: require FUSE, the binaries and python; make $W (workdir) and $H
# (store dir, not created), keep HOME/XDG away from real stores, dump the
# daemon logs at exit unless fs_pass ran.
fs_setup() {
	require_fuse
	require_python
	require_blast
	mkworkdir W
	H=$W/home
	mkdir -p -- "$W/run" "$W/userhome"
	export W H
	export HOME=$W/userhome XDG_DATA_HOME=$W/xdg
	unset BLAST_HOME CLICOLOR CLICOLOR_FORCE NO_COLOR PYTHONPATH PYTHONHOME VIRTUAL_ENV
	on_exit _fs_dump_logs
}

# fs_pass: mark success (no log dump) and say PASS.
fs_pass() {
	_fs_check_oom
	: >"$W/run/.passed"
	echo "PASS: $TEST_NAME"
}

_fs_dump_logs() {
	local f
	[ -e "$W/run/.passed" ] && return 0
	for f in "$W"/run/*.oom; do
		[ -e "$f" ] && echo "# $(cat "$f")" >&2
	done
	for f in "$W"/run/*.log "$H"/run/*.log; do
		[ -s "$f" ] || continue
		echo "# --- last lines of $f ---" >&2
		tail -n 30 -- "$f" >&2
	done
	echo "# workdir: $W (BLAST_TEST_KEEP=1 keeps it)" >&2
}

# bctl ARGS...: blastctl on the test's store.
bctl() {
	"$BLASTCTL" --home "$H" "$@"
}

# fs_import NAME [DIR]: import DIR (default: an empty dir) as env NAME.
fs_import() {
	local name=$1 dir=${2:-}
	if [ -z "$dir" ]; then
		dir=$W/.empty-root
		mkdir -p -- "$dir"
	fi
	bctl import "$name" "$dir" >"$W/run/import.out" 2>&1 ||
		die "blastctl import $name $dir failed: $(cat "$W/run/import.out")"
}

# fs_start NAME MOUNTPOINT [BLASTFS ARGS...]: start `blastfs -f` for NAME on
# MOUNTPOINT in the background (no waiting). Sets FS_PID. Works in the test
# shell and in the executed helper alike (no cleanup registration here).
fs_start() {
	local name=$1 mnt=$2
	shift 2
	rm -f -- "$W/run/$name.pid" "$W/run/$name.rc"
	# The wrapper forwards nothing: TERM/KILL go to the daemon's own pid.
	# FS_NOTIFY_FD_TARGET=PATH: the daemon's fd 3 opened for writing on PATH
	# (use with --notify-fd 3).
	(
		if [ -n "${FS_NOTIFY_FD_TARGET:-}" ]; then
			exec 3>"$FS_NOTIFY_FD_TARGET"
		fi
		"$BLASTFS" -f --home "$H" "$@" "$name" "$mnt" </dev/null \
			>>"$W/run/$name.log" 2>&1 &
		dpid=$!
		exec 3>&-
		echo "$dpid" >"$W/run/$name.pid.tmp"
		mv -f -- "$W/run/$name.pid.tmp" "$W/run/$name.pid"
		[ "$FS_MAX_RSS_MB" -eq 0 ] || _fs_rss_watchdog "$name" "$dpid" &
		rc=0
		wait "$dpid" || rc=$?
		echo "$rc" >"$W/run/$name.rc"
	) </dev/null >/dev/null 2>&1 &
	wait_until 30 "fs_start: a pid for the $name daemon" test -s "$W/run/$name.pid"
	FS_PID=$(cat -- "$W/run/$name.pid")
}

# fs_mount NAME MOUNTPOINT [BLASTFS ARGS...]: fs_start, wait for the mount;
# the first time a mountpoint is used, register its cleanup (unmount, then
# kill whatever daemon NAME's pid file names).
declare -A _FS_REGISTERED=()
fs_mount() {
	local name=$1 mnt=$2
	mkdir -p -- "$mnt"
	if [ -z "${_FS_REGISTERED[$name:$mnt]:-}" ]; then
		on_exit _fs_kill_daemon "$name"
		on_exit cleanup_mount "$mnt"
		_FS_REGISTERED[$name:$mnt]=1
	fi
	fs_start "$@"
	_fs_wait_ready "$name" "$mnt"
}

# _fs_wait_ready NAME MNT: wait for the mount; if the daemon exits first,
# fail showing its log.
_fs_wait_ready() {
	wait_until "$FS_TIMEOUT" "blastfs for '$1' to mount $2" _fs_mounted "$@"
}

# _fs_mounted NAME MNT: MNT is mounted; fail at once if the daemon exited.
_fs_mounted() {
	is_mounted "$2" && return 0
	if ! _lib_pid_alive "$FS_PID"; then
		_fs_check_oom
		die "blastfs for '$1' exited before mounting $2: $(tail -n 5 "$W/run/$1.log" 2>/dev/null)"
	fi
	return 1
}

# _fs_rss_watchdog NAME PID: SIGKILL PID once its RSS passes FS_MAX_RSS_MB,
# leaving the reason in $W/run/NAME.oom. Polls every 50 ms (a guard, not a
# readiness wait).
_fs_rss_watchdog() {
	local name=$1 pid=$2 kb
	while kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null); do
		if [ -n "$kb" ] && [ "$kb" -gt $((FS_MAX_RSS_MB * 1024)) ]; then
			echo "blastfs pid $pid killed by the test's watchdog: RSS $((kb / 1024)) MB > FS_MAX_RSS_MB=$FS_MAX_RSS_MB" \
				>"$W/run/$name.oom"
			kill -KILL "$pid" 2>/dev/null
			return 0
		fi
		sleep 0.05
	done
}

# _fs_check_oom: fail if a watchdog killed a daemon.
_fs_check_oom() {
	local f
	for f in "$W"/run/*.oom; do
		[ -e "$f" ] && die "$(cat "$f")"
	done
	return 0
}

_fs_kill_daemon() {
	local pid
	pid=$(cat -- "$W/run/$1.pid" 2>/dev/null) || return 0
	kill_pid "$pid" 10
}

# fs_daemon_pid NAME: print the pid of NAME's current daemon.
fs_daemon_pid() {
	cat -- "$W/run/$1.pid"
}

# fs_umount NAME MOUNTPOINT: unmount (retrying briefly while busy), then wait
# for the daemon to seal, sync and exit by itself; fail unless it exits 0.
fs_umount() {
	local name=$1 mnt=$2 pid rc hwm
	pid=$(cat -- "$W/run/$name.pid") || die "fs_umount: no daemon for $name"
	_fs_check_oom
	hwm=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$pid/status" 2>/dev/null || true)
	if [ -n "$hwm" ]; then
		note "blastfs '$name' peak RSS: $hwm MB"
		if [ "$FS_MAX_RSS_MB" -gt 0 ] && [ "$hwm" -gt "$FS_MAX_RSS_MB" ]; then
			die "blastfs '$name': peak RSS $hwm MB > FS_MAX_RSS_MB=$FS_MAX_RSS_MB"
		fi
	fi
	wait_until 30 "fs_umount: fusermount3 -u $mnt" _fs_try_umount "$mnt"
	wait_until "$FS_TIMEOUT" "fs_umount: blastfs (pid $pid) to exit after the unmount of $mnt" \
		test -s "$W/run/$name.rc"
	rc=$(cat -- "$W/run/$name.rc")
	[ "$rc" == 0 ] ||
		die "blastfs for '$name' exited $rc after a clean unmount: $(tail -n 5 "$W/run/$name.log")"
	is_mounted "$mnt" && die "fs_umount: $mnt still mounted after the daemon exited"
	return 0
}

# _fs_try_umount MNT: one fusermount3 -u (it fails while MNT is busy).
_fs_try_umount() {
	fusermount3 -u -- "$1" 2>"$W/run/umount.err" && return 0
	WAIT_WHY=$(cat "$W/run/umount.err")
	return 1
}

# fs_remount NAME MOUNTPOINT [BLASTFS ARGS...]: fs_umount, then fs_mount.
fs_remount() {
	fs_umount "$1" "$2"
	fs_mount "$@"
}

# fs_kill9 NAME MOUNTPOINT: SIGKILL the daemon, wait until it is gone, clear
# the dead mount (fusermount3 -uz) as a starter must.
fs_kill9() {
	local name=$1 mnt=$2 pid
	pid=$(cat -- "$W/run/$name.pid")
	kill -KILL "$pid" 2>/dev/null || true
	wait_until 30 "fs_kill9: pid $pid to die of SIGKILL" pid_gone "$pid"
	# fs_start's wrapper writes the dead daemon's status last: wait for
	# it, or it could land after the next fs_start and pass for the new
	# daemon's exit status
	wait_until 30 "fs_kill9: the exit status of pid $pid" test -s "$W/run/$name.rc"
	fusermount3 -uz -- "$mnt" 2>/dev/null || umount -l -- "$mnt" 2>/dev/null || true
	is_mounted "$mnt" && die "fs_kill9: cannot clear the dead mount $mnt"
	return 0
}

# fs_sync NAME: send "sync" on NAME's control socket; fail unless the reply
# is JSON with "ok": true. Prints nothing.
fs_sync() {
	local out
	out=$("$BLAST_TEST_PYTHON" - "$H/run/$1.sock" <<'PY' 2>&1
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(120)
s.connect(sys.argv[1])
s.sendall(b"sync\n")
buf = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    buf += b
try:
    reply = json.loads(buf)
except ValueError:
    sys.exit("reply is not JSON: %r" % buf)
if reply.get("ok") is not True:
    sys.exit("sync failed: %r" % buf)
PY
	) || die "fs_sync $1: $out"
}

# fs_hook_cmd KIND ARGS...: a shell command line for the Python testers'
# --remount-cmd / --sync-cmd hooks.
fs_hook_cmd() {
	local q
	printf -v q '%q ' bash "$FS_DIR/fs-lib.sh" "$@"
	echo "$q"
}

# fs_check_store: after unmount, the store verifies clean.
fs_check_store() {
	bctl check --store --deep >"$W/run/check.out" 2>&1 ||
		die "blastctl check --store --deep failed: $(cat "$W/run/check.out")"
}

# fs_want CODE ARGS...: blastctl ARGS on the test's store must exit CODE;
# sets OUT and ERR (its stdout and stderr).
fs_want() {
	local want=$1 rc=0
	shift
	bctl "$@" >"$W/out" 2>"$W/err" || rc=$?
	OUT=$(cat "$W/out")
	ERR=$(cat "$W/err")
	[ "$rc" -eq "$want" ] || die "blastctl $*: expected exit $want, got $rc: $ERR"
}

# fs_change NAME MOUNTPOINT SCRIPT: mount NAME, run SCRIPT (bash) in the
# mount, unmount.
fs_change() {
	fs_mount "$1" "$2"
	(cd "$2" && bash -c "$3")
	fs_umount "$1" "$2"
}

# Executed as a helper by a hook command.
if [ "${BASH_SOURCE[0]}" == "$0" ]; then
	set -euo pipefail
	if [ -z "${W:-}" ] || [ -z "${H:-}" ]; then
		die "fs-lib.sh: W and H must be set"
	fi
	case "${1:-}" in
	remount)
		[ $# -ge 3 ] || die "usage: fs-lib.sh remount NAME MOUNTPOINT [ARGS...]"
		shift
		fs_umount "$1" "$2"
		fs_start "$@"
		_fs_wait_ready "$1" "$2"
		;;
	sync)
		[ $# -eq 2 ] || die "usage: fs-lib.sh sync NAME"
		fs_sync "$2"
		;;
	*)
		die "usage: fs-lib.sh remount|sync ..."
		;;
	esac
fi

# fs_feat_vs_ext4 FEATURE: fsfeat.py FEATURE's operations on a native ext4
# directory (a loop-mounted image) and on a blastfs mount must print the
# same; then the trees must print the same after dropped caches and after
# a remount. Needs root (the loop mount); ends with the store checked.
fs_feat_vs_ext4() {
	local feat=$1
	require_root
	small_disk ext4 "$W/ext4" 16
	mkdir "$W/ext4/t"
	fs_import feat
	fs_mount feat "$W/mnt"
	mkdir "$W/mnt/t"
	_fs_feat "$feat" run ext4 want
	_fs_feat "$feat" run mnt got
	assert_file_eq "$W/want" "$W/got"
	note "caches dropped"
	drop_kernel_caches
	_fs_feat "$feat" state ext4 want2
	_fs_feat "$feat" state mnt got2
	assert_file_eq "$W/want2" "$W/got2"
	note "remount"
	fs_remount feat "$W/mnt"
	_fs_feat "$feat" state mnt got3
	assert_file_eq "$W/want2" "$W/got3"
	fs_umount feat "$W/mnt"
	fs_check_store
}

_fs_feat() {
	"$BLAST_TEST_PYTHON" "$FS_DIR/fsfeat.py" "$1" "$2" "$W/$3/t" >"$W/$4" ||
		die "fsfeat.py $1 $2 failed on $3"
}
