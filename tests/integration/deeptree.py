#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Trees far deeper than PATH_MAX, built and compared through directory
fds (never a full path, no recursion).

    deeptree.py make ROOT DEPTH     a chain ROOT/d/d/... DEPTH levels deep:
                                    files every 1000 levels, at the bottom a
                                    file 'last', a file whose hard link is
                                    ROOT/hl, a fifo, a symlink
    deeptree.py append ROOT TEXT    append TEXT to the file 'last'
    deeptree.py size ROOT           print the size of 'last'
    deeptree.py compare A B         exit 1 with the first difference (type,
                                    mode, owner, mtime, content, symlink
                                    target) below the roots; hard links are
                                    not compared (import copies them)
"""
import os
import stat
import sys


def make(root, depth):
    os.makedirs(root, exist_ok=True)
    top = fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for i in range(depth):
        if i % 1000 == 0:
            f = os.open('f', os.O_WRONLY | os.O_CREAT, 0o640, dir_fd=fd)
            os.write(f, b'level %d\n' % i * (2000 + i // 10))
            os.close(f)
            os.utime('f', ns=(1, 1000000000 + i), dir_fd=fd)
        os.mkdir('d', 0o750 if i % 2 else 0o755, dir_fd=fd)
        nfd = os.open('d', os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        if fd != top:
            os.close(fd)
        fd = nfd
    f = os.open('bottom', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(f, b'the bottom\n' * 5000)
    os.close(f)
    f = os.open('last', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(f, b'the last\n' * 10)
    os.close(f)
    os.link('bottom', 'hl', src_dir_fd=fd, dst_dir_fd=top)
    os.symlink('bottom', 'sl', dir_fd=fd)
    os.mkfifo('fifo', 0o600, dir_fd=fd)
    os.close(fd)
    os.close(top)


def bottom(root, fn):
    """fn(fd of the deepest directory of the chain)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    while True:
        try:
            nfd = os.open('d', os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                          dir_fd=fd)
        except FileNotFoundError:
            break
        os.close(fd)
        fd = nfd
    try:
        return fn(fd)
    finally:
        os.close(fd)


def append(dfd, text):
    f = os.open('last', os.O_WRONLY | os.O_APPEND, dir_fd=dfd)
    os.write(f, text.encode())
    os.close(f)


def content(dfd, name):
    f = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dfd)
    try:
        out = []
        while True:
            b = os.read(f, 1 << 20)
            if not b:
                return b''.join(out)
            out.append(b)
    finally:
        os.close(f)


def describe(dfd, name):
    st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    d = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid,
         st.st_gid, st.st_mtime_ns)
    if stat.S_ISLNK(st.st_mode):
        d += (os.readlink(name, dir_fd=dfd),)
    elif stat.S_ISREG(st.st_mode):
        d += (st.st_size, content(dfd, name))
    return d, st


def listing(root):
    """(depth, name, description) of every entry in walk order, one open
    dir fd per level."""
    stack = [(os.open(root, os.O_RDONLY | os.O_DIRECTORY), None)]
    out = []
    while stack:
        fd, names = stack[-1]
        if names is None:
            stack[-1] = (fd, sorted(os.listdir(fd)))
            continue
        if not names:
            os.close(fd)
            stack.pop()
            continue
        name = names.pop(0)
        d, st = describe(fd, name)
        out.append((len(stack), name, d))
        if stat.S_ISDIR(st.st_mode):
            stack.append((os.open(name, os.O_RDONLY | os.O_DIRECTORY |
                                  os.O_NOFOLLOW, dir_fd=fd), None))
    return out


def compare(a, b):
    la, lb = listing(a), listing(b)
    for x, y in zip(la, lb):
        if x != y:
            return 'at depth %d: %r vs %r' % (x[0], x[1:], y[1:])
    if len(la) != len(lb):
        return '%d entries vs %d' % (len(la), len(lb))
    return None


def main():
    if sys.argv[1] == 'make':
        make(sys.argv[2], int(sys.argv[3]))
        return 0
    if sys.argv[1] == 'append':
        bottom(sys.argv[2], lambda fd: append(fd, sys.argv[3]))
        return 0
    if sys.argv[1] == 'size':
        print(bottom(sys.argv[2], lambda fd: os.stat('last', dir_fd=fd).st_size))
        return 0
    why = compare(sys.argv[2], sys.argv[3])
    if why:
        print('trees differ: ' + why[:400], file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
