#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run, path-named host unix sockets outside /run, /tmp and
# $BLAST_HOME (here under /var/tmp: a sibling of nothing CMD may write,
# and a stand-in for ~/.ssh's ControlMaster socket): connect(2) and
# path-addressed sends are performed by blastctl's supervisor only for
# sockets where CMD may write, others get ECONNREFUSED. Tried directly,
# by a relative path, through a symlink in the project, through
# /proc/self/root, and while a thread rewrites the address during the
# call; the servers count what reached them and must count 0 (old code:
# every one connected). A socket in the project still answers, as do
# CMD's own in its /tmp, and host.sockets lets one named host socket in.
set -euo pipefail
. "$(dirname "$0")/run-lib.sh"
run_setup
O=$(mktemp -d /var/tmp/blast-unixpath.XXXXXX)
on_exit rm -rf "$O"
mkdir -p "$O/out" "$O/home/.ssh"
# each server: a stream and a datagram socket; a line in COUNT per
# connection accepted or datagram received
"$BLAST_TEST_PYTHON" -c '
import os, select, socket, sys
count = open(sys.argv[1], "a", buffering=1)
socks = []
for path in sys.argv[2:]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(path + ".s"); s.listen(64)
    d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind(path + ".d")
    socks += [s, d]
open(sys.argv[1] + ".ready", "w").close()
while True:
    for s in select.select(socks, [], [])[0]:
        if s.type == socket.SOCK_STREAM:
            c, _ = s.accept(); count.write("%s\n" % s.getsockname()); c.sendall(b"hi"); c.close()
        else:
            s.recv(64); count.write("%s\n" % s.getsockname())
' "$O/denied.count" "$O/out/srv" "$O/home/.ssh/ctl" &
on_exit kill_pid $!
"$BLAST_TEST_PYTHON" -c '
import os, select, socket, sys
count = open(sys.argv[1], "a", buffering=1)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[2] + ".s"); s.listen(64)
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind(sys.argv[2] + ".d")
open(sys.argv[1] + ".ready", "w").close()
while True:
    for x in select.select([s, d], [], [])[0]:
        if x is s:
            c, _ = s.accept(); c.sendall(b"ok"); c.close()
        else:
            d.recv(64); count.write("d\n")
' "$O/allowed.count" "$P/ok" &
on_exit kill_pid $!
poll_until "the denied servers" test -e "$O/denied.count.ready"
poll_until "the allowed server" test -e "$O/allowed.count.ready"
"$BLAST_TEST_PYTHON" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); assert s.recv(2) == b"hi"' "$O/out/srv.s" ||
	die "the denied server does not answer outside"
: >"$O/denied.count"
ln -s "$O/home/.ssh/ctl.s" "$P/link.s"

cat >"$P/try.py" <<'PY'
import ctypes, errno, os, socket, sys, threading
O, P = sys.argv[1], sys.argv[2]

def stream(path):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path); return "connected " + s.recv(2).decode()
    except OSError as e:
        return "refused %d" % e.errno
    finally:
        s.close()

def dgram(path, how):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        if how == "sendto": s.sendto(b"x", path)
        elif how == "sendmsg": s.sendmsg([b"x"], [], 0, path)
        else: s.connect(path); s.send(b"x")
        return "sent"
    except OSError as e:
        return "refused %d" % e.errno
    finally:
        s.close()

for name, path in [("direct", O + "/out/srv.s"), ("ssh", O + "/home/.ssh/ctl.s"),
                   ("symlink", P + "/link.s"),
                   ("proc-root", "/proc/self/root" + O + "/out/srv.s")]:
    print(name, stream(path))
os.chdir(O)
print("relative", stream("out/srv.s"))
os.chdir(O + "/home/.ssh")
print("relative-dotdot", stream("../../out/srv.s"))
os.chdir(P)
for how in ("sendto", "sendmsg", "connect"):
    print("dgram-" + how, dgram(O + "/out/srv.d", how))
print("project", stream(P + "/ok.s"))
print("project-relative", stream("ok.s"))
print("project-dgram", dgram(P + "/ok.d", "sendto"), dgram(P + "/ok.d", "sendmsg"))
# CMD's own socket in its private /tmp
own = socket.socket(socket.AF_UNIX); own.bind("/tmp/own.s"); own.listen(1)
threading.Thread(target=lambda: own.accept()[0].sendall(b"me"), daemon=True).start()
print("own", stream("/tmp/own.s").replace("connected me", "connected ok"))
# from a thread that is not the process's first
res = []
th = threading.Thread(target=lambda: res.append(stream(P + "/ok.s"))); th.start(); th.join()
print("thread", res[0])
# a send to a closed peer: EPIPE (python ignores SIGPIPE); with SIGPIPE's
# default action the sender dies of it (and blastctl, which made the
# call, does not)
a, b = socket.socketpair(); b.close()
try:
    a.sendmsg([b"x"]); print("epipe no")
except BrokenPipeError:
    print("epipe yes")
import subprocess
# a process that made itself undumpable (as ssh-agent does) still connects
print("undumpable", subprocess.run([sys.executable, "-c", '''
import ctypes, socket, sys
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(2).decode())''',
    P + "/ok.s"], capture_output=True, text=True).stdout.strip())
print("sigpipe", subprocess.run([sys.executable, "-c", '''
import signal, socket
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
a, b = socket.socketpair(); b.close(); a.sendmsg([b"x"])''']).returncode)

