#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Differential random-operation test: one seeded sequence of filesystem
operations runs on a mounted filesystem and on a plain native directory, and
the two trees are compared after every step.

Usage: fsdiff.py [options] MOUNT_DIR NATIVE_DIR

  --seed N            random seed (default 1)
  --ops N             number of operations (default 2000)
  --remount-at K,...  after op K close every held fd, run --remount-cmd, then
                      compare again (incl. st_ino of every entry unchanged)
  --remount-cmd CMD   shell command that unmounts and remounts MOUNT_DIR's fs
  --sync-cmd CMD      shell command that seals pending writes; run as a
                      random op (~1%) so later writes hit sealed files
  --full-every N      read and compare every file's bytes every N ops (default
                      1); in between only files the op touched are read
  --dir-nlink         also compare st_nlink of directories
  --time-min NS       earliest time utimens sets (default -2**60, pre-1970)
  --drop-caches P     after an op, with probability P, make the kernel forget
                      its dentries and inodes (echo 2 >/proc/sys/vm/drop_caches,
                      root, machine-wide): FORGETs and fresh LOOKUPs mid-run
  --history FILE      write the whole op history there on failure
  --quiet             no progress lines

MOUNT_DIR and NATIVE_DIR must exist and be empty. Compared after every op:
the op's result (success or the same errno), the set of paths, each entry's
type, permission bits, owner, size, file content, symlink target, st_nlink of
files, st_rdev, mtime where it was set explicitly with utimens and nothing
changed it since (native mtime still equals the value set), extended
attributes (names and values, of the entries read), and that hard
links map one-to-one (same inode on one side iff on the other). Held open fds
(also of unlinked or renamed files) are read, written and fstat'ed too.
Exit 0 if all equal, 1 at the first divergence (reported with the op history
and a command to reproduce), 2 on usage errors.
"""

import errno
import hashlib
import os
import random
import shutil
import stat
import subprocess
import sys
import time
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE = 1

NAMES = ["a", "b", "c", "d", "e", "f", "g", "h", "sub", "x.py", "\u00fcml", "sp ace",
         "L" * 255]
MAX_DEPTH = 4
MAX_HELD = 4
# Every open is non-blocking: a path may name a fifo (ENXIO then, not a hang).
NB = os.O_NONBLOCK


class Divergence(Exception):
    pass


def ename(e):
    return errno.errorcode.get(e, str(e))


def renameat2(src, dst, flags):
    r = libc.renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst),
                       ctypes.c_uint(flags))
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), src)


# Operations: each is (name, args...) and runs on one root, returning a
# comparable result. Paths in args are relative to the root ("" is the root).

def j(root, rel):
    return os.path.join(root, rel) if rel else root


def do_op(root, op, held):
    """Apply op under root; return a result value. OSError -> ("err", name).
    held: dict slot -> fd for this side."""
    kind = op[0]
    try:
        if kind == "create":
            _, rel, data, flags = op
            fd = os.open(j(root, rel), os.O_WRONLY | os.O_CREAT | NB | flags, 0o644)
            try:
                n = os.write(fd, data) if data else 0
            finally:
                os.close(fd)
            return ("ok", n)
        if kind == "pwrite":
            _, rel, off, data = op
            fd = os.open(j(root, rel), os.O_WRONLY | NB)
            try:
                return ("ok", os.pwrite(fd, data, off))
            finally:
                os.close(fd)
        if kind == "append":
            _, rel, data = op
            fd = os.open(j(root, rel), os.O_WRONLY | os.O_APPEND | NB)
            try:
                return ("ok", os.write(fd, data))
            finally:
                os.close(fd)
        if kind == "read":
            _, rel, off, ln = op
            fd = os.open(j(root, rel), os.O_RDONLY | NB)
            try:
                return ("ok", os.pread(fd, ln, off))
            finally:
                os.close(fd)
        if kind == "truncate":
            _, rel, size = op
            os.truncate(j(root, rel), size)
            return ("ok",)
        if kind == "rename":
            _, src, dst = op
            os.rename(j(root, src), j(root, dst))
            return ("ok",)
        if kind == "rename_noreplace":
            _, src, dst = op
            renameat2(j(root, src), j(root, dst), RENAME_NOREPLACE)
            return ("ok",)
        if kind == "unlink":
            os.unlink(j(root, op[1]))
            return ("ok",)
        if kind == "mkdir":
            os.mkdir(j(root, op[1]), op[2])
            return ("ok",)
        if kind == "rmdir":
            os.rmdir(j(root, op[1]))
            return ("ok",)
        if kind == "rmtree":
            shutil.rmtree(j(root, op[1]))
            return ("ok",)
        if kind == "symlink":
            os.symlink(op[2], j(root, op[1]))
            return ("ok",)
        if kind == "link":
            os.link(j(root, op[1]), j(root, op[2]), follow_symlinks=False)
            return ("ok",)
        if kind == "mkfifo":
            os.mkfifo(j(root, op[1]), 0o644)
            return ("ok",)
        if kind == "chmod":
            os.chmod(j(root, op[1]), op[2])
            return ("ok",)
        if kind == "chown":
            os.chown(j(root, op[1]), op[2], op[3], follow_symlinks=op[4])
            return ("ok",)
        if kind == "utimens":
            _, rel, at, mt, follow = op
            os.utime(j(root, rel), ns=(at, mt), follow_symlinks=follow)
            return ("ok",)
        if kind == "hold":
            _, slot, rel = op
            fd = os.open(j(root, rel), os.O_RDWR | NB)
            held[slot] = fd
            return ("ok",)
        if kind == "fd_write":
            _, slot, off, data = op
            return ("ok", os.pwrite(held[slot], data, off))
        if kind == "fd_read":
            _, slot, off, ln = op
            return ("ok", os.pread(held[slot], ln, off))
        if kind == "fd_truncate":
            _, slot, size = op
            os.ftruncate(held[slot], size)
            return ("ok",)
        if kind == "fd_stat":
            st = os.fstat(held[op[1]])
            return ("ok", st.st_size, st.st_nlink, stat.S_IMODE(st.st_mode))
        if kind == "fd_close":
            os.close(held.pop(op[1]))
            return ("ok",)
        raise AssertionError("unknown op %r" % (kind,))
    except OSError as e:
        return ("err", ename(e.errno))


def describe(op):
    parts = []
    for a in op:
        if isinstance(a, (bytes, bytearray)):
            parts.append("<%d bytes %s>" % (len(a), hashlib.sha256(a).hexdigest()[:8]))
        elif isinstance(a, str) and len(a) > 40:
            parts.append(repr(a[:16] + "...(%d)" % len(a)))
        elif isinstance(a, int) and op[0] == "chmod" and a == op[2]:
            parts.append("0o%o" % a)
        else:
            parts.append(repr(a))
    return "%s(%s)" % (parts[0].strip("'"), ", ".join(parts[1:]))


# Extended attributes (issue 20) ---------------------------------------------------
# Set, replace, remove, get and list attributes of random entries, symlinks
# not followed half the time; values small enough that a file's set never
# fills ext4's inode and block (where the two could place them apart), but
# for one size no block holds (ENOSPC on both). Drawn from a random stream
# of their own, between the other ops, whose sequence a seed keeps.

XATTR_OPS = ("setxattr", "removexattr", "getxattr", "listxattr")
XATTR_NAMES = ["user.a", "user.b", "user." + "n" * 200, "trusted.t", "security.s",
               "user.", "foo.bar"]
XATTR_SIZES = [0, 1, 7, 100, 600, 5000]
XATTR_RATE = 0.12  # an xattr op before this share of the other ops


def xattr_pick(r, snap):
    """One xattr op on an entry of snap (or a missing path)."""
    p = r.choice(sorted(k for k in snap if k) or ["nonexistent"])
    likely = r.choice(["user.a", "user.b", "user.a", "trusted.t"])
    follow = r.random() < 0.5
    kind = r.choices(XATTR_OPS, weights=[6, 2, 3, 1])[0]
    if kind == "setxattr":
        return (kind, p, r.choice(XATTR_NAMES),
                bytes([r.randrange(256)]) * r.choice(XATTR_SIZES),
                r.choice([0, 0, os.XATTR_CREATE, os.XATTR_REPLACE]), follow)
    if kind == "listxattr":
        return (kind, p, follow)
    return (kind, p, likely, follow)


def xattr_step(step, r, snap, roots, history, stats):
    """Before op step, with its own random stream (the other ops' sequence
    stays what it was without xattrs): one xattr op on both sides; the
    results and the entry's attributes must agree. A divergence's lines,
    or None."""
    op = xattr_pick(r, snap)
    history.append("%5d %s" % (step, describe(op)))
    res = [do_xattr_op(root, op) for root in roots]
    stats.setdefault(op[0], [0, 0])[res[0][0] != "ok"] += 1
    if res[0] != res[1]:
        return "%s: native %r, mount %r" % (describe(op), res[0], res[1]), []
    got = []
    for root in roots:
        try:
            got.append(xattr_snapshot(j(root, op[1])))
        except OSError as e:
            got.append(("err", ename(e.errno)))
    if got[0] != got[1]:
        return "after %s" % describe(op), ["attributes: native %r, mount %r" % tuple(got)]
    return None


def do_xattr_op(root, op):
    kind, rel = op[0], op[1]
    follow = op[-1]
    try:
        if kind == "setxattr":
            os.setxattr(j(root, rel), op[2], op[3], op[4], follow_symlinks=follow)
            return ("ok",)
        if kind == "removexattr":
            os.removexattr(j(root, rel), op[2], follow_symlinks=follow)
            return ("ok",)
        if kind == "getxattr":
            return ("ok", os.getxattr(j(root, rel), op[2], follow_symlinks=follow))
        return ("ok", sorted(os.listxattr(j(root, rel), follow_symlinks=follow)))
    except OSError as e:
        return ("err", ename(e.errno))


def xattr_snapshot(p):
    """p's attributes (not followed) as sorted (name, value) pairs."""
    try:
        return sorted((n, os.getxattr(p, n, follow_symlinks=False))
                      for n in os.listxattr(p, follow_symlinks=False)
                      if not n.startswith("system."))
    except OSError as e:
        return ("err", ename(e.errno))


