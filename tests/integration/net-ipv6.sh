#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# net.mode filtered is IPv4 only: net.allow-ip refuses IPv6 at set time
# with one line, the policy unchanged (old code stored the rule, which
# could never match); IPv6 from the env is denied, with allow rules and
# without: a TCP server listening on every IPv6 address of the test's
# namespace (the host end of the veth's link-local one included) is not
# reached from the env, while IPv4 to the same port is (the control).
set -euo pipefail
. "$(dirname "$0")/net-lib.sh"
net_setup
[ "$(nsx cat /proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null)" = 0 ] ||
	skip "IPv6 is disabled here"

note "IPv6 allow rules are refused at set time, nothing changed"
ctl_expect 0 policy set net.allow-port 7001
ctl_expect 0 --json policy
before=$OUT
for bad in 2001:db8::1 ::1/128 "fe80::/10"; do
	ctl_expect 1 policy set net.allow-ip 10.0.0.1 "$bad"
	assert_one_error "IPv6 does not reach the env"
done
ctl_expect 0 --json policy
assert_eq "$before" "$OUT" "policy after refused sets"

# a dual-stack server: every IPv6 address and (mapped) every IPv4 one
nsenter --net="/run/netns/$NS" "$BLAST_TEST_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 7001)); s.listen(8)
open(sys.argv[1], "w").close()
while True:
    c, _ = s.accept(); c.sendall(b"hi"); c.close()' "$W/v6ready" &
on_exit kill_pid $!
poll_until "the IPv6 server" test -e "$W/v6ready"
nsx "$BLAST_TEST_PYTHON" -c '
import socket; s = socket.create_connection(("::1", 7001), timeout=3); assert s.recv(2) == b"hi"'

# CMD: IPv4 to 192.0.2.1, then IPv6 to the address the test writes
cat >"$P/v6.py" <<'PY'
import os, socket, sys, time
def hi(fam, addr):
    s = socket.socket(fam)
    s.settimeout(3)
    try:
        s.connect(addr)
        return "reached " + s.recv(2).decode()
    except OSError as e:
        return "denied (%s)" % e
print("v4", hi(socket.AF_INET, ("192.0.2.1", 7001)), flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.02)
ll = open(sys.argv[1]).read().strip()
# eth0's own link-local address must be usable (past duplicate address
# detection), so a refusal is the rules' and not a tentative address's
for _ in range(1000):
    ok = [l for l in open("/proc/net/if_inet6").read().split("\n")
          if l.endswith(" eth0") and l.split()[3] == "20"
          and not int(l.split()[4], 16) & 0x40]
    if ok:
        break
    time.sleep(0.01)
print("eth0 link-local", "ready" if ok else "tentative", flush=True)
print("v6", hi(socket.AF_INET6, (ll, 7001, 0, socket.if_nametoindex("eth0"))), flush=True)
PY

try_v6() { # try_v6 TAG: one run; its output in $W/TAG.out
	local tag=$1 addr RP
	rm -f "$P/$tag.addr"
	nsenter --net="/run/netns/$NS" "$BLASTCTL" --home "$H" run -- \
		python "$P/v6.py" "$P/$tag.addr" >"$W/$tag.out" 2>"$W/$tag.err" &
	RP=$!
	on_exit kill_pid "$RP"
	poll_until "the run's veth" sh -c "nsenter --net=/run/netns/$NS ip -6 -o addr show dev blast$RP scope link 2>/dev/null | grep -q fe80"
	addr=$(nsx ip -6 -o addr show dev "blast$RP" scope link | grep -o 'fe80::[0-9a-f:]*')
	echo "$addr" >"$P/$tag.addr.new"
	mv "$P/$tag.addr.new" "$P/$tag.addr"
	wait "$RP" || die "run ($tag): $(cat "$W/$tag.err")"
	note "$tag: $(tr '\n' ' ' <"$W/$tag.out")"
}

note "with allow rules (port 7001): IPv4 passes, IPv6 is denied"
try_v6 allow
assert_contains "$(cat "$W/allow.out")" "v4 reached hi" "IPv4 to the allowed port"
assert_contains "$(cat "$W/allow.out")" "eth0 link-local ready"
assert_contains "$(cat "$W/allow.out")" "v6 denied (timed out)" "IPv6 to the allowed port"

note "without allow rules (outbound open): IPv6 is still denied"
ctl_expect 0 policy unset net.allow-port
ctl_expect 0 policy set net.mode filtered
try_v6 open
assert_contains "$(cat "$W/open.out")" "v4 reached hi" "IPv4, outbound open"
assert_contains "$(cat "$W/open.out")" "eth0 link-local ready"
assert_contains "$(cat "$W/open.out")" "v6 denied (timed out)" "IPv6, outbound open"
assert_eq "" "$(net_left)" "left behind"
echo "PASS: $TEST_NAME"
