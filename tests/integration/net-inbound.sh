#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# net.inbound 8080:7000: a server the env runs on its port 7000 is
# reached from the host at port 8080, at the host's own address and at
# 127.0.0.1; other ports of the env are not reachable from the host.
# (Before: "unknown policy key".)
set -euo pipefail
. "$(dirname "$0")/net-lib.sh"
net_setup
C=$NET_DIR/net-client.py
S=$NET_DIR/net-server.py
nwant 0 policy set net.inbound 8080:7000
nsenter --net="/run/netns/$NS" "$BLASTCTL" --home "$H" run -- \
	python "$S" "$P/r1" echo 0.0.0.0 7000 7001 >/dev/null 2>"$W/run.err" &
RP=$!
on_exit kill_pid "$RP"
poll_until "the env's servers" test -e "$P/r1"
ENVIP=$(nsx nft list table inet "blast_$RP" | grep -o 'dnat ip to [0-9.]*' | head -n1)
ENVIP=${ENVIP##* }
[ -n "$ENVIP" ] || die "no dnat rule in table blast_$RP"

for a in 192.0.2.1 127.0.0.1; do
	ctl_run nsx "$BLAST_TEST_PYTHON" "$C" echo "$a" 8080
	assert_eq "0 ping" "$RC $OUT" "published port at $a:8080 ($ERR)"
done
note "an unpublished port of the env is closed to the host"
ctl_run nsx "$BLAST_TEST_PYTHON" "$C" echo "$ENVIP" 7001
assert_eq 3 "$RC" "direct connection to $ENVIP:7001 ($OUT)"
kill_pid "$RP"
poll_until "clean-up" test -z "$(net_left)"
