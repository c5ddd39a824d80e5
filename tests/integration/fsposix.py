#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""POSIX edge-case checks of a mounted filesystem, one named check each.

Usage: fsposix.py [--list] [--only NAME,...] [--design] [--remount-cmd CMD]
                  [--sync-cmd CMD] [--drop-caches] DIR

Each check runs in a fresh subdirectory of DIR and prints one TAP-like line:
"ok NAME", "not ok NAME: what was expected, what came instead" or
"skip NAME: why". Exit status: 0 all passed, 1 some failed, 2 usage.

Every check without --design passes on ext4 and tmpfs (a check failing there
is a wrong check). --design adds Blast's own requirements beyond POSIX
(issue 3 and the research notes): directory mtime strictly advancing on
back-to-back changes, renameat2 WHITEOUT refused.
--remount-cmd CMD (run by the shell, no fd of ours open in DIR) enables the
checks across an unmount/remount; --sync-cmd CMD (seal pending writes) makes
the copy-up checks rewrite files that are certainly sealed in the store.
--drop-caches (root) lets checks evict the kernel's dentries and inodes
(echo 2 >/proc/sys/vm/drop_caches, machine-wide) so that the filesystem gets
FORGETs and fresh LOOKUPs in the middle of a sequence.
"""

import ctypes
import errno
import fcntl
import hashlib
import mmap
import os
import shutil
import stat
import subprocess
import sys
import threading
import time
import traceback

CHECKS = []
OPTS = {"design": False, "remount": None, "sync": None, "drop_caches": False}
OLD_NS = 1_000_000_000_123_456_789  # 2001-09-09, an explicit "old" time
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
CLOCK_REALTIME_COARSE = getattr(time, "CLOCK_REALTIME_COARSE", 5)  # Linux


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(name, design=False):
    def reg(fn):
        CHECKS.append((name, fn, design))
        return fn
    return reg


# Helpers -----------------------------------------------------------------------

def fail(msg):
    raise Fail(msg)


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(want, got, what):
    if want != got:
        raise Fail("%s: expected %r, got %r" % (what, want, got))


def ename(e):
    return errno.errorcode.get(e, str(e))


def expect_errno(want, fn, *args, what=None, **kw):
    """fn(*args) must fail with an errno in want (a name or a tuple)."""
    want = (want,) if isinstance(want, int) else want
    label = what or "%s%r" % (fn.__name__, tuple(
        os.path.basename(a) if isinstance(a, str) else a for a in args))
    try:
        r = fn(*args, **kw)
    except OSError as e:
        if e.errno in want:
            return e.errno
        fail("%s: expected %s, got %s" % (label, "/".join(map(ename, want)),
                                          ename(e.errno)))
    if isinstance(r, int) and fn is os.open:
        os.close(r)
    fail("%s: expected %s, but it succeeded" % (label, "/".join(map(ename, want))))


def write_file(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        n = os.write(fd, data)
        expect(n == len(data), "short write to %s: %d of %d" % (path, n, len(data)))
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def pread_all(fd):
    st = os.fstat(fd)
    out = b""
    while len(out) < st.st_size:
        chunk = os.pread(fd, st.st_size - len(out), len(out))
        if not chunk:
            break
        out += chunk
    return out


def coarse_now():
    return time.clock_gettime_ns(CLOCK_REALTIME_COARSE)


def wait_clock_past(ns):
    """Wait (readiness on the clock, not a fixed sleep) until both the fine and
    the coarse wall clocks are past ns, so the next change gets a later time."""
    deadline = time.monotonic() + 5
    while coarse_now() <= ns or time.time_ns() <= ns:
        if time.monotonic() > deadline:
            fail("clock did not pass %d within 5 s" % ns)
        time.sleep(0.001)


def renameat2(src, dst, flags):
    r = libc.renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst),
                       ctypes.c_uint(flags))
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), src)


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def utimensat(path, atime, mtime, nofollow=False):
    """atime/mtime: ns since the epoch, or UTIME_NOW / UTIME_OMIT markers
    passed as ("now",) / ("omit",)."""
    ts = (Timespec * 2)()
    for i, t in enumerate((atime, mtime)):
        if t == ("now",):
            ts[i] = Timespec(0, UTIME_NOW)
        elif t == ("omit",):
            ts[i] = Timespec(0, UTIME_OMIT)
        else:
            ts[i] = Timespec(t // 1_000_000_000, t % 1_000_000_000)
    flags = 0x100 if nofollow else 0  # AT_SYMLINK_NOFOLLOW
    if libc.utimensat(AT_FDCWD, os.fsencode(path), ts, flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)


def run_hook(kind):
    cmd = OPTS[kind]
    r = subprocess.run(cmd, shell=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        fail("%s command failed (exit %d): %s: %s" % (
            kind, r.returncode, cmd, r.stdout.decode(errors="replace")[-2000:]))


def forget_all():
    """Make the kernel forget unused dentries and inodes (FORGET requests)."""
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")


def sync_if_possible():
    if OPTS["sync"]:
        run_hook("sync")


def in_child(fn):
    """Run fn() in a forked child; return its exit status (fn's int)."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = fn()
        except BaseException:
            traceback.print_exc()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def dir_times_change(d, label, setup, op, dirs=None):
    """Run op(sub) after setup(sub) on a fresh dir sub (and extra dirs);
    every dir in dirs (default [sub]) must get a new mtime and ctime."""
    sub = os.path.join(d, label)
    os.mkdir(sub)
    extra = []
    if setup:
        extra = setup(sub) or []
    watched = [sub] + extra if dirs is None else dirs(sub)
    before = {}
    for p in watched:
        os.utime(p, ns=(OLD_NS, OLD_NS))
        before[p] = os.stat(p)
    wait_clock_past(max(st.st_ctime_ns for st in before.values()))
    op(sub)
    for p in watched:
        st = os.stat(p)
        name = os.path.relpath(p, d)
        expect(st.st_mtime_ns > before[p].st_ctime_ns,
               "%s: dir %s mtime not advanced (still %d, set to %d before)"
               % (label, name, st.st_mtime_ns, OLD_NS))
        expect(st.st_ctime_ns > before[p].st_ctime_ns,
               "%s: dir %s ctime not advanced (%d -> %d)"
               % (label, name, before[p].st_ctime_ns, st.st_ctime_ns))


# Names and paths ---------------------------------------------------------------

@check("name_max_255_ok")
def _(d):
    name = "n" * 255
    p = os.path.join(d, name)
    write_file(p, b"x")
    eq(b"x", read_file(p), "content of a 255-byte name")
    expect(name in os.listdir(d), "255-byte name missing from readdir")
    os.mkdir(os.path.join(d, "d" * 255))
    os.symlink("t", os.path.join(d, "s" * 255))
    os.rename(p, os.path.join(d, "r" * 255))
    os.link(os.path.join(d, "r" * 255), os.path.join(d, "l" * 255))
    eq(2, os.stat(os.path.join(d, "l" * 255)).st_nlink, "nlink via 255-byte names")


@check("name_max_256_enametoolong")
def _(d):
    long = os.path.join(d, "n" * 256)
    write_file(os.path.join(d, "f"), b"x")
    expect_errno(errno.ENAMETOOLONG, os.open, long, os.O_CREAT | os.O_WRONLY, 0o644,
                 what="open(O_CREAT) of a 256-byte name")
    expect_errno(errno.ENAMETOOLONG, os.stat, long, what="stat of a 256-byte name")
    expect_errno(errno.ENAMETOOLONG, os.mkdir, long, what="mkdir of a 256-byte name")
    expect_errno(errno.ENAMETOOLONG, os.symlink, "t", long,
                 what="symlink named with 256 bytes")
    expect_errno(errno.ENAMETOOLONG, os.rename, os.path.join(d, "f"), long,
                 what="rename to a 256-byte name")
    expect_errno(errno.ENAMETOOLONG, os.link, os.path.join(d, "f"), long,
                 what="link to a 256-byte name")
    expect_errno(errno.ENAMETOOLONG, os.mknod, long, 0o644 | stat.S_IFIFO,
                 what="mknod of a 256-byte name")
    eq(["f"], os.listdir(d), "listing after the refused operations")


@check("path_max_relative")
def _(d):
    # 15 directories of 255 bytes + a 255-byte file: a 4095-byte relative
    # path (PATH_MAX 4096 counts the NUL). Built with openat/mkdirat.
    comps = [("%02d" % i) + "d" * 253 for i in range(15)]
    fname = "f" * 255
    rel = "/".join(comps + [fname])
    eq(4095, len(rel), "constructed path length")
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        cur = os.dup(dfd)
        for c in comps:
            os.mkdir(c, dir_fd=cur)
            nxt = os.open(c, os.O_RDONLY | os.O_DIRECTORY, dir_fd=cur)
            os.close(cur)
            cur = nxt
        os.close(cur)
        fd = os.open(rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=dfd)
        os.write(fd, b"deep")
        os.close(fd)
        fd = os.open(rel, os.O_RDONLY, dir_fd=dfd)
        eq(b"deep", os.read(fd, 10), "content via the 4095-byte path")
        os.close(fd)
        st = os.stat(rel, dir_fd=dfd)
        eq(4, st.st_size, "size via the 4095-byte path")
        os.rename(rel, rel[:-1] + "g", src_dir_fd=dfd, dst_dir_fd=dfd)  # rename within the deep dir
        os.unlink(rel[:-1] + "g", dir_fd=dfd)
        expect_errno(errno.ENAMETOOLONG, os.open, rel + "x", os.O_RDONLY,
                     dir_fd=dfd, what="open of a 4096-byte relative path")
        # Deep tree removal with fd-relative calls (what rm -rf does).
        shutil.rmtree(os.path.join(d, comps[0]))
        eq([], os.listdir(d), "deep tree removed")
    finally:
        os.close(dfd)


@check("path_max_symlink_target_4095")
def _(d):
    target = ("x" * 254 + "/") * 16 + "y" * 15
    eq(4095, len(target), "target length")
    p = os.path.join(d, "lnk")
    os.symlink(target, p)
    eq(target, os.readlink(p), "readlink of a 4095-byte target")
    eq(4095, os.lstat(p).st_size, "lstat size of the long symlink")
    expect_errno(errno.ENAMETOOLONG, os.symlink, target + "z", os.path.join(d, "l2"),
                 what="symlink with a 4096-byte target")


@check("odd_names")
def _(d):
    names = ["sp ace", "new\nline", "tab\t", "\u00fcn\u00efc\u00f8de", "-dash",
             ".hidden", "..dots", "back\\slash", "\x01ctl", "\udcff-raw-byte"]
    for n in names:
        write_file(os.path.join(d, n), n.encode("utf-8", "surrogateescape"))
    eq(sorted(names), sorted(os.listdir(d)), "listing of odd names")
    for n in names:
        eq(n.encode("utf-8", "surrogateescape"), read_file(os.path.join(d, n)),
           "content of %r" % n)


# Unlinked and renamed open files ---------------------------------------------------

@check("open_unlinked_file_rw")
def _(d):
    p = os.path.join(d, "f")
    fd = os.open(p, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"hello")
        os.unlink(p)
        expect(not os.path.lexists(p), "name still exists after unlink")
        eq(0, os.fstat(fd).st_nlink, "fstat st_nlink of an open unlinked file")
        os.pwrite(fd, b" world", 5)
        eq(b"hello world", os.pread(fd, 100, 0), "read back from the unlinked file")
        os.ftruncate(fd, 5)
        eq(5, os.fstat(fd).st_size, "fstat size after ftruncate of unlinked file")
        eq(b"hello", os.pread(fd, 100, 0), "content after ftruncate")
        os.fchmod(fd, 0o600)
        eq(0o600, stat.S_IMODE(os.fstat(fd).st_mode), "fchmod of unlinked file")
        os.fsync(fd)
        # A new file under the same name is a different file.
        write_file(p, b"new")
        eq(b"hello", os.pread(fd, 100, 0), "unlinked file after name reuse")
        eq(b"new", read_file(p), "new file under the old name")
        expect(os.fstat(fd).st_ino != os.stat(p).st_ino, "same st_ino for the new file")
    finally:
        os.close(fd)
    eq(["f"], os.listdir(d), "listing after close of the unlinked file")


@check("open_unlinked_file_second_fd")
def _(d):
    p = os.path.join(d, "f")
    write_file(p, b"abc" * 1000)
    fd1 = os.open(p, os.O_RDONLY)
    fd2 = os.open(p, os.O_RDWR)
    try:
        os.unlink(p)
        os.pwrite(fd2, b"XYZ", 0)
        os.close(fd2)
        fd2 = -1
        eq(b"XYZabc", os.pread(fd1, 6, 0), "write via one fd of an unlinked file, "
           "read via the other after the writer closed")
    finally:
        os.close(fd1)
        if fd2 >= 0:
            os.close(fd2)


@check("rename_over_open_file_keeps_old_content")
def _(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"OLD CONTENT" * 100)
    fd = os.open(a, os.O_RDONLY)
    try:
        eq(b"OLD", os.pread(fd, 3, 0), "first read")
        write_file(b, b"NEW")
        os.rename(b, a)
        eq(b"OLD CONTENT" * 100, pread_all(fd), "open file after rename over it")
        eq(0, os.fstat(fd).st_nlink, "nlink of the replaced open file")
        eq(b"NEW", read_file(a), "new content under the name")
    finally:
        os.close(fd)


@check("mmap_unlinked_file")
def _(d):
    p = os.path.join(d, "lib.so")
    data = os.urandom(20000)
    write_file(p, data)
    fd = os.open(p, os.O_RDONLY)
    try:
        m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
        os.unlink(p)
        write_file(p, b"replacement")  # what pip does to an in-use .so
        eq(data, bytes(m[:]), "mapping of an unlinked file")
        m.close()
    finally:
        os.close(fd)


@check("rename_open_file_then_write")
def _(d):
    a = os.path.join(d, "a")
    os.mkdir(os.path.join(d, "sub"))
    b = os.path.join(d, "sub", "b")
    fd = os.open(a, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"one ")
        os.rename(a, b)
        os.write(fd, b"two")
    finally:
        os.close(fd)
    eq(b"one two", read_file(b), "writes before and after renaming the open file")
    expect(not os.path.lexists(a), "old name still present")


@check("cwd_survives_rename")
def _(d):
    os.makedirs(os.path.join(d, "x", "inner"))
    old = os.getcwd()
    os.chdir(os.path.join(d, "x", "inner"))
    try:
        os.rename(os.path.join(d, "x"), os.path.join(d, "y"))
        write_file("here", b"cwd")
        eq(os.path.join(d, "y", "inner"), os.getcwd(), "getcwd after renaming an ancestor")
        eq(["here"], os.listdir("."), "listing of the renamed cwd")
    finally:
        os.chdir(old)
    eq(b"cwd", read_file(os.path.join(d, "y", "inner", "here")), "file created in cwd")


# Timestamps --------------------------------------------------------------------

@check("rename_updates_ctime")
def _(d):
    a = os.path.join(d, "a")
    write_file(a, b"x")
    st0 = os.stat(a)
    wait_clock_past(st0.st_ctime_ns)
    os.rename(a, os.path.join(d, "b"))
    st1 = os.stat(os.path.join(d, "b"))
    expect(st1.st_ctime_ns > st0.st_ctime_ns,
           "ctime of the renamed file not advanced (%d -> %d)" % (st0.st_ctime_ns,
                                                                st1.st_ctime_ns))
    eq(st0.st_mtime_ns, st1.st_mtime_ns, "mtime of the renamed file")
    eq(st0.st_ino, st1.st_ino, "st_ino kept by rename")


@check("rename_dir_updates_ctime")
def _(d):
    a = os.path.join(d, "a")
    os.mkdir(a)
    os.utime(a, ns=(OLD_NS, OLD_NS))
    st0 = os.stat(a)
    wait_clock_past(st0.st_ctime_ns)
    os.rename(a, os.path.join(d, "b"))
    st1 = os.stat(os.path.join(d, "b"))
    expect(st1.st_ctime_ns > st0.st_ctime_ns, "ctime of the renamed dir not advanced")
    eq(OLD_NS, st1.st_mtime_ns, "mtime of the renamed dir (same parent)")


@check("unlink_updates_ctime_of_other_link")
def _(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"x")
    os.link(a, b)
    st0 = os.stat(a)
    wait_clock_past(st0.st_ctime_ns)
    os.unlink(b)
    st1 = os.stat(a)
    eq(1, st1.st_nlink, "nlink after unlinking the other link")
    expect(st1.st_ctime_ns > st0.st_ctime_ns,
           "ctime not advanced by unlink of another link (%d -> %d)"
           % (st0.st_ctime_ns, st1.st_ctime_ns))


@check("link_updates_ctime")
def _(d):
    a = os.path.join(d, "a")
    write_file(a, b"x")
    st0 = os.stat(a)
    wait_clock_past(st0.st_ctime_ns)
    os.link(a, os.path.join(d, "b"))
    st1 = os.stat(a)
    expect(st1.st_ctime_ns > st0.st_ctime_ns, "ctime not advanced by link")
    eq(st0.st_mtime_ns, st1.st_mtime_ns, "mtime changed by link")


def _file_in(name):
    def setup(sub):
        write_file(os.path.join(sub, name), b"x")
    return setup


for _label, _setup, _op in [
    ("create", None, lambda s: write_file(os.path.join(s, "new"), b"")),
    ("unlink", _file_in("f"), lambda s: os.unlink(os.path.join(s, "f"))),
    ("rename_within", _file_in("f"),
     lambda s: os.rename(os.path.join(s, "f"), os.path.join(s, "g"))),
    ("rename_over", lambda s: [write_file(os.path.join(s, n), n.encode()) for n in "fg"]
     and None, lambda s: os.rename(os.path.join(s, "f"), os.path.join(s, "g"))),
    ("mkdir", None, lambda s: os.mkdir(os.path.join(s, "dd"))),
    ("rmdir", lambda s: os.mkdir(os.path.join(s, "dd")),
     lambda s: os.rmdir(os.path.join(s, "dd"))),
    ("link", _file_in("f"), lambda s: os.link(os.path.join(s, "f"), os.path.join(s, "g"))),
    ("symlink", None, lambda s: os.symlink("target", os.path.join(s, "l"))),
    ("mknod_fifo", None, lambda s: os.mkfifo(os.path.join(s, "p"))),
]:
    check("dir_times_on_" + _label)(
        lambda d, _l=_label, _s=_setup, _o=_op: dir_times_change(d, _l, _s, _o))


def _two_dirs(sub):
    os.mkdir(os.path.join(sub, "src"))
    os.mkdir(os.path.join(sub, "dst"))
    write_file(os.path.join(sub, "src", "f"), b"x")
    os.mkdir(os.path.join(sub, "src", "dir"))


@check("dir_times_on_rename_across_dirs")
def _(d):
    dir_times_change(
        d, "across", _two_dirs,
        lambda s: os.rename(os.path.join(s, "src", "f"), os.path.join(s, "dst", "f")),
        dirs=lambda s: [os.path.join(s, "src"), os.path.join(s, "dst")])


@check("dir_times_on_dir_rename_across_dirs")
def _(d):
    dir_times_change(
        d, "across", _two_dirs,
        lambda s: os.rename(os.path.join(s, "src", "dir"), os.path.join(s, "dst", "dir")),
        dirs=lambda s: [os.path.join(s, "src"), os.path.join(s, "dst")])


@check("dir_mtime_unchanged_by_child_write_chmod")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"x")
    os.utime(d, ns=(OLD_NS, OLD_NS))
    wait_clock_past(os.stat(d).st_ctime_ns)
    with open(f, "ab") as fh:
        fh.write(b"more")
    os.chmod(f, 0o600)
    os.utime(f, ns=(5, 5))
    os.truncate(f, 1)
    eq(OLD_NS, os.stat(d).st_mtime_ns, "parent mtime after writes/attr changes of a child")


