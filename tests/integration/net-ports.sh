#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# net.mode filtered, outbound allow lists: with net.allow-port 7001 the
# env reaches a TCP echo server on 7001 and not the one on 7002 (default
# deny); with net.allow-ip 192.0.2.1 it reaches that address on any port
# and not 192.0.2.2; both set, only their intersection. Without any allow
# rule, filtered lets everything out. Servers run in a network namespace
# the test makes; blastctl runs there too. (Before: "unknown policy key".)
set -euo pipefail
. "$(dirname "$0")/net-lib.sh"
net_setup
C=$NET_DIR/net-client.py
serve echo 192.0.2.1 7001
serve echo 192.0.2.1 7002
serve echo 192.0.2.2 7001

reach() { # ADDR PORT: 0 reached, 3 not
	nrun run -- python "$C" echo "$1" "$2"
	if [ "$RC" -eq 0 ]; then
		assert_eq ping "$OUT" "echo from $1:$2"
	else
		assert_eq 3 "$RC" "exit of the client to $1:$2 ($ERR)"
	fi
	return "$RC"
}

note "filtered without allow rules: open"
nwant 0 policy set net.mode filtered
reach 192.0.2.1 7002 || die "filtered without rules blocked 7002"
assert_contains "$ERR" "network filtered"

note "net.allow-port 7001: default deny"
nwant 0 policy unset net.mode
nwant 0 policy set net.allow-port 7001
reach 192.0.2.1 7001 || die "allowed port 7001 not reached: $ERR"
! reach 192.0.2.1 7002 || die "denied port 7002 reached"
assert_contains "$ERR" "timed out"
reach 192.0.2.2 7001 || die "port 7001 on another address not reached"

note "net.allow-ip 192.0.2.1 with the port: both must match"
nwant 0 policy set net.allow-ip 192.0.2.1
reach 192.0.2.1 7001 || die "allowed address and port not reached"
! reach 192.0.2.2 7001 || die "denied address 192.0.2.2 reached"
! reach 192.0.2.1 7002 || die "denied port reached at an allowed address"

note "net.allow-ip alone: any port there"
nwant 0 policy unset net.allow-port
reach 192.0.2.1 7002 || die "allowed address, port 7002, not reached"
! reach 192.0.2.2 7001 || die "denied address reached"

note "--net host overrides the rules"
nrun run --net host -- python "$C" echo 192.0.2.2 7001
assert_eq 0 "$RC" "--net host ($ERR)"
assert_contains "$ERR" "the policy's net.* rules are not applied: network host"
assert_eq "" "$(net_left)" "left behind"
