#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fsfeat.py FEATURE PHASE DIR: one feature's operations on DIR (a blastfs
mount or a native ext4 directory), printed as a transcript to compare
between the two (results, errnos, what changed; never inode numbers or
times themselves).

FEATURE: exchange, flags, tmpfile, atime (relatime), atime_strict, atime_noatime,
atime_nodiratime (the mount's atime mode). PHASE: run (make the tree, do the operations, print
what each gave), state (print the tree: kinds, contents, link counts,
which names share an inode), used again after a remount and dropped
caches.
"""
import errno
import fcntl
import os
import stat
import struct
import subprocess
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
            if not stat.S_ISLNK(st.st_mode):
                what += " flags=%s" % flag_letters(getflags(p))
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


# ---- chattr's flags -------------------------------------------------------

FS_IOC_GETFLAGS, FS_IOC_SETFLAGS = 0x80086601, 0x40086602
IMMUTABLE, APPEND, NODUMP, NOATIME = 0x10, 0x20, 0x40, 0x80
KEPT = IMMUTABLE | APPEND | NODUMP | NOATIME  # ext4 adds its own (extents)


def getflags(path):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        buf = fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("i", 0))
    finally:
        os.close(fd)
    return struct.unpack("i", buf)[0] & KEPT


def setflags(path, flags):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        old = struct.unpack("i", fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("i", 0)))[0]
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("i", (old & ~KEPT) | flags))
    finally:
        os.close(fd)


FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR = 0x801C581F, 0x401C5820
XFLAGS_KEPT = 0x8 | 0x10 | 0x40 | 0x80  # immutable, append, noatime, nodump


def get_xflags(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        x = fcntl.ioctl(fd, FS_IOC_FSGETXATTR, bytes(28))
    finally:
        os.close(fd)
    return struct.unpack("5I8s", x)[0] & XFLAGS_KEPT


def set_xflags(path, xflags):
    """FS_IOC_FSSETXATTR: the other fields as FSGETXATTR gave them."""
    fd = os.open(path, os.O_RDONLY)
    try:
        x = list(struct.unpack("5I8s", fcntl.ioctl(fd, FS_IOC_FSGETXATTR, bytes(28))))
        x[0] = (x[0] & ~XFLAGS_KEPT) | xflags
        fcntl.ioctl(fd, FS_IOC_FSSETXATTR, struct.pack("5I8s", *x))
    finally:
        os.close(fd)


def flag_letters(fl):
    return "".join(c if fl & b else "-" for b, c in
                   ((IMMUTABLE, "i"), (APPEND, "a"), (NODUMP, "d"), (NOATIME, "A")))


def open_write(path, flags, data=b"x"):
    """open then write, one step: ext4 refuses at the open, blastfs (whose
    opens the kernel makes itself) at the write."""
    fd = os.open(path, os.O_WRONLY | flags)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def without_cap(path, flags):
    """setflags from a root process without CAP_LINUX_IMMUTABLE."""
    code = "import sys; sys.path.insert(0, %r); import fsfeat; fsfeat.setflags(%r, %d)" % (
        os.path.dirname(os.path.abspath(__file__)), path, flags)
    r = subprocess.run(["setpriv", "--inh-caps=-linux_immutable",
                        "--bounding-set=-linux_immutable", sys.executable, "-c", code],
                       stderr=subprocess.PIPE)
    if r.returncode:
        raise OSError(errno.EPERM if b"Operation not permitted" in r.stderr else errno.EIO,
                      r.stderr.decode().strip().splitlines()[-1])


def flags_run(d):
    j = lambda *p: os.path.join(d, *p)  # noqa: E731
    for name in ("f", "g", "other"):
        write(j(name), name.encode())
    os.makedirs(j("di", "sub"))
    write(j("di", "child"), b"child")
    os.makedirs(j("da"))
    write(j("da", "child"), b"child")
    try_("no cap: +i", without_cap, j("f"), IMMUTABLE)
    try_("+i", setflags, j("f"), IMMUTABLE)
    print("f flags", flag_letters(getflags(j("f"))))
    try_("no cap: -i", without_cap, j("f"), 0)
    try_("no cap: +d on +i", without_cap, j("f"), IMMUTABLE | NODUMP)
    try_("immutable: write", open_write, j("f"), 0)
    try_("immutable: append", open_write, j("f"), os.O_APPEND)
    try_("immutable: O_TRUNC", open_write, j("f"), os.O_TRUNC)
    try_("immutable: truncate", os.truncate, j("f"), 0)
    try_("immutable: read", read, j("f"))
    try_("immutable: chmod", os.chmod, j("f"), 0o600)
    try_("immutable: chown", os.chown, j("f"), 1, 1)
    try_("immutable: utime", os.utime, j("f"), (1, 1))
    try_("immutable: touch", os.utime, j("f"), None)
    try_("immutable: unlink", os.unlink, j("f"))
    try_("immutable: rename", os.rename, j("f"), j("f2"))
    try_("immutable: replaced", os.rename, j("other"), j("f"))
    try_("immutable: link", os.link, j("f"), j("f3"))
    try_("immutable: exchange", renameat2, j("f"), j("other"), RENAME_EXCHANGE)
    print("f still", read(j("f")), oct(stat.S_IMODE(os.lstat(j("f")).st_mode)))

    try_("+a", setflags, j("g"), APPEND)
    try_("append-only: O_APPEND write", open_write, j("g"), os.O_APPEND, b"+")
    try_("append-only: write", open_write, j("g"), 0)
    try_("append-only: O_TRUNC", open_write, j("g"), os.O_TRUNC)
    try_("append-only: truncate", os.truncate, j("g"), 0)
    try_("append-only: chmod", os.chmod, j("g"), 0o600)
    try_("append-only: touch", os.utime, j("g"), None)
    try_("append-only: utime", os.utime, j("g"), (1, 1))
    try_("append-only: unlink", os.unlink, j("g"))
    try_("append-only: rename", os.rename, j("g"), j("g2"))
    try_("append-only: link", os.link, j("g"), j("g3"))
    print("g now", read(j("g")))

    try_("+i dir", setflags, j("di"), IMMUTABLE)
    try_("immutable dir: create", write, j("di", "new"), b"n")
    try_("immutable dir: mkdir", os.mkdir, j("di", "newd"))
    try_("immutable dir: symlink", os.symlink, "x", j("di", "sl"))
    try_("immutable dir: unlink", os.unlink, j("di", "child"))
    try_("immutable dir: rmdir", os.rmdir, j("di", "sub"))
    try_("immutable dir: rename out", os.rename, j("di", "child"), j("moved"))
    try_("immutable dir: rename in", os.rename, j("other"), j("di", "other"))
    try_("immutable dir: link in", os.link, j("other"), j("di", "ln"))
    try_("immutable dir: write a child", open_write, j("di", "child"), os.O_APPEND)
    try_("immutable dir: chmod", os.chmod, j("di"), 0o700)
    try_("immutable dir: rename it", os.rename, j("di"), j("di2"))

    try_("+a dir", setflags, j("da"), APPEND)
    try_("append-only dir: create", write, j("da", "new"), b"n")
    try_("append-only dir: unlink", os.unlink, j("da", "child"))
    try_("append-only dir: rename out", os.rename, j("da", "child"), j("moved"))
    try_("append-only dir: rename onto", os.rename, j("other"), j("da", "child"))
    try_("append-only dir: rename in", os.rename, j("other"), j("da", "other"))
    try_("+dA", setflags, j("da", "new"), NODUMP | NOATIME)
    write(j("xf"), b"x")
    try_("FSSETXATTR append, nodump", set_xflags, j("xf"), 0x10 | 0x80)
    print("xf flags", flag_letters(getflags(j("xf"))), "xflags", hex(get_xflags(j("xf"))))
    try_("-a", setflags, j("g"), 0)
    try_("after -a: unlink", os.unlink, j("g"))
    state(d)


# ---- O_TMPFILE ------------------------------------------------------------

AT_FDCWD, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH = -100, 0x400, 0x1000


def linkat_fd(fd, dst, proc=False):
    """Name fd's inode: linkat(fd, "", AT_EMPTY_PATH), or through
    /proc/self/fd/FD with AT_SYMLINK_FOLLOW."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if proc:
        r = libc.linkat(AT_FDCWD, os.fsencode("/proc/self/fd/%d" % fd), AT_FDCWD,
                        os.fsencode(dst), AT_SYMLINK_FOLLOW)
    else:
        r = libc.linkat(fd, b"", AT_FDCWD, os.fsencode(dst), AT_EMPTY_PATH)
    if r:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), dst)