@check("file_times_on_write_and_truncate")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"x")
    for what, op in [("write", lambda: open(f, "ab").write(b"y")),
                     ("truncate", lambda: os.truncate(f, 100)),
                     ("ftruncate", lambda: os.truncate(f, 3)),
                     ("pwrite", lambda: _pwrite(f, b"z", 1))]:
        os.utime(f, ns=(OLD_NS, OLD_NS))
        st0 = os.stat(f)
        wait_clock_past(st0.st_ctime_ns)
        op()
        st1 = os.stat(f)
        expect(st1.st_mtime_ns > st0.st_ctime_ns, "%s: mtime not advanced" % what)
        expect(st1.st_ctime_ns > st0.st_ctime_ns, "%s: ctime not advanced" % what)


def _pwrite(path, data, off):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


@check("chmod_chown_update_ctime_only")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"x")
    for what, op in [("chmod", lambda: os.chmod(f, 0o600)),
                     ("chown", lambda: os.chown(f, 1234, 1234)),
                     ("utimens", lambda: os.utime(f, ns=(OLD_NS, OLD_NS)))]:
        os.utime(f, ns=(OLD_NS, OLD_NS))
        st0 = os.stat(f)
        wait_clock_past(st0.st_ctime_ns)
        op()
        st1 = os.stat(f)
        eq(OLD_NS, st1.st_mtime_ns, "%s: mtime" % what)
        expect(st1.st_ctime_ns > st0.st_ctime_ns, "%s: ctime not advanced" % what)


@check("read_keeps_mtime")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"data" * 100)
    os.utime(f, ns=(OLD_NS, OLD_NS + 7))
    read_file(f)
    st = os.stat(f)
    eq(OLD_NS + 7, st.st_mtime_ns, "mtime after a read")


@check("utimens_explicit_ns")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"x")
    for at, mt in [(1_234_567_890_123_456_789, 1_111_111_111_987_654_321),
                   (1, 999_999_999), (0, 0),
                   (-1_000_000_000_000_000_000 + 7, -5_000_000_001),  # before 1970
                   (4_102_444_800_000_000_001, 4_102_444_800_999_999_999)]:  # 2100
        os.utime(f, ns=(at, mt))
        st = os.stat(f)
        eq((at, mt), (st.st_atime_ns, st.st_mtime_ns), "atime/mtime after utimens")
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    os.utime(sub, ns=(3, 1_500_000_000_000_000_042))
    eq(1_500_000_000_000_000_042, os.stat(sub).st_mtime_ns, "dir mtime after utimens")
    ln = os.path.join(d, "ln")
    os.symlink("f", ln)
    os.utime(ln, ns=(5, 1_600_000_000_000_000_777), follow_symlinks=False)
    eq(1_600_000_000_000_000_777, os.lstat(ln).st_mtime_ns, "symlink mtime (lutimes)")
    eq(mt, os.stat(f).st_mtime_ns, "target mtime unchanged by lutimes")


@check("utimens_now_and_omit")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"x")
    utimensat(f, OLD_NS, OLD_NS + 1)
    wait_clock_past(os.stat(f).st_ctime_ns)
    t0 = coarse_now()
    utimensat(f, ("omit",), ("now",))
    st = os.stat(f)
    eq(OLD_NS, st.st_atime_ns, "atime with UTIME_OMIT")
    expect(st.st_mtime_ns >= t0 - 10_000_000 and st.st_mtime_ns <= time.time_ns(),
           "mtime with UTIME_NOW not now: %d (now %d)" % (st.st_mtime_ns, t0))
    utimensat(f, ("now",), ("omit",))
    st2 = os.stat(f)
    eq(st.st_mtime_ns, st2.st_mtime_ns, "mtime with UTIME_OMIT")
    expect(st2.st_atime_ns >= t0 - 10_000_000, "atime with UTIME_NOW not now")
    utimensat(f, ("omit",), ("omit",))
    eq(st2.st_mtime_ns, os.stat(f).st_mtime_ns, "mtime with both omitted")
    os.utime(f)  # utimensat(NULL): both now
    st3 = os.stat(f)
    expect(st3.st_mtime_ns >= st2.st_mtime_ns, "utime(NULL) mtime went backwards")


@check("dir_mtime_strictly_advances_back_to_back", design=True)
def _(d):
    # Notes §2: every change must advance the dir mtime (CPython's FileFinder
    # compares it); ext4's coarse clock does not do this, so design-only.
    prev = os.stat(d).st_mtime_ns
    for i in range(50):
        write_file(os.path.join(d, "f%d" % i), b"")
        m = os.stat(d).st_mtime_ns
        expect(m > prev, "create #%d: dir mtime did not advance (%d -> %d)" % (i, prev, m))
        prev = m
        os.rename(os.path.join(d, "f%d" % i), os.path.join(d, "g%d" % i))
        m = os.stat(d).st_mtime_ns
        expect(m > prev, "rename #%d: dir mtime did not advance" % i)
        prev = m


@check("import_sees_new_module", design=True)
def _(d):
    # The FileFinder scenario: a module created right after a failed import
    # in the same directory is found without invalidate_caches().
    code = ("import sys, os; sys.path.insert(0, %r)\n"
            "try:\n import blastmod\nexcept ImportError: pass\nelse: sys.exit(3)\n"
            "open(os.path.join(%r, 'blastmod.py'), 'w').write('X = 42\\n')\n"
            "import blastmod; print(blastmod.X)\n") % (d, d)
    r = subprocess.run([sys.executable, "-B", "-c", code], capture_output=True)
    eq((0, b"42\n"), (r.returncode, r.stdout), "import of a just-created module "
       "(stderr: %s)" % r.stderr.decode(errors="replace")[-500:])


# Rename --------------------------------------------------------------------------

@check("rename_over_existing_file")
def _(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"AAAA")
    write_file(b, b"BBBBBBBB")
    ino = os.stat(a).st_ino
    os.rename(a, b)
    eq(b"AAAA", read_file(b), "content after rename over")
    eq(ino, os.stat(b).st_ino, "st_ino after rename over")
    eq(["b"], os.listdir(d), "listing after rename over")


@check("rename_same_inode_noop")
def _(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"x")
    os.link(a, b)
    os.rename(a, b)  # POSIX: both links remain, success
    eq(["a", "b"], sorted(os.listdir(d)), "rename between two links of one file")
    eq(2, os.stat(a).st_nlink, "nlink after rename between links")
    os.rename(a, a)
    eq(b"x", read_file(a), "rename onto itself")


