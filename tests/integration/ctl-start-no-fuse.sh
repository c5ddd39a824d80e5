#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A normal user who cannot mount learns why, and the fix, in one line:
# `blastctl start` run as an unprivileged user in a private mount
# namespace where /dev/fuse is a node only root may open says that
# opening /dev/fuse was denied, its mode and the chmod that fixes it (the
# clause "cannot mount env" once, not twice), for an existing env and for
# a new one (whose pip seeding mounts first), and leaves nothing behind.
# Where /dev/fuse opens but fusermount3 is not setuid root, the hint names
# fusermount3's setuid bit; without user_allow_other in /etc/fuse.conf,
# blastfs --allow-other says to add it. The real /dev/fuse is never changed: the
# namespace dies with its last process.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_root
require_cmd unshare setpriv mknod
ctl_mount_setup
U=65534 # nobody
chmod 0755 "$W"

# An env to start: imported (no mount needed), then the store and the
# project belong to the user.
mkdir -p "$W/tree/lib" "$W/proj" "$W/proj2"
echo hello >"$W/tree/lib/f"
bctl import tproj "$W/tree" --python "$BLAST_TEST_PYTHON" >/dev/null 2>&1 ||
	die "import failed"
chown -R "$U:$U" "$H" "$W/proj" "$W/proj2"
mkdir -p "$W/userhome"
chown "$U:$U" "$W/userhome"

# as_user NODE_MODE [FUSERMOUNT] -- CMD...: run CMD as the user in a new
# mount namespace whose /dev/fuse is a fresh node of mode NODE_MODE, made
# on a tmpfs of the namespace (whatever /tmp's nodev), whose
# /etc/fuse.conf is empty, and whose fusermount3 is FUSERMOUNT, when
# given; sets RC, OUT, ERR.
as_user() {
	local mode=$1 fm=${2:-}
	shift 3
	mkdir -p "$W/dev"
	: >"$W/fuse.conf"
	ctl_run unshare -m --propagation private sh -ec '
		mount -t tmpfs -o mode=0755 blast-test "$W/dev"
		mknod -m "$1" "$W/dev/fuse" c 10 229
		mount --bind "$W/dev/fuse" /dev/fuse
		[ ! -e /etc/fuse.conf ] || mount --bind "$W/fuse.conf" /etc/fuse.conf
		[ -z "$2" ] || mount --bind "$2" /usr/bin/fusermount3
		shift 3
		exec setpriv --reuid="$U" --regid="$U" --clear-groups \
			env HOME="$W/userhome" BLASTFS="$BLASTFS" "$@"' \
		sh "$mode" "$fm" -- "$@"
}
export U W BLASTFS

nothing_left() {
	assert_eq "" "$(grep -F "$W" /proc/self/mountinfo || true)" "mounts left"
	[ ! -e "$W/proj/.blast" ] || die "start left $W/proj/.blast"
	[ ! -e "$W/proj2/.blast" ] || die "start left $W/proj2/.blast"
	assert_eq "" "$(pgrep -u "$U" -x blastfs || true)" "daemons left"
}

# /dev/fuse only root may open: an existing env.
as_user 0600 "" -- "$BLASTCTL" --home "$H" start tproj --dir "$W/proj"
assert_eq 1 "$RC" "start without /dev/fuse: exit status ($ERR)"
assert_one_error "cannot mount env 'tproj' at '$W/proj/.blast': failed to open /dev/fuse: Permission denied"
assert_contains "$ERR" "/dev/fuse is mode 0600, owner 0:0" "the mode"
assert_contains "$ERR" "chmod 0666 /dev/fuse" "the fix"
assert_eq 1 "$(grep -o "cannot mount" <<<"$ERR" | wc -l)" "the clause once"
nothing_left

# A new env: its pip seeding is the first mount, and says the same.
as_user 0600 "" -- "$BLASTCTL" --home "$H" start tnew --dir "$W/proj2" \
	--python "$BLAST_TEST_PYTHON"
assert_eq 1 "$RC" "start of a new env without /dev/fuse ($ERR)"
assert_contains "$ERR" "failed to open /dev/fuse: Permission denied" "seeding: cause"
assert_contains "$ERR" "chmod 0666 /dev/fuse" "seeding: the fix"
assert_eq 1 "$(grep -o "cannot mount" <<<"$ERR" | wc -l)" "seeding: the clause once"
nothing_left

# blastfs run by hand says it too.
as_user 0600 "" -- "$BLASTFS" --home "$H" tproj "$W/proj2"
assert_eq 1 "$RC" "blastfs without /dev/fuse"
assert_contains "$ERR" "blastfs: cannot mount env 'tproj' at '$W/proj2': failed to open /dev/fuse: Permission denied; " "blastfs"

# /dev/fuse opens, but fusermount3 lost its setuid bit.
cp /usr/bin/fusermount3 "$W/fusermount3"
chmod 0755 "$W/fusermount3"
as_user 0666 "$W/fusermount3" -- "$BLASTCTL" --home "$H" start tproj --dir "$W/proj"
assert_eq 1 "$RC" "start with fusermount3 not setuid ($ERR)"
assert_one_error "cannot mount env 'tproj' at '$W/proj/.blast': "
assert_contains "$ERR" "'/usr/bin/fusermount3' must be setuid root" "fusermount3 hint"
nothing_left

# A daemon that mounted after all would live on in its namespace: stop
# it by the pid it recorded.
stop_daemons() {
	local f
	for f in "$H"/run/*.info; do
		[ -f "$f" ] && kill_pid "$(sed -n 's/^pid=//p' "$f")"
	done
	return 0
}
on_exit stop_daemons

# --allow-other without user_allow_other in /etc/fuse.conf.
as_user 0666 "" -- "$BLASTFS" --home "$H" --allow-other tproj "$W/proj2"
assert_eq 1 "$RC" "blastfs --allow-other without user_allow_other ($ERR)"
assert_contains "$ERR" "user_allow_other" "the cause"
assert_contains "$ERR" "add a line 'user_allow_other' to /etc/fuse.conf" "the fix"

# The real device is as it was.
[ -c /dev/fuse ] || die "/dev/fuse changed"
note "ok"
