#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fsfeat.py FEATURE PHASE DIR: one feature's operations on DIR (a blastfs
mount or a native ext4 directory), printed as a transcript to compare
between the two (results, errnos, what changed; never inode numbers or
times themselves).

FEATURE: exchange. PHASE: run (make the tree, do the operations, print
what each gave), state (print the tree: kinds, contents, link counts,
which names share an inode), used again after a remount and dropped
caches.
"""
import errno
import os
import stat
import sys

from fsdiff import RENAME_NOREPLACE, RENAME_EXCHANGE, renameat2


def try_(label, fn, *args):
    """Print label and what fn(*args) gave: ok (and its value) or the errno."""
    try:
        r = fn(*args)
    except OSError as e:
        print("%s: %s" % (label, errno.errorcode.get(e.errno, e.errno)))
        return None
    print("%s: ok%s" % (label, "" if r is None else " %r" % (r,)))
    return r


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def state(d):
    """The tree under d: kind, content or target, nlink, shared inodes."""
    inos = {}
    for top, dirs, files in os.walk(d):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(top, name)
            rel = os.path.relpath(p, d)
            st = os.lstat(p)
            inos.setdefault(st.st_ino, []).append(rel)
            if stat.S_ISDIR(st.st_mode):
                what = "dir nlink=%d" % st.st_nlink
            elif stat.S_ISLNK(st.st_mode):
                what = "link -> %s" % os.readlink(p)
            else:
                what = "file %r nlink=%d" % (read(p), st.st_nlink)
            print("%s %s %o" % (rel, what, stat.S_IMODE(st.st_mode)))
    for names in sorted(v for v in inos.values() if len(v) > 1):
        print("same inode: %s" % " ".join(sorted(names)))


# ---- RENAME_EXCHANGE -----------------------------------------------------

def exchange_run(d):
    j = lambda *p: os.path.join(d, *p)  # noqa: E731
    write(j("a"), b"A")
    write(j("b"), b"B")
    os.makedirs(j("d1", "sub"))
    write(j("d1", "sub", "f"), b"in d1")
    os.makedirs(j("d2"))
    write(j("d2", "g"), b"in d2")
    os.symlink("target", j("sym"))
    os.link(j("a"), j("a2"))
    ia, ib = os.lstat(j("a")).st_ino, os.lstat(j("b")).st_ino
    ctime = {n: os.lstat(j(n)).st_ctime_ns for n in ("a", "b")}
    dmt = os.lstat(d).st_mtime_ns
    fd = os.open(j("a"), os.O_RDWR)

    try_("files", renameat2, j("a"), j("b"), RENAME_EXCHANGE)
    print("contents", read(j("a")), read(j("b")))
    print("inodes swapped", os.lstat(j("a")).st_ino == ib and os.lstat(j("b")).st_ino == ia)
    print("ctimes changed", all(os.lstat(j(n)).st_ctime_ns != ctime[n] for n in ("a", "b")))
    print("dir mtime changed", os.lstat(d).st_mtime_ns != dmt)
    os.pwrite(fd, b"X", 0)  # the fd follows its inode, now named b
    os.close(fd)
    print("open fd wrote to", read(j("b")), "nlink", os.lstat(j("b")).st_nlink)

    try_("same inode (hard links)", renameat2, j("b"), j("a2"), RENAME_EXCHANGE)
    try_("file and dir", renameat2, j("a"), j("d2"), RENAME_EXCHANGE)
    print("after file/dir", sorted(os.listdir(j("a"))), read(j("d2")))
    try_("dir and dir across dirs", renameat2, j("d1", "sub"), j("a"), RENAME_EXCHANGE)
    print("nlink root d1", os.lstat(d).st_nlink, os.lstat(j("d1")).st_nlink)
    try_("symlink and file", renameat2, j("sym"), j("b"), RENAME_EXCHANGE)
    try_("missing source", renameat2, j("nope"), j("b"), RENAME_EXCHANGE)
    try_("missing target", renameat2, j("b"), j("nope"), RENAME_EXCHANGE)
    try_("with NOREPLACE", renameat2, j("b"), j("sym"), RENAME_EXCHANGE | RENAME_NOREPLACE)
    try_("dir into its subtree", renameat2, j("d1"), j("d1", "sub", "g"), RENAME_EXCHANGE)
    try_("subtree with its ancestor", renameat2, j("d1", "sub", "g"), j("d1"), RENAME_EXCHANGE)
    try_("dir with itself", renameat2, j("d1"), j("d1"), RENAME_EXCHANGE)
    try_("through a file", renameat2, j("b", "x"), j("sym"), RENAME_EXCHANGE)
    try_("dot", renameat2, j("d1", "."), j("a"), RENAME_EXCHANGE)
    try_("back", renameat2, j("a"), j("d1", "sub"), RENAME_EXCHANGE)
    state(d)


FEATURES = {"exchange": exchange_run}


def main(argv):
    if len(argv) != 3 or argv[0] not in FEATURES or argv[1] not in ("run", "state"):
        print(__doc__, file=sys.stderr)
        return 2
    feature, phase, d = argv
    if phase == "run":
        FEATURES[feature](d)
    else:
        state(d)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