@check("rename_dir_over_empty_dir")
def _(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    os.makedirs(os.path.join(a, "inner"))
    write_file(os.path.join(a, "inner", "f"), b"in a")
    os.mkdir(b)
    os.rename(a, b)
    eq(["b"], os.listdir(d), "listing after dir rename over empty dir")
    eq(b"in a", read_file(os.path.join(b, "inner", "f")), "content moved with the dir")


@check("rename_dir_over_nonempty_dir")
def _(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    os.mkdir(a)
    os.mkdir(b)
    write_file(os.path.join(b, "keep"), b"k")
    expect_errno((errno.ENOTEMPTY, errno.EEXIST), os.rename, a, b,
                 what="rename dir over non-empty dir")
    eq(["a", "b"], sorted(os.listdir(d)), "listing after the refused rename")
    eq(b"k", read_file(os.path.join(b, "keep")), "target content kept")


@check("rename_type_mismatch")
def _(d):
    f, g, dd = os.path.join(d, "f"), os.path.join(d, "g"), os.path.join(d, "dd")
    write_file(f, b"f")
    os.mkdir(dd)
    expect_errno(errno.EISDIR, os.rename, f, dd, what="rename file over dir")
    expect_errno(errno.ENOTDIR, os.rename, dd, f, what="rename dir over file")
    os.symlink("dd", g)
    expect_errno(errno.ENOTDIR, os.rename, dd, g, what="rename dir over symlink")
    os.rename(g, os.path.join(d, "g2"))  # a symlink is not a dir
    eq(["dd", "f", "g2"], sorted(os.listdir(d)), "listing")


@check("rename_into_own_subdir_einval")
def _(d):
    a = os.path.join(d, "a")
    os.makedirs(os.path.join(a, "b", "c"))
    expect_errno(errno.EINVAL, os.rename, a, os.path.join(a, "b", "x"),
                 what="rename dir into its own subdir")
    expect_errno(errno.EINVAL, os.rename, a, os.path.join(a, "b", "c", "y"),
                 what="rename dir into its own grandchild")
    eq(["a"], os.listdir(d), "listing")


@check("rename_missing_source_enoent")
def _(d):
    expect_errno(errno.ENOENT, os.rename, os.path.join(d, "nope"), os.path.join(d, "x"))
    expect_errno(errno.ENOENT, os.rename, os.path.join(d, "nope"),
                 os.path.join(d, "nodir", "x"), what="rename into a missing dir")


@check("renameat2_noreplace")
def _(d):
    a, b, c = (os.path.join(d, n) for n in "abc")
    write_file(a, b"A")
    write_file(b, b"B")
    expect_errno(errno.EEXIST, renameat2, a, b, RENAME_NOREPLACE,
                 what="renameat2(NOREPLACE) onto an existing file")
    eq(b"B", read_file(b), "target after refused NOREPLACE")
    renameat2(a, c, RENAME_NOREPLACE)
    eq(b"A", read_file(c), "NOREPLACE to a free name")
    expect(not os.path.lexists(a), "NOREPLACE left the source")
    os.mkdir(os.path.join(d, "dd"))
    expect_errno(errno.EEXIST, renameat2, c, os.path.join(d, "dd"), RENAME_NOREPLACE,
                 what="renameat2(NOREPLACE) onto a dir")


def _exchange_or_einval(d, flags, label):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"A")
    write_file(b, b"B")
    try:
        renameat2(a, b, flags)
    except OSError as e:
        if e.errno != errno.EINVAL:
            fail("%s: expected EINVAL or success, got %s" % (label, ename(e.errno)))
        eq((b"A", b"B"), (read_file(a), read_file(b)), "%s refused but changed files"
           % label)
        return "refused"
    return "done"


@check("renameat2_exchange")
def _(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"A")
    write_file(b, b"B")
    renameat2(a, b, RENAME_EXCHANGE)
    eq((b"B", b"A"), (read_file(a), read_file(b)), "contents after RENAME_EXCHANGE")
    os.mkdir(os.path.join(d, "dd"))
    renameat2(a, os.path.join(d, "dd"), RENAME_EXCHANGE)
    expect(os.path.isdir(a) and read_file(os.path.join(d, "dd")) == b"B",
           "RENAME_EXCHANGE of a file and a directory")
    expect_errno(errno.ENOENT, renameat2, os.path.join(d, "nope"), b, RENAME_EXCHANGE,
                 what="RENAME_EXCHANGE of a missing source")
    expect_errno(errno.ENOENT, renameat2, b, os.path.join(d, "nope"), RENAME_EXCHANGE,
                 what="RENAME_EXCHANGE onto a missing target")
    os.mkdir(os.path.join(a, "sub"))
    expect_errno(errno.EINVAL, renameat2, a, os.path.join(a, "sub"), RENAME_EXCHANGE,
                 what="RENAME_EXCHANGE of a directory with its subdirectory")


@check("renameat2_whiteout")
def _(d):
    r = _exchange_or_einval(d, RENAME_WHITEOUT, "RENAME_WHITEOUT")
    if r == "done":
        if OPTS["design"]:
            fail("RENAME_WHITEOUT: issue 3 says EINVAL, but it succeeded")
        st = os.lstat(os.path.join(d, "a"))
        expect(stat.S_ISCHR(st.st_mode) and st.st_rdev == 0,
               "RENAME_WHITEOUT left no 0:0 char device")


@check("renameat2_bad_flags")
def _(d):
    write_file(os.path.join(d, "a"), b"A")
    expect_errno(errno.EINVAL, renameat2, os.path.join(d, "a"), os.path.join(d, "b"),
                 RENAME_NOREPLACE | RENAME_EXCHANGE, what="NOREPLACE|EXCHANGE")
    expect_errno(errno.EINVAL, renameat2, os.path.join(d, "a"), os.path.join(d, "b"),
                 1 << 10, what="unknown renameat2 flag")


@check("chattr_immutable_append")
def _(d):
    import fcntl
    import struct
    getf, setf, imm, app = 0x80086601, 0x40086602, 0x10, 0x20
    f, g = os.path.join(d, "f"), os.path.join(d, "g")
    write_file(f, b"f")
    write_file(g, b"g")

    def setflags(path, fl):
        fd = os.open(path, os.O_RDONLY)
        try:
            old = struct.unpack("i", fcntl.ioctl(fd, getf, struct.pack("i", 0)))[0]
            fcntl.ioctl(fd, setf, struct.pack("i", (old & ~(imm | app)) | fl))
        finally:
            os.close(fd)
    try:
        setflags(f, imm)
    except OSError as e:
        if e.errno in (errno.ENOTTY, errno.EOPNOTSUPP, errno.EPERM):
            raise Skip("no chattr +i here (%s)" % ename(e.errno))
        raise
    try:
        setflags(g, app)
        expect_errno(errno.EPERM, os.unlink, f, what="unlink of an immutable file")
        expect_errno(errno.EPERM, os.truncate, f, 0, what="truncate of an immutable file")
        expect_errno(errno.EPERM, os.chmod, f, 0o600, what="chmod of an immutable file")
        expect_errno(errno.EPERM, os.link, f, os.path.join(d, "l"),
                     what="link to an immutable file")
        expect_errno(errno.EPERM, renameat2, f, g, RENAME_EXCHANGE,
                     what="RENAME_EXCHANGE of an immutable file")
        expect_errno(errno.EPERM, os.truncate, g, 0, what="truncate of an append-only file")
        expect_errno(errno.EPERM, os.rename, g, os.path.join(d, "h"),
                     what="rename of an append-only file")
        with open(g, "ab") as fh:
            fh.write(b"+")
        eq(b"g+", read_file(g), "O_APPEND write to an append-only file")
    finally:
        setflags(f, 0)
        setflags(g, 0)


def proc_link(fd, dst):
    """linkat(/proc/self/fd/FD, dst, AT_SYMLINK_FOLLOW): an fd's inode named."""
    r = libc.linkat(AT_FDCWD, os.fsencode("/proc/self/fd/%d" % fd), AT_FDCWD,
                    os.fsencode(dst), 0x400)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), dst)


@check("o_tmpfile")
def _(d):
    """As ext4 (an anonymous file, linkat gives it a name, O_EXCL keeps it
    anonymous), or EOPNOTSUPP as on filesystems without it (blastfs with a
    filesystem policy loaded: README); nothing else."""
    try:
        fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
    except OSError as e:
        if e.errno != errno.EOPNOTSUPP or OPTS["design"]:
            fail("O_TMPFILE: expected success%s, got %s" % (
                "" if OPTS["design"] else " or EOPNOTSUPP", ename(e.errno)))
        eq([], os.listdir(d), "a refused O_TMPFILE left a name")
        return
    try:
        os.write(fd, b"anon")
        eq([], os.listdir(d), "O_TMPFILE made a name")
        proc_link(fd, os.path.join(d, "named"))
        eq(b"anon", read_file(os.path.join(d, "named")), "linked O_TMPFILE")
    finally:
        os.close(fd)
    fd = os.open(d, os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
    try:
        expect_errno(errno.ENOENT, proc_link, fd, os.path.join(d, "excl"),
                     what="linkat of an O_TMPFILE|O_EXCL file")
    finally:
        os.close(fd)


# Create, open, unlink, dirs --------------------------------------------------------

@check("create_excl_existing")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"keep")
    expect_errno(errno.EEXIST, os.open, f, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644,
                 what="O_CREAT|O_EXCL on an existing file")
    os.symlink("nowhere", os.path.join(d, "dangling"))
    expect_errno(errno.EEXIST, os.open, os.path.join(d, "dangling"),
                 os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644,
                 what="O_CREAT|O_EXCL on a dangling symlink")
    expect(not os.path.lexists(os.path.join(d, "nowhere")),
           "O_EXCL followed the dangling symlink")
    os.mkdir(os.path.join(d, "dd"))
    expect_errno(errno.EEXIST, os.open, os.path.join(d, "dd"),
                 os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, what="O_EXCL on a dir")
    eq(b"keep", read_file(f), "content after the refused create")


@check("create_through_dangling_symlink")
def _(d):
    os.symlink("target", os.path.join(d, "ln"))
    write_file(os.path.join(d, "ln"), b"via link")
    eq(b"via link", read_file(os.path.join(d, "target")), "file created via a symlink")


@check("create_mode_owner_umask")
def _(d):
    old = os.umask(0o027)
    try:
        fd = os.open(os.path.join(d, "f"), os.O_CREAT | os.O_WRONLY, 0o666)
        os.close(fd)
        os.mkdir(os.path.join(d, "dd"), 0o777)
        os.mkfifo(os.path.join(d, "p"), 0o666)
    finally:
        os.umask(old)
    eq(0o640, stat.S_IMODE(os.stat(os.path.join(d, "f")).st_mode), "file mode under umask 027")
    eq(0o750, stat.S_IMODE(os.stat(os.path.join(d, "dd")).st_mode), "dir mode under umask 027")
    eq(0o640, stat.S_IMODE(os.lstat(os.path.join(d, "p")).st_mode), "fifo mode under umask")
    st = os.stat(os.path.join(d, "f"))
    eq((os.geteuid(), os.getegid()), (st.st_uid, st.st_gid), "owner of a new file")
    eq(0, st.st_size, "size of a new empty file")


@check("open_flags_kernel_checks")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"x")
    os.mkdir(os.path.join(d, "dd"))
    os.symlink("f", os.path.join(d, "ln"))
    expect_errno(errno.EISDIR, os.open, os.path.join(d, "dd"), os.O_WRONLY,
                 what="open dir for writing")
    expect_errno(errno.ENOTDIR, os.open, f, os.O_RDONLY | os.O_DIRECTORY,
                 what="O_DIRECTORY on a file")
    expect_errno(errno.ELOOP, os.open, os.path.join(d, "ln"), os.O_RDONLY | os.O_NOFOLLOW,
                 what="O_NOFOLLOW on a symlink")
    expect_errno(errno.ENOTDIR, os.stat, os.path.join(f, "x"), what="file used as a dir")
    fd = os.open(f, os.O_RDONLY)
    try:
        expect_errno(errno.EBADF, os.write, fd, b"y", what="write to an O_RDONLY fd")
    finally:
        os.close(fd)


@check("o_trunc_and_rewrite_no_stale_data")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"A" * 5000)
    eq(b"A" * 5000, read_file(f), "first read (now cached)")
    eq(b"A" * 5000, read_file(f), "second read")
    write_file(f, b"B" * 5000)  # O_TRUNC rewrite, same size
    eq(b"B" * 5000, read_file(f), "read after O_TRUNC rewrite with same size")
    write_file(f, b"C" * 10)
    eq(b"C" * 10, read_file(f), "read after O_TRUNC rewrite, shorter")
    sync_if_possible()
    eq(b"C" * 10, read_file(f), "read after sealing")
    write_file(f, b"D" * 7000)
    eq(b"D" * 7000, read_file(f), "read after rewriting a sealed file")
    fd = os.open(f, os.O_RDONLY)
    try:
        eq(b"D" * 10, os.read(fd, 10), "read via an old fd")
        _pwrite(f, b"E" * 10, 0)
        eq(b"E" * 10, os.pread(fd, 10, 0), "old fd sees an in-place write via another fd")
    finally:
        os.close(fd)


