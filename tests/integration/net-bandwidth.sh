#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# net.bandwidth: 4 MiB fetched at "down 1M" takes at least 2 s (half the
# 4 s the limit implies: a limit, not a benchmark), 4 MiB sent at "up 1M"
# too; the same fetch without the limit is not held back that way.
# (Before: "unknown policy key".)
set -euo pipefail
. "$(dirname "$0")/net-lib.sh"
net_setup
C=$NET_DIR/net-client.py
serve source 192.0.2.1 7100 4194304
serve sink 192.0.2.1 7101

secs_at_least() { # SECONDS MIN WHAT
	"$BLAST_TEST_PYTHON" -c 'import sys; sys.exit(float(sys.argv[1]) < float(sys.argv[2]))' "$1" "$2" ||
		die "$3 took $1 s, less than $2 s"
}

nwant 0 policy set net.bandwidth down 1M up 1M
nwant 0 run -- python "$C" fetch 192.0.2.1 7100
read -r bytes secs <<<"$OUT"
assert_eq 4194304 "$bytes" "bytes fetched"
secs_at_least "$secs" 2 "4 MiB down at 1 MiB/s"

nwant 0 run -- python -c '
import socket, sys, time
s = socket.create_connection(("192.0.2.1", 7101))
t0 = time.monotonic()
s.sendall(b"z" * 4194304)
s.shutdown(socket.SHUT_WR)
n = int(s.makefile().readline())
print(n, "%.3f" % (time.monotonic() - t0))'
read -r bytes secs <<<"$OUT"
assert_eq 4194304 "$bytes" "bytes the sink got"
secs_at_least "$secs" 2 "4 MiB up at 1 MiB/s"

note "unlimited: well under the limited time"
nwant 0 policy unset net.bandwidth
nwant 0 policy set net.mode filtered
nwant 0 run -- python "$C" fetch 192.0.2.1 7100
read -r bytes secs <<<"$OUT"
"$BLAST_TEST_PYTHON" -c 'import sys; sys.exit(float(sys.argv[1]) >= 2)' "$secs" ||
	die "unlimited fetch took $secs s"
