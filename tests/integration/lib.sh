# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared helpers for Blast's integration tests.
#
# Use from a test script (one executable script per behaviour):
#
#     #!/usr/bin/env bash
#     # SPDX-License-Identifier: MIT
#     set -euo pipefail
#     . "$(dirname "$0")/lib.sh"
#     require_fuse
#     mkworkdir W                       # $W: private dir, removed at exit
#     "$BLASTFS" ... "$W/mnt" & pid=$!
#     on_exit kill_pid "$pid"          # cleanups run in reverse order
#     on_exit cleanup_mount "$W/mnt"
#     wait_for_mount "$W/mnt" 10 "$pid"
#     assert_eq 1.0 "$(...)" "version after install"
#
# Exit codes follow automake/meson: 0 pass, 1 fail, 77 skip.
# Environment knobs:
#   BLASTCTL, BLASTFS        binaries under test (default: <repo>/build/...)
#   BLAST_TEST_PYTHON        the real interpreter (default /usr/bin/python3)
#   BLAST_TEST_CACHE         cache for built fixtures (default /tmp/blast-test-cache)
#   BLAST_TEST_KEEP=1        keep work dirs (cleanup commands still unmount)

# Paths -----------------------------------------------------------------------

# BLAST_REPO: the repository root, derived from this file's location.
BLAST_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# BLASTCTL / BLASTFS: the binaries under test; override to test an install.
BLASTCTL=${BLASTCTL:-$BLAST_REPO/build/ctl/blastctl}
BLASTFS=${BLASTFS:-$BLAST_REPO/build/fs/blastfs}
# BLAST_TEST_PYTHON: the real system interpreter (not a pyenv shim).
BLAST_TEST_PYTHON=${BLAST_TEST_PYTHON:-/usr/bin/python3}
# BLAST_TEST_CACHE: where built fixtures are cached between tests.
BLAST_TEST_CACHE=${BLAST_TEST_CACHE:-/tmp/blast-test-cache}
# TEST_NAME: the running test's name, for messages.
TEST_NAME=${TEST_NAME:-$(basename "$0")}
export BLASTCTL BLASTFS BLAST_TEST_PYTHON BLAST_TEST_CACHE
# No background compactor outliving a test and its store (it would race
# the test's clean-up and load the machine); store-autocompact.sh turns
# it on where it is the subject.
export BLAST_AUTO_COMPACT=0

# Outcomes --------------------------------------------------------------------

# skip MSG...: report why the test cannot run here and exit 77.
skip() {
	echo "SKIP: $TEST_NAME: $*" >&2
	exit 77
}

# die MSG...: report a failure on stderr and exit 1.
die() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

# note MSG...: progress message on stderr (kept out of captured stdout).
note() {
	echo "# $*" >&2
}

# Assertions ------------------------------------------------------------------

# assert_eq EXPECTED ACTUAL [MSG]: fail unless the two strings are equal.
assert_eq() {
	[ "$1" == "$2" ] && return 0
	die "${3:-assert_eq}: expected [$1], got [$2]"
}

# assert_ne UNEXPECTED ACTUAL [MSG]: fail if the two strings are equal.
assert_ne() {
	[ "$1" != "$2" ] && return 0
	die "${3:-assert_ne}: did not expect [$2]"
}

# assert_contains HAYSTACK NEEDLE [MSG]: fail unless NEEDLE is a substring.
assert_contains() {
	[[ "$1" == *"$2"* ]] && return 0
	die "${3:-assert_contains}: [$2] not found in [$1]"
}

# assert_not_contains HAYSTACK NEEDLE [MSG]: fail if NEEDLE is a substring.
assert_not_contains() {
	[[ "$1" != *"$2"* ]] && return 0
	die "${3:-assert_not_contains}: [$2] found in [$1]"
}

# assert_file_eq A B [MSG]: fail unless files A and B have identical bytes;
# shows a diff (or cmp output for binary files) on mismatch.
assert_file_eq() {
	[ -f "$1" ] || die "${3:-assert_file_eq}: $1: not a regular file"
	[ -f "$2" ] || die "${3:-assert_file_eq}: $2: not a regular file"
	cmp -s -- "$1" "$2" && return 0
	if grep -qI . -- "$1" "$2" 2>/dev/null; then
		diff -u -- "$1" "$2" | head -n 50 >&2 || true
	else
		cmp -- "$1" "$2" >&2 || true
	fi
	die "${3:-assert_file_eq}: $1 and $2 differ"
}

