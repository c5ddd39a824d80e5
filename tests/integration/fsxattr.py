#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Extended attribute operations, for fs-xattr.sh to run on a blastfs
mount and on a native ext4 directory and compare.

    fsxattr.py ops DIR     make files in DIR, do every operation, print a
                           transcript (each result or errno name)
    fsxattr.py dump DIR    every path under DIR with its attributes
                           (names sorted, values in hex), mode and owner
"""
import ctypes
import ctypes.util
import errno
import os
import stat
import struct
import sys

libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
NOBODY = 65534


def res(fn, *args, **kw):
    """fn's result, or its errno's name."""
    try:
        r = fn(*args, **kw)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    if isinstance(r, list):
        return "ok " + ",".join(sorted(r))
    if isinstance(r, bytes):
        return "ok " + (r.hex() if len(r) < 64 else "%d bytes" % len(r))
    return "ok"


def raw_get(path, name, size):
    """getxattr(2) with a buffer of size bytes: (result, errno name)."""
    buf = ctypes.create_string_buffer(max(size, 1))
    r = libc.getxattr(path.encode(), name.encode(), buf if size else None,
                      ctypes.c_size_t(size))
    return "%d" % r if r >= 0 else errno.errorcode[ctypes.get_errno()]


def raw_list(path, size):
    buf = ctypes.create_string_buffer(max(size, 1))
    r = libc.listxattr(path.encode(), buf if size else None,
                       ctypes.c_size_t(size))
    return "%d" % r if r >= 0 else errno.errorcode[ctypes.get_errno()]


def as_nobody(out, steps):
    """Run steps [(label, fn, args)] as uid/gid 65534 in a child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            lines = ["%s: %s" % (lab, res(fn, *a)) for lab, fn, a in steps]
        except BaseException as e:  # noqa: B036 - reported to the parent
            lines = ["child failed: %r" % e]
        os.write(w, ("\n".join(lines) + "\n").encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        data += b
    os.close(r)
    os.waitpid(pid, 0)
    out.extend(data.decode().splitlines())


def ops(top):
    d = os.path.join(top, "x")
    os.mkdir(d, 0o755)
    P = lambda *a: os.path.join(d, *a)  # noqa: E731
    out = []

    def t(label, fn, *a, **kw):
        out.append("%s: %s" % (label, res(fn, *a, **kw)))

    with open(P("f"), "w") as f:
        f.write("data\n")
    os.mkdir(P("d"))
    os.symlink("f", P("l"))
    os.mkfifo(P("p"))
    os.link(P("f"), P("h"))

    # names, values, flags
    t("get missing", os.getxattr, P("f"), "user.a")
    t("set", os.setxattr, P("f"), "user.a", b"1")
    t("get", os.getxattr, P("f"), "user.a")
    t("create existing", os.setxattr, P("f"), "user.a", b"2", os.XATTR_CREATE)
    t("create new", os.setxattr, P("f"), "user.b", b"2", os.XATTR_CREATE)
    t("replace missing", os.setxattr, P("f"), "user.c", b"3", os.XATTR_REPLACE)
    t("replace existing", os.setxattr, P("f"), "user.b", b"22", os.XATTR_REPLACE)
    t("get replaced", os.getxattr, P("f"), "user.b")
    t("empty value", os.setxattr, P("f"), "user.e", b"")
    t("get empty", os.getxattr, P("f"), "user.e")
    t("remove missing", os.removexattr, P("f"), "user.zz")
    t("remove", os.removexattr, P("f"), "user.e")
    t("get removed", os.getxattr, P("f"), "user.e")
    t("name 255", os.setxattr, P("f"), "user." + "n" * 250, b"1")
    t("name 256", os.setxattr, P("f"), "user." + "n" * 251, b"1")
    t("bare prefix", os.setxattr, P("f"), "user.", b"1")
    t("unknown ns", os.setxattr, P("f"), "foo.x", b"1")
    t("no ns", os.setxattr, P("f"), "x", b"1")
    t("system.foo", os.setxattr, P("f"), "system.foo", b"1")
    t("get unknown ns", os.getxattr, P("f"), "foo.x")
    t("trusted", os.setxattr, P("f"), "trusted.t", b"t")
    t("security", os.setxattr, P("f"), "security.s", b"s")
    t("bad capability", os.setxattr, P("f"), "security.capability", b"1")
    t("list", os.listxattr, P("f"))
    # sizes and short buffers
    out.append("size of user.b: " + raw_get(P("f"), "user.b", 0))
    out.append("user.b in 1 byte: " + raw_get(P("f"), "user.b", 1))
    out.append("user.b in 2 bytes: " + raw_get(P("f"), "user.b", 2))
    out.append("list size: " + raw_list(P("f"), 0))
    out.append("list in 4 bytes: " + raw_list(P("f"), 4))
    # ext4's room: one value of a block, and many small ones
    for n in (4000, 4040, 4041, 4096, 65536, 65537):
        with open(P("v%d" % n), "w"):
            pass
        t("value %d" % n, os.setxattr, P("v%d" % n), "user.v", b"x" * n)
    for vl in (1, 100):
        g = P("many%d" % vl)
        with open(g, "w"):
            pass
        i = 0
        while i < 1000:
            try:
                os.setxattr(g, "user.k%03d" % i, b"y" * vl)
            except OSError as e:
                out.append("many %d: %d then %s" % (vl, i, errno.errorcode[e.errno]))
                break
            i += 1
        t("many %d: remove one" % vl, os.removexattr, g, "user.k000")
        t("many %d: room again" % vl, os.setxattr, g, "user.k000", b"y" * vl)
    # kinds of files
    t("dir set", os.setxattr, P("d"), "user.d", b"dir")
    t("dir get", os.getxattr, P("d"), "user.d")
    t("symlink user", os.setxattr, P("l"), "user.x", b"1", follow_symlinks=False)
    t("symlink trusted", os.setxattr, P("l"), "trusted.x", b"1", follow_symlinks=False)
    t("symlink get user", os.getxattr, P("l"), "user.x", follow_symlinks=False)
    t("symlink list", os.listxattr, P("l"), follow_symlinks=False)
    t("through symlink", os.getxattr, P("l"), "user.a")
    t("fifo user", os.setxattr, P("p"), "user.x", b"1")
    t("fifo trusted", os.setxattr, P("p"), "trusted.x", b"1")
    # hard links share the inode's attributes
    t("via link", os.getxattr, P("h"), "user.a")
    t("set via link", os.setxattr, P("h"), "user.h", b"h")
    t("seen by name", os.getxattr, P("f"), "user.h")
    with open(P("f"), "a") as f:
        f.write("more\n")
    t("after a write", os.listxattr, P("h"))
    # times: ctime moves, mtime does not
    with open(P("tm"), "w"):
        pass
    os.utime(P("tm"), ns=(10**18, 10**18))
    before = os.stat(P("tm"))
    os.setxattr(P("tm"), "user.t", b"1")
    after = os.stat(P("tm"))
    out.append("ctime moved: %s" % (after.st_ctime_ns != before.st_ctime_ns))
    out.append("mtime same: %s" % (after.st_mtime_ns == before.st_mtime_ns))
    # a descriptor's calls
    fd = os.open(P("f"), os.O_RDONLY)
    t("fsetxattr", os.setxattr, fd, "user.fd", b"fd")
    t("fgetxattr", os.getxattr, fd, "user.fd")
    os.close(fd)
    # security.capability goes with a chown and with another user's write
    cap = struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0)  # cap_net_raw+ep
    with open(P("capf"), "w"):
        pass
    os.chmod(P("capf"), 0o666)
    t("set capability", os.setxattr, P("capf"), "security.capability", cap)
    t("capability read back", os.getxattr, P("capf"), "security.capability")
    os.chown(P("capf"), 0, NOBODY)
    t("capability after chown", os.listxattr, P("capf"))
    os.setxattr(P("capf"), "security.capability", cap)

    def append():
        with open(P("capf"), "a") as f:
            f.write("x")
    as_nobody(out, [("nobody writes the capable file", append, ())])
    t("capability after another user's write", os.listxattr, P("capf"))
    # permissions: another user
    with open(P("ro"), "w"):
        pass
    os.chmod(P("ro"), 0o644)
    os.setxattr(P("ro"), "user.r", b"r")
    with open(P("mine"), "w"):
        pass
    os.chown(P("mine"), NOBODY, NOBODY)
    with open(P("secret"), "w"):
        pass
    os.chmod(P("secret"), 0o600)
    os.setxattr(P("secret"), "user.s", b"s")
    os.mkdir(P("sticky"), 0o1777)
    os.chmod(P("sticky"), 0o1777)
    os.setxattr(P("sticky"), "user.k", b"k")
    as_nobody(out, [
        ("nobody set on 0644", os.setxattr, (P("ro"), "user.n", b"n")),
        ("nobody get on 0644", os.getxattr, (P("ro"), "user.r")),
        ("nobody get on 0600", os.getxattr, (P("secret"), "user.s")),
        ("nobody list on 0600", os.listxattr, (P("secret"),)),
        ("nobody set own", os.setxattr, (P("mine"), "user.n", b"n")),
        ("nobody trusted set", os.setxattr, (P("mine"), "trusted.n", b"n")),
        ("nobody trusted get", os.getxattr, (P("f"), "trusted.t")),
        ("nobody list hides trusted", os.listxattr, (P("f"),)),
        ("nobody security set", os.setxattr, (P("mine"), "security.n", b"n")),
        ("nobody sticky dir", os.setxattr, (P("sticky"), "user.n", b"n")),
        ("nobody sticky get", os.getxattr, (P("sticky"), "user.k")),
    ])
    t("root sees trusted", os.listxattr, P("f"))
    print("\n".join(out))


def dump(top):
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in [""] + sorted(dirs + files):
            p = os.path.join(root, name) if name else root
            if name in dirs:
                continue  # listed as its own root
            st = os.lstat(p)
            names = sorted(os.listxattr(p, follow_symlinks=False))
            vals = ["%s=%s" % (n, os.getxattr(p, n, follow_symlinks=False).hex())
                    for n in names if not n.startswith("system.")]
            print("%s %o %d:%d %s" % (os.path.relpath(p, top), st.st_mode,
                                      st.st_uid, st.st_gid, " ".join(vals)))


if __name__ == "__main__":
    cmd, top = sys.argv[1], sys.argv[2]
    {"ops": ops, "dump": dump}[cmd](top)
