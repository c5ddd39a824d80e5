#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fssparse.py - holes and fallocate on blastfs against a native ext4 dir.

Usage: fssparse.py [--seed N] [--ops N] [--sync-cmd CMD] [--remount-cmd CMD]
                   MOUNT_DIR EXT4_DIR

The same seeded sequence of writes (never of zeros), truncates, fallocate
in every mode ext4 has (valid and not) and SEEK_DATA/SEEK_HOLE runs on a
few files in both dirs; every call's outcome (errno included) must agree.
Then, unsealed, sealed (--sync-cmd), with the page cache dropped and
after --remount-cmd, each file must have the same size and content, and
per 4 KiB block (SEEK_DATA/SEEK_HOLE):
  - a block with a non-zero byte is data on both;
  - a block of zeros may be either: ext4 has zeros as data when they were
    written, read back from unwritten extents into its page cache, or
    zeroed out rather than split (its extent history decides), and a
    sealed blastfs file stores every all-zero block as a hole;
  - in a file whose hole map is certain (punched blocks, never written
    ones past a truncate: "fixed"), the map is exact on both;
and st_blocks counts no holes: at least the non-zero blocks, at most
ext4's allocation (plus slack for delayed allocation).
Collapse and insert range stop in the kernel's FUSE layer (EOPNOTSUPP
before blastfs sees them): checked as such, not run on ext4.
"""
import ctypes
import errno
import hashlib
import os
import random
import subprocess
import sys
import time

FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_NO_HIDE_STALE = 0x04
FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_ZERO_RANGE = 0x10
FALLOC_FL_INSERT_RANGE = 0x20
FALLOC_FL_UNSHARE_RANGE = 0x40

BLOCK = 4096
NFILES = 4
MAXSIZE = 3 << 20

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]


def ename(e):
    return "EOPNOTSUPP" if e == errno.EOPNOTSUPP else errno.errorcode.get(e, str(e))


def fallocate(fd, mode, off, length):
    """"ok" or the errno name."""
    if libc.fallocate(fd, mode, off, length) == 0:
        return "ok"
    return ename(ctypes.get_errno())


def outcome(fn, *args):
    try:
        r = fn(*args)
        return "ok" if r is None else r
    except OSError as e:
        return ename(e.errno)


# Modes the differential part runs on both (ext4 does them all; these
# reach blastfs), with valid and invalid combinations.
MODES = [
    0,
    FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_ZERO_RANGE,
    FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
    FALLOC_FL_PUNCH_HOLE,  # EOPNOTSUPP: punch needs KEEP_SIZE
    FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,  # EOPNOTSUPP
    FALLOC_FL_NO_HIDE_STALE,  # EOPNOTSUPP
]
# Refused by the kernel for FUSE, done by ext4: both sides checked alone.
SHIFT_MODES = [FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE]


class Fail(Exception):
    pass


def rand_range(rng, size):
    """An offset and length, often block-aligned, around the file."""
    top = max(size, BLOCK) + 64 * 1024
    off = rng.randrange(0, top)
    length = rng.choice([1, 100, BLOCK, 3 * BLOCK, 40000, 200000, 1 << 20])
    if rng.random() < 0.5:
        off -= off % BLOCK
    if rng.random() < 0.05:
        length = rng.choice([0, -1])
    if rng.random() < 0.03:
        off = -BLOCK
    return off, length


def one_op(rng, step, fds, sizes, log):
    """One op on file i in both dirs; returns a description."""
    i = rng.randrange(NFILES)
    a, b = fds[i]
    r = rng.random()
    if r < 0.3:
        off, _ = rand_range(rng, sizes[i])
        off = max(off, 0)
        n = rng.choice([1, 17, BLOCK, 5000, 70000])
        data = bytes(rng.randrange(1, 256) for _ in range(min(n, 64))) * (n // 64 + 1)
        data = data[:n]
        if off + n > MAXSIZE:
            off = max(0, MAXSIZE - n)
        what = "pwrite(f%d, %d, %d)" % (i, off, n)
        ra, rb = outcome(os.pwrite, a, data, off), outcome(os.pwrite, b, data, off)
        if ra == n:
            ra = rb = "ok" if rb == n else rb
    elif r < 0.4:
        size = rng.randrange(0, MAXSIZE)
        what = "ftruncate(f%d, %d)" % (i, size)
        ra, rb = outcome(os.ftruncate, a, size), outcome(os.ftruncate, b, size)
    elif r < 0.85:
        mode = rng.choice(MODES)
        off, length = rand_range(rng, sizes[i])
        if off + max(length, 0) > MAXSIZE and not mode & FALLOC_FL_KEEP_SIZE:
            length = max(1, MAXSIZE - max(off, 0))
        what = "fallocate(f%d, %#x, %d, %d)" % (i, mode, off, length)
        ra, rb = fallocate(a, mode, off, length), fallocate(b, mode, off, length)
    else:
        whence = rng.choice([os.SEEK_DATA, os.SEEK_HOLE])
        off = rng.randrange(-2, max(sizes[i], 1) + 2 * BLOCK)
        what = "lseek(f%d, %d, %s)" % (i, off, "SEEK_DATA" if whence == os.SEEK_DATA else "SEEK_HOLE")
        ra = outcome(os.lseek, a, off, whence)
        rb = outcome(os.lseek, b, off, whence)
        if 0 <= off < sizes[i]:
            # inside the file the answers may differ where ext4 has zeros
            # as data: compare() judges the maps block by block
            ra = rb = "ok"
    log.append("%5d %s -> %s" % (step, what, rb))
    if ra != rb:
        raise Fail("step %d: %s: blastfs %s, ext4 %s" % (step, what, ra, rb))
    sizes[i] = os.fstat(b).st_size
    return what


def data_map(fd, size):
    """The set of 4 KiB blocks SEEK_DATA/SEEK_HOLE call data. blastfs may
    seal the file between two calls (its staging file calls written zeros
    data, the sealed blob calls them holes): a walk that saw the answers
    change under it starts again, a few times."""
    for attempt in range(5):
        blocks, off, moved = set(), 0, None
        while off < size:
            try:
                d = os.lseek(fd, off, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:
                    break
                raise
            h = os.lseek(fd, d, os.SEEK_HOLE)
            if h <= d:
                moved = "SEEK_HOLE from data at %d answered %d" % (d, h)
                break
            blocks.update(range(d // BLOCK, (h + BLOCK - 1) // BLOCK))
            off = h
        if moved is None:
            return blocks
        time.sleep(0.05)
    raise Fail(moved + " (5 walks)")


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


def compare(names, mnt, ext, when):
    problems = []
    for name in names:
        pa, pb = os.path.join(mnt, name), os.path.join(ext, name)
        fa, fb = os.open(pa, os.O_RDONLY), os.open(pb, os.O_RDONLY)
        try:
            sa, sb = os.fstat(fa), os.fstat(fb)
            ma, mb = data_map(fa, sa.st_size), data_map(fb, sb.st_size)
        finally:
            os.close(fa)
            os.close(fb)
        if sa.st_size != sb.st_size:
            problems.append("%s: size %d, ext4 %d" % (name, sa.st_size, sb.st_size))
            continue
        ca, cb = read_all(pa), read_all(pb)
        if ca != cb:
            at = next(k for k in range(len(ca)) if ca[k] != cb[k])
            problems.append("%s: content differs from byte %d" % (name, at))
            continue
        nblocks = (sb.st_size + BLOCK - 1) // BLOCK
        nonzero = 0
        for blk in range(nblocks):
            chunk = cb[blk * BLOCK:(blk + 1) * BLOCK]
            zero = chunk.count(0) == len(chunk)
            nonzero += not zero
            if not zero and blk not in ma:
                problems.append("%s: block %d holds data but blastfs calls it a hole" % (name, blk))
            if len(problems) > 8:
                break
        if sa.st_blocks * 512 < nonzero * BLOCK:
            problems.append("%s: st_blocks %d for %d data blocks" % (name, sa.st_blocks, nonzero))
        if sa.st_blocks * 512 > sb.st_blocks * 512 + 256 * 1024:
            problems.append("%s: st_blocks %d, ext4 %d: holes counted?" % (name, sa.st_blocks, sb.st_blocks))
    if problems:
        raise Fail("%s:\n  %s" % (when, "\n  ".join(problems[:10])))


FIXED_DATA = {0, 1} | set(range(6, 16)) | {128}


def fixed_make(d):
    """A file whose holes are certain on ext4 and on blastfs alike."""
    fd = os.open(os.path.join(d, "fixed"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.pwrite(fd, bytes(range(1, 256)) * 257, 0)  # 65535 bytes
        if fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8192, 16384) != "ok":
            raise Fail("punch hole in %s/fixed failed" % d)
        os.ftruncate(fd, 1 << 20)
        os.pwrite(fd, b"\xee" * BLOCK, 512 * 1024)
        if fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 64 * 1024) != "ok":
            raise Fail("preallocation past the end of %s/fixed failed" % d)
    finally:
        os.close(fd)


def fixed_check(mnt, ext, when):
    for d in (mnt, ext):
        fd = os.open(os.path.join(d, "fixed"), os.O_RDONLY)
        try:
            got = data_map(fd, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        if got != FIXED_DATA:
            raise Fail("%s: %s/fixed: data blocks %s, want %s" % (when, d, sorted(got), sorted(FIXED_DATA)))


def shift_modes(mnt, ext):
    """Collapse and insert range: ext4's rules on ext4, the kernel's
    EOPNOTSUPP on FUSE."""
    pa, pb = os.path.join(mnt, "shift"), os.path.join(ext, "shift")
    for p in (pa, pb):
        with open(p, "wb") as f:
            f.write(bytes(range(1, 256)) * 1000)
    fa, fb = os.open(pa, os.O_RDWR), os.open(pb, os.O_RDWR)
    try:
        for mode in SHIFT_MODES:
            got = fallocate(fa, mode, BLOCK, BLOCK)
            if got != "EOPNOTSUPP":
                raise Fail("fallocate(%#x) on blastfs: %s, the kernel should refuse it" % (mode, got))
        # ext4's own rules (what blastfs would answer could FUSE pass it)
        want = {(FALLOC_FL_COLLAPSE_RANGE, 1, BLOCK): "EINVAL",
                (FALLOC_FL_COLLAPSE_RANGE, 0, 1 << 30): "EINVAL",
                (FALLOC_FL_INSERT_RANGE, 1 << 30, BLOCK): "EINVAL",
                (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE, 0, BLOCK): "EOPNOTSUPP",
                (FALLOC_FL_INSERT_RANGE, BLOCK, BLOCK): "ok"}
        for (mode, off, length), w in want.items():
            got = fallocate(fb, mode, off, length)
            if got != w:
                raise Fail("ext4 fallocate(%#x, %d, %d): %s, expected %s" % (mode, off, length, got, w))
    finally:
        os.close(fa)
        os.close(fb)
        os.unlink(pa)
        os.unlink(pb)


def errno_rules(mnt, ext):
    """Fixed calls whose errors ext4 decides: past its largest file
    (EFBIG), bad ranges, modes it refuses; blastfs must answer the same."""
    calls = [(0, (1 << 44) - 4096, 4096), (FALLOC_FL_KEEP_SIZE, 1 << 44, 1),
             (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1 << 50, 4096),
             (FALLOC_FL_ZERO_RANGE, (1 << 44) - 1, 2), (0, 0, 0), (0, -1, 1),
             (FALLOC_FL_PUNCH_HOLE, 0, 1), (FALLOC_FL_UNSHARE_RANGE, 0, 4096),
             (FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE, 0, 4096),
             (FALLOC_FL_ZERO_RANGE | FALLOC_FL_PUNCH_HOLE, 0, 1), (0x80, 0, 1)]
    fds = []
    try:
        for d in (mnt, ext):
            fds.append(os.open(os.path.join(d, "rules"), os.O_RDWR | os.O_CREAT, 0o644))
            os.write(fds[-1], b"r" * 10000)
        for mode, off, length in calls:
            got = [fallocate(fd, mode, off, length) for fd in fds]
            if got[0] != got[1]:
                raise Fail("fallocate(%#x, %d, %d): blastfs %s, ext4 %s" % (mode, off, length, got[0], got[1]))
        sizes = [os.fstat(fd).st_size for fd in fds]
        if sizes[0] != sizes[1]:
            raise Fail("after the errno rules: size %d, ext4 %d" % tuple(sizes))
    finally:
        for fd in fds:
            os.close(fd)
        for d in (mnt, ext):
            os.unlink(os.path.join(d, "rules"))


def hook(cmd, what):
    r = subprocess.run(cmd, shell=True, capture_output=True)
    if r.returncode:
        raise Fail("%s failed (%d): %s" % (what, r.returncode, r.stderr.decode(errors="replace")))


def drop_caches():
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def main(argv):
    opts = {"seed": 1, "ops": 300, "sync": None, "remount": None}
    args = argv[1:]
    while args and args[0].startswith("--"):
        a = args.pop(0)
        if a == "--seed":
            opts["seed"] = int(args.pop(0))
        elif a == "--ops":
            opts["ops"] = int(args.pop(0))
        elif a == "--sync-cmd":
            opts["sync"] = args.pop(0)
        elif a == "--remount-cmd":
            opts["remount"] = args.pop(0)
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    mnt, ext = args
    rng = random.Random(opts["seed"])
    names = ["f%d" % i for i in range(NFILES)]
    log = []
    try:
        shift_modes(mnt, ext)
        errno_rules(mnt, ext)
        fds = [(os.open(os.path.join(mnt, n), os.O_RDWR | os.O_CREAT, 0o644),
                os.open(os.path.join(ext, n), os.O_RDWR | os.O_CREAT, 0o644)) for n in names]
        sizes = [0] * NFILES
        for step in range(opts["ops"]):
            one_op(rng, step, fds, sizes, log)
            if step % 50 == 49:
                compare(names, mnt, ext, "after op %d (unsealed)" % step)
        for a, b in fds:
            os.close(a)
            os.close(b)
        fixed_make(mnt)
        fixed_make(ext)
        names.append("fixed")

        def both(when):
            compare(names, mnt, ext, when)
            fixed_check(mnt, ext, when)

        both("at the end (unsealed)")
        if opts["sync"]:
            hook(opts["sync"], "sync")
            both("sealed")
        if drop_caches():
            both("after drop_caches")
        if opts["remount"]:
            hook(opts["remount"], "remount")
            both("after remount")
            if drop_caches():
                both("after remount and drop_caches")
    except Fail as e:
        print("fssparse seed %d: %s" % (opts["seed"], e), file=sys.stderr)
        print("last ops:\n" + "\n".join(log[-25:]), file=sys.stderr)
        return 1
    print("fssparse seed %d: %d ops agree with ext4" % (opts["seed"], opts["ops"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
