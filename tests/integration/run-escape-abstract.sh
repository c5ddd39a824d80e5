#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run, unix sockets beyond /run, /tmp and $BLAST_HOME. Abstract
# sockets: with --net host CMD shares the host's abstract namespace, and
# Landlock's abstract-socket scope (Linux 6.12, ABI 6) refuses connect(2)
# to one made outside the run (old code: it answered); CMD's own still
# work; --net none has a namespace of its own. Path sockets elsewhere
# (here /var/tmp): refused by blastctl's supervisor (usock.h; old code:
# connectable), and covered by host.hidden.
set -euo pipefail
. "$(dirname "$0")/run-lib.sh"
run_setup
abi=$("$BLAST_TEST_PYTHON" -c '
import ctypes
print(ctypes.CDLL(None).syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))')
O=$(mktemp -d /var/tmp/blast-abstract.XXXXXX)
on_exit rm -rf "$O"
ABS=blast-test-abstract-$$
"$BLAST_TEST_PYTHON" -c '
import socket, sys
a = socket.socket(socket.AF_UNIX); a.bind("\0" + sys.argv[1]); a.listen(8)
p = socket.socket(socket.AF_UNIX); p.bind(sys.argv[2]); p.listen(8)
open(sys.argv[2] + ".ready", "w").close()
import select
while True:
    for s in select.select([a, p], [], [])[0]:
        c, _ = s.accept(); c.sendall(b"hi"); c.close()' "$ABS" "$O/path.sock" &
on_exit kill_pid $!
poll_until "the host's sockets" test -e "$O/path.sock.ready"
connect='
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1].replace("@", "\0", 1)); print("connected", s.recv(2).decode())
except OSError as e:
    print("refused", e.errno)'

if [ "$abi" -ge 6 ]; then
	note "Landlock ABI $abi: the host's abstract socket is out of reach under --net host"
	run_expect 0 run --net host -- python -c "$connect" "@$ABS"
	assert_eq "refused 1" "$OUT" "abstract socket of the host, --net host (EPERM)"
	assert_contains "$ERR" "abstract sockets scoped"
	note "CMD's own abstract sockets work"
	run_expect 0 run --net host -- python -c '
import socket, threading
a = socket.socket(socket.AF_UNIX); a.bind("\0blast-own"); a.listen(1)
t = threading.Thread(target=lambda: a.accept()[0].sendall(b"ok")); t.start()
c = socket.socket(socket.AF_UNIX); c.connect("\0blast-own"); print(c.recv(2).decode())'
	assert_eq ok "$OUT" "CMD's own abstract socket"
else
	note "Landlock ABI $abi < 6: abstract sockets not scoped here (part skipped)"
fi
note "--net none: an abstract namespace of its own"
run_expect 0 run --net none -- python -c "$connect" "@$ABS"
assert_eq "refused 111" "$OUT" "abstract socket of the host, --net none"

note "a path socket outside /run and /tmp: refused by the supervisor (run-escape-unix-path.sh), and hidden by host.hidden"
run_expect 0 run --net none -- python -c "$connect" "$O/path.sock"
assert_eq "refused 111" "$OUT" "a path socket outside what CMD may write"
run_expect 0 policy set host.hidden "$O/path.sock"
run_expect 0 run --net none -- python -c "$connect" "$O/path.sock"
assert_contains "$OUT" "refused" "a hidden path socket"
run_expect 0 policy unset host.hidden
echo "PASS: $TEST_NAME"
