#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The store directory is trusted only when it is the caller's and nobody
# else can write it (as ssh checks its keys): a store (or its run/ or
# staging/) owned by another user, or writable by group or others, is
# refused with a message naming the directory and the fix; symlinks
# planted in run/ (the info temp file, the daemon's log) are not followed.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_root
require_fuse
require_blast
require_cmd setpriv
ctl_setup
id nobody >/dev/null 2>&1 || skip "no user 'nobody'"

# A root-only file that a planted symlink would overwrite or append to.
echo "root secret" >"$W/victim"
chmod 600 "$W/victim"
cp "$W/victim" "$W/victim.orig"
mkdir -p "$W/src"
echo "print('hi')" >"$W/src/app.py"
mkdir "$W/src/bin"

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
}

# refused ARGS...: bctl ARGS exits 1 with one error line; the victim is
# untouched.
refused() {
	ctl_run bctl "$@"
	[ "$RC" -eq 1 ] || die "blastctl $*: expected exit 1, got $RC (stderr: $ERR)"
	[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] || die "expected one line, got: $ERR"
	assert_file_eq "$W/victim.orig" "$W/victim" "victim after $*"
}

# 1. A store made by another user (the issue's 0777 one), with planted
# symlinks: root refuses it and follows nothing.
shared=$(mktemp -d /tmp/blast-trust.XXXXXX)
on_exit rm -rf -- "$shared"
chmod 755 "$shared"
chown nobody "$shared"
H=$shared/store
as_nobody mkdir -m 0777 "$H"
as_nobody mkdir -m 0777 "$H/run"
as_nobody ln -s "$W/victim" "$H/run/e1.info.tmp"
as_nobody ln -s "$W/victim" "$H/run/e1.log"
mkdir "$W/p1"
for args in "list" "import e1 $W/src" "start e1 --dir $W/p1" "gc"; do
	# shellcheck disable=SC2086 # split on purpose
	refused $args
	assert_contains "$ERR" "bad ownership on '$H'" "$args on nobody's store"
done
[ ! -e "$H/data.mdb" ] || die "root created data.mdb in nobody's store"
# blastfs itself, started by hand, refuses it before making its log.
ctl_run "$BLASTFS" --home "$H" e1 "$W/p1"
[ "$RC" -eq 1 ] || die "blastfs on nobody's store: exit $RC"
assert_contains "$ERR" "bad ownership on '$H'" "blastfs on nobody's store"
assert_file_eq "$W/victim.orig" "$W/victim" "victim after blastfs"
# The same store is fine for its owner once it is not world-writable.
as_nobody rm -r "$H/run"
as_nobody chmod 0700 "$H"
as_nobody "$BLASTCTL" --home "$H" list >/dev/null 2>"$W/nobody.err" ||
	die "nobody's own store: $(cat "$W/nobody.err")"

# 2. Root's own store, loose modes: refused, naming the directory and chmod.
H=$W/home
ctl_expect 0 import e1 "$W/src"
chmod 0777 "$H"
refused list
assert_contains "$ERR" "bad permissions on '$H': writable by group or others (fix: chmod go-w '$H')" "0777 store"
chmod 0770 "$H"
refused list
assert_contains "$ERR" "chmod go-w '$H'" "0770 store"
chmod 0700 "$H"
mkdir -p "$H/run"
chmod 0777 "$H/run"
mkdir "$W/p2"
refused start e1 --dir "$W/p2"
assert_contains "$ERR" "bad permissions on '$H/run'" "0777 run/"
chmod 0700 "$H/run"
mkdir -p "$H/staging"
chmod 0775 "$H/staging"
refused start e1 --dir "$W/p2"
assert_contains "$ERR" "bad permissions on '$H/staging'" "0775 staging/"
chmod 0700 "$H/staging"
rmdir "$H/staging"
ln -s "$W" "$H/staging"
refused start e1 --dir "$W/p2"
assert_contains "$ERR" "'$H/staging' is not a directory" "staging/ a symlink"
rm "$H/staging"

# 3. Planted symlinks in a trusted store (as a bug or an earlier owner
# could leave them) are not followed: the info file is written aside and
# renamed; a symlinked log stops the daemon before it writes a byte.
rm -f "$H/run/e1.log"
ln -s "$W/victim" "$H/run/e1.log"
refused start e1 --dir "$W/p2"
assert_contains "$ERR" "is a symlink" "symlinked log"
! is_mounted "$W/p2/.blast" || die "mounted despite the symlinked log"
rm "$H/run/e1.log"
ln -s "$W/victim" "$H/run/e1.info.tmp"
on_exit cleanup_mount "$W/p2/.blast"
ctl_expect 0 start e1 --dir "$W/p2"
pid=$(sed -n 's/^pid=//p' "$H/run/e1.info")
[ -n "$pid" ] || die "no pid in run/e1.info"
on_exit kill_pid "$pid"
[ ! -L "$H/run/e1.info" ] || die "run/e1.info is a symlink"
[ ! -e "$H/run/e1.info.tmp" ] || die "run/e1.info.tmp left behind"
assert_file_eq "$W/victim.orig" "$W/victim" "victim after start"
assert_eq "print('hi')" "$(cat "$W/p2/.blast/app.py")" "env content"
ctl_expect 0 kill e1
assert_file_eq "$W/victim.orig" "$W/victim" "victim after kill"