# Tree snapshots -------------------------------------------------------------------

def snapshot(root, read_paths, dir_nlink):
    """{rel: info} for every entry under root (root itself is "")."""
    out = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        p = j(root, rel)
        st = os.lstat(p)
        mode = st.st_mode
        info = {"type": stat.S_IFMT(mode), "perm": stat.S_IMODE(mode),
                "uid": st.st_uid, "gid": st.st_gid, "ino": st.st_ino,
                "mtime": st.st_mtime_ns, "rdev": st.st_rdev}
        if stat.S_ISDIR(mode):
            if dir_nlink:
                info["nlink"] = st.st_nlink
            names = sorted(os.listdir(p))
            info["names"] = names
            for n in names:
                stack.append(os.path.join(rel, n) if rel else n)
        else:
            info["size"] = st.st_size
            info["nlink"] = st.st_nlink
        if stat.S_ISLNK(mode):
            info["target"] = os.readlink(p)
        if stat.S_ISREG(mode) and (read_paths is None or rel in read_paths):
            with open(p, "rb") as f:
                info["data"] = f.read()
        if read_paths is None or rel in read_paths:
            info["xattrs"] = xattr_snapshot(p)
        out[rel] = info
    return out


TYPE_NAMES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink",
              stat.S_IFIFO: "fifo", stat.S_IFCHR: "chardev", stat.S_IFSOCK: "socket",
              stat.S_IFBLK: "blockdev"}


