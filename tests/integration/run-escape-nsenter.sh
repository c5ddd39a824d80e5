#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run, no way into the host's namespaces: nsenter into
# blastctl's net/mnt/cgroup/pid/ipc/uts namespaces fails, so a loopback
# server on the host stays unreachable from --net none (old code: it
# answered); setns is refused by the filter; blastctl's root through
# /proc/PID/root (the unconfined host) is out of reach.
set -euo pipefail
. "$(dirname "$0")/run-lib.sh"
require_cmd nsenter
run_setup
note "a loopback server on the host, unreachable from --net none"
"$BLAST_TEST_PYTHON" -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"hi"); c.close()' >"$W/port" &
on_exit kill_pid $!
wait_until 60 "the server's port" test -s "$W/port"
PORT=$(cat "$W/port")
connect='import socket, sys; print(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).recv(2).decode())'
run_expect 1 run --net none -- python -c "$connect" "$PORT"

note "nsenter/setns into blastctl's (the host's) namespaces fails"
for ns in net mnt cgroup pid ipc uts; do
	run_expect 1 run --net none -- nsenter "--$ns=/proc/\$PPID/ns/$ns" true
	ctl_run bctl run --net none -- sh -c "nsenter --$ns=/proc/\$PPID/ns/$ns true && echo ENTERED"
	assert_not_contains "$OUT" "ENTERED" "nsenter --$ns"
done
ctl_run bctl run --net none -- sh -c "nsenter --net=/proc/\$PPID/ns/net python -c '$connect' $PORT"
assert_not_contains "$OUT" "hi"
# blastctl's namespace files do not even open; setns on one that does
# (CMD's own) is refused by the filter
run_expect 0 run --net none -- python -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
try:
    os.open("/proc/%d/ns/net" % os.getppid(), os.O_RDONLY)
    print("opened")
except PermissionError:
    print("refused")
fd = os.open("/proc/self/ns/net", os.O_RDONLY)
print(libc.setns(fd, 0), os.strerror(ctypes.get_errno()))'
assert_eq "refused
-1 Operation not permitted" "$OUT" "open and setns"


note "blastctl's root through /proc/PID/root is out of reach"
ESC=/tmp/blast-escaped-$$
on_exit rm -f "$ESC"
ctl_run bctl run -- sh -c "touch /proc/\$PPID/root$ESC && echo REACHED; ls /proc/\$PPID/root/ >/dev/null && echo LISTED"
assert_not_contains "$OUT" "REACHED"
assert_not_contains "$OUT" "LISTED"
[ ! -e "$ESC" ] || die "CMD wrote the host's /tmp through /proc/\$PPID/root"
