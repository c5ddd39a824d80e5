#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run, no host unix sockets: a socket in /run, in a mount below
# /run (as /run/user/UID), in the host's /tmp and blastfs's control socket
# in $BLAST_HOME do not connect from inside (old code: all answered).
set -euo pipefail
. "$(dirname "$0")/run-lib.sh"
run_setup
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
all_listening() { [ -e "$RUNSOCK.ready" ] && [ -e "$TMPSOCK.ready" ] && [ -e "$MNTSOCK.ready" ]; }
wait_until 60 "the three socket servers" all_listening
uconnect='import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(2).decode())'
"$BLAST_TEST_PYTHON" -c "$uconnect" "$RUNSOCK" | grep -qx hi || die "the /run socket does not answer outside"
for s in "$RUNSOCK" "$TMPSOCK" "$MNTSOCK" "$H/run/proj.sock"; do
	[ -S "$s" ] || die "no socket $s"
	run_expect 1 run -- python -c "$uconnect" "$s"
	assert_not_contains "$OUT" "hi"
done

