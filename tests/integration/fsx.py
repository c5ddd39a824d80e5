#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""File I/O exerciser in the manner of fsx: one file, a seeded random mix
of pwrite, pread, ftruncate (up and down), reads and writes through a
shared mmap (msync'ed), close and reopen, fsync and reads through a second
descriptor, fallocate (preallocation with and without KEEP_SIZE, punch
hole, zero range) and SEEK_DATA/SEEK_HOLE, each checked against an
in-memory model of the file's bytes.

Usage: fsx.py [options] FILE

  --seed N            random seed (default 1)
  --ops N             number of operations (default 5000)
  --max-len N         the file never grows past N bytes (default 262144)
  --max-op N          one read or write covers at most N bytes (default 65536)
  --sync-cmd CMD      shell command that seals pending writes; run as a
                      random op (~1%), so later writes hit sealed content
  --drop-caches P     after an op, with probability P, drop the kernel's page
                      cache, dentries and inodes (root, machine-wide): the
                      next reads come from the filesystem again
  --remount-at K,...  after op K close the file, run --remount-cmd, reopen
  --remount-cmd CMD   shell command that unmounts and remounts FILE's fs
  --no-fallocate      no fallocate nor SEEK_DATA/SEEK_HOLE ops (fsx's -F -H
                      -z; a mode the filesystem lacks is skipped anyway)
  --quiet             no progress lines

Checked after every op: the op's own result (a read's bytes; a write's
count), st_size by fstat and by path, and for pwrite and a size-changing
ftruncate that st_mtime and st_ctime did not go back before the op began.
The whole file is read back and compared every 200 ops, after a remount and
at the end. Exit 0 if the file always matched the model, 1 at the first
mismatch (with the last operations and a command to reproduce), 2 on usage
errors.
"""

import argparse
import ctypes
import errno
import mmap
import os
import random
import subprocess
import sys
import time

FALLOC_KEEP, FALLOC_PUNCH, FALLOC_ZERO = 0x01, 0x02, 0x10
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]

# Clocks: the filesystem's time stamps may trail time.time_ns() by a tick.
SLACK_NS = 20_000_000


class Mismatch(Exception):
    pass


class Fsx:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.path = a.file
        self.model = bytearray()
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        self.history = []
        self.remounts = {int(k) for k in a.remount_at.split(",") if k} if a.remount_at else set()

    # ---- helpers ----
    def span(self, limit):
        """A random (offset, length) inside [0, limit), length >= 1."""
        off = self.rng.randrange(limit)
        n = self.rng.randint(1, min(self.a.max_op, limit - off))
        return off, n

    def compare(self, got, off, what):
        want = bytes(self.model[off:off + len(got)])
        if got == want:
            return
        bad = next(i for i in range(len(got)) if got[i] != want[i])
        raise Mismatch("%s: byte %d (file offset %d) is %#04x, expected %#04x"
                       % (what, bad, off + bad, got[bad], want[bad]))

    def check_size(self, what):
        size = len(self.model)
        fsz = os.fstat(self.fd).st_size
        psz = os.stat(self.path).st_size
        if fsz != size or psz != size:
            raise Mismatch("%s: size %d by fstat, %d by stat, expected %d"
                           % (what, fsz, psz, size))

    def check_times(self, t0, what):
        st = os.fstat(self.fd)
        for name in ("st_mtime_ns", "st_ctime_ns"):
            if getattr(st, name) < t0 - SLACK_NS:
                raise Mismatch("%s: %s %d is before the op began (%d)"
                               % (what, name, getattr(st, name), t0))

    def read_all(self, what):
        got = os.pread(self.fd, len(self.model) + 1, 0)
        if len(got) != len(self.model):
            raise Mismatch("%s: whole-file read gave %d bytes, expected %d"
                           % (what, len(got), len(self.model)))
        self.compare(got, 0, what)

    def grow(self, end):
        if end > len(self.model):
            self.model.extend(bytes(end - len(self.model)))

    # ---- operations ----
    def op_write(self):
        off, n = self.span(self.a.max_len)
        data = self.rng.randbytes(n)
        t0 = time.time_ns()
        got = os.pwrite(self.fd, data, off)
        if got != n:
            raise Mismatch("pwrite wrote %d of %d bytes" % (got, n))
        self.grow(off + n)
        self.model[off:off + n] = data
        self.check_times(t0, "pwrite")
        return "write %d+%d" % (off, n)

    def op_read(self):
        if not self.model:
            return None
        off, n = self.span(len(self.model))
        got = os.pread(self.fd, n, off)
        if len(got) != n:
            raise Mismatch("pread %d+%d gave %d bytes" % (off, n, len(got)))
        self.compare(got, off, "pread %d+%d" % (off, n))
        return "read %d+%d" % (off, n)

    def op_truncate(self):
        size = self.rng.randrange(self.a.max_len + 1)
        # a third of them cut back to a size near the current one
        if self.model and self.rng.random() < 0.3:
            size = max(0, len(self.model) - self.rng.randint(0, 4096))
        t0 = time.time_ns()
        changed = size != len(self.model)
        os.ftruncate(self.fd, size)
        if size < len(self.model):
            del self.model[size:]
        else:
            self.grow(size)
        if changed:
            self.check_times(t0, "ftruncate")
        return "truncate %d" % size

    def op_mapread(self):
        if not self.model:
            return None
        off, n = self.span(len(self.model))
        m = mmap.mmap(self.fd, len(self.model), mmap.MAP_SHARED, mmap.PROT_READ)
        try:
            got = m[off:off + n]
        finally:
            m.close()
        self.compare(got, off, "mapread %d+%d" % (off, n))
        return "mapread %d+%d" % (off, n)

    def op_mapwrite(self):
        off, n = self.span(self.a.max_len)
        if off + n > len(self.model):
            os.ftruncate(self.fd, off + n)  # a mapping cannot grow the file
            self.grow(off + n)
        data = self.rng.randbytes(n)
        m = mmap.mmap(self.fd, len(self.model), mmap.MAP_SHARED,
                      mmap.PROT_READ | mmap.PROT_WRITE)
        try:
            m[off:off + n] = data
            m.flush()
        finally:
            m.close()
        self.model[off:off + n] = data
        return "mapwrite %d+%d" % (off, n)

    def op_reopen(self):
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_RDWR)
        return "close+open"

    def op_fsync(self):
        os.fsync(self.fd)
        return "fsync"

    def op_otherfd(self):
        """Read through a descriptor of its own, opened now."""
        if not self.model:
            return None
        off, n = self.span(len(self.model))
        fd = os.open(self.path, os.O_RDONLY)
        try:
            got = os.pread(fd, n, off)
        finally:
            os.close(fd)
        if len(got) != n:
            raise Mismatch("second fd: pread %d+%d gave %d bytes" % (off, n, len(got)))
        self.compare(got, off, "second fd: pread %d+%d" % (off, n))
        return "otherfd read %d+%d" % (off, n)

    def op_sync(self):
        if not self.a.sync_cmd:
            return None
        subprocess.run(self.a.sync_cmd, shell=True, check=True,
                       stdout=subprocess.DEVNULL)
        return "seal"

    def op_fallocate(self):
        """Preallocate, punch or zero a range; the model follows."""
        if self.a.no_fallocate:
            return None
        mode = self.rng.choice([0, FALLOC_KEEP, FALLOC_PUNCH | FALLOC_KEEP,
                                FALLOC_ZERO, FALLOC_ZERO | FALLOC_KEEP])
        off, n = self.span(self.a.max_len)
        size = len(self.model)
        if libc.fallocate(self.fd, mode, off, n) != 0:
            e = ctypes.get_errno()
            if e == errno.EOPNOTSUPP:
                return None  # tmpfs has no zero range
            raise Mismatch("fallocate(%#x, %d, %d): %s" % (mode, off, n, os.strerror(e)))
        if mode & (FALLOC_PUNCH | FALLOC_ZERO):
            end = min(off + n, size)
            if off < end:
                self.model[off:end] = bytes(end - off)
        if not mode & FALLOC_KEEP:
            self.grow(off + n)
        return "fallocate %#x %d+%d" % (mode, off, n)

    def op_seek(self):
        """A non-zero byte is data; SEEK_HOLE lands between off and the end."""
        if self.a.no_fallocate or not self.model:
            return None
        off = self.rng.randrange(len(self.model))
        hole = os.lseek(self.fd, off, os.SEEK_HOLE)
        if not off <= hole <= len(self.model):
            raise Mismatch("SEEK_HOLE from %d: %d (size %d)" % (off, hole, len(self.model)))
        if self.model[off] and os.lseek(self.fd, off, os.SEEK_DATA) != off:
            raise Mismatch("SEEK_DATA from %d, a non-zero byte: %d"
                           % (off, os.lseek(self.fd, off, os.SEEK_DATA)))
        for whence in (os.SEEK_DATA, os.SEEK_HOLE):
            try:
                got = os.lseek(self.fd, len(self.model), whence)
                raise Mismatch("lseek(%d) at the end: %d, expected ENXIO" % (whence, got))
            except OSError as e:
                if e.errno != errno.ENXIO:
                    raise
        return "seek %d" % off

    OPS = [(op_write, 30), (op_read, 20), (op_truncate, 8), (op_mapread, 10),
           (op_mapwrite, 10), (op_reopen, 5), (op_fsync, 3), (op_otherfd, 8),
           (op_sync, 1), (op_fallocate, 8), (op_seek, 4)]

    def remount(self, k):
        os.close(self.fd)
        subprocess.run(self.a.remount_cmd, shell=True, check=True,
                       stdout=subprocess.DEVNULL)
        self.fd = os.open(self.path, os.O_RDWR)
        self.history.append("%d remount" % k)
        self.check_size("after remount")
        self.read_all("after remount")

    def run(self):
        fns = [f for f, _ in self.OPS]
        weights = [w for _, w in self.OPS]
        for k in range(1, self.a.ops + 1):
            fn = self.rng.choices(fns, weights)[0]
            what = fn(self)
            if what is None:
                continue
            self.history.append("%d %s (size %d)" % (k, what, len(self.model)))
            self.check_size(what)
            if self.a.drop_caches and self.rng.random() < self.a.drop_caches:
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("3\n")
                self.history.append("%d drop caches" % k)
            if k % 200 == 0:
                self.read_all("whole file after op %d" % k)
            if k in self.remounts:
                self.remount(k)
            if not self.a.quiet and k % 1000 == 0:
                print("fsx seed %d: %d ops, size %d" % (self.a.seed, k, len(self.model)),
                      flush=True)
        self.read_all("whole file at the end")
        os.close(self.fd)


def main():
    p = argparse.ArgumentParser(usage=__doc__)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ops", type=int, default=5000)
    p.add_argument("--max-len", type=int, default=262144)
    p.add_argument("--max-op", type=int, default=65536)
    p.add_argument("--sync-cmd")
    p.add_argument("--drop-caches", type=float, default=0.0)
    p.add_argument("--remount-at", default="")
    p.add_argument("--remount-cmd")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--no-fallocate", action="store_true")
    p.add_argument("file")
    a = p.parse_args()
    if a.remount_at and not a.remount_cmd:
        p.error("--remount-at needs --remount-cmd")
    if a.max_len < 1 or a.max_op < 1:
        p.error("--max-len and --max-op must be positive")
    x = Fsx(a)
    try:
        x.run()
    except (Mismatch, OSError, subprocess.CalledProcessError) as e:
        print("fsx seed %d: FAILED: %s" % (a.seed, e), file=sys.stderr)
        print("last operations:", file=sys.stderr)
        for line in x.history[-30:]:
            print("  " + line, file=sys.stderr)
        print("reproduce: %s" % " ".join(sys.argv), file=sys.stderr)
        return 1
    if not a.quiet:
        print("fsx seed %d: %d ops, file matched the model throughout"
              % (a.seed, a.ops))
    return 0


if __name__ == "__main__":
    sys.exit(main())
