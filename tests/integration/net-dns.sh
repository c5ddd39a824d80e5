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

note "malformed queries are dropped; the forwarder still answers"
nwant 0 run -- python -c '
import os, socket, sys
ns = open("/etc/resolv.conf").read().split()[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
hdr = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
bad = [b"", b"x", hdr, hdr + b"\xc0\x0c\x00\x01\x00\x01",
       hdr + b"\x3f" + b"a" * 10, hdr + b"\x02o\x00k\x00\x00\x01\x00\x01",
       hdr[:2] + b"\x81" + hdr[3:] + b"\x02ok\x04test\x00\x00\x01\x00\x01"]
bad += [os.urandom(n) for n in (1, 12, 13, 100, 512, 4000, 9000)]
for b in bad:
    s.sendto(b, (ns, 53))
print(socket.gethostbyname("ok.test"))'
assert_eq 192.0.2.1 "$OUT" "resolution after malformed queries"

note "*.wild.test: names below it, not wild.test itself"
nwant 0 run -- python "$C" resolve a.wild.test
assert_eq 192.0.2.1 "$OUT"
nwant 3 run -- python "$C" resolve wild.test
assert_eq "" "$(net_left)" "left behind"