@check("recreate_same_name_new_content")
def _(d):
    # Stale inode/page-cache conflation: a new file under a name that was just
    # unlinked, same size, different bytes, many times.
    f = os.path.join(d, "f")
    for i in range(200):
        data = (b"%05d" % i) * 819
        write_file(f, data)
        got = read_file(f)
        if got != data:
            fail("round %d: read %r..., expected %r..." % (i, got[:10], data[:10]))
        if i % 3 == 0:
            tmp = f + ".tmp"
            write_file(tmp, data[::-1])
            os.rename(tmp, f)
            eq(data[::-1], read_file(f), "round %d after rename over" % i)
        os.unlink(f)


@check("negative_lookup_then_create")
def _(d):
    for how in ["create", "mkdir", "symlink", "rename", "link", "mkfifo"]:
        p = os.path.join(d, how)
        for _ in range(3):
            expect(not os.path.lexists(p), "%s exists before creation" % how)
        expect(how not in os.listdir(d), "listed before creation")
        if how == "create":
            write_file(p, b"x")
        elif how == "mkdir":
            os.mkdir(p)
        elif how == "symlink":
            os.symlink("x", p)
        elif how == "rename":
            write_file(p + ".src", b"x")
            os.rename(p + ".src", p)
        elif how == "link":
            write_file(p + ".src", b"x")
            os.link(p + ".src", p)
        else:
            os.mkfifo(p)
        expect(os.path.lexists(p), "%s: not visible right after a negative lookup" % how)
        expect(how in os.listdir(d), "%s: not listed after creation" % how)
    # And the other way: a name removed is gone at once (no stale positive).
    for how in ["create", "mkdir", "symlink", "rename", "link", "mkfifo"]:
        p = os.path.join(d, how)
        os.stat(p, follow_symlinks=False)
        (os.rmdir if how == "mkdir" else os.unlink)(p)
        expect(not os.path.lexists(p), "%s: still visible after removal" % how)


@check("rmdir_unlink_mkdir_errors")
def _(d):
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    write_file(os.path.join(sub, "f"), b"x")
    expect_errno(errno.ENOTEMPTY, os.rmdir, sub, what="rmdir of a non-empty dir")
    expect_errno(errno.EISDIR, os.unlink, sub, what="unlink of a dir")
    expect_errno(errno.EEXIST, os.mkdir, sub, what="mkdir of an existing dir")
    expect_errno(errno.EEXIST, os.mkdir, os.path.join(sub, "f"), what="mkdir over a file")
    expect_errno(errno.ENOTDIR, os.rmdir, os.path.join(sub, "f"), what="rmdir of a file")
    expect_errno(errno.ENOENT, os.unlink, os.path.join(d, "nope"), what="unlink missing")
    expect_errno(errno.ENOENT, os.rmdir, os.path.join(d, "nope"), what="rmdir missing")
    expect_errno(errno.ENOENT, os.mkdir, os.path.join(d, "nope", "x"),
                 what="mkdir in a missing dir")
    expect_errno(errno.EINVAL, os.rmdir, os.path.join(sub, "."), what="rmdir of '.'")
    os.unlink(os.path.join(sub, "f"))
    os.rmdir(sub)
    eq([], os.listdir(d), "listing after cleanup")


@check("rmdir_of_open_dir")
def _(d):
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    fd = os.open(sub, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rmdir(sub)
        eq([], os.listdir(fd), "listing of an open removed dir")
        expect_errno(errno.ENOENT, os.open, "new", os.O_CREAT | os.O_WRONLY, 0o644,
                     dir_fd=fd, what="create in a removed dir")
    finally:
        os.close(fd)


@check("dir_nlink_consistent")
def _(d):
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    n0 = os.stat(sub).st_nlink
    for i in range(3):
        os.mkdir(os.path.join(sub, "c%d" % i))
    write_file(os.path.join(sub, "f"), b"")
    n3 = os.stat(sub).st_nlink
    if n0 == 1:
        eq(1, n3, "dir nlink (1 means 'not counted', then it must stay 1)")
    else:
        eq((2, 5), (n0, n3), "dir nlink: 2 + number of subdirs")
        os.rename(os.path.join(sub, "c0"), os.path.join(d, "moved"))
        eq(4, os.stat(sub).st_nlink, "dir nlink after moving a subdir out")
        os.rmdir(os.path.join(sub, "c1"))
        eq(3, os.stat(sub).st_nlink, "dir nlink after rmdir of a subdir")


# Special files, links ----------------------------------------------------------

@check("mknod_fifo_and_chardev_0_0")
def _(d):
    p = os.path.join(d, "fifo")
    os.mknod(p, 0o640 | stat.S_IFIFO)
    st = os.lstat(p)
    expect(stat.S_ISFIFO(st.st_mode), "fifo type: mode %o" % st.st_mode)
    eq(0o640, stat.S_IMODE(st.st_mode), "fifo mode")
    c = os.path.join(d, "wh")
    os.mknod(c, 0o600 | stat.S_IFCHR, os.makedev(0, 0))
    st = os.lstat(c)
    expect(stat.S_ISCHR(st.st_mode), "char device type: mode %o" % st.st_mode)
    eq(0, st.st_rdev, "char device st_rdev")
    eq(["fifo", "wh"], sorted(os.listdir(d)), "listing")
    types = {e.name: (e.is_file(follow_symlinks=False), e.is_dir(follow_symlinks=False))
             for e in os.scandir(d)}
    eq({"fifo": (False, False), "wh": (False, False)}, types, "d_type of special files")
    reg = os.path.join(d, "reg")
    os.mknod(reg, 0o644 | stat.S_IFREG)
    expect(stat.S_ISREG(os.lstat(reg).st_mode), "mknod S_IFREG made no regular file")
    eq(0, os.lstat(reg).st_size, "size of a mknod'ed regular file")


@check("fifo_works")
def _(d):
    p = os.path.join(d, "fifo")
    os.mkfifo(p)
    r = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    w = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(w, b"through the pipe")
        eq(b"through the pipe", os.read(r, 100), "data through a fifo on the mount")
    finally:
        os.close(w)
        os.close(r)


@check("hard_links")
def _(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"one")
    os.mkdir(os.path.join(d, "sub"))
    c = os.path.join(d, "sub", "c")
    os.link(a, b)
    os.link(b, c)
    sa, sb, sc = os.stat(a), os.stat(b), os.stat(c)
    eq((3, 3, 3), (sa.st_nlink, sb.st_nlink, sc.st_nlink), "nlink of 3 links")
    eq(sa.st_ino, sb.st_ino, "st_ino of two links")
    eq(sa.st_ino, sc.st_ino, "st_ino of a link in a subdir")
    with open(b, "ab") as f:
        f.write(b" two")
    eq(b"one two", read_file(a), "write via one link, read via another")
    os.chmod(c, 0o600)
    eq(0o600, stat.S_IMODE(os.stat(a).st_mode), "chmod via one link seen via another")
    os.utime(a, ns=(OLD_NS, OLD_NS))
    eq(OLD_NS, os.stat(c).st_mtime_ns, "utimens via one link seen via another")
    os.truncate(c, 2)
    eq(b"on", read_file(b), "truncate via one link")
    os.unlink(a)
    eq(2, os.stat(b).st_nlink, "nlink after unlinking one")
    eq(b"on", read_file(c), "content after unlinking one link")
    os.rename(c, os.path.join(d, "moved"))
    eq(2, os.stat(b).st_nlink, "nlink after renaming a link")
    write_file(b, b"rewritten")  # O_TRUNC through one link
    eq(b"rewritten", read_file(os.path.join(d, "moved")), "O_TRUNC rewrite via a link")
    sync_if_possible()
    _pwrite(b, b"R", 0)
    eq(b"Rewritten", read_file(os.path.join(d, "moved")),
       "partial write via one link after sealing")
    expect_errno(errno.EPERM, os.link, os.path.join(d, "sub"), os.path.join(d, "dl"),
                 what="link of a dir")
    expect_errno(errno.EEXIST, os.link, b, os.path.join(d, "moved"),
                 what="link onto an existing name")


@check("hard_links_after_forget")
def _(d):
    # The kernel evicts an inode (FORGET), looks it up again by another
    # name, and more links come and go: found by random ops + drop_caches.
    if not OPTS["drop_caches"]:
        raise Skip("needs --drop-caches")
    P = lambda n: os.path.join(d, n)

    def replace(n, data):
        write_file(P(".tmp"), data)
        os.rename(P(".tmp"), P(n))
    replace("n2", b"X")
    os.link(P("n2"), P("n3"))
    forget_all()
    os.link(P("n3"), P("n0"))
    eq(3, os.stat(P("n2")).st_nlink, "nlink after a link made via a re-looked-up name")
    replace("n0", b"Y")
    replace("n3", b"Z")
    try:
        st = os.stat(P("n2"))
    except OSError as e:
        fail("stat of the last name of a hard-linked file after FORGET, link, and two "
             "renames over its other names: %s" % ename(e.errno))
    eq(1, st.st_nlink, "nlink of the last name")
    eq(b"X", read_file(P("n2")), "content of the last name")
    expect_errno(errno.EEXIST, os.link, P("n0"), P("n2"), what="link onto the last name")
    forget_all()
    eq((1, b"X"), (os.stat(P("n2")).st_nlink, read_file(P("n2"))), "after another FORGET")
    # Variants: unlink instead of rename-over; links across directories.
    os.mkdir(P("sub"))
    write_file(P("a"), b"A")
    os.link(P("a"), P("sub/b"))
    forget_all()
    os.link(P("sub/b"), P("c"))
    os.unlink(P("a"))
    forget_all()
    os.unlink(P("sub/b"))
    eq((1, b"A"), (os.stat(P("c")).st_nlink, read_file(P("c"))), "last link across dirs")


@check("hard_link_to_open_unlinked_survives")
def _(d):
    a, b = os.path.join(d, "a"), os.path.join(d, "b")
    write_file(a, b"x")
    os.link(a, b)
    fd = os.open(a, os.O_RDWR)
    try:
        os.unlink(a)
        os.unlink(b)
        eq(0, os.fstat(fd).st_nlink, "nlink after unlinking both links")
        os.write(fd, b"still")
        eq(b"still", os.pread(fd, 10, 0), "write after unlinking both links")
    finally:
        os.close(fd)


@check("symlinks")
def _(d):
    write_file(os.path.join(d, "target"), b"T")
    cases = {"rel": "target", "abs": "/etc/hostname", "dangling": "no/such/thing",
             "dotdot": "../" + os.path.basename(d) + "/target", "self": "self",
             "spaces": "a b\nc", "one": "x"}
    for name, t in cases.items():
        os.symlink(t, os.path.join(d, name))
    for name, t in cases.items():
        p = os.path.join(d, name)
        eq(t, os.readlink(p), "readlink %s" % name)
        st = os.lstat(p)
        expect(stat.S_ISLNK(st.st_mode), "%s: not a symlink" % name)
        eq(len(t.encode()), st.st_size, "lstat size of %s" % name)
        eq(0o777, stat.S_IMODE(st.st_mode), "mode of symlink %s" % name)
    eq(b"T", read_file(os.path.join(d, "rel")), "read through a symlink")
    eq(b"T", read_file(os.path.join(d, "dotdot")), "read through a ../ symlink")
    expect_errno(errno.ELOOP, os.stat, os.path.join(d, "self"), what="stat of a loop")
    expect_errno(errno.ENOENT, os.stat, os.path.join(d, "dangling"),
                 what="stat of a dangling symlink")
    expect_errno(errno.EINVAL, os.readlink, os.path.join(d, "target"),
                 what="readlink of a file")
    expect_errno(errno.EEXIST, os.symlink, "x", os.path.join(d, "target"),
                 what="symlink over an existing name")
    expect_errno(errno.ENOENT, os.symlink, "", os.path.join(d, "empty"),
                 what="symlink with an empty target")
    os.lchown(os.path.join(d, "rel"), 4321, 4321)
    eq(4321, os.lstat(os.path.join(d, "rel")).st_uid, "lchown of a symlink")
    eq(os.geteuid(), os.stat(os.path.join(d, "target")).st_uid, "lchown left the target")


@check("symlink_dir_traversal")
def _(d):
    os.makedirs(os.path.join(d, "real", "sub"))
    write_file(os.path.join(d, "real", "sub", "f"), b"deep")
    os.symlink("real", os.path.join(d, "lib64"))  # like a venv's lib64 -> lib
    eq(b"deep", read_file(os.path.join(d, "lib64", "sub", "f")), "through a dir symlink")
    eq(["sub"], os.listdir(os.path.join(d, "lib64")), "listing through a dir symlink")
    expect(os.path.islink(os.path.join(d, "lib64")), "lib64 is a link")


# Attributes ------------------------------------------------------------------------

@check("chmod_bits")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"x")
    for mode in [0o000, 0o644, 0o755, 0o4755, 0o2755, 0o1777, 0o7777, 0o400]:
        os.chmod(f, mode)
        eq(mode, stat.S_IMODE(os.stat(f).st_mode), "file mode after chmod %o" % mode)
        expect(stat.S_ISREG(os.stat(f).st_mode), "chmod changed the file type")
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    for mode in [0o700, 0o1777, 0o2750, 0o000, 0o755]:
        os.chmod(sub, mode)
        eq(mode, stat.S_IMODE(os.stat(sub).st_mode), "dir mode after chmod %o" % mode)
    fd = os.open(f, os.O_RDONLY)
    try:
        os.fchmod(fd, 0o640)
    finally:
        os.close(fd)
    eq(0o640, stat.S_IMODE(os.stat(f).st_mode), "fchmod")


