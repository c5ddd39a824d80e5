#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# net.allow-domain through blast's DNS forwarder: the env's resolv.conf
# names the forwarder; a DNS server the test runs (net.dns) answers
# ok.test (192.0.2.1) and bad.test (192.0.2.2); the env resolves ok.test
# and reaches its echo server, gets NXDOMAIN for bad.test without the
# query leaving the host, and cannot reach 192.0.2.2 by address. A
# wildcard allows the names below it only. A DNS server on the host's
# *:53 does not keep the forwarder from starting. (Before: "unknown policy key".)
set -euo pipefail
. "$(dirname "$0")/net-lib.sh"
net_setup
C=$NET_DIR/net-client.py
serve echo 192.0.2.1 7001
serve echo 192.0.2.2 7001
# on *:53, as dnsmasq would be: the forwarder must not need that port
serve dns 0.0.0.0 ok.test=192.0.2.1 bad.test=192.0.2.2 \
	a.wild.test=192.0.2.1 wild.test=192.0.2.1
nwant 0 policy set net.allow-domain ok.test '*.wild.test'
nwant 0 policy set net.dns 192.0.2.1

nwant 0 run -- cat /etc/resolv.conf
[[ "$OUT" == "nameserver 10.213."* ]] || die "resolv.conf in the env: $OUT"
[[ "$(cat /etc/resolv.conf)" != "$OUT" ]] || die "host resolv.conf changed"

note "allowed name: resolved and reached"
nwant 0 run -- sh -c "python '$C' resolve ok.test && python '$C' echo ok.test 7001"
assert_eq "192.0.2.1
ping" "$OUT"

note "denied name: NXDOMAIN from the forwarder, never asked upstream"
nwant 3 run -- python "$C" resolve bad.test
assert_contains "$ERR" "cannot resolve bad.test"
assert_not_contains "$(cat "$W/servers.log")" "query bad.test"
nwant 3 run -- python "$C" echo 192.0.2.2 7001

note "*.wild.test: names below it, not wild.test itself"
nwant 0 run -- python "$C" resolve a.wild.test
assert_eq 192.0.2.1 "$OUT"
nwant 3 run -- python "$C" resolve wild.test
assert_eq "" "$(net_left)" "left behind"