def compare(native, mount, explicit):
    """Return a list of difference strings (empty if equal)."""
    diffs = []
    only_n = sorted(set(native) - set(mount))
    only_m = sorted(set(mount) - set(native))
    if only_n:
        diffs.append("missing on the mount: %s" % only_n[:10])
    if only_m:
        diffs.append("only on the mount: %s" % only_m[:10])
    n2m, m2n = {}, {}
    for rel in sorted(set(native) & set(mount)):
        a, b = native[rel], mount[rel]
        name = rel or "."
        for k in ("type", "perm", "uid", "gid", "size", "nlink", "target", "names", "rdev",
                  "xattrs"):
            if k in a and a.get(k) != b.get(k):
                if k == "type":
                    diffs.append("%s: type %s on native, %s on the mount" % (
                        name, TYPE_NAMES.get(a[k]), TYPE_NAMES.get(b[k])))
                    break
                if k == "perm":
                    diffs.append("%s: mode 0%o on native, 0%o on the mount" % (name, a[k], b[k]))
                elif k == "names":
                    diffs.append("%s: listing differs: native-only %s, mount-only %s" % (
                        name, sorted(set(a[k]) - set(b[k]))[:8],
                        sorted(set(b[k]) - set(a[k]))[:8]))
                else:
                    diffs.append("%s: %s %r on native, %r on the mount" % (name, k, a[k], b.get(k)))
        if "data" in a and "data" in b and a["data"] != b["data"]:
            x, y = a["data"], b["data"]
            k = next(i for i in range(min(len(x), len(y)) + 1)
                     if i == min(len(x), len(y)) or x[i] != y[i])
            diffs.append("%s: content differs from byte %d (native %r, mount %r; "
                         "lengths %d, %d)" % (name, k, x[k:k + 8], y[k:k + 8], len(x), len(y)))
        want = explicit.get(a["ino"])
        if want is not None and a["mtime"] == want and b["mtime"] != want:
            diffs.append("%s: explicitly set mtime %d, mount says %d" % (name, want, b["mtime"]))
        # Hard links: same inode on one side iff same inode on the other.
        if a["type"] != stat.S_IFDIR:
            if n2m.setdefault(a["ino"], b["ino"]) != b["ino"]:
                diffs.append("%s: is a hard link of another entry on native, not on the "
                             "mount" % name)
            if m2n.setdefault(b["ino"], a["ino"]) != a["ino"]:
                diffs.append("%s: shares st_ino %d with another entry on the mount, not on "
                             "native" % (name, b["ino"]))
        elif m2n.setdefault(b["ino"], a["ino"]) != a["ino"]:
            diffs.append("%s: dir shares st_ino %d with another entry on the mount" % (
                name, b["ino"]))
    return diffs


