#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/net-throughput.sh [ROUNDS] [MIB] - throughput of one TCP transfer
# (MIB MiB from a server to a client that reads it all) over the host's
# loopback vs through `blastctl run`'s net.mode filtered (veth pair,
# nftables rules with default deny and an allow-port rule, NAT), and the
# cost of setting that network up (`run -- true`, filtered vs host).
# Variants interleaved, ROUNDS each (default 5). Everything happens in a
# network namespace of its own (blastctl too, by nsenter --net); needs
# root, FUSE, BLASTCTL/BLASTFS (default: build/). Prints markdown.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${1:-5}
MIB=${2:-512}
BLASTCTL=${BLASTCTL:-$BENCH_REPO/build/ctl/blastctl}
BLASTFS=${BLASTFS:-$BENCH_REPO/build/fs/blastfs}
export BLASTFS
T=$BENCH_REPO/tests/integration
R=$(mktemp -d /tmp/blast-bench-net.XXXXXX)
NS=blastb-$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	"$BLASTCTL" --home "$R/h" kill e >/dev/null 2>&1 || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf -- "$R"
}
trap cleanup EXIT
ip netns add "$NS"
nsx() { nsenter --net="/run/netns/$NS" "$@"; }
nsx ip link set lo up
nsx ip addr add 192.0.2.1/32 dev lo
nsenter --net="/run/netns/$NS" "$BENCH_PY" "$T/net-server.py" "$R/ready" \
	source 192.0.2.1 7100 $((MIB << 20)) >/dev/null 2>&1 &
pids+=($!)
until [ -e "$R/ready" ]; do sleep 0.05; done
mkdir "$R/proj"
"$BLASTCTL" --home "$R/h" start e --dir "$R/proj" --python "$BENCH_PY" >/dev/null 2>&1
"$BLASTCTL" --home "$R/h" policy e set net.allow-port 7100 >/dev/null 2>&1
cd "$R/proj"
bc() { nsx "$BLASTCTL" --home "$R/h" "$@"; }

now() { date +%s.%N; }
declare -a lo veth up_f up_h
for ((i = 0; i < ROUNDS; i++)); do
	read -r _ s < <(nsx "$BENCH_PY" "$T/net-client.py" fetch 192.0.2.1 7100)
	lo+=("$s")
	read -r _ s < <(bc run -- python "$T/net-client.py" fetch 192.0.2.1 7100 2>/dev/null)
	veth+=("$s")
	t0=$(now)
	bc run --net filtered -- true 2>/dev/null
	up_f+=("$("$BENCH_PY" -c "print($(now) - $t0)")")
	t0=$(now)
	bc run --net host -- true 2>/dev/null
	up_h+=("$("$BENCH_PY" -c "print($(now) - $t0)")")
done
"$BENCH_PY" - "$MIB" "${lo[*]}" "${veth[*]}" "${up_f[*]}" "${up_h[*]}" <<'PY'
import statistics as st, sys
mib = int(sys.argv[1])
lo, veth, uf, uh = ([float(x) for x in a.split()] for a in sys.argv[2:6])
def rate(v):
    r = [mib / x for x in v]
    return "%.0f MiB/s (%.0f-%.0f)" % (st.median(r), min(r), max(r))
def ms(v):
    return "%.0f ms (%.0f-%.0f)" % (1000 * st.median(v), 1000 * min(v), 1000 * max(v))
print("| transfer of %d MiB, %d rounds | median (min-max) |" % (mib, len(lo)))
print("|---|---|")
print("| host loopback | %s |" % rate(lo))
print("| through veth + nftables (net.mode filtered) | %s |" % rate(veth))
ratios = [a / b for a, b in zip(veth, lo)]
print("| filtered / loopback time, per round | %.2fx (%.2f-%.2f) |" % (st.median(ratios), min(ratios), max(ratios)))
print("| `run -- true`, net.mode filtered | %s |" % ms(uf))
print("| `run -- true`, --net host | %s |" % ms(uh))
PY
