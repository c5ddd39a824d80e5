#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Clean-up after SIGKILL of blastctl run with net.mode filtered: the
# command dies with it, and its veth pair, nftables table, DNS
# forwarder, network namespace and resolv.conf copy go without anyone
# cleaning up (the namespace dies with its last process and takes the
# veth along; the table is owned by blastctl's netlink socket); its
# cgroup goes at the next run and its `top` entry at the next top. A
# process CMD left in the background dies too (CMD's PID namespace ends
# with its init), so nothing keeps the namespace or the veth alive.
set -euo pipefail
. "$(dirname "$0")/net-lib.sh"
net_setup
C=$NET_DIR/net-client.py
serve echo 192.0.2.1 7001
serve dns 192.0.2.1 ok.test=192.0.2.1
nwant 0 policy set net.allow-domain ok.test
nwant 0 policy set net.dns 192.0.2.1
nwant 0 policy set net.inbound 8080:7000
nwant 0 policy set net.bandwidth up 1M down 1M

nsenter --net="/run/netns/$NS" "$BLASTCTL" --home "$H" run --memory 100M -- \
	python "$C" hold ok.test 7001 10 "$P/held" 2>"$W/run.err" &
RP=$!
on_exit kill_pid "$RP"
poll_until "the run" test -e "$P/held"
CHILD=$("$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["child"])' "$H/run/sbx-$RP.json")
CG=$(grep -o ":memory:.*blast-run-proj-$RP" "/proc/$CHILD/cgroup" | head -n1)
NETNS=$(readlink "/proc/$CHILD/ns/net")
[ -n "$(net_left)" ] || die "no veth or table while the run is alive"
note "a second run at the same time gets a /30 of its own"
ADDR1=$("$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' "$H/run/sbx-$RP.json")
nwant 0 run -- ip -4 -o addr show dev eth0
ADDR2=$(grep -o 'inet [0-9.]*' <<<"$OUT")
ADDR2=${ADDR2#inet }
[[ $ADDR1 == 10.213.* && $ADDR2 == 10.213.* ]] || die "addresses: $ADDR1, $ADDR2"
[ "$ADDR1" != "$ADDR2" ] || die "two runs share $ADDR1"
assert_contains "$ERR" "network filtered: env at $ADDR2 via blast"
nsx ss -uln | grep -q '10\.213\.[0-9.]*:' || die "no DNS forwarder listening"

kill -KILL "$RP"
wait "$RP" 2>/dev/null || true
poll_until "the command to die" sh -c "! kill -0 $CHILD 2>/dev/null"
poll_until "veth and table to go" test -z "$(net_left)"
nsx ss -uln | grep -q '10\.213\.[0-9.]*:' && die "the DNS forwarder still listens"
nsx ss -tln | grep -q ':8080 ' && die "something listens on 8080"
# no process is left in the run's network namespace
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/ns/net" 2>/dev/null)" != "$NETNS" ] ||
		die "a process is left in the run's namespace $NETNS: $p"
done

note "CMD inherits no netlink socket (the one owning the rules above all)"
nwant 0 run -- python -c '
import os, socket
for fd in os.listdir("/proc/self/fd"):
    try:
        link = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        continue  # the listing fd itself
    if link.startswith("socket:"):
        s = socket.socket(fileno=int(fd))
        print(fd, s.family)
        s.detach()'
assert_not_contains "$OUT" "AF_NETLINK"

note "a process CMD left in the background dies with it: nothing holds the veth"
# (old code, without a PID namespace by default: the orphan kept the
# namespace and the veth alive until the next run deleted it)
nsenter --net="/run/netns/$NS" "$BLASTCTL" --home "$H" run -- sh -c \
	"python '$C' hold ok.test 7001 10 '$P/held2' & exec sleep 300" 2>"$W/run2.err" &
RP2=$!
on_exit kill_pid "$RP2"
poll_until "the second run" test -e "$P/held2"
ORPHAN=$(pgrep -f "hold ok.test 7001 10 $P/held2" | head -n1)
on_exit kill_pid "$ORPHAN"
kill -KILL "$RP2"
wait "$RP2" 2>/dev/null || true
poll_until "the background process to die" sh -c "! kill -0 $ORPHAN 2>/dev/null"
poll_until "the veth to go" sh -c "! nsenter --net=/run/netns/$NS ip -o link show | grep -q blast$RP2"
poll_until "the nftables table to go" sh -c "! nsenter --net=/run/netns/$NS nft list tables | grep -q blast_$RP2"
rm -f "$P/held2"

note "the next run and top sweep what only they can"
nwant 0 run --memory 100M -- true
[ -n "$CG" ] || die "the run had no memory cgroup"
[ ! -e "/sys/fs/cgroup/memory${CG#:memory:}" ] ||
	die "cgroup of the killed run left: $CG"
nwant 0 top --json
[ ! -e "$H/run/sbx-$RP.json" ] || die "top entry of the killed run left"
assert_eq "" "$(net_left)" "left behind"