# Op generation ---------------------------------------------------------------------

class Gen:
    def __init__(self, rng, tmin):
        self.rng = rng
        self.tmin = tmin
        self.held = {}  # slot -> rel path at open (informational)
        self.next_slot = 0

    def data(self, big=False):
        r = self.rng
        n = r.choice([0, 1, 7, 100, 511, 4096, 5000]) if not big else r.randint(1, 300_000)
        # Mix of compressible and random bytes.
        if r.random() < 0.5:
            return r.randbytes(n)
        return bytes([r.randrange(256)]) * n

    def offset(self, size):
        r = self.rng.random()
        if r < 0.6:
            return self.rng.randint(0, max(size, 1))
        if r < 0.85:
            return self.rng.randint(0, 70_000)
        return self.rng.randint(0, 400_000)

    def new_path(self, dirs):
        r = self.rng
        parent = r.choice(dirs)
        if parent.count("/") + 1 >= MAX_DEPTH and parent:
            parent = ""
        name = r.choice(NAMES)
        return os.path.join(parent, name) if parent else name

    def pick(self, snap):
        r = self.rng
        entries = sorted(k for k in snap if k)
        dirs = sorted(k for k, v in snap.items() if v["type"] == stat.S_IFDIR)
        files = sorted(k for k, v in snap.items() if v["type"] == stat.S_IFREG)
        anyp = entries or ["nonexistent"]
        size_of = lambda p: snap[p].get("size", 0)
        big = len(entries) > 120
        ops = []

        def w(weight, fn):
            ops.append((weight, fn))

        w(10, lambda: ("create", self.new_path(dirs), self.data(r.random() < 0.05),
                       r.choice([0, 0, os.O_TRUNC, os.O_EXCL, os.O_EXCL])))
        w(7, lambda: ("mkdir", self.new_path(dirs), r.choice([0o755, 0o700, 0o777])))
        w(4, lambda: ("symlink", self.new_path(dirs),
                      # Never absolute, never "..": following one must not
                      # leave the test's root (chmod, utimens, create follow).
                      r.choice(["x", "sub/b", "a", "t" * 300, ".", "no/such"] +
                               [p for p in anyp[:5] if p])))
        w(1, lambda: ("mkfifo", self.new_path(dirs)))
        if files:
            f = lambda: r.choice(files)
            w(10, lambda: (lambda p: ("pwrite", p, self.offset(size_of(p)),
                                      self.data(r.random() < 0.05)))(f()))
            w(3, lambda: ("append", f(), self.data()))
            w(5, lambda: (lambda p: ("truncate", p, r.choice(
                [0, 1, size_of(p) // 2, size_of(p) + 1, size_of(p) + 5000,
                 r.randint(0, 300_000)])))(f()))
            w(4, lambda: (lambda p: ("read", p, self.offset(size_of(p)),
                                     r.choice([1, 100, 4096, 70_000])))(f()))
            w(4, lambda: ("link", f(), self.new_path(dirs)))
            if len(self.held) < MAX_HELD:
                w(3, lambda: ("hold", self.alloc_slot(), f()))
        w(10 if not big else 3, lambda: ("rename", r.choice(anyp), self.new_path(dirs)))
        w(4, lambda: ("rename", r.choice(anyp), r.choice(anyp)))
        w(2, lambda: ("rename_noreplace", r.choice(anyp), r.choice(
            [self.new_path(dirs), r.choice(anyp)])))
        w(6 if not big else 25, lambda: ("unlink", r.choice(anyp)))
        w(4 if not big else 15, lambda: ("rmdir", r.choice(dirs[1:] or ["nonexistent"])))
        w(1 if not big else 6, lambda: ("rmtree", r.choice(dirs[1:] or ["nonexistent"])))
        w(5, lambda: ("chmod", r.choice(anyp), r.choice(
            [0o644, 0o755, 0o600, 0o000, 0o4755, 0o2711, 0o1777, 0o444, r.randrange(0o10000)])))
        w(2, lambda: ("chown", r.choice(anyp), r.choice([0, 1000, 65534, -1]),
                      r.choice([0, 100, 65534, -1]), r.random() < 0.5))
        w(6, lambda: ("utimens", r.choice(anyp),
                      r.randint(self.tmin, 2**62), r.randint(self.tmin, 2**62), r.random() < 0.7))
        if self.held:
            s = lambda: r.choice(sorted(self.held))
            w(6, lambda: ("fd_write", s(), self.offset(5000), self.data()))
            w(4, lambda: ("fd_read", s(), self.offset(5000), r.choice([10, 5000])))
            w(2, lambda: ("fd_truncate", s(), r.choice([0, 10, 6000])))
            w(3, lambda: ("fd_stat", s()))
            w(3, lambda: ("fd_close", s()))
        total = sum(x for x, _ in ops)
        t = r.uniform(0, total)
        for weight, fn in ops:
            t -= weight
            if t <= 0:
                return fn()
        return ops[-1][1]()

    def alloc_slot(self):
        self.next_slot += 1
        return self.next_slot


