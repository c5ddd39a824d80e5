#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A read-only HTTP proxy in front of a registry for reg-interrupt.sh: it
# serves N blob downloads, sends half of the next one, touches MARKER and
# stalls. Usage: reg-proxy.py PORTFILE UPSTREAM(host:port) N MARKER
import http.client
import http.server
import sys
import threading
import time

portfile, upstream, limit, marker = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
served = 0
lock = threading.Lock()


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def relay(self, body):
        global served
        conn = http.client.HTTPConnection(upstream)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request(self.command, self.path, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        stall = False
        if body and "/blobs/" in self.path and r.status == 200:
            with lock:
                stall = served >= limit
                served += 1
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not body:
            return
        if stall:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            open(marker, "w").close()
            while True:
                time.sleep(1)
        self.wfile.write(data)

    def do_GET(self):
        self.relay(True)

    def do_HEAD(self):
        self.relay(False)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os  # noqa: E402

os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