def tmpfile_run(d):
    j = lambda *p: os.path.join(d, *p)  # noqa: E731
    os.mkdir(j("sub"))
    write(j("taken"), b"t")
    fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o640)
    os.write(fd, b"anonymous")
    print("names", sorted(os.listdir(d)), "nlink", os.fstat(fd).st_nlink)
    try_("linkat AT_EMPTY_PATH", linkat_fd, fd, j("sub", "named"))
    try_("linkat onto a name", linkat_fd, fd, j("taken"), True)
    try_("linkat again, by /proc", linkat_fd, fd, j("second"), True)
    os.write(fd, b" and more")
    os.close(fd)
    print("named", read(j("sub", "named")), "nlink", os.stat(j("second")).st_nlink)
    fd = os.open(j("sub"), os.O_TMPFILE | os.O_WRONLY | os.O_EXCL, 0o600)
    os.write(fd, b"never named")
    try_("linkat of O_EXCL", linkat_fd, fd, j("excl"), True)
    os.close(fd)
    fd = os.open(j("sub"), os.O_TMPFILE | os.O_RDWR, 0o600)
    os.write(fd, b"dropped")
    os.close(fd)
    try_("O_TMPFILE of a file", os.open, j("taken"), os.O_TMPFILE | os.O_RDWR, 0o600)
    try_("O_TMPFILE read-only", os.open, d, os.O_TMPFILE | os.O_RDONLY, 0o600)
    try_("O_TMPFILE in a missing dir", os.open, j("nope"), os.O_TMPFILE | os.O_RDWR, 0o600)
    setflags(j("sub"), IMMUTABLE)
    try_("O_TMPFILE in an immutable dir", os.open, j("sub"), os.O_TMPFILE | os.O_RDWR,
         0o600)
    setflags(j("sub"), 0)
    state(d)


