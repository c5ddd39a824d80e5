#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A file still open through a descriptor whose name a rename replaces,
# once the daemon's node no longer holds its content (the page cache
# dropped, the node not loaded): writes and reads through the descriptor
# go on as on ext4, for a tiny file (inline in the store), an empty one
# and a sealed blob. Old code loaded such a node's attributes at the
# rename without marking inline content as held in memory: the next
# write read "blob 0" and failed with EIO (fsdiff.py seed 5 found it).
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
mkdir -p "$W/src"
fs_import hr "$W/src"
fs_mount hr "$MNT"
printf 'tiny\n' >"$MNT/tiny"
: >"$MNT/empty"
head -c 300000 /dev/urandom >"$MNT/big"
mkdir "$W/want"
printf 'tiny\n' >"$W/want/tiny"
: >"$W/want/empty"
cp "$MNT/big" "$W/want/big"
for f in tiny empty big; do printf 'other %s\n' "$f" >"$MNT/new-$f"; done
fs_sync hr
"$BLAST_TEST_PYTHON" - "$MNT" "$W/want" <<'PY' || die "a write through a descriptor of a replaced file"
import os, sys
mnt = sys.argv[1]
before = {f: open(os.path.join(sys.argv[2], f), "rb").read() for f in ("tiny", "empty", "big")}
# the kernel forgets the inodes (blastfs its nodes); a new open looks the
# name up again and gets a node that has not read its entry
with open("/proc/sys/vm/drop_caches", "w") as dc:
    dc.write("3\n")
fds = {f: os.open(os.path.join(mnt, f), os.O_RDWR) for f in ("tiny", "empty", "big")}
for f, fd in fds.items():
    os.rename(os.path.join(mnt, "new-" + f), os.path.join(mnt, f))
    assert os.fstat(fd).st_nlink == 0, (f, os.fstat(fd).st_nlink)
    n = os.pwrite(fd, b"written after\n", 2)
    assert n == 14, (f, n)
    want = bytearray(before[f].ljust(16, b"\0"))
    want[2:16] = b"written after\n"
    got = os.pread(fd, 400000, 0)
    assert got == bytes(want[:max(len(before[f]), 16)]), (f, got[:40])
    os.close(fd)
    with open(os.path.join(mnt, f), "rb") as g:
        assert g.read() == ("other %s\n" % f).encode(), f
print("descriptors of replaced files write and read as on ext4")
PY
fs_umount hr "$MNT"
fs_check_store
fs_pass
