#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The network rule keys of blastctl policy: net.allow-ip, net.allow-port,
# net.allow-domain, net.inbound, net.dns, net.bandwidth and net.mode
# filtered are stored in canonical form (host bits cleared, lowercase
# names, default protocols, bytes), shown in text and --json; bad values,
# names starting with '-' included, are refused with one line and change
# nothing. (Before: "unknown policy key".)
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup
mkdir -p "$W/tree/bin"
echo 'home = /usr/bin' >"$W/tree/pyvenv.cfg"
ctl_expect 0 import e "$W/tree" --python "$BLAST_TEST_PYTHON"

ctl_expect 0 policy e set net.allow-ip 10.1.2.3/8 192.0.2.7
ctl_expect 0 policy e set net.allow-port 443 8000-8100/udp 53/tcp 443
ctl_expect 0 policy e set net.allow-domain PyPI.org. '*.example.com'
ctl_expect 0 policy e set net.inbound 8080 8443:443 5353:53/udp
ctl_expect 0 policy e set net.dns 192.0.2.53 2001:db8::53
ctl_expect 0 policy e set net.bandwidth up 1M down 2M
ctl_expect 0 policy e show
good=$OUT
assert_contains "$OUT" "net.allow-ip      10.0.0.0/8 192.0.2.7/32"
assert_contains "$OUT" "net.allow-port    443 8000-8100/udp 53/tcp"
assert_contains "$OUT" "net.allow-domain  pypi.org *.example.com"
assert_contains "$OUT" "net.inbound       8080:8080/tcp 8443:443/tcp 5353:53/udp"
assert_contains "$OUT" "net.dns           192.0.2.53 2001:db8::53"
assert_contains "$OUT" "net.bandwidth     up 1048576 down 2097152"
ctl_expect 0 --json policy e
assert_eq "['10.0.0.0/8', '192.0.2.7/32'] up 1048576 down 2097152" \
	"$(json_get 'str(j["policy"]["net.allow-ip"]) + " " + j["policy"]["net.bandwidth"]')"

note "bad input changes nothing"
bad() {
	local msg=$1
	shift
	ctl_expect 1 policy e "$@"
	assert_one_error "$msg"
	ctl_expect 0 policy e show
	assert_eq "$good" "$OUT" "policy after: $*"
}
bad "invalid value '10.0.0.0/33' for net.allow-ip" set net.allow-ip 10.0.0.0/33
bad "invalid value '300.1.1.1' for net.allow-ip" set net.allow-ip 300.1.1.1
bad "IPv6 does not reach the env" set net.allow-ip 2001:DB8::1/32
bad "invalid value '-1' for net.allow-ip" set net.allow-ip -- -1
bad "invalid value '0' for net.allow-port" set net.allow-port 0
bad "invalid value '65536' for net.allow-port" set net.allow-port 65536
bad "invalid value '90-80' for net.allow-port" set net.allow-port 90-80
bad "invalid value '443/sctp' for net.allow-port" set net.allow-port 443/sctp
bad "invalid value '-x.org' for net.allow-domain" set net.allow-domain -- -x.org
bad "invalid value 'a..b' for net.allow-domain" set net.allow-domain a..b
bad "invalid value 'a b' for net.allow-domain" set net.allow-domain 'a b'
bad "invalid value '*' for net.allow-domain" set net.allow-domain '*'
bad "invalid value '80:' for net.inbound" set net.inbound 80:
bad "invalid value 'pypi.org' for net.dns" set net.dns pypi.org
bad "invalid value for net.bandwidth" set net.bandwidth 1M
bad "invalid value for net.bandwidth" set net.bandwidth up
bad "invalid value for net.bandwidth" set net.bandwidth up 10
bad "invalid value for net.bandwidth" set net.bandwidth sideways 1M
bad "invalid value 'bridge' for net.mode" set net.mode bridge

note "net.mode filtered is a mode of its own"
ctl_expect 0 policy e set net.mode filtered
ctl_expect 0 policy e show
assert_contains "$OUT" "net.mode          filtered"
ctl_expect 0 policy e unset net.allow-ip
ctl_expect 0 policy e show
assert_not_contains "$OUT" "net.allow-ip"
