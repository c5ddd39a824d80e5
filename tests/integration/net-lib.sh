# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the net.mode filtered tests (net-*.sh), on top of ctl-lib.sh.
#
#     . "$(dirname "$0")/net-lib.sh"
#     net_setup             # env 'proj' mounted at $P/.blast; a private
#                           # "host" network namespace $NS whose lo
#                           # also holds 192.0.2.1 and 192.0.2.2
#     serve echo 192.0.2.1 7001   # a server inside $NS, ready on return
#     nrun ARGS...          # blastctl ARGS inside $NS (OUT/ERR/RC)
#
# blastctl runs in $NS (nsenter --net only: mounts and cgroups stay the
# machine's), so its veth, nftables table and forwarding are $NS's and
# nothing reaches the real network. $NS is deleted at exit.

# shellcheck source=tests/integration/ctl-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ctl-lib.sh"

NET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

net_setup() {
	require_run_sees "$BLAST_REPO" "$BLASTCTL" "$NET_DIR" "$PWD"
	require_fuse
	require_python
	require_blast
	require_root
	require_cmd ip nsenter nft
	ctl_setup
	P=$W/proj
	M=$P/.blast
	mkdir "$P"
	NS=blastt-$$
	ip netns add "$NS" || skip "cannot create a network namespace"
	on_exit ip netns del "$NS"
	nsx ip link set lo up
	nsx ip addr add 192.0.2.1/32 dev lo
	nsx ip addr add 192.0.2.2/32 dev lo
	on_exit cleanup_mount "$M"
	ctl_expect 0 start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
	PID=$(env_pid proj)
	on_exit kill_pid "$PID"
	cd "$P" || die "cannot enter $P"
}

# nsx CMD...: CMD in the test's namespace.
nsx() {
	nsenter --net="/run/netns/$NS" "$@"
}

# nrun ARGS...: blastctl ARGS in the test's namespace; OUT, ERR, RC set.
nrun() {
	ctl_run nsx "$BLASTCTL" --home "$H" "$@"
}

# nwant N ARGS...: nrun ARGS, failing unless it exits with N.
nwant() {
	local n=$1
	shift
	nrun "$@"
	[ "$RC" -eq "$n" ] || die "blastctl $*: expected exit $n, got $RC: $ERR (out: $OUT)"
}

# serve KIND ARGS...: start net-server.py KIND ARGS in the namespace,
# killed at exit; returns once it listens.
serve() {
	local ready=$W/ready.$RANDOM
	# nsenter itself, not nsx: $! must be the server (nsenter execs it)
	nsenter --net="/run/netns/$NS" "$BLAST_TEST_PYTHON" \
		"$NET_DIR/net-server.py" "$ready" "$@" >>"$W/servers.log" 2>&1 &
	local sp=$!
	on_exit kill_pid "$sp"
	poll_until "server $*" test -e "$ready"
}

# net_left: the veths, nftables tables and resolv files of blastctl
# left in the namespace, on one line ("" when none).
net_left() {
	{
		nsx ip -o link show | grep -o 'blast[0-9]*' || true
		nsx nft list tables | grep -o 'blast_[0-9]*' || true
		compgen -G '/run/blast-resolv-*' || true
	} | tr '\n' ' '
}
