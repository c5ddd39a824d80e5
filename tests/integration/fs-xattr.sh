#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Extended attributes through a blastfs mount do what they do on ext4:
# every operation and errno of fsxattr.py (namespaces, flags, limits,
# short buffers, symlinks, fifos, hard links, another user, trusted.*)
# gives the same transcript on the mount and on a native ext4 (4 KiB
# blocks) loop directory. The attributes then survive a remount, dropped
# caches, a snapshot load, a clone, cp -a and rsync -aX in and out,
# import and export; and the store checks deep.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
X=$FS_DIR/fsxattr.py
chmod 0755 "$W" # another user (fsxattr.py's nobody) reaches both trees
small_disk ext4 "$W/ext4" 64 -b 4096

fs_import xa
fs_mount xa "$MNT" --allow-other

note "every operation and errno as on ext4"
"$BLAST_TEST_PYTHON" "$X" ops "$W/ext4" >"$W/ext4.out"
"$BLAST_TEST_PYTHON" "$X" ops "$MNT" >"$W/mnt.out"
grep -q '^many 100: 33 then ENOSPC$' "$W/ext4.out" ||
	die "ext4 reference is not what fsxattr.py expects: $(cat "$W/ext4.out")"
diff -u "$W/ext4.out" "$W/mnt.out" || die "xattr transcript differs from ext4"

dump() { "$BLAST_TEST_PYTHON" "$X" dump "$1"; }
# same DIR WHEN: DIR's paths, modes, owners and attributes are ext4's
same() {
	dump "$1" >"$W/got"
	diff -u "$W/want" "$W/got" || die "attributes differ from ext4 $2"
}
dump "$W/ext4/x" >"$W/want"
grep -q 'user.h=68' "$W/want" || die "dump shows no attributes"
same "$MNT/x" "after the operations"

note "remount, then dropped caches"
fs_remount xa "$MNT" --allow-other
same "$MNT/x" "after a remount"
sync
echo 3 >/proc/sys/vm/drop_caches
same "$MNT/x" "after drop_caches"

note "a snapshot load brings them back"
mkdir "$MNT/bin" # load rewrites the activate scripts there
fs_want 0 save xa s1
setfattr -n user.a -v changed "$MNT/x/f"
setfattr -x user.d "$MNT/x/d"
setfattr -n user.new -v 1 "$MNT/x/d"
fs_want 0 load xa s1
same "$MNT/x" "after loading the snapshot"

note "cp -a and rsync -aX out of the mount and back in"
cp -a "$MNT/x" "$W/cp-out"
same "$W/cp-out" "(cp -a out of the mount)"
rsync -aX "$MNT/x/" "$W/rs-out/"
same "$W/rs-out" "(rsync -aX out of the mount)"
cp -a "$W/ext4/x" "$MNT/cp-in"
same "$MNT/cp-in" "(cp -a into the mount)"
rsync -aX "$W/ext4/x/" "$MNT/rs-in/"
same "$MNT/rs-in" "(rsync -aX into the mount)"
fs_umount xa "$MNT"

note "a clone has them"
fs_want 0 create xb --from xa
fs_mount xb "$W/mnt2"
same "$W/mnt2/x" "in a clone"
fs_umount xb "$W/mnt2"

note "export writes them, import reads them"
fs_want 0 export xa "$W/exp"
same "$W/exp/x" "(export)"
fs_want 0 import xc "$W/ext4"
fs_mount xc "$W/mnt3"
same "$W/mnt3/x" "(import)"
fs_umount xc "$W/mnt3"

note "the store checks clean, deep"
fs_check_store
fs_pass