@check("chown_as_root")
def _(d):
    if os.geteuid() != 0:
        raise Skip("needs root")
    f = os.path.join(d, "f")
    write_file(f, b"x")
    os.chown(f, 12345, 23456)
    st = os.stat(f)
    eq((12345, 23456), (st.st_uid, st.st_gid), "owner after chown")
    os.chown(f, -1, 777)
    st = os.stat(f)
    eq((12345, 777), (st.st_uid, st.st_gid), "owner after chown(-1, gid)")
    os.chown(f, 4000000000, -1)
    eq(4000000000, os.stat(f).st_uid, "large uid")
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    os.chown(sub, 999, 998)
    st = os.stat(sub)
    eq((999, 998), (st.st_uid, st.st_gid), "dir owner after chown")


@check("chown_clears_suid")
def _(d):
    if os.geteuid() != 0:
        raise Skip("needs root")
    f = os.path.join(d, "f")
    write_file(f, b"x")
    os.chmod(f, 0o6755)
    os.chown(f, 1000, 1000)
    eq(0o755, stat.S_IMODE(os.stat(f).st_mode), "mode after chown of a setuid/setgid file")


@check("write_by_root_keeps_suid")
def _(d):
    # Linux kills setuid on write only for writers without CAP_FSETID.
    f = os.path.join(d, "f")
    write_file(f, b"x")
    os.chmod(f, 0o4755)
    with open(f, "ab") as fh:
        fh.write(b"y")
    mode = stat.S_IMODE(os.stat(f).st_mode)
    if os.geteuid() == 0:
        eq(0o4755, mode, "setuid after a write by root")


@check("setgid_dir_inheritance")
def _(d):
    if os.geteuid() != 0:
        raise Skip("needs root")
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    os.chown(sub, -1, 4242)
    os.chmod(sub, 0o2775)
    write_file(os.path.join(sub, "f"), b"")
    os.mkdir(os.path.join(sub, "child"))
    eq(4242, os.stat(os.path.join(sub, "f")).st_gid, "gid of a file in a setgid dir")
    st = os.stat(os.path.join(sub, "child"))
    eq(4242, st.st_gid, "gid of a subdir of a setgid dir")
    expect(st.st_mode & stat.S_ISGID, "subdir of a setgid dir lost the setgid bit")


@check("truncate_up_and_down")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"0123456789")
    os.truncate(f, 4)
    eq(b"0123", read_file(f), "after truncate down")
    os.truncate(f, 10)
    eq(b"0123" + bytes(6), read_file(f), "after truncate up (old bytes must not return)")
    os.truncate(f, 300_000)
    data = read_file(f)
    eq(300_000, len(data), "size after a big truncate up")
    expect(data[10:] == bytes(299_990), "non-zero bytes in the extended region")
    os.truncate(f, 0)
    eq(b"", read_file(f), "after truncate to 0")
    fd = os.open(f, os.O_RDWR)
    try:
        os.write(fd, b"abc")
        os.ftruncate(fd, 1)
        os.ftruncate(fd, 5)
        eq(b"a" + bytes(4), os.pread(fd, 100, 0), "ftruncate down and up via an open fd")
        eq(5, os.fstat(fd).st_size, "fstat size")
    finally:
        os.close(fd)
    expect_errno(errno.EISDIR, os.truncate, d, 0, what="truncate of a dir")
    expect_errno(errno.EINVAL, os.truncate, f, -1, what="truncate to -1")


@check("truncate_sealed_file")
def _(d):
    f = os.path.join(d, "f")
    data = os.urandom(600_000)
    write_file(f, data)
    sync_if_possible()
    os.truncate(f, 300_001)
    eq(data[:300_001], read_file(f), "truncate down inside a big sealed file")
    sync_if_possible()
    os.truncate(f, 400_000)
    eq(data[:300_001] + bytes(99_999), read_file(f), "truncate up a sealed file")


@check("o_append")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"start")
    fd = os.open(f, os.O_WRONLY | os.O_APPEND)
    fd2 = os.open(f, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b"-one")
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"-two")
        os.write(fd2, b"-three")
        os.write(fd, b"-four")
    finally:
        os.close(fd)
        os.close(fd2)
    eq(b"start-one-two-three-four", read_file(f), "O_APPEND writes")
    with open(f, "a") as fh:  # what `echo >>` does
        fh.write("\n")
    eq(b"start-one-two-three-four\n", read_file(f), "append via a shell-like open")


@check("pwrite_beyond_eof_hole")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"head")
    fd = os.open(f, os.O_WRONLY)
    try:
        os.pwrite(fd, b"tail", 1 << 20)
    finally:
        os.close(fd)
    data = read_file(f)
    eq((1 << 20) + 4, len(data), "size after pwrite beyond EOF")
    expect(data[:4] == b"head" and data[-4:] == b"tail", "head/tail bytes")
    expect(data[4:1 << 20] == bytes((1 << 20) - 4), "hole not zero-filled")
    fd = os.open(os.path.join(d, "g"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.lseek(fd, 5000, os.SEEK_SET)
        os.write(fd, b"X")
    finally:
        os.close(fd)
    eq(bytes(5000) + b"X", read_file(os.path.join(d, "g")), "lseek past EOF then write")


@check("large_files_and_chunk_boundaries")
def _(d):
    sizes = [0, 1, 4095, 4096, 4097, 65536, 131071, 131072, 131073, 262143, 262144,
             262145, 1048576 + 3, 3 * 1048576 + 17]
    blobs = {}
    for n in sizes:
        data = os.urandom(n)
        blobs[n] = data
        p = os.path.join(d, "s%d" % n)
        with open(p, "wb") as f:  # one write() of the whole size (> max_write too)
            f.write(data)
    sync_if_possible()
    for n in sizes:
        p = os.path.join(d, "s%d" % n)
        eq(n, os.stat(p).st_size, "size of s%d" % n)
        got = read_file(p)
        if got != blobs[n]:
            fail("content of s%d differs (sha %s vs %s)" % (
                n, hashlib.sha256(got).hexdigest()[:12],
                hashlib.sha256(blobs[n]).hexdigest()[:12]))
    # Odd-offset reads across chunk edges.
    big = blobs[3 * 1048576 + 17]
    fd = os.open(os.path.join(d, "s%d" % len(big)), os.O_RDONLY)
    try:
        for off, ln in [(131071, 3), (262143, 2), (1048575, 131074), (len(big) - 5, 100),
                        (len(big), 10), (len(big) + 100, 10)]:
            eq(big[off:off + ln], os.pread(fd, ln, off), "pread(%d, %d)" % (ln, off))
    finally:
        os.close(fd)


@check("copy_up_partial_rewrite")
def _(d):
    f = os.path.join(d, "f")
    data = bytearray(os.urandom(1048576 + 3))
    write_file(f, bytes(data))
    sync_if_possible()
    fd = os.open(f, os.O_RDWR)
    try:
        for off, patch in [(0, b"AAAA"), (131070, b"BBBBBB"), (300_000, b"C" * 70000),
                           (len(data) - 2, b"DDDD")]:
            os.pwrite(fd, patch, off)
            end = off + len(patch)
            if end > len(data):
                data.extend(bytes(end - len(data)))
            data[off:end] = patch
    finally:
        os.close(fd)
    eq(len(data), os.stat(f).st_size, "size after partial rewrites")
    expect(read_file(f) == bytes(data), "content after partial rewrites of a sealed file")
    sync_if_possible()
    expect(read_file(f) == bytes(data), "content after resealing")


# mmap, sync, statfs, locks -------------------------------------------------------

@check("mmap_shared_read")
def _(d):
    f = os.path.join(d, "f")
    data = os.urandom(50_000)
    write_file(f, data)
    sync_if_possible()
    with open(f, "rb") as fh:
        m = mmap.mmap(fh.fileno(), 0, mmap.MAP_SHARED, mmap.PROT_READ)
        try:
            eq(data, bytes(m[:]), "MAP_SHARED read")
        finally:
            m.close()
        m = mmap.mmap(fh.fileno(), 0, mmap.MAP_PRIVATE, mmap.PROT_READ)
        eq(data[1000:1010], m[1000:1010], "MAP_PRIVATE read")
        m.close()


@check("mmap_shared_write_msync")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"." * 10000)
    fd = os.open(f, os.O_RDWR)
    try:
        m = mmap.mmap(fd, 10000, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        m[0:5] = b"HELLO"
        m[8190:8200] = b"0123456789"
        m.flush()  # msync(MS_SYNC)
        eq(b"HELLO", os.pread(fd, 5, 0), "read() after msync, same fd")
        m.close()
    finally:
        os.close(fd)
    data = read_file(f)
    eq(b"HELLO", data[:5], "read() after msync and close")
    eq(b"0123456789", data[8190:8200], "second page after msync")
    eq(10000, len(data), "size after mmap write")
    sync_if_possible()
    eq(data, read_file(f), "content after sealing an mmap-written file")


@check("fsync_fdatasync")
def _(d):
    f = os.path.join(d, "f")
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"durable")
        os.fsync(fd)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    fd = os.open(f, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    eq(b"durable", read_file(f), "content after fsync")


@check("statfs")
def _(d):
    s = os.statvfs(d)
    expect(s.f_bsize > 0, "f_bsize %d" % s.f_bsize)
    expect(s.f_frsize > 0, "f_frsize %d" % s.f_frsize)
    eq(255, s.f_namemax, "f_namemax")
    expect(s.f_blocks >= s.f_bfree >= 0, "f_blocks %d < f_bfree %d" % (s.f_blocks, s.f_bfree))
    expect(s.f_bfree >= s.f_bavail, "f_bfree < f_bavail")
    expect(s.f_bavail > 0, "f_bavail 0: tools would think the disk is full")
    expect(s.f_files >= s.f_ffree, "f_files < f_ffree")
    r = subprocess.run(["df", "-P", d], capture_output=True)
    eq(0, r.returncode, "df exit (stderr %r)" % r.stderr)


@check("file_locks")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"lock me")
    with open(f, "r+b") as a:
        fcntl.flock(a, fcntl.LOCK_EX)
        with open(f, "r+b") as b:
            expect_errno((errno.EWOULDBLOCK,), fcntl.flock, b,
                         fcntl.LOCK_EX | fcntl.LOCK_NB, what="second flock")
        fcntl.flock(a, fcntl.LOCK_UN)
        fcntl.lockf(a, fcntl.LOCK_EX)
        fcntl.lockf(a, fcntl.LOCK_UN)


@check("st_blocks_plausible")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, os.urandom(100_000))
    st = os.stat(f)
    expect(st.st_blksize > 0, "st_blksize %d" % st.st_blksize)
    expect(100_000 <= st.st_blocks * 512 <= 100_000 + 256 * 1024,
           "st_blocks %d for a 100000-byte random file" % st.st_blocks)
    e = os.path.join(d, "e")
    write_file(e, b"")
    expect(os.stat(e).st_blocks * 512 <= 4096, "st_blocks %d for an empty file"
           % os.stat(e).st_blocks)
    sync_if_possible()
    st = os.stat(f)
    expect(st.st_blocks > 0, "st_blocks 0 for a sealed 100000-byte file (du says 0)")
    r = subprocess.run(["du", "-sk", d], capture_output=True, text=True)
    expect(r.returncode == 0 and int(r.stdout.split()[0]) >= 90,
           "du -sk of the dir: %r" % r.stdout)


# fallocate and holes ------------------------------------------------------------

FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 0x01, 0x02
FALLOC_FL_ZERO_RANGE = 0x10
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]


def fallocate(fd, mode, off, length):
    """fallocate(2) with a mode (os.posix_fallocate has none)."""
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


@check("fallocate_errno")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"x" * 10000)
    fd = os.open(f, os.O_RDWR)
    try:
        expect_errno(errno.EINVAL, fallocate, fd, 0, 0, 0, what="fallocate len 0")
        expect_errno(errno.EINVAL, fallocate, fd, 0, 0, -1, what="fallocate len -1")
        expect_errno(errno.EINVAL, fallocate, fd, 0, -1, 10, what="fallocate offset -1")
        expect_errno(errno.EOPNOTSUPP, fallocate, fd, FALLOC_FL_PUNCH_HOLE, 0, 10,
                     what="punch hole without KEEP_SIZE")
        expect_errno(errno.EOPNOTSUPP, fallocate, fd, 0x100, 0, 10, what="fallocate mode 0x100")
        expect_errno(errno.EOPNOTSUPP, fallocate, fd,
                     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, 0, 10,
                     what="punch hole and zero range together")
        expect_errno(errno.EFBIG, fallocate, fd, 0, 1 << 62, 1 << 62, what="fallocate past 2^63")
    finally:
        os.close(fd)
    fd = os.open(f, os.O_RDONLY)
    try:
        expect_errno(errno.EBADF, fallocate, fd, 0, 0, 10, what="fallocate of a read-only fd")
    finally:
        os.close(fd)
    expect(os.path.getsize(f) == 10000, "size %d after refused fallocates" % os.path.getsize(f))