def touched_paths(op, snap):
    """Files whose bytes the op may have changed (read them at once)."""
    kind = op[0]
    if kind in ("create", "pwrite", "append", "truncate"):
        return {op[1]}
    if kind in ("rename", "rename_noreplace", "link"):
        return {op[2]}
    if kind.startswith("fd_"):
        return None  # held file may be anywhere (or linked): read all
    return set()


# Driver -------------------------------------------------------------------------

def main(argv):
    opts = {"seed": 1, "ops": 2000, "remount_at": set(), "remount_cmd": None,
            "sync_cmd": None, "full_every": 1, "dir_nlink": False, "time_min": -2**60, "drop_caches": 0.0, "history": None,
            "quiet": False}
    pos = []
    args = list(argv)
    try:
        while args:
            a = args.pop(0)
            if a == "--seed":
                opts["seed"] = int(args.pop(0))
            elif a == "--ops":
                opts["ops"] = int(args.pop(0))
            elif a == "--remount-at":
                opts["remount_at"] = {int(x) for x in args.pop(0).split(",") if x}
            elif a == "--remount-cmd":
                opts["remount_cmd"] = args.pop(0)
            elif a == "--sync-cmd":
                opts["sync_cmd"] = args.pop(0)
            elif a == "--full-every":
                opts["full_every"] = max(1, int(args.pop(0)))
            elif a == "--drop-caches":
                opts["drop_caches"] = float(args.pop(0))
            elif a == "--time-min":
                opts["time_min"] = int(args.pop(0))
            elif a == "--dir-nlink":
                opts["dir_nlink"] = True
            elif a == "--history":
                opts["history"] = args.pop(0)
            elif a == "--quiet":
                opts["quiet"] = True
            elif a.startswith("-"):
                raise ValueError(a)
            else:
                pos.append(a)
        if len(pos) != 2:
            raise ValueError("need MOUNT_DIR NATIVE_DIR")
    except (ValueError, IndexError) as e:
        print("fsdiff: usage error: %s\n%s" % (e, __doc__), file=sys.stderr)
        return 2
    if opts["remount_at"] and not opts["remount_cmd"]:
        print("fsdiff: --remount-at needs --remount-cmd", file=sys.stderr)
        return 2
    mroot, nroot = (os.path.abspath(p) for p in pos)
    for p in (mroot, nroot):
        if not os.path.isdir(p) or os.listdir(p):
            print("fsdiff: %s must be an existing empty directory" % p, file=sys.stderr)
            return 2
    rng = random.Random(opts["seed"])
    xrng = random.Random(opts["seed"] * 1_000_003 + 20)  # xattr ops
    gen = Gen(rng, opts["time_min"])
    history = []
    explicit = {}  # native st_ino -> mtime set by utimens
    held_n, held_m = {}, {}
    stats = {}  # op kind -> [succeeded, failed] (on native)
    repro = "fsdiff.py --seed %d --ops %d%s MOUNT_DIR NATIVE_DIR" % (
        opts["seed"], opts["ops"],
        " --remount-at %s --remount-cmd ..." % ",".join(map(str, sorted(opts["remount_at"])))
        if opts["remount_at"] else "")
    t0 = time.monotonic()
    # Root mode/owner are the same on both sides to start with.
    os.chmod(nroot, 0o755)
    os.chmod(mroot, 0o755)
    os.chown(nroot, os.stat(mroot).st_uid, os.stat(mroot).st_gid)

    def report(step, what, lines):
        print("FAIL fsdiff seed %d: divergence at op %d: %s" % (opts["seed"], step, what),
              file=sys.stderr)
        for ln in lines[:20]:
            print("  " + ln, file=sys.stderr)
        print("last ops (of %d):" % len(history), file=sys.stderr)
        for h in history[-40:]:
            print("  " + h, file=sys.stderr)
        if opts["history"]:
            with open(opts["history"], "w") as f:
                f.write("\n".join(history) + "\n")
            print("full history: %s" % opts["history"], file=sys.stderr)
        print("reproduce: %s" % repro, file=sys.stderr)
        return 1

    def full_compare(step, what):
        try:
            sn = snapshot(nroot, None, opts["dir_nlink"])
            sm = snapshot(mroot, None, opts["dir_nlink"])
        except OSError as e:
            return None, report(step, "%s: cannot read the mount: %s" % (what, e), [])
        diffs = compare(sn, sm, explicit)
        if diffs:
            return None, report(step, what, diffs)
        return (sn, sm), 0

    snap_n = snapshot(nroot, None, False)
    for step in range(1, opts["ops"] + 1):
        if opts["sync_cmd"] and rng.random() < 0.01:
            history.append("%5d sync" % step)
            r = subprocess.run(opts["sync_cmd"], shell=True, capture_output=True)
            if r.returncode != 0:
                return report(step, "sync command failed (exit %d)" % r.returncode,
                              (r.stdout + r.stderr).decode(errors="replace").splitlines())
        if xrng.random() < XATTR_RATE:
            bad = xattr_step(step, xrng, snap_n, (nroot, mroot), history, stats)
            if bad:
                return report(step, bad[0], bad[1])
        op = gen.pick(snap_n)
        history.append("%5d %s" % (step, describe(op)))
        rn = do_op(nroot, op, held_n)
        rm = do_op(mroot, op, held_m)
        if op[0] == "hold" and rn[0] != "ok":
            gen.held.pop(op[1], None)
        elif op[0] == "hold":
            gen.held[op[1]] = op[2]
        if op[0] == "fd_close":
            gen.held.pop(op[1], None)
            held_n.pop(op[1], None)
            if op[1] in held_m:
                os.close(held_m.pop(op[1]))
        counts = stats.setdefault(op[0], [0, 0])
        counts[rn[0] != "ok"] += 1
        if rn != rm:
            def short(x):
                return tuple("<%d bytes>" % len(v) if isinstance(v, bytes) else v for v in x)
            extra = []
            if rn[0] == "ok" and rm[0] == "ok" and len(rn) > 1 and isinstance(rn[1], bytes):
                a, b = rn[1], rm[1]
                k = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]),
                         min(len(a), len(b)))
                extra.append("first differing byte at +%d (native %r, mount %r)" % (
                    k, a[k:k + 8], b[k:k + 8]))
            return report(step, "%s: native %r, mount %r" % (describe(op), short(rn), short(rm)),
                          extra)
        if op[0] == "utimens" and rn[0] == "ok":
            try:
                st = os.stat(j(nroot, op[1]), follow_symlinks=op[4])
                explicit[st.st_ino] = op[3]
            except OSError:
                pass
        if opts["drop_caches"] and rng.random() < opts["drop_caches"]:
            history.append("%5d drop_caches" % step)
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("2")
        full = step % opts["full_every"] == 0
        paths = None if full else touched_paths(op, snap_n)
        try:
            snap_n = snapshot(nroot, paths, opts["dir_nlink"])
            snap_m = snapshot(mroot, paths, opts["dir_nlink"])
        except OSError as e:
            return report(step, "after %s: cannot read the mount: %s" % (describe(op), e), [])
        diffs = compare(snap_n, snap_m, explicit)
        if diffs:
            return report(step, "after %s" % describe(op), diffs)
        if step in opts["remount_at"]:
            for slot in sorted(held_n):
                os.close(held_n.pop(slot))
            for slot in sorted(held_m):
                os.close(held_m.pop(slot))
            gen.held.clear()
            snaps, rc = full_compare(step, "before remount")
            if rc:
                return rc
            inos_before = {rel: v["ino"] for rel, v in snaps[1].items()}
            history.append("%5d remount" % step)
            r = subprocess.run(opts["remount_cmd"], shell=True, capture_output=True)
            if r.returncode != 0:
                return report(step, "remount command failed (exit %d)" % r.returncode,
                              (r.stdout + r.stderr).decode(errors="replace").splitlines())
            snaps, rc = full_compare(step, "after remount")
            if rc:
                return rc
            moved = ["%s: st_ino %d before remount, %d after" % (rel or ".", ino, snaps[1][rel]["ino"])
                     for rel, ino in sorted(inos_before.items())
                     if rel in snaps[1] and snaps[1][rel]["ino"] != ino]
            if moved:
                return report(step, "st_ino changed across remount", moved)
            snap_n = snaps[0]
        if not opts["quiet"] and step % 500 == 0:
            print("fsdiff seed %d: %d ops, %d entries, %.1fs" % (
                opts["seed"], step, len(snap_n), time.monotonic() - t0), file=sys.stderr)
    for slot in sorted(held_n):
        os.close(held_n.pop(slot))
    for slot in sorted(held_m):
        os.close(held_m.pop(slot))
    _, rc = full_compare(opts["ops"], "final compare")
    if rc:
        return rc
    print("fsdiff seed %d: %d ops equal (%.1fs)" % (opts["seed"], opts["ops"],
                                                 time.monotonic() - t0))
    if not opts["quiet"]:
        print("  ops (ok/err): " + ", ".join("%s %d/%d" % (k, v[0], v[1])
                                            for k, v in sorted(stats.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
