#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Race an export: forever swap the names in TARGET (those listed there
and those given, which export has not made yet) for symlinks to OUTSIDE,
by rename (files, fifos, symlinks) or rmdir + symlink (empty dirs).

    export-racer.py TARGET OUTSIDE NAME...
"""
import os
import sys


def main():
    target, outside, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    tmp = '.racer-%d' % os.getpid()
    n = 0
    while True:
        try:
            fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            present = os.listdir(fd)
        except OSError:
            present = []
        n += 1
        for name in present + (names if n % 2 else []):
            if name.startswith('.racer-'):
                continue
            try:
                os.symlink(outside, tmp, dir_fd=fd)
                os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
                continue
            except OSError:
                pass
            try:
                os.unlink(tmp, dir_fd=fd)
            except OSError:
                pass
            try:
                os.rmdir(name, dir_fd=fd)
                os.symlink(outside, name, dir_fd=fd)
            except OSError:
                pass
        os.close(fd)


if __name__ == '__main__':
    sys.exit(main())