@check("fallocate_modes_content")
def _(d):
    f = os.path.join(d, "f")
    data = bytes(range(1, 256)) * 64  # 16320 bytes
    write_file(f, data)
    fd = os.open(f, os.O_RDWR)
    try:
        fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20)
        expect(os.fstat(fd).st_size == len(data), "KEEP_SIZE changed the size")
        fallocate(fd, 0, 10000, 30000)
        expect(os.fstat(fd).st_size == 40000, "mode 0 to 40000: size %d" % os.fstat(fd).st_size)
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 100, 5000)
        want = data[:100] + bytes(5000) + data[5100:] + bytes(40000 - len(data))
        try:
            fallocate(fd, FALLOC_FL_ZERO_RANGE, 39000, 2000)
            want = want[:39000] + bytes(2000)
        except OSError as e:
            if e.errno != errno.EOPNOTSUPP:  # tmpfs has no zero range
                raise
            os.ftruncate(fd, 41000)
            want += bytes(1000)
    finally:
        os.close(fd)
    sync_if_possible()
    with open(f, "rb") as fh:
        got = fh.read()
    expect(got == want, "content after fallocate differs from byte %d"
           % next((i for i in range(min(len(got), len(want))) if got[i] != want[i]),
                  min(len(got), len(want))))


@check("st_blocks_small_sparse")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"")
    os.truncate(f, 3000)
    for when in ("unsealed", "sealed"):
        st = os.stat(f)
        expect(st.st_size == 3000 and st.st_blocks == 0,
               "%s: truncate -s 3000 of an empty file: size %d, st_blocks %d"
               % (when, st.st_size, st.st_blocks))
        sync_if_possible()


@check("seek_data_hole")
def _(d):
    f = os.path.join(d, "f")
    write_file(f, b"d" * 4096)
    os.truncate(f, 1 << 20)
    for when in ("unsealed", "sealed"):
        fd = os.open(f, os.O_RDONLY)
        try:
            expect(os.lseek(fd, 0, os.SEEK_DATA) == 0, "%s: SEEK_DATA 0" % when)
            h = os.lseek(fd, 0, os.SEEK_HOLE)
            expect(4096 <= h <= 1 << 20, "%s: SEEK_HOLE 0 answered %d" % (when, h))
            expect(os.lseek(fd, 8192, os.SEEK_HOLE) == 8192, "%s: SEEK_HOLE inside a hole" % when)
            expect_errno(errno.ENXIO, os.lseek, fd, 8192, os.SEEK_DATA,
                         what="%s: SEEK_DATA with only a hole after" % when)
            expect_errno(errno.ENXIO, os.lseek, fd, 1 << 20, os.SEEK_DATA,
                         what="%s: SEEK_DATA at the end" % when)
            expect_errno(errno.ENXIO, os.lseek, fd, 1 << 20, os.SEEK_HOLE,
                         what="%s: SEEK_HOLE at the end" % when)
            expect_errno((errno.ENXIO, errno.EINVAL), os.lseek, fd, -1, os.SEEK_DATA,
                         what="%s: SEEK_DATA at -1" % when)
            expect(os.fstat(fd).st_blocks * 512 <= 64 * 1024,
                   "%s: st_blocks %d for 4 KiB of data" % (when, os.fstat(fd).st_blocks))
        finally:
            os.close(fd)
        sync_if_possible()


# Readdir -----------------------------------------------------------------------

def _make_entries(d, n):
    names = ["e%05d" % i for i in range(n)]
    for i, name in enumerate(names):
        if i % 10 == 9:
            os.mkdir(os.path.join(d, name))
        else:
            fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT, 0o644)
            os.close(fd)
    return names


@check("readdir_large_dir_exactly_once")
def _(d):
    names = _make_entries(d, 3000)
    seen = []
    inos = {}
    with os.scandir(d) as it:
        for e in it:
            seen.append(e.name)
            inos[e.name] = (e.inode(), e.is_dir(follow_symlinks=False))
    dups = sorted({n for n in seen if seen.count(n) > 1}) if len(seen) != len(set(seen)) else []
    expect(not dups, "entries listed twice: %s" % dups[:10])
    missing = sorted(set(names) - set(seen))
    expect(not missing, "%d entries missing from readdir, e.g. %s" % (len(missing),
                                                                     missing[:5]))
    extra = sorted(set(seen) - set(names))
    expect(not extra, "unexpected entries: %s" % extra[:5])
    for n in names[::97]:
        st = os.lstat(os.path.join(d, n))
        eq(st.st_ino, inos[n][0], "d_ino vs st_ino of %s" % n)
        eq(stat.S_ISDIR(st.st_mode), inos[n][1], "d_type of %s" % n)
    eq(3000, len({os.lstat(os.path.join(d, n)).st_ino for n in names}),
       "distinct st_ino among 3000 entries")
    r = subprocess.run(["ls", "-f", d], capture_output=True, text=True)
    ls = r.stdout.split("\n")[:-1]
    eq(3000, len(set(ls) - {".", ".."}), "ls -f entry count")


@check("readdir_lists_dot_and_dotdot")
def _(d):
    # POSIX makes them optional, but ext4/tmpfs list them with their real
    # inode numbers, and GNU ls skips entries whose d_ino is 0.
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    write_file(os.path.join(sub, "f"), b"")
    fd = os.open(sub, os.O_RDONLY | os.O_DIRECTORY)
    try:
        ents = {name: ino for name, ino in _getdents(fd)}
    finally:
        os.close(fd)
    eq([".", "..", "f"], sorted(ents), "raw getdents64 of a dir with one file")
    eq(os.stat(sub).st_ino, ents["."], "d_ino of '.'")
    eq(os.stat(d).st_ino, ents[".."], "d_ino of '..'")
    eq(os.stat(os.path.join(sub, "f")).st_ino, ents["f"], "d_ino of a file")
    r = subprocess.run(["ls", "-a", sub], capture_output=True, text=True)
    eq(".\n..\nf\n", r.stdout, "ls -a output")


@check("readdir_while_deleting")
def _(d):
    names = _make_entries(d, 3000)
    deleted = set()
    seen = []
    with os.scandir(d) as it:
        for k, e in enumerate(it):
            seen.append(e.name)
            if k in (300, 1500):
                # Delete every third entry, seen or not, and a block at the end.
                for i, n in enumerate(names):
                    if (i % 3 == k % 3 or i >= 2900) and n not in deleted:
                        p = os.path.join(d, n)
                        (os.rmdir if i % 10 == 9 else os.unlink)(p)
                        deleted.add(n)
    dups = sorted({n for n in seen if seen.count(n) > 1}) if len(seen) != len(set(seen)) else []
    expect(not dups, "entries listed twice while deleting: %s" % dups[:10])
    untouched = set(names) - deleted
    missing = sorted(untouched - set(seen))
    expect(not missing, "%d untouched entries skipped while deleting, e.g. %s"
           % (len(missing), missing[:5]))
    eq(sorted(untouched), sorted(os.listdir(d)), "listing after the deletions")


@check("readdir_while_creating")
def _(d):
    names = _make_entries(d, 2000)
    seen = []
    created = []
    with os.scandir(d) as it:
        for k, e in enumerate(it):
            seen.append(e.name)
            if k % 200 == 100:
                for j in range(50):
                    n = "new%d_%d" % (k, j)
                    write_file(os.path.join(d, n), b"")
                    created.append(n)
    expect(len(seen) == len(set(seen)), "an entry listed twice while creating")
    missing = sorted(set(names) - set(seen))
    expect(not missing, "%d old entries skipped while creating, e.g. %s"
           % (len(missing), missing[:5]))
    eq(sorted(names + created), sorted(os.listdir(d)), "listing afterwards")


@check("seekdir_telldir")
def _(d):
    _make_entries(d, 500)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = _getdents_names(fd)
        pos = os.lseek(fd, 0, os.SEEK_SET)
        eq(0, pos, "rewind")
        again = _getdents_names(fd)
        eq(first, again, "listing after rewinding the dir fd")
    finally:
        os.close(fd)
    libc.opendir.restype = ctypes.c_void_p
    libc.readdir.restype = ctypes.c_void_p
    libc.readdir.argtypes = [ctypes.c_void_p]
    libc.telldir.restype = ctypes.c_long
    libc.telldir.argtypes = [ctypes.c_void_p]
    libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
    libc.closedir.argtypes = [ctypes.c_void_p]
    dp = libc.opendir(os.fsencode(d))
    expect(dp, "opendir failed")
    try:
        def rd():
            ent = libc.readdir(dp)
            if not ent:
                return None
            return ctypes.string_at(ent + 19).decode()  # d_name after ino,off,reclen,type
        for _ in range(123):
            rd()
        where = libc.telldir(dp)
        after = [rd() for _ in range(10)]
        for _ in range(200):
            rd()
        libc.seekdir(dp, where)
        eq(after, [rd() for _ in range(10)], "entries after seekdir(telldir())")
    finally:
        libc.closedir(dp)


def _getdents_names(fd):
    return [name for name, _ in _getdents(fd)]


def _getdents(fd):
    """[(name, d_ino)] from raw getdents64 calls with a small buffer."""
    out = []
    buf = ctypes.create_string_buffer(4096)  # small buffer: many FUSE readdirs
    while True:
        n = libc.syscall(217, fd, buf, 4096)  # getdents64 on x86_64
        if n < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        if n == 0:
            return out
        off = 0
        raw = buf.raw[:n]
        while off < n:
            reclen = int.from_bytes(raw[off + 16:off + 18], "little")
            name = raw[off + 19:off + reclen].split(b"\0", 1)[0]
            out.append((name.decode(), int.from_bytes(raw[off:off + 8], "little")))
            off += reclen


# Inode numbers, remount, permissions ------------------------------------------------

@check("st_ino_stable_across_lookups")
def _(d):
    paths = {}
    for i in range(50):
        p = os.path.join(d, "f%d" % i)
        write_file(p, b"x")
        paths[p] = os.stat(p).st_ino
    os.mkdir(os.path.join(d, "dd"))
    paths[os.path.join(d, "dd")] = os.stat(os.path.join(d, "dd")).st_ino
    expect(len(set(paths.values())) == len(paths), "duplicate st_ino among new files")
    for _ in range(3):
        for p, ino in paths.items():
            eq(ino, os.stat(p).st_ino, "st_ino of %s on a later lookup" % p)
    fd = os.open(os.path.join(d, "f0"), os.O_RDONLY)
    try:
        eq(paths[os.path.join(d, "f0")], os.fstat(fd).st_ino, "fstat st_ino")
    finally:
        os.close(fd)
    expect(os.stat(d).st_ino != os.stat(os.path.dirname(d)).st_ino,
           "dir and parent share st_ino")