# ---- atime ----------------------------------------------------------------

HOUR = 3600 * 10**9


def uncached(path):
    """Forget path's cached pages (a directory's: its cached listing): the
    next read reaches the filesystem (blastfs sees only the reads the
    kernel's page cache does not answer)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def atime_of(path):
    return os.stat(path).st_atime_ns


def read_changes(label, path, is_dir=False):
    uncached(path)
    before = atime_of(path)
    import time
    coarse = getattr(time, "CLOCK_REALTIME_COARSE", 5)  # Linux
    # ext4's clock is coarse: wait until a new atime can differ (not for
    # an atime set in the future)
    while before - time.time_ns() < 10**9 and time.clock_gettime_ns(coarse) <= before:
        time.sleep(0.001)
    if is_dir:
        os.listdir(path)
    else:
        read(path)
    print("%s: atime %s" % (label, "changed" if atime_of(path) != before else "kept"))


def atime_cases(d):
    """The same reads in every mode; what each did to atime is the mode's."""
    j = lambda *p: os.path.join(d, *p)  # noqa: E731
    now = time_ns()
    for name in ("older", "newer", "both_old", "twice"):
        write(j(name), name.encode())
    os.mkdir(j("dir"))
    write(j("dir", "x"), b"x")
    os.utime(j("older"), ns=(now - 2 * HOUR, now - HOUR))
    read_changes("atime before mtime", j("older"))
    os.utime(j("newer"), ns=(now + HOUR, now - HOUR))
    read_changes("atime after mtime and ctime", j("newer"))
    os.utime(j("both_old"), ns=(now - 48 * HOUR, now - 72 * HOUR))
    read_changes("atime two days old", j("both_old"))
    read_changes("first read", j("twice"))
    read_changes("second read", j("twice"))
    os.utime(j("dir"), ns=(now - 2 * HOUR, now - HOUR))
    read_changes("dir listed", j("dir"), True)
    read_changes("dir listed again", j("dir"), True)
    write(j("noatime"), b"A")
    setflags(j("noatime"), NOATIME)
    read_changes("chattr +A", j("noatime"))
    fd = os.open(j("older"), os.O_RDONLY)
    st = os.fstat(fd)
    os.close(fd)
    print("fstat agrees", st.st_atime_ns == atime_of(j("older")))


def time_ns():
    import time
    return time.time_ns()


FEATURES = {"exchange": exchange_run, "flags": flags_run, "tmpfile": tmpfile_run,
            "atime": atime_cases,
            "atime_strict": atime_cases, "atime_noatime": atime_cases,
            "atime_nodiratime": atime_cases}


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
