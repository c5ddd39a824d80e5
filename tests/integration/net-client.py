#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Clients for the net-*.sh tests, run inside `blastctl run`.

net-client.py echo ADDR PORT      connect, echo a line: exit 0, or 3 with
                                  the reason when it cannot connect
net-client.py resolve NAME        print NAME's IPv4 address, or exit 3
net-client.py fetch ADDR PORT     read to EOF; print "BYTES SECONDS"
net-client.py hold ADDR PORT N FILE  send N bytes, read the echo, create
                                  FILE, then wait until FILE is removed
"""
import os
import socket
import sys
import time


def connect(addr, port):
    try:
        return socket.create_connection((addr, int(port)), timeout=3)
    except OSError as e:
        print("cannot connect to %s:%s: %s" % (addr, port, e), file=sys.stderr)
        sys.exit(3)


def main():
    kind = sys.argv[1]
    if kind == "echo":
        with connect(sys.argv[2], sys.argv[3]) as s:
            s.sendall(b"ping\n")
            got = s.recv(100)
            print(got.decode().strip())
    elif kind == "resolve":
        try:
            print(socket.gethostbyname(sys.argv[2]))
        except OSError as e:
            print("cannot resolve %s: %s" % (sys.argv[2], e), file=sys.stderr)
            sys.exit(3)
    elif kind == "fetch":
        with connect(sys.argv[2], sys.argv[3]) as s:
            s.settimeout(120)
            t0, n = time.monotonic(), 0
            while True:
                b = s.recv(1 << 20)
                if not b:
                    break
                n += len(b)
            print(n, "%.3f" % (time.monotonic() - t0))
    elif kind == "hold":
        n, path = int(sys.argv[4]), sys.argv[5]
        with connect(sys.argv[2], sys.argv[3]) as s:
            s.settimeout(60)
            s.sendall(b"y" * n)
            got = 0
            while got < n:
                got += len(s.recv(1 << 20))
            open(path, "w").close()
            while os.path.exists(path):
                time.sleep(0.05)


main()