@check("remount_keeps_everything")
def _(d):
    if not OPTS["remount"]:
        raise Skip("no --remount-cmd")
    write_file(os.path.join(d, "f"), b"file")
    os.chmod(os.path.join(d, "f"), 0o4751)
    os.chown(os.path.join(d, "f"), 1001, 1002)
    os.link(os.path.join(d, "f"), os.path.join(d, "hl"))
    os.makedirs(os.path.join(d, "dd", "ee"))
    os.symlink("f" * 300, os.path.join(d, "ln"))
    os.mkfifo(os.path.join(d, "fifo"))
    os.mknod(os.path.join(d, "wh"), 0o600 | stat.S_IFCHR, os.makedev(0, 0))
    big = os.urandom(700_000)
    write_file(os.path.join(d, "big"), big)
    fd = os.open(os.path.join(d, "sparse"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.pwrite(fd, b"end", 2_000_000)
    os.close(fd)
    os.utime(os.path.join(d, "f"), ns=(OLD_NS + 1, OLD_NS + 2))
    os.utime(os.path.join(d, "dd", "ee"), ns=(OLD_NS + 3, OLD_NS + 4))
    os.utime(os.path.join(d, "ln"), ns=(OLD_NS + 5, OLD_NS + 6), follow_symlinks=False)
    os.utime(d, ns=(OLD_NS + 7, OLD_NS + 8))

    def snap():
        out = {}
        for root, dirs, files in os.walk(d):
            for n in [""] + dirs + files:
                p = os.path.join(root, n) if n else root
                if n == "" and root != d:
                    continue
                st = os.lstat(p)
                out[os.path.relpath(p, d)] = (
                    st.st_mode, st.st_ino, st.st_nlink, st.st_uid, st.st_gid,
                    st.st_size if not stat.S_ISDIR(st.st_mode) else None,
                    st.st_mtime_ns, st.st_atime_ns if not stat.S_ISDIR(st.st_mode) else None,
                    st.st_rdev, os.readlink(p) if stat.S_ISLNK(st.st_mode) else None,
                    hashlib.sha256(read_file(p)).hexdigest()
                    if stat.S_ISREG(st.st_mode) else None)
        return out
    before = snap()
    run_hook("remount")
    after = snap()
    fields = ["mode", "st_ino", "nlink", "uid", "gid", "size", "mtime_ns", "atime_ns",
              "rdev", "target", "sha256"]
    for p in sorted(set(before) | set(after)):
        if p not in after:
            fail("%s gone after remount" % p)
        if p not in before:
            fail("%s appeared after remount" % p)
        for name, x, y in zip(fields, before[p], after[p]):
            if name == "atime_ns":
                continue  # reads may legitimately update atime
            if x != y:
                fail("%s: %s %r before remount, %r after" % (p, name, x, y))
    eq(big, read_file(os.path.join(d, "big")), "big file after remount")
    # The remounted files are writable and stay hard-linked.
    with open(os.path.join(d, "hl"), "ab") as fh:
        fh.write(b"+")
    eq(b"file+", read_file(os.path.join(d, "f")), "write via a hard link after remount")


@check("other_user_permissions")
def _(d):
    # Only meaningful with allow_other (otherwise the kernel denies all
    # other users outright); then default_permissions applies the modes as
    # on ext4, and new files belong to the caller.
    if os.geteuid() != 0:
        raise Skip("needs root")
    priv = os.path.join(d, "private")
    write_file(priv, b"secret")
    os.chmod(priv, 0o600)
    pub = os.path.join(d, "public")
    write_file(pub, b"hello")
    os.chmod(pub, 0o644)
    shared = os.path.join(d, "shared")
    write_file(shared, b"")
    os.chmod(shared, 0o666)
    closed = os.path.join(d, "closed")
    os.mkdir(closed, 0o700)
    write_file(os.path.join(closed, "inside"), b"x")
    mine = os.path.join(d, "mine")
    os.mkdir(mine)
    os.chown(mine, 65534, 65534)
    sticky = os.path.join(d, "sticky")
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    write_file(os.path.join(sticky, "roots"), b"r")
    os.chmod(d, 0o755)
    r, w = os.pipe()

    def probe():
        os.close(r)
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
        out = []

        def want(errs, label, fn, *a):
            try:
                fn(*a)
            except OSError as e:
                if e.errno not in errs:
                    out.append("%s: got %s" % (label, ename(e.errno)))
                return
            out.append("%s: allowed" % label)
        try:
            os.stat(d)
        except PermissionError:
            os.write(w, b"NOACCESS")
            return 0
        want((errno.EACCES,), "read a 0600 root file", read_file, priv)
        if read_file(pub) != b"hello":
            out.append("read a 0644 file: wrong content")
        want((errno.EACCES,), "append to a 0644 root file", lambda: open(pub, "ab"))
        with open(shared, "ab") as f:
            f.write(b"ok")
        want((errno.EACCES,), "create in a 0755 root dir", write_file,
             os.path.join(d, "new"), b"")
        want((errno.EACCES,), "list a 0700 root dir", os.listdir, closed)
        want((errno.EACCES,), "stat in a 0700 root dir", os.stat, os.path.join(closed, "inside"))
        want((errno.EPERM,), "chmod a root file", os.chmod, pub, 0o777)
        want((errno.EPERM,), "chown a root file", os.chown, pub, 65534, 65534)
        want((errno.EPERM,), "set explicit times on a root file", os.utime, pub, (1, 1))
        want((errno.EACCES,), "unlink in a 0755 root dir", os.unlink, pub)
        want((errno.EPERM,), "unlink another's file in a sticky dir", os.unlink,
             os.path.join(sticky, "roots"))
        p = os.path.join(mine, "f")
        write_file(p, b"by nobody")
        st = os.stat(p)
        if (st.st_uid, st.st_gid) != (65534, 65534):
            out.append("owner of a file created by uid 65534: %d:%d" % (st.st_uid, st.st_gid))
        os.mkdir(os.path.join(mine, "dd"))
        st = os.stat(os.path.join(mine, "dd"))
        if (st.st_uid, st.st_gid) != (65534, 65534):
            out.append("owner of a dir made by uid 65534: %d:%d" % (st.st_uid, st.st_gid))
        os.symlink("f", os.path.join(mine, "ln"))
        if os.lstat(os.path.join(mine, "ln")).st_uid != 65534:
            out.append("owner of a symlink made by uid 65534")
        os.chmod(p, 0o600)
        os.utime(p, (5, 5))
        os.rename(p, os.path.join(mine, "g"))
        os.write(w, "\n".join(out).encode())
        return 0
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = probe()
        except BaseException:
            os.write(w, traceback.format_exc().encode())
            code = 98
        os._exit(code)
    os.close(w)
    msg = b""
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        msg += b
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if msg == b"NOACCESS":
        raise Skip("uid 65534 cannot stat %s (no allow_other, or a parent dir is "
                   "closed to others)" % d)
    expect(os.waitstatus_to_exitcode(status) == 0 and not msg,
           "as uid 65534: " + msg.decode(errors="replace").replace("\n", "; "))
    eq(b"ok", read_file(shared), "append by another user to a 0666 file")
    st = os.stat(os.path.join(mine, "g"))
    eq((65534, 0o600), (st.st_uid, stat.S_IMODE(st.st_mode)), "file of uid 65534, seen by root")


@check("many_open_files")
def _(d):
    # Issue 3: no fd held per inode in the daemon (its RLIMIT_NOFILE is
    # 20000 here, as everyone's): 3 processes x 7000 files open for writing
    # at the same time, all written, then closed and read back.
    import resource
    per, nproc = 7000, 3
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < per + 100:
        raise Skip("RLIMIT_NOFILE hard limit %d < %d" % (hard, per + 100))
    go_r, go_w = os.pipe()
    kids = []
    for k in range(nproc):
        rep_r, rep_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rep_r)
            os.close(go_w)
            msg = b"ok"
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (per + 100, hard))
                fds = []
                for i in range(per):
                    name = os.path.join(d, "p%d_%05d" % (k, i))
                    try:
                        fds.append(os.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644))
                    except OSError as e:
                        msg = ("open #%d in process %d (%d files open on the mount): %s"
                               % (i, k, k * per + i, ename(e.errno))).encode()
                        break
                for i, fd in enumerate(fds):
                    os.write(fd, b"%d:%d" % (k, i))
            except BaseException as e:
                msg = repr(e).encode()
            os.write(rep_w, msg)
            os.read(go_r, 1)  # hold every file open until the parent says go
            os._exit(0)
        os.close(rep_w)
        kids.append((pid, rep_r))
    errs = []
    for pid, rep_r in kids:
        m = os.read(rep_r, 4096)
        os.close(rep_r)
        if m != b"ok":
            errs.append(m.decode(errors="replace"))
    os.write(go_w, b"x" * nproc)
    os.close(go_w)
    os.close(go_r)
    for pid, _ in kids:
        os.waitpid(pid, 0)
    expect(not errs, "; ".join(errs))
    for k in range(nproc):
        for i in range(0, per, 499):
            eq(b"%d:%d" % (k, i), read_file(os.path.join(d, "p%d_%05d" % (k, i))),
               "content of p%d_%05d" % (k, i))
    shutil.rmtree(d)
    os.mkdir(d)


@check("posix_fallocate")
def _(d):
    # glibc falls back to writing zeros when fallocate is not supported.
    f = os.path.join(d, "f")
    write_file(f, b"abc")
    fd = os.open(f, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, 100_000)
    finally:
        os.close(fd)
    eq(b"abc" + bytes(100_000 - 3), read_file(f), "content after posix_fallocate")


@check("xattr_sane")
def _(d):
    # Not required, but must fail cleanly (ls, cp -a, tar probe xattrs).
    f = os.path.join(d, "f")
    write_file(f, b"x")
    try:
        names = os.listxattr(f)
        expect(isinstance(names, list), "listxattr result")
    except OSError as e:
        expect(e.errno in (errno.ENOTSUP,), "listxattr failed with %s" % ename(e.errno))
    try:
        os.getxattr(f, "user.nothere")
        fail("getxattr of a missing attribute succeeded")
    except OSError as e:
        expect(e.errno in (errno.ENODATA, errno.ENOTSUP),
               "getxattr of a missing attribute: %s" % ename(e.errno))
    try:
        os.setxattr(f, "user.k", b"v")
    except OSError as e:
        expect(e.errno == errno.ENOTSUP, "setxattr failed with %s" % ename(e.errno))
    else:
        eq(b"v", os.getxattr(f, "user.k"), "getxattr after setxattr")
    r = subprocess.run(["ls", "-l", f], capture_output=True, text=True)
    eq((0, ""), (r.returncode, r.stderr), "ls -l exit and stderr")


@check("large_offsets")
def _(d):
    f = os.path.join(d, "f")
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, b"four", (4 << 30) - 2)  # across the 4 GiB boundary
        eq((4 << 30) + 2, os.fstat(fd).st_size, "size after a write across 4 GiB")
        eq(b"\0four", os.pread(fd, 10, (4 << 30) - 3), "read across 4 GiB")
        os.ftruncate(fd, (5 << 30))
        eq(5 << 30, os.fstat(fd).st_size, "ftruncate to 5 GiB")
        os.ftruncate(fd, 10)
        eq(bytes(10), os.pread(fd, 100, 0), "truncated back to 10 bytes")
    finally:
        os.close(fd)