# a signal during a supervised send (SA_RESTART): handled after it,
# never a send made twice
import signal
signal.signal(signal.SIGALRM, lambda *a: None)
signal.siginterrupt(signal.SIGALRM, False)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
got = []
def drain():
    while True:
        m = b.recv(16)
        if m == b"end": return
        got.append(m)
t = threading.Thread(target=drain); t.start()
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
for i in range(1000):
    a.sendmsg([b"%d" % i])
signal.setitimer(signal.ITIMER_REAL, 0)
a.sendmsg([b"end"]); t.join()
print("signalled sends", len(got), len(set(got)))

# the race: a thread flips the address between an allowed and a denied
# path while connect(2) and sendto(2) are pending
libc = ctypes.CDLL(None, use_errno=True)
class SUN(ctypes.Structure):
    _fields_ = [("family", ctypes.c_ushort), ("path", ctypes.c_char * 108)]
ok_s, bad_s = (P + "/ok.s").encode(), (O + "/out/srv.s").encode()
addr = SUN(socket.AF_UNIX, ok_s)
stop = False
def flip():
    while not stop:
        ctypes.memmove(ctypes.addressof(addr) + 2, bad_s + b"\0", len(bad_s) + 1)
        ctypes.memmove(ctypes.addressof(addr) + 2, ok_s + b"\0", len(ok_s) + 1)
t = threading.Thread(target=flip); t.start()
good = bad = 0
for i in range(int(sys.argv[3])):
    s = socket.socket(socket.AF_UNIX)
    if libc.connect(s.fileno(), ctypes.byref(addr), ctypes.sizeof(addr)) == 0:
        good += s.recv(2) == b"ok"
    else:
        bad += ctypes.get_errno() == errno.ECONNREFUSED
    s.close()
ok_d, bad_d = (P + "/ok.d").encode(), (O + "/out/srv.d").encode()
ctypes.memmove(ctypes.addressof(addr) + 2, ok_d + b"\0", len(ok_d) + 1)
ok_s, bad_s = ok_d, bad_d
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(int(sys.argv[3])):
    libc.sendto(d.fileno(), b"x", 1, 0, ctypes.byref(addr), ctypes.sizeof(addr))
stop = True; t.join()
print("race done", "some allowed" if good else "none allowed",
      "some refused" if bad else "none refused")
PY
ROUNDS=200
run_expect 0 run --net none -- python "$P/try.py" "$O" "$P" "$ROUNDS"
printf '%s\n' "$OUT"
for k in direct ssh symlink relative relative-dotdot; do
	assert_contains "$OUT" "$k refused 111"
done
# /proc/self is CMD's, which the supervisor is not in: ENOENT
assert_contains "$OUT" "proc-root refused"
for k in sendto sendmsg connect; do
	assert_contains "$OUT" "dgram-$k refused 111"
done
assert_contains "$OUT" "project connected ok"
assert_contains "$OUT" "project-relative connected ok"
assert_contains "$OUT" "project-dgram sent sent"
assert_contains "$OUT" "own connected ok"
assert_contains "$OUT" "thread connected ok"
assert_contains "$OUT" "epipe yes"
assert_contains "$OUT" "sigpipe -13"
assert_contains "$OUT" "undumpable ok"
assert_contains "$OUT" "signalled sends 1000 1000"
# both seen: the address did change under the calls
assert_contains "$OUT" "race done some allowed some refused"
assert_eq "" "$(cat "$O/denied.count")" "connections and datagrams the denied servers got"
[ "$(wc -l <"$O/allowed.count")" -ge 2 ] || die "the allowed datagrams did not arrive"

note "host.sockets lets a named host socket in"
run_expect 0 policy set host.sockets "$O/home/.ssh/ctl.s"
run_expect 0 run --net none -- python -c '
import socket, sys
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(p); print(s.recv(2).decode())
    except OSError as e:
        print(e.strerror)' "$O/home/.ssh/ctl.s" "$O/out/srv.s"
assert_eq "hi
Connection refused" "$OUT" "the host.sockets socket, and another"

note "blastctl killed while CMD's connect waits on the supervisor: CMD does not hang"
"$BLAST_TEST_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(0)
open(sys.argv[1] + ".ready", "w").close()
import time; time.sleep(1000)' "$P/full.s" &
on_exit kill_pid $!
poll_until "the server that never accepts" test -e "$P/full.s.ready"
"$BLASTCTL" --home "$H" run --net none -- python -c '
import socket, sys
keep = []
for i in range(64):
    open(sys.argv[2], "a").write("%d\n" % i)
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); keep.append(s)' \
	"$P/full.s" "$P/full.progress" >"$W/full.out" 2>&1 &
bpid=$!
on_exit kill_pid "$bpid"
cmd_pid() { pgrep -f "^python -c .*full.progress\$" || true; }
in_connect() {
	local p
	p=$(cmd_pid)
	[ -n "$p" ] && [ "$(cut -d' ' -f1 "/proc/$p/syscall" 2>/dev/null)" = 42 ]
}
poll_until "CMD's connect to wait on the full backlog" in_connect
cpid=$(cmd_pid)
kill -KILL "$bpid"
wait "$bpid" 2>/dev/null || true
gone() { ! _lib_pid_alive "$1"; }
poll_until "CMD to go with blastctl" gone "$cpid"
