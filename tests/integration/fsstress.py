#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Concurrent namespace and I/O stress in the manner of fsstress: several
processes run seeded random operations on one shared tree at once (create,
write, truncate, read, mmap write, mkdir, rmdir, unlink, rename of files
and directories, link, symlink, chmod, utimes, fsync, listings, stats), so
they race on the same names. Errors the races explain (ENOENT, EEXIST,
ENOTEMPTY, ENOTDIR, EISDIR, EINVAL for a directory moved into itself, ELOOP
for symlinks naming each other) are
expected; any other error (EIO, ESTALE, ...) fails the run, as does a
worker that hangs or dies.

Usage: fsstress.py run [--seed N] [--procs P] [--ops N] DIR
       fsstress.py manifest DIR OUT

`run` prints per-operation counts. `manifest` writes one line per entry
of DIR (type, mode, size, nlink, content hash, symlink target, mtime of
files), sorted, so that two manifests of the same tree taken across an
unmount and a remount must be equal. Exit 0 on success, 1 on an
unexpected error, 2 on usage errors.
"""

import errno
import fcntl
import hashlib
import mmap
import os
import random
import signal
import stat
import sys
import time

FILES = ["f%d" % i for i in range(6)]
DIRS = ["d%d" % i for i in range(3)]
DEPTH = 3
EXPECTED = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR,
            errno.EISDIR, errno.EINVAL, errno.ELOOP}
TIMEOUT_S = 300


def rand_dir(rng, root):
    """A random directory path below root (may not exist)."""
    parts = [rng.choice(DIRS) for _ in range(rng.randrange(DEPTH))]
    return os.path.join(root, *parts)


def rand_path(rng, root, names):
    return os.path.join(rand_dir(rng, root), rng.choice(names))


def op_write(rng, root):
    p = rand_path(rng, root, FILES)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        # With no writeback cache (blastfs), fstat during another process's
        # extending write may report the new size before the kernel's i_size
        # has it (FUSE skips the size update while the write is unfinished,
        # but fills the stat from the reply): a mapping sized from it then
        # faults past i_size (SIGBUS). Writers that change the size take
        # the file's lock, as mapwrite does.
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, rng.randbytes(rng.randint(1, 20000)), rng.randrange(40000))
    finally:
        os.close(fd)


def op_trunc(rng, root):
    fd = os.open(rand_path(rng, root, FILES), os.O_WRONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # never under another's mapping
        os.ftruncate(fd, rng.randrange(30000))
    finally:
        os.close(fd)


def op_read(rng, root):
    with open(rand_path(rng, root, FILES), "rb") as f:
        f.read()


def op_mapwrite(rng, root):
    fd = os.open(rand_path(rng, root, FILES), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # no truncate under the mapping
        size = os.fstat(fd).st_size
        if size == 0:
            return
        m = mmap.mmap(fd, size)
        try:
            off = rng.randrange(size)
            n = min(size - off, rng.randint(1, 4096))
            m[off:off + n] = rng.randbytes(n)
            m.flush()
        finally:
            m.close()
    finally:
        os.close(fd)


def op_mkdir(rng, root):
    os.mkdir(rand_path(rng, root, DIRS))


def op_rmdir(rng, root):
    os.rmdir(rand_path(rng, root, DIRS))


def op_unlink(rng, root):
    os.unlink(rand_path(rng, root, FILES))


def op_rename(rng, root):
    names = DIRS if rng.random() < 0.3 else FILES
    os.rename(rand_path(rng, root, names), rand_path(rng, root, names))


def op_link(rng, root):
    os.link(rand_path(rng, root, FILES), rand_path(rng, root, FILES))


def op_symlink(rng, root):
    os.symlink(rng.choice(FILES + ["../" + rng.choice(FILES)]),
               rand_path(rng, root, FILES))


def op_chmod(rng, root):
    os.chmod(rand_path(rng, root, FILES), rng.choice([0o600, 0o644, 0o755, 0o400]))


def op_utimes(rng, root):
    t = rng.randrange(10**18)
    os.utime(rand_path(rng, root, FILES), ns=(t, t), follow_symlinks=False)


def op_fsync(rng, root):
    fd = os.open(rand_path(rng, root, FILES), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def op_list(rng, root):
    for e in os.scandir(rand_dir(rng, root)):
        e.stat(follow_symlinks=False)


def op_stat(rng, root):
    os.lstat(rand_path(rng, root, FILES + DIRS))


OPS = [(op_write, 20), (op_trunc, 5), (op_read, 10), (op_mapwrite, 4),
       (op_mkdir, 8), (op_rmdir, 4), (op_unlink, 8), (op_rename, 12),
       (op_link, 4), (op_symlink, 3), (op_chmod, 3), (op_utimes, 3),
       (op_fsync, 2), (op_list, 8), (op_stat, 6)]


def worker(seed, root, nops, wfd):
    rng = random.Random(seed)
    fns = [f for f, _ in OPS]
    weights = [w for _, w in OPS]
    counts = {}
    for _ in range(nops):
        fn = rng.choices(fns, weights)[0]
        name = fn.__name__[3:]
        try:
            fn(rng, root)
            counts[name] = counts.get(name, 0) + 1
        except OSError as e:
            if e.errno not in EXPECTED:
                os.write(wfd, ("worker %d: %s: %s\n" % (seed, name, e)).encode())
                os._exit(1)
            counts[name + ":" + errno.errorcode[e.errno]] = \
                counts.get(name + ":" + errno.errorcode[e.errno], 0) + 1
    os.write(wfd, (" ".join("%s=%d" % kv for kv in sorted(counts.items())) + "\n").encode())
    os._exit(0)


def run(argv):
    import argparse
    p = argparse.ArgumentParser(prog="fsstress.py run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--ops", type=int, default=2000)
    p.add_argument("dir")
    a = p.parse_args(argv)
    rfd, wfd = os.pipe()
    pids = []
    for i in range(a.procs):
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            worker(a.seed * 1000 + i, a.dir, a.ops, wfd)
        pids.append(pid)
    os.close(wfd)
    deadline = time.monotonic() + TIMEOUT_S
    failed = False
    for pid in pids:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                for q in pids:
                    try:
                        os.kill(q, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                print("fsstress: a worker hung for %d s" % TIMEOUT_S, file=sys.stderr)
                return 1
            time.sleep(0.05)
        if os.WIFSIGNALED(status):
            print("fsstress: worker %d killed by %s" % (
                pids.index(pid), signal.Signals(os.WTERMSIG(status)).name), file=sys.stderr)
            failed = True
        elif os.WEXITSTATUS(status):
            failed = True
    with os.fdopen(rfd, "rb") as f:  # every worker has exited: EOF
        sys.stdout.write(f.read().decode())
    if failed:
        print("fsstress: a worker failed (see above)", file=sys.stderr)
        return 1
    return 0


def manifest(root, out):
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = "l %s" % os.readlink(p)
            elif stat.S_ISDIR(st.st_mode):
                what = "d"
            else:
                with open(p, "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()[:16]
                what = "f %d %s nlink=%d mtime=%d" % (st.st_size, h, st.st_nlink,
                                                       st.st_mtime_ns)
            lines.append("%s %o %s" % (rel, stat.S_IMODE(st.st_mode), what))
    with open(out, "w") as f:
        f.write("\n".join(sorted(lines)) + "\n")
    return 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "run":
        return run(sys.argv[2:])
    if len(sys.argv) == 4 and sys.argv[1] == "manifest":
        return manifest(sys.argv[2], sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