@check("unix_socket_bind")
def _(d):
    import socket
    p = os.path.join(d, "sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            srv.bind(p)
        except OSError as e:
            fail("bind() of a unix socket on the mount (mknod S_IFSOCK): %s" % ename(e.errno))
        srv.listen(1)
        st = os.lstat(p)
        expect(stat.S_ISSOCK(st.st_mode), "bind() made no socket: mode %o" % st.st_mode)
        cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            cli.connect(p)
            conn, _ = srv.accept()
            cli.sendall(b"ping")
            eq(b"ping", conn.recv(10), "data through a socket bound on the mount")
            conn.close()
        finally:
            cli.close()
    finally:
        srv.close()
    os.mknod(os.path.join(d, "mk"), 0o600 | stat.S_IFSOCK)
    expect(stat.S_ISSOCK(os.lstat(os.path.join(d, "mk")).st_mode), "mknod S_IFSOCK type")
    os.unlink(p)


@check("rewrite_while_sealing")
def _(d):
    # Reopen for write, append, rewrite, rename and link files right after
    # closing them, while sealing runs (and is forced by the sync hook in a
    # second thread when there is one): every read after a close sees
    # exactly what was written.
    stop = threading.Event()
    errs = []

    def syncer():
        while not stop.is_set():
            try:
                run_hook("sync")
            except Fail as e:
                errs.append(str(e))
                return
    t = threading.Thread(target=syncer) if OPTS["sync"] else None
    if t:
        t.start()
    try:
        model = {}
        for i in range(400):
            name = "f%d" % (i % 7)
            p = os.path.join(d, name)
            k = i % 5
            if k == 0 or name not in model:
                data = bytes([i % 251]) * (1000 + i * 37)
                write_file(p, data)
                model[name] = data
            elif k == 1:
                with open(p, "ab") as f:
                    f.write(b"+%d" % i)
                model[name] += b"+%d" % i
            elif k == 2:
                _pwrite(p, b"<%d>" % i, 100)
                m = bytearray(model[name])
                m[100:100 + len(b"<%d>" % i)] = b"<%d>" % i
                model[name] = bytes(m)
            elif k == 3:
                os.truncate(p, len(model[name]) // 2)
                model[name] = model[name][:len(model[name]) // 2]
            else:
                os.link(p, p + ".l")
                os.rename(p + ".l", p + ".r")
                os.unlink(p)
                os.rename(p + ".r", p)
            got = read_file(p)
            if got != model[name]:
                fail("step %d (%s of %s): read back %d bytes, expected %d" % (
                    i, ["rewrite", "append", "pwrite", "truncate", "link+rename"][k], name,
                    len(got), len(model[name])))
    finally:
        stop.set()
        if t:
            t.join()
    expect(not errs, "; ".join(errs))
    for name, data in model.items():
        eq(data, read_file(os.path.join(d, name)), "final content of %s" % name)


@check("reader_sees_each_closed_version")
def _(d):
    # A reader with the file open all along sees every closed version.
    p = os.path.join(d, "f")
    write_file(p, bytes(64 * 1024))
    rfd = os.open(p, os.O_RDONLY)
    try:
        for i in range(1, 200):
            fd = os.open(p, os.O_WRONLY)
            os.pwrite(fd, bytes([i]) * (64 * 1024), 0)
            os.close(fd)
            got = os.pread(rfd, 64 * 1024, 0)
            if got != bytes([i]) * (64 * 1024):
                fail("version %d: the open reader sees %r..." % (i, got[:8]))
            if i % 50 == 0:
                sync_if_possible()
    finally:
        os.close(rfd)


def _churn_content(w, serial):
    n = (w * 7919 + serial * 104729) % 200_000
    head = b"BLAST:%d:%d:%d:" % (w, serial, n)
    block = hashlib.sha256(head).digest()
    return head + (block * (n // 32 + 1))[:n]


def _churn_check(data):
    try:
        _, w, serial, n, _ = data.split(b":", 4)
        want = _churn_content(int(w), int(serial))
    except ValueError:
        return "no valid header: %r" % data[:30]
    return None if data == want else "torn or stale content (writer %s serial %s, %d bytes)" % (
        w.decode(), serial.decode(), len(data))


@check("concurrent_same_names_churn")
def _(d):
    # Processes race on one small namespace: atomic replace (tmp + rename),
    # rename, link, unlink, mkdir/rmdir, readdir, read. Only the errors such
    # races explain are allowed, and every read of a name sees a complete
    # file (rename is atomic). Afterwards the tree is self-consistent.
    import random
    names = ["n%d" % i for i in range(12)]
    dirs = ["", "da", "db"]
    for sub in dirs[1:]:
        os.mkdir(os.path.join(d, sub))
    # EPERM: link() of a directory; EINVAL: rename of a dir into itself.
    ok_errs = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR,
               errno.EPERM, errno.EINVAL}
    # FSPOSIX_CHURN="PROCS,OPS" (default 4,1500) to hunt for races.
    nproc, nops = map(int, os.environ.get("FSPOSIX_CHURN", "4,1500").split(","))
    r, w = os.pipe()
    pids = []
    for k in range(nproc):
        pid = os.fork()
        if pid == 0:
            os.close(r)
            rng = random.Random(k)
            bad = []
            serial = 0
            for i in range(nops):
                a = os.path.join(d, rng.choice(dirs), rng.choice(names))
                b = os.path.join(d, rng.choice(dirs), rng.choice(names))
                op = rng.randrange(8)
                if k == 1 and i % 100 == 50 and OPTS["drop_caches"]:
                    forget_all()
                if k == 0 and i % 150 == 0 and OPTS["sync"]:
                    try:
                        run_hook("sync")  # seal while the others write
                    except Fail as e:
                        bad.append(str(e))
                try:
                    if op <= 1:
                        serial += 1
                        tmp = os.path.join(d, ".tmp%d_%d" % (k, serial))
                        write_file(tmp, _churn_content(k, serial))
                        try:
                            os.rename(tmp, a)
                        except OSError:
                            os.unlink(tmp)
                            raise
                    elif op == 2:
                        os.rename(a, b)
                    elif op == 3:
                        os.link(a, b)
                    elif op == 4:
                        os.unlink(a)
                    elif op == 5:
                        (os.mkdir if rng.random() < 0.5 else os.rmdir)(a)
                    elif op == 6:
                        for e in os.scandir(os.path.dirname(a)):
                            e.stat(follow_symlinks=False)
                    else:
                        with open(a, "rb") as f:
                            msg = _churn_check(f.read())
                        if msg:
                            bad.append("read of %s: %s" % (os.path.relpath(a, d), msg))
                except OSError as e:
                    if e.errno not in ok_errs:
                        bad.append("op %d on %s: %s" % (op, os.path.relpath(a, d),
                                                        ename(e.errno)))
                if len(bad) > 5:
                    break
            os.write(w, ("\n".join(bad) + "\0").encode())
            os._exit(0)
        pids.append(pid)
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    for pid in pids:
        os.waitpid(pid, 0)
    msgs = [m for m in out.decode(errors="replace").split("\0") if m.strip()]
    expect(not msgs, "; ".join(m.replace("\n", "; ") for m in msgs)[:1500])
    # Quiescent: every listed entry can be stat'ed and read; link counts add up.
    links = {}
    for root, subdirs, files in os.walk(d):
        for n in files:
            p = os.path.join(root, n)
            st = os.lstat(p)
            links.setdefault(st.st_ino, [st.st_nlink, 0])[1] += 1
            msg = _churn_check(read_file(p))
            expect(msg is None, "%s after the churn: %s" % (os.path.relpath(p, d), msg))
    for ino, (nlink, seen) in links.items():
        eq(nlink, seen, "st_nlink vs names found for inode %d" % ino)


@check("concurrent_writers")
def _(d):
    errs = []

    def worker(k):
        try:
            for i in range(100):
                p = os.path.join(d, "t%d_%d" % (k, i))
                data = (b"%d:%d;" % (k, i)) * (i * 13 + 1)
                write_file(p, data)
                if read_file(p) != data:
                    errs.append("thread %d file %d: read back differs" % (k, i))
                if i % 5 == 0:
                    os.rename(p, p + ".r")
        except Exception as e:
            errs.append("thread %d: %r" % (k, e))
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    expect(not errs, "; ".join(errs[:5]))
    eq(600, len(os.listdir(d)), "entries after concurrent creates")


# Extended attributes (issue 20) -----------------------------------------------------
# The errno rules of setxattr/getxattr/listxattr/removexattr, as ext4 has
# them (ext4: one value of at most a block, 4 KiB blocks, no ea_inode).

def _raw_getxattr(path, name, size):
    """getxattr(2) into a size-byte buffer: its result, or -errno."""
    buf = ctypes.create_string_buffer(max(size, 1))
    r = libc.getxattr(os.fsencode(path), name.encode(), buf if size else None,
                      ctypes.c_size_t(size))
    return r if r >= 0 else -ctypes.get_errno()


@check("xattr_set_get_list_remove")
def _(d):
    p = os.path.join(d, "f")
    write_file(p, b"x")
    expect_errno(errno.ENODATA, os.getxattr, p, "user.a")
    os.setxattr(p, "user.a", b"1")
    os.setxattr(p, "user.b", b"")
    eq(b"1", os.getxattr(p, "user.a"), "user.a")
    eq(b"", os.getxattr(p, "user.b"), "empty value")
    eq(["user.a", "user.b"], sorted(os.listxattr(p)), "listxattr")
    os.removexattr(p, "user.a")
    expect_errno(errno.ENODATA, os.getxattr, p, "user.a")
    expect_errno(errno.ENODATA, os.removexattr, p, "user.a")


@check("xattr_flags_eexist_enodata")
def _(d):
    p = os.path.join(d, "f")
    write_file(p, b"x")
    os.setxattr(p, "user.a", b"1", os.XATTR_CREATE)
    expect_errno(errno.EEXIST, os.setxattr, p, "user.a", b"2", os.XATTR_CREATE)
    expect_errno(errno.ENODATA, os.setxattr, p, "user.n", b"2", os.XATTR_REPLACE)
    os.setxattr(p, "user.a", b"22", os.XATTR_REPLACE)
    eq(b"22", os.getxattr(p, "user.a"), "replaced value")


@check("xattr_short_buffer_erange")
def _(d):
    p = os.path.join(d, "f")
    write_file(p, b"x")
    os.setxattr(p, "user.v", b"12345")
    eq(5, _raw_getxattr(p, "user.v", 0), "size query")
    eq(-errno.ERANGE, _raw_getxattr(p, "user.v", 4), "4-byte buffer")
    eq(5, _raw_getxattr(p, "user.v", 5), "5-byte buffer")
    n = libc.listxattr(os.fsencode(p), None, ctypes.c_size_t(0))
    eq(len(b"user.v\0"), n, "listxattr size query")
    buf = ctypes.create_string_buffer(3)
    eq(-1, libc.listxattr(os.fsencode(p), buf, ctypes.c_size_t(3)), "short list")
    eq(errno.ERANGE, ctypes.get_errno(), "short list errno")


@check("xattr_limits_erange_enospc_e2big")
def _(d):
    p = os.path.join(d, "f")
    write_file(p, b"x")
    os.setxattr(p, "user." + "n" * 250, b"1")  # 255 bytes
    expect_errno(errno.ERANGE, os.setxattr, p, "user." + "n" * 251, b"1")
    q = os.path.join(d, "g")
    write_file(q, b"x")
    os.setxattr(q, "user.big", b"v" * 4000)  # most of the block
    expect_errno(errno.ENOSPC, os.setxattr, q, "user.more", b"v" * 200)
    for size in (4096, 65536):
        expect_errno(errno.ENOSPC, os.setxattr, p, "user.x", b"v" * size,
                     what="a %d-byte value" % size)
    expect_errno(errno.E2BIG, os.setxattr, p, "user.x", b"v" * 65537)


@check("xattr_namespaces_eopnotsupp_einval")
def _(d):
    p = os.path.join(d, "f")
    write_file(p, b"x")
    for name in ("foo.bar", "plain", "system.foo"):
        expect_errno(errno.EOPNOTSUPP, os.setxattr, p, name, b"1", what=name)
    expect_errno(errno.EINVAL, os.setxattr, p, "user.", b"1")
    os.setxattr(p, "trusted.t", b"t")
    os.setxattr(p, "security.s", b"s")
    eq(["security.s", "trusted.t"], sorted(os.listxattr(p)), "root lists trusted.*")


@check("xattr_user_only_on_files_and_dirs")
def _(d):
    os.symlink("f", os.path.join(d, "l"))
    os.mkfifo(os.path.join(d, "p"))
    os.mkdir(os.path.join(d, "d"))
    os.setxattr(os.path.join(d, "d"), "user.d", b"d")
    expect_errno(errno.EPERM, os.setxattr, os.path.join(d, "l"), "user.x", b"1",
                 follow_symlinks=False)
    expect_errno(errno.EPERM, os.setxattr, os.path.join(d, "p"), "user.x", b"1")
    expect_errno(errno.ENODATA, os.getxattr, os.path.join(d, "l"), "user.x",
                 follow_symlinks=False)
    os.setxattr(os.path.join(d, "l"), "trusted.x", b"1", follow_symlinks=False)


@check("xattr_trusted_needs_cap_sys_admin")
def _(d):
    p = os.path.join(d, "f")
    write_file(p, b"x", 0o666)
    os.setxattr(p, "trusted.t", b"t")
    os.setxattr(p, "user.u", b"u")
    os.chmod(d, 0o777)

    def child():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
        try:
            os.stat(p)
        except PermissionError:
            return 77  # a FUSE mount without allow_other
        try:
            os.setxattr(p, "trusted.n", b"n")
            return 1
        except OSError as e:
            if e.errno != errno.EPERM:
                return 2
        try:
            os.getxattr(p, "trusted.t")
            return 3
        except OSError as e:
            if e.errno != errno.ENODATA:
                return 4
        return 0 if os.listxattr(p) == ["user.u"] else 5
    code = in_child(child)
    if code == 77:
        raise Skip("another user cannot reach the mount (no --allow-other)")
    eq(0, code, "nobody and trusted.* (1/2: set, 3/4: get, 5: list)")


@check("xattr_shared_by_hard_links_ctime_moves")
def _(d):
    p, q = os.path.join(d, "f"), os.path.join(d, "g")
    write_file(p, b"x")
    os.link(p, q)
    os.utime(p, ns=(OLD_NS, OLD_NS))
    before = os.stat(p)
    wait_clock_past(before.st_ctime_ns)
    os.setxattr(q, "user.h", b"h")
    eq(b"h", os.getxattr(p, "user.h"), "set through the other name")
    st = os.stat(p)
    expect(st.st_ctime_ns > before.st_ctime_ns, "setxattr did not move ctime")
    eq(OLD_NS, st.st_mtime_ns, "setxattr moved mtime")
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"more")  # a write (the kernel asks security.capability)
    os.close(fd)
    eq(b"h", os.getxattr(q, "user.h"), "after a write")
    os.unlink(p)
    eq(b"h", os.getxattr(q, "user.h"), "after the other name went")


# Driver --------------------------------------------------------------------------

def main(argv):
    args = list(argv)
    only = None
    listing = False
    root = None
    while args:
        a = args.pop(0)
        if a == "--list":
            listing = True
        elif a == "--only":
            only = set(args.pop(0).split(","))
        elif a == "--design":
            OPTS["design"] = True
        elif a == "--remount-cmd":
            OPTS["remount"] = args.pop(0)
        elif a == "--sync-cmd":
            OPTS["sync"] = args.pop(0)
        elif a == "--drop-caches":
            OPTS["drop_caches"] = True
        elif a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            root = a
    if listing:
        for name, _, design in CHECKS:
            print(name + (" (design)" if design else ""))
        return 0
    if root is None:
        print(__doc__, file=sys.stderr)
        return 2
    names = [c[0] for c in CHECKS]
    if only and only - set(names):
        print("fsposix: unknown check(s): %s" % ", ".join(sorted(only - set(names))),
              file=sys.stderr)
        return 2
    assert len(names) == len(set(names)), "duplicate check names"
    root = os.path.abspath(root)
    failed = []
    for name, fn, design in CHECKS:
        if only and name not in only:
            continue
        if design and not OPTS["design"]:
            continue
        d = os.path.join(root, name)
        t0 = time.monotonic()
        try:
            os.mkdir(d)
            fn(d)
        except Skip as e:
            print("skip %s: %s" % (name, e), flush=True)
            continue
        except Fail as e:
            print("not ok %s: %s" % (name, e), flush=True)
            failed.append(name)
            continue
        except Exception as e:
            if isinstance(e, OSError) and e.errno in (errno.ENOTCONN, errno.ECONNABORTED):
                print("not ok %s: %s: the filesystem is gone, stopping" % (name, e), flush=True)
                failed.append(name)
                break
            tb = traceback.extract_tb(e.__traceback__)
            where = "line %d" % tb[-1].lineno if tb else "?"
            print("not ok %s: unexpected %s: %s (%s)" % (name, type(e).__name__, e, where),
                  flush=True)
            failed.append(name)
            continue
        print("ok %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
    if failed:
        print("fsposix: %d check(s) failed: %s" % (len(failed), " ".join(failed)),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