# assert_fails CMD...: run CMD in the current shell; fail the test if it exits
# 0. Sets ASSERT_FAILS_RC (its exit code), ASSERT_FAILS_STDOUT and
# ASSERT_FAILS_STDERR (its output) for further checks, e.g.
#     assert_fails "$BLASTCTL" start --dir /nonexistent
#     assert_contains "$ASSERT_FAILS_STDERR" "No such file"
# CMD may be a shell function, but bash disables `set -e` inside it.
assert_fails() {
	local out err
	out=$(mktemp "${TMPDIR:-/tmp}/assert_fails.XXXXXX")
	err=$(mktemp "${TMPDIR:-/tmp}/assert_fails.XXXXXX")
	ASSERT_FAILS_RC=0
	"$@" >"$out" 2>"$err" || ASSERT_FAILS_RC=$?
	# shellcheck disable=SC2034 # results for the caller
	ASSERT_FAILS_STDOUT=$(cat -- "$out")
	# shellcheck disable=SC2034
	ASSERT_FAILS_STDERR=$(cat -- "$err")
	rm -f -- "$out" "$err"
	[ "$ASSERT_FAILS_RC" -ne 0 ] && return 0
	die "assert_fails: command succeeded: $*"
}

# assert_ok CMD...: run CMD; on nonzero exit fail the test, showing the code.
# (Plain commands already fail the test under set -e; this names the command.)
assert_ok() {
	local rc=0
	"$@" || rc=$?
	[ "$rc" -eq 0 ] && return 0
	die "assert_ok: exit $rc: $*"
}

# Requirements ----------------------------------------------------------------

# require_fuse: skip unless FUSE can be mounted here (/dev/fuse, fusermount3).
require_fuse() {
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "fusermount3 missing (apt-get install fuse3)"
	if [ ! -r /dev/fuse ] || [ ! -w /dev/fuse ]; then
		skip "/dev/fuse not accessible"
	fi
}

# drop_kernel_caches: make the kernel forget unused dentries and inodes
# (and drop the page cache), machine-wide; 1 where that is not allowed. A
# dentry used lately survives one pass (it only loses its referenced
# mark), and a pass that frees little does not repeat: so three passes.
drop_kernel_caches() {
	[ -w /proc/sys/vm/drop_caches ] || return 1
	local i
	for i in 1 2 3; do
		echo 3 >/proc/sys/vm/drop_caches
	done
}

# require_root: skip unless running as root.
require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# require_cmd CMD...: skip unless every CMD is on PATH.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c not installed"
	done
}

# require_python: skip unless $BLAST_TEST_PYTHON runs.
require_python() {
	"$BLAST_TEST_PYTHON" -c 'import sys' 2>/dev/null ||
		skip "$BLAST_TEST_PYTHON not available"
}

# require_blast: fail unless blastctl and blastfs are built (a test that needs
# them and finds none is a broken build, not an unsupported machine).
require_blast() {
	[ -x "$BLASTCTL" ] || die "blastctl not built: $BLASTCTL (meson compile -C build)"
	[ -x "$BLASTFS" ] || die "blastfs not built: $BLASTFS (meson compile -C build)"
}

# ASAN_OPTIONS for a sanitizer build of blastctl run inside `blastctl run`:
# LeakSanitizer needs ptrace, which the run's seccomp filter refuses (a
# leak check there would abort with "LeakSanitizer has encountered a
# fatal error", exit 134 under CI's abort_on_error=1)
INNER_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export INNER_ASAN

