#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Extended attributes through a blastfs mount do what they do on ext4:
# every operation and errno of fsxattr.py (namespaces, flags, limits,
# short buffers, symlinks, fifos, hard links, another user, trusted.*)
# gives the same transcript on the mount and on a native ext4 (4 KiB
# blocks) loop directory. The attributes then survive a remount, dropped
# caches, a snapshot load, a clone, cp -a and rsync -aX in and out,
# import and export; the policy's read-only and hidden paths and quota
# hold for them; and the store checks deep.
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

note "immutable and append-only inodes refuse xattr changes (EPERM), as on ext4"
for d in "$W/ext4" "$MNT"; do
	for fl in i a; do
		: >"$d/locked-$fl"
		setfattr -n user.k -v 1 "$d/locked-$fl"
		chattr "+$fl" "$d/locked-$fl"
		for op in "-n user.k -v 2" "-n user.new -v 1" "-x user.k"; do
			# shellcheck disable=SC2086 # op is words
			out=$(setfattr $op "$d/locked-$fl" 2>&1) && die "setfattr $op on +$fl in $d: allowed"
			assert_contains "$out" "Operation not permitted" "setfattr $op on +$fl in $d"
		done
		assert_eq 1 "$(getfattr --only-values -n user.k "$d/locked-$fl")" "the value on +$fl in $d"
		chattr "-$fl" "$d/locked-$fl"
		rm "$d/locked-$fl"
	done
done

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

note "policy: read-only and hidden paths, the quota"
fs_want 0 policy xc set fs.readonly x/f
fs_want 0 policy xc set fs.hidden x/secret
rc=0
setfattr -n user.no -v 1 "$W/mnt3/x/f" 2>"$W/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "Read-only file system" "$W/err" ||
	die "setfattr on a read-only path: rc $rc, $(cat "$W/err")"
rc=0
setfattr -x user.a "$W/mnt3/x/f" 2>"$W/err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "Read-only file system" "$W/err" ||
	die "setfattr -x on a read-only path: rc $rc, $(cat "$W/err")"
assert_eq 1 "$(getfattr --absolute-names --only-values -n user.a "$W/mnt3/x/f")" "read on a read-only path"
getfattr --absolute-names -n user.s "$W/mnt3/x/secret" >/dev/null 2>&1 &&
	die "getfattr of a hidden path worked"
fs_want 0 policy xc set fs.quota 1G # df then shows the env's usage
used=$(df -B1 --output=used "$W/mnt3" | tail -n1 | tr -d ' ')
fs_want 0 policy xc set fs.quota $((used + 12000))
"$BLAST_TEST_PYTHON" - "$W/mnt3" <<'PY' || die "xattr bytes do not count toward the quota"
import errno, os, sys
n = 0
try:
    for i in range(40):
        p = os.path.join(sys.argv[1], "q%d" % i)
        open(p, "w").close()
        os.setxattr(p, "user.q", b"q" * 3000)
        n += 1
except OSError as e:
    sys.exit(0 if e.errno == errno.EDQUOT and n < 40 else "errno %d after %d" % (e.errno, n))
sys.exit("40 files of 3000-byte attributes under a quota of 12000 bytes")
PY
fs_umount xc "$W/mnt3"

note "the store checks clean, deep"
fs_check_store
fs_pass
