#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# POSIX ACLs through a blastfs mount work as on ext4: setfacl/getfacl on
# files and directories, the mode following the access ACL and chmod
# rewriting it, default ACLs inherited by new files and directories (the
# umask applying only without one), and the kernel granting and denying
# another user (nobody) exactly what it does on ext4. Same transcript on
# the mount and on an ext4 loop directory; the ACLs survive a remount.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
command -v setfacl >/dev/null || skip "no setfacl (apt-get install acl)"
MNT=$W/mnt
chmod 0755 "$W"
small_disk ext4 "$W/ext4" 64 -b 4096
fs_import acl
fs_mount acl "$MNT" --allow-other

# as_nobody CMD...: run as uid/gid 65534, print "ok" or "denied".
as_nobody() {
	if setpriv --reuid=65534 --regid=65534 --clear-groups "$@" >/dev/null 2>&1; then
		echo ok
	else
		echo denied
	fi
}

# script DIR: the same ACL story in DIR, a transcript on stdout.
script() {
	local d=$1/t
	umask 022
	mkdir "$d"
	cd "$d"
	echo data >f
	chmod 0600 f
	setfacl -m u:65534:r f
	echo "f: $(stat -c %A f)"
	getfacl -cn f
	echo "nobody reads f: $(as_nobody cat f)"
	echo "nobody writes f: $(as_nobody sh -c 'echo x >>f')"
	echo data >g
	setfacl -m u:65534:- g
	echo "nobody reads g (0644, denied by name): $(as_nobody cat g)"
	chmod 0604 f
	echo "f after chmod 0604: $(stat -c %A f)"
	getfacl -cn f
	echo "nobody reads f with a mask of 0: $(as_nobody cat f)"
	setfacl -m m::r f
	echo "f with mask r: $(stat -c %A f)"
	setfacl -b f
	echo "f after setfacl -b: $(stat -c %A f)"
	getfacl -cn f
	setfacl -m u::rw,g::r,o::- g
	echo "g with a mode-only ACL: $(stat -c %A g)"
	getfattr -m system.posix_acl_access g 2>&1 | grep -c posix_acl || true
	mkdir dd
	setfacl -d -m u:65534:rwx,g::rx,o::- dd
	getfacl -cn dd
	(umask 077 && echo new >dd/new && mkdir dd/sub && mknod dd/fifo p)
	echo "dd/new: $(stat -c %A dd/new) dd/sub: $(stat -c %A dd/sub) dd/fifo: $(stat -c %A dd/fifo)"
	getfacl -cn dd/new dd/sub
	echo "nobody writes dd/new: $(as_nobody sh -c 'echo y >>dd/new')"
	echo "nobody makes dd/sub/x: $(as_nobody touch dd/sub/x)"
	mkdir plain
	(umask 027 && echo p >plain/p && mkdir plain/q)
	echo "umask 027: $(stat -c %A plain/p) $(stat -c %A plain/q)"
	mkdir locked
	chmod 0700 locked
	setfacl -m u:65534:x locked
	echo "nobody lists locked: $(as_nobody ls locked)"
	echo "nobody enters locked: $(as_nobody stat locked/.)"
	echo "bad ACL: $(setfacl -m u:nosuchuser:r f 2>&1 | grep -c . || true)"
}

(script "$W/ext4") >"$W/ext4.out" 2>&1
(script "$MNT") >"$W/mnt.out" 2>&1
grep -q "nobody reads f: ok" "$W/ext4.out" || die "ext4 reference unexpected: $(cat "$W/ext4.out")"
diff -u "$W/ext4.out" "$W/mnt.out" || die "ACL transcript differs from ext4"

note "ACLs survive a remount"
# every path's ACLs, in path order (readdir's differs)
acls() { (cd "$1" && find . | LC_ALL=C sort | xargs -d '\n' getfacl -n); }
acls "$MNT/t" >"$W/before"
fs_remount acl "$MNT" --allow-other
acls "$MNT/t" >"$W/after"
diff -u "$W/before" "$W/after" || die "ACLs differ after a remount"
acls "$W/ext4/t" >"$W/want"
diff -u "$W/want" "$W/after" || die "ACLs differ from ext4"
fs_umount acl "$MNT"
fs_check_store
fs_pass
