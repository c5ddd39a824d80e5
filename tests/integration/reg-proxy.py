#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# An HTTP proxy in front of a registry for the reg-* tests.
#   reg-proxy.py PORTFILE UPSTREAM N MARKER: serve N blob downloads, send
#     half of the next one, touch MARKER and stall (reg-interrupt.sh);
#   reg-proxy.py PORTFILE UPSTREAM bearer USER:PASS: demand a bearer token,
#     which /token hands out for basic auth USER:PASS (reg-bearer.sh).
import base64
import http.client
import http.server
import sys
import threading
import time

portfile, upstream = sys.argv[1], sys.argv[2]
bearer = sys.argv[3] == "bearer"
limit = -1 if bearer else int(sys.argv[3])
marker = sys.argv[4]  # bearer: USER:PASS
TOKEN = "tok-" + base64.b16encode(marker.encode()).decode()
served = 0
lock = threading.Lock()


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, hdrs, data):
        self.send_response(status)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if self.path.startswith("/token"):
            want = "Basic " + base64.b64encode(marker.encode()).decode()
            if auth != want:
                self.reply(401, [], b'{"errors":[{"code":"DENIED"}]}')
            else:
                self.reply(200, [("Content-Type", "application/json")],
                           ('{"token": "%s"}' % TOKEN).encode())
            return False
        if auth != "Bearer " + TOKEN:
            port = self.server.server_address[1]
            ch = 'Bearer realm="http://127.0.0.1:%d/token",service="test",scope="repository:x:pull"' % port
            self.reply(401, [("WWW-Authenticate", ch)], b'{"errors":[{"code":"UNAUTHORIZED"}]}')
            return False
        return True

    def relay(self, body):
        global served
        if bearer and not self.authorized():
            return
        n = int(self.headers.get("Content-Length") or 0)
        req = self.rfile.read(n) if n else None
        conn = http.client.HTTPConnection(upstream)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "authorization")}
        conn.request(self.command, self.path, body=req, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        stall = False
        if body and "/blobs/" in self.path and r.status == 200:
            with lock:
                stall = 0 <= limit <= served
                served += 1
        self.send_response(r.status)
        me = "127.0.0.1:%d" % self.server.server_address[1]
        for k, v in r.getheaders():
            if k.lower() == "location":
                v = v.replace(upstream, me)
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

    def do_POST(self):
        self.relay(True)

    def do_PUT(self):
        self.relay(True)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
srv.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os  # noqa: E402

os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
