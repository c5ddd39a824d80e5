#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A hard link made through a node whose idea of "linked" lags the store.
# A file is open (its node kept) while the env is plain; `load` flips to a
# snapshot where the same file is hard-linked (the node survives: same
# file id); then linkat(/proc/self/fd/N) links the open inode directly, no
# LOOKUP first to tell the node. Old code took the "first extra name" path
# and wrote the new alias over the inode's own links-table entry: every
# name then failed with EIO. (ThreadSanitizer found the unsynchronized
# read of the same flag; this is its deterministic route.)
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
mkdir -p "$W/src/bin" # load rewrites the activate scripts there
fs_import ln "$W/src"
fs_mount ln "$MNT"
printf 'content\n' >"$MNT/f"
fs_sync ln
fs_want 0 save ln plain
ln "$MNT/f" "$MNT/g"
fs_sync ln
fs_want 0 save ln linked
fs_want 0 load ln plain
[ ! -e "$MNT/g" ] || die "load plain kept g"
"$BLAST_TEST_PYTHON" - "$MNT" "$BLASTCTL" "$H" <<'PY' || die "a link through a stale node"
import os, subprocess, sys
mnt, ctl, home = sys.argv[1:]
fd = os.open(os.path.join(mnt, "f"), os.O_RDONLY)  # the node, plain
subprocess.run([ctl, "--home", home, "load", "ln", "linked"], check=True,
               capture_output=True)
# no lookup of any name: the kernel links the inode the descriptor holds
# (linkat AT_EMPTY_PATH; root has the CAP_DAC_READ_SEARCH it needs)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000
if libc.linkat(fd, b"", AT_FDCWD, os.path.join(mnt, "h").encode(),
               AT_EMPTY_PATH) != 0:
    e = ctypes.get_errno()
    sys.exit("linkat: %s" % os.strerror(e))
os.close(fd)
for n in "fgh":
    with open(os.path.join(mnt, n)) as f:
        assert f.read() == "content\n", n
st = [os.stat(os.path.join(mnt, n)) for n in "fgh"]
assert len({s.st_ino for s in st}) == 1, st
assert st[0].st_nlink == 3, st[0].st_nlink
PY
fs_umount ln "$MNT"
fs_mount ln "$MNT"
for n in f g h; do
	assert_eq "content" "$(cat "$MNT/$n")" "$n after a remount"
done
fs_umount ln "$MNT"
fs_check_store
fs_pass
