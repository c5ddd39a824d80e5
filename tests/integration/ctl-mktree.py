# SPDX-License-Identifier: MIT
# Build the test tree for blastctl's import/export tests: every kind of
# entry the store keeps (sizes around the inline and chunk limits,
# duplicates, modes, empty dirs, symlinks of all sorts, a fifo, odd names)
# with distinct ns mtimes. Usage: python3 ctl-mktree.py DIR [--plain]
# (--plain: regular files and directories only, no pyvenv.cfg).
import os
import random
import sys

root = sys.argv[1]
plain = "--plain" in sys.argv[2:]
rng = random.Random(42)


def write(rel, data, mode=0o644):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


os.makedirs(root, exist_ok=True)
big = rng.randbytes(100 * 1024)
write("empty", b"")
write("tiny.py", b"print('hi')\n")
write("inline64", b"x" * 64)
write("inline65", b"y" * 65)
write("lib/python3.11/site-packages/pkg/__init__.py", b"VERSION = '1.0'\n" * 50)
write("lib/python3.11/site-packages/pkg/data.bin", big)
write("lib/python3.11/site-packages/pkg/copy.bin", big)  # duplicate
write("chunks/256k", rng.randbytes(256 * 1024))  # exactly one whole blob
write("chunks/256k+1", rng.randbytes(256 * 1024 + 1))  # first chunked size
write("chunks/1m+3", rng.randbytes(1024 * 1024 + 3))
write("chunks/zeros", bytes(300 * 1024))  # compresses well
write("bin/tool", b"#!/bin/sh\necho tool\n", 0o755)
write("modes/ro", b"read only\n", 0o444)
write("modes/private", b"secret\n", 0o600)
write("modes/group", b"group\n", 0o640)
os.makedirs(os.path.join(root, "empty-dir"))
os.makedirs(os.path.join(root, "deep/a/b/c/empty"))
os.makedirs(os.path.join(root, "closed"))
if not plain:
    write("spaced name.txt", b"spaces\n")
    write("\u00fcn\u00efc\u00f8de.txt", "unicode\n".encode())
    os.symlink("lib", os.path.join(root, "lib64"))
    os.symlink("tiny.py", os.path.join(root, "link-rel"))
    os.symlink("/etc/hostname", os.path.join(root, "link-abs"))
    os.symlink("does/not/exist", os.path.join(root, "link-dangling"))
    os.symlink("../../tiny.py", os.path.join(root, "deep/a/link-up"))
    os.symlink("t" * 200, os.path.join(root, "link-long"))
    os.mkfifo(os.path.join(root, "fifo"))
    write("pyvenv.cfg", b"home = /usr/bin\ninclude-system-site-packages = false\n"
          b"version = 3.11.2\n")

# Distinct ns mtimes, children before their directory (setting a
# directory's mtime first would be undone by writing into it).
stamp = 1_600_000_000_123_456_789
for dirpath, dirnames, filenames in os.walk(root, topdown=False):
    for name in sorted(filenames + dirnames):
        stamp += 1_000_003
        os.utime(os.path.join(dirpath, name), ns=(stamp, stamp),
                 follow_symlinks=False)
os.chmod(os.path.join(root, "closed"), 0o700)
os.chmod(os.path.join(root, "modes"), 0o750)
os.chmod(root, 0o755)
stamp += 1_000_003
os.utime(root, ns=(stamp, stamp))
