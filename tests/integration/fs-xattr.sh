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
dump "$W/ext4/x" >"$W/want"
grep -q 'user.h=68' "$W/want" || die "dump shows no attributes"
dump "$MNT/x" >"$W/got"
diff -u "$W/want" "$W/got" || die "attributes differ from ext4 after the operations"

note "remount, then dropped caches"
fs_remount xa "$MNT" --allow-other
dump "$MNT/x" >"$W/got"
diff -u "$W/want" "$W/got" || die "attributes differ after a remount"
sync
echo 3 >/proc/sys/vm/drop_caches
dump "$MNT/x" >"$W/got"
diff -u "$W/want" "$W/got" || die "attributes differ after drop_caches"

note "a snapshot load brings them back"
mkdir "$MNT/bin" # load rewrites the activate scripts there
fs_want 0 save xa s1
setfattr -n user.a -v changed "$MNT/x/f"
setfattr -x user.d "$MNT/x/d"
setfattr -n user.new -v 1 "$MNT/x/d"
fs_want 0 load xa s1
dump "$MNT/x" >"$W/got"
diff -u "$W/want" "$W/got" || die "attributes differ after loading the snapshot"

note "cp -a and rsync -aX out of the mount and back in"
cp -a "$MNT/x" "$W/cp-out"
dump "$W/cp-out" >"$W/got"
diff -u "$W/want" "$W/got" || die "cp -a out of the mount lost attributes"
rsync -aX "$MNT/x/" "$W/rs-out/"
dump "$W/rs-out" >"$W/got"
diff -u "$W/want" "$W/got" || die "rsync -aX out of the mount lost attributes"
cp -a "$W/ext4/x" "$MNT/cp-in"
dump "$MNT/cp-in" >"$W/got"
diff -u "$W/want" "$W/got" || die "cp -a into the mount lost attributes"
rsync -aX "$W/ext4/x/" "$MNT/rs-in/"
dump "$MNT/rs-in" >"$W/got"
diff -u "$W/want" "$W/got" || die "rsync -aX into the mount lost attributes"
fs_umount xa "$MNT"

note "a clone has them"
fs_want 0 create xb --from xa
fs_mount xb "$W/mnt2"
dump "$W/mnt2/x" >"$W/got"
diff -u "$W/want" "$W/got" || die "attributes differ in a clone"
fs_umount xb "$W/mnt2"

note "export writes them, import reads them"
fs_want 0 export xa "$W/exp"
dump "$W/exp/x" >"$W/got"
diff -u "$W/want" "$W/got" || die "export lost attributes"
fs_want 0 import xc "$W/ext4"
fs_mount xc "$W/mnt3"
dump "$W/mnt3/x" >"$W/got"
diff -u "$W/want" "$W/got" || die "import lost attributes"
fs_umount xc "$W/mnt3"

note "the store checks clean, deep"
fs_check_store
fs_pass
