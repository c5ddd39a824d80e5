#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run, no way out: CMD has no capabilities (CapEff, CapBnd 0),
# no_new_privs and a seccomp filter; each escape fails on its own:
# leaving the cgroup (then a memory hog still dies, a fork bomb still
# stops), nsenter/setns into the host's namespaces, unshare, ptrace of
# blastctl, connecting a host unix socket (/run and mounts below it, the
# host's /tmp) or
# blastfs's control socket, and changing the env's policy from inside.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_fuse
require_python
require_blast
require_root
require_cmd nsenter
require_cmd unshare
ctl_setup
P=$W/proj
M=$P/.blast
mkdir -p "$P"

expect() {
	local want=$1
	shift
	ctl_run bctl "$@"
	[ "$RC" -eq "$want" ] || die "blastctl $*: expected exit $want, got $RC: $OUT $ERR"
}

on_exit cleanup_mount "$M"
expect 0 start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
PID=$(bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]=="proj"][0])')
on_exit kill_pid "$PID"
cd "$P"

note "no capabilities, no_new_privs, seccomp"
expect 0 run -- grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
	assert_contains "$OUT" "$f:	0000000000000000"
done
assert_contains "$OUT" "NoNewPrivs:	1"
assert_contains "$OUT" "Seccomp:	2"

cg_ok() {
	[ -e /sys/fs/cgroup/cgroup.controllers ] ||
		{ [ -w /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/pids ]; }
}
if cg_ok; then
	note "leaving the cgroup fails; the memory hog still dies"
	# every place a cgroup.procs could move CMD out of its limits
	leave='for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/*/*/cgroup.procs; do
		echo $$ 2>/dev/null >"$f" && echo "moved to $f"
	done'
	expect 137 run --memory 50M -- sh -c "$leave"'
		exec python -c "b = b\"x\" * (200 << 20); print(\"allocated\")"'
	assert_not_contains "$OUT" "moved to"
	assert_not_contains "$OUT" "allocated"
	note "a fork bomb stays under the pids limit after trying to leave"
	expect 0 run --pids 20 -- sh -c "$leave"'
		exec python -c "
import os, time
n = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(5); os._exit(0)
        n += 1
    except BlockingIOError:
        break
print(n)"'
	assert_not_contains "$OUT" "moved to"
	[ "$(tail -n1 <<<"$OUT")" -lt 20 ] || die "--pids 20 let $OUT processes fork"
else
	note "skipped the cgroup escapes: no writable cgroup here"
fi

note "a loopback server on the host, unreachable from --net none"
"$BLAST_TEST_PYTHON" -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); c.sendall(b"hi"); c.close()' >"$W/port" &
on_exit kill_pid $!
for ((i = 0; i < 1000; i++)); do [ -s "$W/port" ] && break; sleep 0.01; done
PORT=$(cat "$W/port")
connect='import socket, sys; print(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).recv(2).decode())'
expect 1 run --net none -- python -c "$connect" "$PORT"

note "nsenter/setns into blastctl's (the host's) namespaces fails"
for ns in net mnt cgroup pid ipc uts; do
	expect 1 run --net none -- nsenter "--$ns=/proc/\$PPID/ns/$ns" true
	ctl_run bctl run --net none -- sh -c "nsenter --$ns=/proc/\$PPID/ns/$ns true && echo ENTERED"
	assert_not_contains "$OUT" "ENTERED" "nsenter --$ns"
done
ctl_run bctl run --net none -- sh -c "nsenter --net=/proc/\$PPID/ns/net python -c '$connect' $PORT"
assert_not_contains "$OUT" "hi"
# blastctl's namespace files do not even open; setns on one that does
# (CMD's own) is refused by the filter
expect 0 run --net none -- python -c '
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

note "unshare and new namespaces fail"
expect 1 run -- unshare -U true
expect 1 run -- unshare -m true
expect 1 run -- unshare -n true

note "ptrace of blastctl fails"
expect 0 run -- python -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print(libc.ptrace(16, os.getppid(), 0, 0), os.strerror(ctypes.get_errno()))'
assert_eq "-1 Operation not permitted" "$OUT" "PTRACE_ATTACH"

note "host unix sockets: /run, the host's /tmp, blastfs's control socket"
RUNSOCK=/run/blast-test-$$.sock
TMPSOCK=/tmp/blast-test-$$.sock
# a mount below /run, as /run/user/UID is (XDG_RUNTIME_DIR's sockets)
RUNMNT=/run/blast-test-mnt-$$
mkdir "$RUNMNT"
on_exit rmdir "$RUNMNT"
mount -t tmpfs tmpfs "$RUNMNT"
on_exit umount "$RUNMNT"
MNTSOCK=$RUNMNT/bus
on_exit rm -f "$RUNSOCK" "$TMPSOCK"
for s in "$RUNSOCK" "$TMPSOCK" "$MNTSOCK"; do
	"$BLAST_TEST_PYTHON" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)
open(sys.argv[1] + ".ready", "w").close()
while True:
    c, _ = s.accept(); c.sendall(b"hi"); c.close()' "$s" &
	on_exit kill_pid $!
	on_exit rm -f "$s.ready"
done
for ((i = 0; i < 1000; i++)); do
	[ -e "$RUNSOCK.ready" ] && [ -e "$TMPSOCK.ready" ] && [ -e "$MNTSOCK.ready" ] && break
	sleep 0.01
done
uconnect='import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(2).decode())'
"$BLAST_TEST_PYTHON" -c "$uconnect" "$RUNSOCK" | grep -qx hi || die "the /run socket does not answer outside"
for s in "$RUNSOCK" "$TMPSOCK" "$MNTSOCK" "$H/run/proj.sock"; do
	[ -S "$s" ] || die "no socket $s"
	expect 1 run -- python -c "$uconnect" "$s"
	assert_not_contains "$OUT" "hi"
done

note "the env's policy cannot be changed from inside"
expect 1 run -- "$BLASTCTL" --home "$H" policy proj set fs.hidden x
expect 1 run -- "$BLASTCTL" policy set res.memory 1G
bctl --json policy >"$W/pol"
assert_not_contains "$(cat "$W/pol")" "fs.hidden"
assert_not_contains "$(cat "$W/pol")" "res.memory"
