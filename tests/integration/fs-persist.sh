#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What is written through a blastfs mount survives unmount and remount, and
# `blastctl export` after unmount gives exactly that tree: file bytes
# (new, rewritten in place, appended, truncated, sparse, big, copied with
# cp -a), dirs, symlinks, hard links, fifos, a 0:0 char device, modes incl.
# setuid/setgid/sticky, owners, and ns mtimes of everything incl. dirs and
# the root. The imported tree reads back identically first; st_ino and the
# hard links stay the same across the remount; readiness via --notify-fd
# comes only once the mount is there.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt

"$BLAST_TEST_PYTHON" "$FS_DIR/ctl-mktree.py" "$W/src"
fs_import persist "$W/src"

note "mount with --notify-fd: ready means mounted"
mkdir -p "$MNT"
on_exit _fs_kill_daemon persist
on_exit cleanup_mount "$MNT"
mkfifo "$W/notify"
exec {nfd}<>"$W/notify"
FS_NOTIFY_FD_TARGET=$W/notify fs_start persist "$MNT" --notify-fd 3
line=
read -r -t "$FS_TIMEOUT" -u "$nfd" line || die "no readiness line on --notify-fd within ${FS_TIMEOUT}s"
assert_eq ready "$line" "--notify-fd message"
is_mounted "$MNT" || die "--notify-fd said ready but $MNT is not mounted"
exec {nfd}>&-

note "the imported tree reads back identically"
assert_same_tree --owner "$W/src" "$MNT"

note "change the tree through the mount, and the same on a native copy"
cp -a "$W/src" "$W/ref"
change() {
	"$BLAST_TEST_PYTHON" - "$1" <<'PY'
import os, stat, sys
root = sys.argv[1]
P = lambda *a: os.path.join(root, *a)

def write(rel, data, mode=0o644):
    with open(P(rel), "wb") as f:
        f.write(data)
    os.chmod(P(rel), mode)

os.makedirs(P("new/deep/er"))
write("new/small", b"small\n")
write("new/empty", b"")
write("new/deep/er/big", bytes(range(256)) * 5000, 0o600)     # 1.28 MB
write("new/tool", b"#!/bin/sh\necho hi\n", 0o4755)
write("new/sgid", b"g", 0o2750)
os.mkdir(P("new/sticky"), 0o1777)
os.chmod(P("new/sticky"), 0o1777)
with open(P("new/sparse"), "wb") as f:
    f.seek(3 << 20)
    f.write(b"end")
os.symlink("deep/er/big", P("new/link"))
os.symlink("/nonexistent/" + "z" * 1000, P("new/longlink"))
os.link(P("new/small"), P("new/hardlink"))
os.mkfifo(P("new/fifo"), 0o600)
os.mknod(P("new/whiteout"), 0o600 | stat.S_IFCHR, os.makedev(0, 0))
os.chown(P("new/small"), 1234, 5678)
os.lchown(P("new/link"), 4321, 8765)
# Imported (sealed) files changed in place, appended, truncated, replaced.
fd = os.open(P("chunks/1m+3"), os.O_WRONLY)
os.pwrite(fd, b"PATCHED", 300000)
os.pwrite(fd, b"END", (1 << 20) + 1)
os.close(fd)
with open(P("tiny.py"), "ab") as f:
    f.write(b"print('appended')\n")
os.truncate(P("chunks/256k+1"), 1000)
os.truncate(P("inline64"), 100000)
write("lib/python3.11/site-packages/pkg/__init__.py", b"VERSION = '2.0'\n")
os.unlink(P("lib/python3.11/site-packages/pkg/copy.bin"))
os.rename(P("deep/a"), P("moved-a"))
os.rmdir(P("empty-dir"))
os.chmod(P("modes/ro"), 0o400)
os.rename(P("modes/group"), P("new/group-moved"))
# Explicit ns mtimes on everything, children before parents, root last;
# each derived from the path (the walk order differs between filesystems).
import zlib
for dirpath, dirnames, filenames in os.walk(root, topdown=False):
    for name in filenames + dirnames:
        p = os.path.join(dirpath, name)
        if name == "hardlink":
            continue  # one inode, one mtime: set via new/small
        stamp = 1_700_000_000_000_000_001 + zlib.crc32(os.fsencode(
            os.path.relpath(p, root))) * 7
        os.utime(p, ns=(stamp, stamp), follow_symlinks=False)
os.utime(root, ns=(1_700_000_000_000_000_003, 1_700_000_000_999_999_999))
PY
}
change "$W/ref"
change "$MNT"
cp -a "$W/src/lib" "$W/ref/copied-lib"
cp -a "$W/src/lib" "$MNT/copied-lib" 2>"$W/cp.err" || die "cp -a into the mount failed: $(cat "$W/cp.err")"
assert_eq "" "$(cat "$W/cp.err")" "cp -a stderr"
touch -h -d @1700000001.5 "$W/ref/copied-lib" "$MNT/copied-lib" "$W/ref" "$MNT"
assert_same_tree --owner "$W/ref" "$MNT"

inodes() { (cd "$1" && find . -printf '%i %n %P\n' | sort -k3); }
inodes "$MNT" >"$W/inodes.before"

note "unmount; export equals the tree written"
fs_umount persist "$MNT"
bctl export persist "$W/export" >/dev/null 2>"$W/export.err" || die "export failed: $(cat "$W/export.err")"
assert_same_tree --owner "$W/ref" "$W/export"

note "remount: same tree, same st_ino and links"
fs_mount persist "$MNT"
assert_same_tree --owner "$W/ref" "$MNT"
inodes "$MNT" >"$W/inodes.after"
assert_file_eq "$W/inodes.before" "$W/inodes.after" "st_ino/nlink across remount"
[ "$(stat -c %i "$MNT/new/small")" == "$(stat -c %i "$MNT/new/hardlink")" ] ||
	die "hard link broken after remount"

note "change again after remount (sealed files), remount once more"
printf 'again\n' >>"$MNT/new/hardlink"
printf 'again\n' >>"$W/ref/new/hardlink"
dd if=/dev/zero of="$MNT/new/deep/er/big" bs=1 count=5 seek=70000 conv=notrunc status=none
dd if=/dev/zero of="$W/ref/new/deep/er/big" bs=1 count=5 seek=70000 conv=notrunc status=none
for d in "$W/ref" "$MNT"; do
	touch -d @1700000002.123456789 "$d/new/hardlink" "$d/new/deep/er/big"
	touch -d @1700000003.2 "$d/new/deep/er" "$d/new" "$d"
done
fs_sync persist
fs_remount persist "$MNT"
assert_same_tree --owner "$W/ref" "$MNT"
fs_umount persist "$MNT"
fs_check_store
fs_pass