# require_run_sees PATH...: skip unless a command under `blastctl run` can
# see every PATH: the run's /tmp is its own, so a checkout (or a current
# directory) under /tmp is not there.
require_run_sees() {
	local p
	for p in "$@"; do
		case "$(readlink -f -- "$p")/" in
		/tmp/*) skip "'blastctl run' cannot see $p (a run's /tmp is its own): run the suite from a checkout outside /tmp" ;;
		esac
	done
}

# Cleanup registry --------------------------------------------------------------
#
# One EXIT trap runs every registered command, last registered first, whatever
# way the script ends (success, die, set -e failure, INT/TERM/HUP). The exit
# status of the script is preserved. Each command runs in a subshell (so it
# cannot change variables of the test); failing ones are reported and do not
# stop the others.

_LIB_CLEANUPS=()
_LIB_CLEANUP_PID=$BASHPID

_lib_run_cleanups() {
	local rc=$? i
	set +e
	trap - EXIT
	# A subshell ($(...), ( )) inherits the trap: only the registering shell runs it.
	if [ "$BASHPID" != "$_LIB_CLEANUP_PID" ]; then
		exit "$rc"
	fi
	# Each runs in a subshell, so one that calls die or exit cannot stop
	# the rest.
	for ((i = ${#_LIB_CLEANUPS[@]} - 1; i >= 0; i--)); do
		(eval "${_LIB_CLEANUPS[i]}") ||
			echo "# cleanup failed (exit $?): ${_LIB_CLEANUPS[i]}" >&2
	done
	_LIB_CLEANUPS=()
	exit "$rc"
}
trap _lib_run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# on_exit CMD [ARG...]: register CMD ARGS (quoted exactly) to run at exit.
# Must be called in the main shell, not inside $(...) or a ( ) subshell.
on_exit() {
	[ "$BASHPID" == "$_LIB_CLEANUP_PID" ] ||
		die "on_exit called in a subshell; the registration would be lost: $*"
	local q
	printf -v q '%q ' "$@"
	_LIB_CLEANUPS+=("$q")
}

# is_mounted DIR: true if DIR is a mount point (per /proc/self/mountinfo).
# Works for a dead FUSE mount (daemon killed) where stat fails with ENOTCONN.
is_mounted() {
	local dir mp
	dir=$(_lib_canon "$1") || return 1
	while read -r _ _ _ _ mp _; do
		printf -v mp '%b' "$mp"
		[ "$mp" == "$dir" ] && return 0
	done </proc/self/mountinfo
	return 1
}

# _lib_canon PATH: absolute path with the parent resolved, without stat'ing
# PATH itself (which may be a dead mount).
_lib_canon() {
	local parent base
	parent=$(dirname -- "$1")
	base=$(basename -- "$1")
	parent=$(cd -P -- "$parent" 2>/dev/null && pwd -P) || return 1
	if [ "$base" == / ]; then
		echo /
	elif [ "$parent" == / ]; then
		echo "/$base"
	else
		echo "$parent/$base"
	fi
}

# cleanup_mount MOUNTPOINT: unmount if mounted (also a dead FUSE mount):
# fusermount3 -u, retried briefly while busy, then lazy (fusermount3 -uz,
# umount -l). Never fails the test itself; says so if the mount remains.
cleanup_mount() {
	local mp=$1 i
	is_mounted "$mp" || return 0
	for ((i = 0; i < 50; i++)); do
		fusermount3 -u -- "$mp" 2>/dev/null || umount -- "$mp" 2>/dev/null || true
		is_mounted "$mp" || return 0
		sleep 0.01
	done
	echo "# $mp busy; lazy unmount" >&2
	fusermount3 -uz -- "$mp" 2>/dev/null || umount -l -- "$mp" 2>/dev/null || true
	is_mounted "$mp" || return 0
	echo "# could not unmount $mp" >&2
	return 1
}

# kill_pid PID [TIMEOUT_SECONDS]: SIGTERM PID, wait up to TIMEOUT (default 5)
# for it to exit, then SIGKILL. Reaps it if it is our child. Works for
# daemonized (non-child) processes too. Returns 0 once PID is gone.
kill_pid() {
	local pid=$1 timeout=${2:-5} deadline
	[ -n "$pid" ] || return 0
	_lib_pid_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(_lib_deadline "$timeout")
	while _lib_pid_alive "$pid"; do
		if _lib_past "$deadline"; then
			echo "# pid $pid ignored SIGTERM for ${timeout}s; SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$(_lib_deadline 5)
			while _lib_pid_alive "$pid" && ! _lib_past "$deadline"; do
				sleep 0.01
			done
			break
		fi
		sleep 0.01
	done
	wait "$pid" 2>/dev/null || true
	if _lib_pid_alive "$pid"; then
		echo "# pid $pid still alive" >&2
		return 1
	fi
	return 0
}

# _lib_pid_alive PID: true if PID exists and is not a zombie.
_lib_pid_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# pid_gone PID: PID has exited (a zombie counts as gone), for wait_until.
pid_gone() {
	! _lib_pid_alive "$1"
}

# _lib_now_us: monotonic-enough wall clock in microseconds.
_lib_now_us() {
	local t=${EPOCHREALTIME//[!0-9]/}
	echo "$((10#$t))"
}

# _lib_deadline SECONDS: the time SECONDS (may be fractional) from now, in us.
_lib_deadline() {
	local s=$1 int frac
	int=${s%%.*}
	frac=000000
	[[ "$s" == *.* ]] && frac=${s#*.}000000
	echo "$(($(_lib_now_us) + 10#${int:-0} * 1000000 + 10#${frac:0:6}))"
}

# _lib_past DEADLINE_US: true once DEADLINE_US has passed.
_lib_past() {
	[ "$(_lib_now_us)" -ge "$1" ]
}

# wait_until TIMEOUT_SECONDS WHAT CMD [ARG...]: run CMD every 20 ms until
# it succeeds; fail the test with "waited TIMEOUT_SECONDSs for WHAT" once
# TIMEOUT_SECONDS have passed. The one way a test waits for a condition (no
# fixed sleeps). CMD runs in this shell: it may `die` at once when waiting
# is pointless (the process that should act has exited), and may set
# WAIT_WHY to what it saw last, which then ends the failure message.
wait_until() {
	local timeout=$1 what=$2 deadline
	shift 2
	WAIT_WHY=
	deadline=$(_lib_deadline "$timeout")
	until "$@"; do
		_lib_past "$deadline" && die "waited ${timeout}s for $what${WAIT_WHY:+: $WAIT_WHY}"
		sleep 0.02
	done
}

# has_line FILE TEXT: FILE exists and a line of it is exactly TEXT (sets
# WAIT_WHY to FILE's last lines otherwise, for wait_until).
has_line() {
	grep -qxF -- "$2" "$1" 2>/dev/null && return 0
	WAIT_WHY="$1 ends with: $(tail -n 5 -- "$1" 2>/dev/null)"
	return 1
}

# wait_line FILE TEXT [TIMEOUT_SECONDS]: wait_until a line of FILE is
# exactly TEXT (60 s unless told).
wait_line() {
	wait_until "${3:-60}" "a line '$2' in $1" has_line "$1" "$2"
}

# alive_or_die PID WHAT: fail the test at once, naming WHAT, unless PID
# runs (for a wait_until CMD that waits on a process's progress).
alive_or_die() {
	_lib_pid_alive "$1" || die "$2"
}

# wait_for_mount DIR TIMEOUT_SECONDS [PID]: poll (every 10 ms, readiness with
# a deadline, not a fixed sleep) until DIR is a mount point. Fails the test on
# timeout, or at once if PID (the daemon) is given and exits first.
wait_for_mount() {
	local dir=$1 timeout=$2 pid=${3:-} deadline
	deadline=$(_lib_deadline "$timeout")
	until is_mounted "$dir"; do
		if [ -n "$pid" ] && ! _lib_pid_alive "$pid"; then
			die "wait_for_mount: daemon $pid exited before $dir was mounted"
		fi
		_lib_past "$deadline" && die "wait_for_mount: $dir not mounted after ${timeout}s"
		sleep 0.01
	done
}

# wait_for_unmount DIR TIMEOUT_SECONDS: poll until DIR is no longer mounted.
wait_for_unmount() {
	local dir=$1 timeout=$2 deadline
	deadline=$(_lib_deadline "$timeout")
	while is_mounted "$dir"; do
		_lib_past "$deadline" && die "wait_for_unmount: $dir still mounted after ${timeout}s"
		sleep 0.01
	done
}

# _lib_rm_workdir DIR: unmount anything left under DIR, then remove DIR
# without crossing into a mount (rm --one-file-system), so a mount that
# refuses to go never has its contents deleted.
_lib_rm_workdir() {
	local dir=$1 mp mps=() i
	[ -d "$dir" ] || return 0
	dir=$(cd -P -- "$dir" && pwd -P) || return 1
	while read -r _ _ _ _ mp _; do
		printf -v mp '%b' "$mp"
		[[ "$mp" == "$dir"/* ]] && mps+=("$mp")
	done </proc/self/mountinfo
	for ((i = ${#mps[@]} - 1; i >= 0; i--)); do
		echo "# unmounting leftover mount ${mps[i]}" >&2
		cleanup_mount "${mps[i]}"
	done
	if [ "${BLAST_TEST_KEEP:-0}" == 1 ]; then
		echo "# kept $dir" >&2
		return 0
	fi
	chmod -R u+rwX -- "$dir" 2>/dev/null || true
	rm -rf --one-file-system -- "$dir"
}

# mkworkdir [VAR]: create a private directory under ${TMPDIR:-/tmp}, removed at
# exit, and store its path in VAR (default WORKDIR). Takes a variable name
# rather than printing, because $(mkworkdir) would register the cleanup in a
# subshell and lose it.
mkworkdir() {
	local _var=${1:-WORKDIR} _d
	_d=$(mktemp -d "${TMPDIR:-/tmp}/blast-test.${TEST_NAME%.sh}.XXXXXX")
	_d=$(cd -P -- "$_d" && pwd -P)
	on_exit _lib_rm_workdir "$_d"
	printf -v "$_var" '%s' "$_d"
}

# Trees -------------------------------------------------------------------------

# tree_manifest [--no-mtime] [--no-dir-mtime] [--owner] DIR: print a sorted
# manifest of DIR, one tab-separated line per entry (DIR itself is "."):
#     PATH TYPE MODE SIZE MTIME_NS TARGET SHA256 [UID GID]
# TYPE is f d l p s c b; MODE the octal permission bits (incl. suid/sticky);
# SIZE is "-" for directories (it differs between filesystems); TARGET the
# symlink target, SHA256 the file content hash ("-" where not applicable).
# Non-printable bytes in names and targets are escaped as \xNN.
tree_manifest() {
	"$BLAST_TEST_PYTHON" - "$@" <<'PY'
import hashlib, os, stat, sys

args = sys.argv[1:]
opts = {a for a in args if a.startswith("--")}
paths = [a for a in args if not a.startswith("--")]
unknown = opts - {"--no-mtime", "--no-dir-mtime", "--owner"}
if unknown or len(paths) != 1:
    sys.exit("usage: tree_manifest [--no-mtime] [--no-dir-mtime] [--owner] DIR")
root = os.fsencode(paths[0])

def esc(b):
    return "".join(chr(c) if 0x21 <= c < 0x7f and c != 0x5c else "\\x%02x" % c
                   for c in b)

TYPES = [(stat.S_ISREG, "f"), (stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"),
         (stat.S_ISFIFO, "p"), (stat.S_ISSOCK, "s"), (stat.S_ISCHR, "c"),
         (stat.S_ISBLK, "b")]

out = []
stack = [b"."]  # explicit stack: trees may be deeper than the recursion limit
while stack:
    rel = stack.pop()
    full = os.path.join(root, rel) if rel != b"." else root
    st = os.lstat(full)
    t = next(ch for test, ch in TYPES if test(st.st_mode))
    size = "-" if t == "d" else str(st.st_size)
    mtime = str(st.st_mtime_ns)
    if "--no-mtime" in opts or (t == "d" and "--no-dir-mtime" in opts):
        mtime = "-"
    target = esc(os.readlink(full)) if t == "l" else "-"
    digest = "-"
    if t == "f":
        h = hashlib.sha256()
        with open(full, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest = h.hexdigest()
    fields = [esc(rel), t, "%04o" % stat.S_IMODE(st.st_mode), size, mtime,
              target, digest]
    if "--owner" in opts:
        fields += [str(st.st_uid), str(st.st_gid)]
    out.append("\t".join(fields))
    if t == "d":
        for name in sorted(os.listdir(full), reverse=True):
            stack.append(name if rel == b"." else os.path.join(rel, name))
sys.stdout.write("".join(line + "\n" for line in out))
PY
}

# assert_same_tree [tree_manifest options] A B: fail, with a unified diff of
# the two manifests, unless trees A and B match.
assert_same_tree() {
	local opts=() ma mb
	while [ $# -gt 2 ]; do
		opts+=("$1")
		shift
	done
	ma=$(tree_manifest "${opts[@]}" "$1") || die "assert_same_tree: cannot read $1"
	mb=$(tree_manifest "${opts[@]}" "$2") || die "assert_same_tree: cannot read $2"
	[ "$ma" == "$mb" ] && return 0
	diff -u --label "$1" --label "$2" <(echo "$ma") <(echo "$mb") | head -n 100 >&2 || true
	die "assert_same_tree: $1 and $2 differ"
}

# Fixtures ----------------------------------------------------------------------

# wheels_dir: build the fixture wheels (tests/fixtures/mkwheels.py) once into
# $BLAST_TEST_CACHE/wheels/<hash of mkwheels.py + interpreter> and print the
# directory. Safe when tests run in parallel (build aside, rename into place).
#     W=$(wheels_dir)
#     pip install --no-index --find-links "$W" blast-gamma
wheels_dir() {
	local script=$BLAST_REPO/tests/fixtures/mkwheels.py key dir tmp
	require_python
	key=$({
		cat -- "$script"
		"$BLAST_TEST_PYTHON" -c 'import sys, sysconfig; print(sys.version, sysconfig.get_platform())'
	} | sha256sum)
	dir=$BLAST_TEST_CACHE/wheels/${key:0:16}
	if [ ! -d "$dir" ]; then
		mkdir -p -- "$BLAST_TEST_CACHE/wheels"
		tmp=$(mktemp -d "$BLAST_TEST_CACHE/wheels/.build.XXXXXX")
		if ! "$BLAST_TEST_PYTHON" "$script" "$tmp" >/dev/null; then
			rm -rf -- "$tmp"
			die "wheels_dir: mkwheels.py failed"
		fi
		chmod 755 -- "$tmp"
		# Another test may have won the race; then keep theirs.
		mv -T -- "$tmp" "$dir" 2>/dev/null || rm -rf -- "$tmp"
	fi
	echo "$dir"
}

# ---- a small disk, for full-disk tests ----

# small_disk KIND DIR MIB [MKFS_ARGS...]: mount at DIR (made) a KIND (tmpfs or ext4, a
# loop-mounted image under $W) filesystem of MIB MiB, unmounted (and the
# loop device freed) at exit; skips the test when no loop device is free.
# MKFS_ARGS go to mkfs.ext4 (e.g. -b 4096: a small image has 1 KiB blocks).
small_disk() {
	local kind=$1 d=$2 mib=$3 dev
	shift 3
	mkdir -p "$d"
	if [ "$kind" == tmpfs ]; then
		mount -t tmpfs -o "size=${mib}m,mode=0700" tmpfs "$d"
	else
		truncate -s "${mib}M" "$W/$kind-$mib.img"
		mkfs.ext4 -q -m 0 "$@" "$W/$kind-$mib.img"
		dev=$(losetup -f --show "$W/$kind-$mib.img") || skip "no loop device"
		on_exit losetup -d "$dev"
		mount "$dev" "$d"
	fi
	on_exit umount_disk "$d"
}

umount_disk() {
	umount "$1" 2>/dev/null || umount -l "$1"
}

# fill DIR: take every free block of DIR's filesystem.
fill() {
	local avail
	avail=$(df --output=avail -B1 "$1" | tail -n 1)
	fallocate -l "$avail" "$1/fill" 2>/dev/null || true
	dd if=/dev/zero of="$1/fill2" bs=4k 2>/dev/null || true
	[ "$(df --output=avail -B1 "$1" | tail -n 1)" -lt 65536 ] || die "cannot fill $1"
}
