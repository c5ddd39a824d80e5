#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Servers for the net-*.sh tests, started in the test's own namespace.

net-server.py READY echo ADDR PORT...   TCP echo (each connection, ports)
net-server.py READY sink ADDR PORT      TCP: read all, reply the byte count
net-server.py READY source ADDR PORT N  TCP: send N bytes to each client
net-server.py READY dns ADDR NAME=IP[/TTL]...
                                        UDP DNS: A records for NAMEs (TTL
                                        60 s unless given), NXDOMAIN for
                                        others; logs queries
READY is created once the socket listens.
"""
import socket
import struct
import sys
import threading


def ready(path):
    open(path, "w").close()


def tcp(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    return s


def loop(s, handle):
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def echo(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                return
            c.sendall(b)


def sink(c):
    n = 0
    with c:
        while True:
            b = c.recv(1 << 20)
            if not b:
                break
            n += len(b)
        c.sendall(b"%d\n" % n)


def source(n):
    def handle(c):
        with c:
            chunk = b"x" * 65536
            left = n
            while left > 0:
                k = min(left, len(chunk))
                c.sendall(chunk[:k])
                left -= k
    return handle


def qname(p, off):
    labels = []
    while p[off]:
        ln = p[off]
        labels.append(p[off + 1:off + 1 + ln].decode())
        off += 1 + ln
    return ".".join(labels).lower(), off + 1


def dns(path, addr, table):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    ready(path)
    while True:
        q, peer = s.recvfrom(4096)
        name, end = qname(q, 12)
        qtype = struct.unpack(">H", q[end:end + 2])[0]
        print("query", name, qtype, flush=True)
        head = q[:2]
        question = q[12:end + 4]
        if name in table and qtype == 1:
            ip, _, ttl = table[name].partition("/")
            rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, int(ttl or 60), 4) + \
                socket.inet_aton(ip)
            r = head + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + question + rr
        elif name in table:
            r = head + struct.pack(">HHHHH", 0x8180, 1, 0, 0, 0) + question
        else:
            r = head + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + question
        s.sendto(r, peer)


def main():
    path, kind, addr = sys.argv[1], sys.argv[2], sys.argv[3]
    if kind == "dns":
        dns(path, addr, dict(a.split("=") for a in sys.argv[4:]))
        return
    if kind == "echo":
        socks = [tcp(addr, int(p)) for p in sys.argv[4:]]
        for s in socks[1:]:
            threading.Thread(target=loop, args=(s, echo), daemon=True).start()
        ready(path)
        loop(socks[0], echo)
        return
    s = tcp(addr, int(sys.argv[4]))
    ready(path)
    if kind == "echo":
        loop(s, echo)
    elif kind == "sink":
        loop(s, sink)
    elif kind == "source":
        loop(s, source(int(sys.argv[5])))


main()
