#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/registry.sh [WORKLOAD] - push and pull through a local registry
# (docker-registry on 127.0.0.1, storage under $BENCH_WORK): times and bytes
# moved for a first push, a second env differing by one package, a pull
# into an empty store and a pull of the second env into a store holding
# the first; next to skopeo copy of each tree as one tar+zstd layer
# (dir: to the registry). Needs bench/workload.sh WORKLOAD first (default
# large). Prints a markdown table on stdout.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WL=${1:-large}
TREE=$(bench_workload_tree "$WL")
[ -d "$TREE" ] || bench_die "no workload $WL: bench/workload.sh $WL"
BLASTCTL=${BLASTCTL:-$BENCH_REPO/build/ctl/blastctl}
R=$BENCH_WORK/registry
rm -rf -- "$R"
mkdir -p "$R/reg"
port=$("$BENCH_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: 127.0.0.1:%s}\n' "$R/reg" "$port" >"$R/reg.yml"
docker-registry serve "$R/reg.yml" >"$R/reg.log" 2>&1 &
regpid=$!
trap 'kill "$regpid" 2>/dev/null; wait "$regpid" 2>/dev/null; rm -rf -- "$R"' EXIT
REG=127.0.0.1:$port
until curl -sf -o /dev/null "http://$REG/v2/"; do
	kill -0 "$regpid" 2>/dev/null || bench_die "registry exited: $(cat "$R/reg.log")"
	sleep 0.05
done

# the second env: the workload plus one package (1 MiB module, dist-info)
cp -a -- "$TREE" "$R/tree-b"
sp=$(printf '%s\n' "$R"/tree-b/lib/python3*/site-packages)
mkdir -p "$sp/blastbench_extra" "$sp/blastbench_extra-1.0.dist-info"
head -c $((1 << 20)) /dev/urandom >"$sp/blastbench_extra/data.bin"
printf 'Metadata-Version: 2.1\nName: blastbench-extra\nVersion: 1.0\n' >"$sp/blastbench_extra-1.0.dist-info/METADATA"
"$BLASTCTL" --home "$R/h1" import a "$TREE" >/dev/null 2>&1
"$BLASTCTL" --home "$R/h1" import b "$R/tree-b" >/dev/null 2>&1
logical=$("$BLASTCTL" --home "$R/h1" --json list | "$BENCH_PY" -c 'import json,sys; print([e["logical_bytes"] for e in json.load(sys.stdin)["envs"] if e["name"]=="a"][0])')

now() { date +%s.%N; }
field() { "$BENCH_PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
row() { printf '| %s | %.2f | %s | %.2f%% |\n' "$1" "$2" "$3" "$(bench_calc "100 * $3 / $logical")"; }

echo "workload $WL: $logical bytes of files ($(nproc) CPUs)"
echo
echo "| step | seconds | bytes moved | of env |"
echo "|---|---|---|---|"
t0=$(now)
"$BLASTCTL" --home "$R/h1" --json push a "$REG/bench/a:1" >"$R/o.json"
row "blast push a (empty registry)" "$(bench_calc "$(now) - $t0")" "$(field "$R/o.json" sent_bytes)"
t0=$(now)
"$BLASTCTL" --home "$R/h1" --json push b "$REG/bench/b:1" >"$R/o.json"
row "blast push b = a + 1 package" "$(bench_calc "$(now) - $t0")" "$(field "$R/o.json" sent_bytes)"
t0=$(now)
"$BLASTCTL" --home "$R/h2" --json pull "$REG/bench/a:1" a >"$R/o.json"
row "blast pull a (empty store)" "$(bench_calc "$(now) - $t0")" "$(field "$R/o.json" received_bytes)"
t0=$(now)
"$BLASTCTL" --home "$R/h2" --json pull "$REG/bench/b:1" b >"$R/o.json"
row "blast pull b (store has a)" "$(bench_calc "$(now) - $t0")" "$(field "$R/o.json" received_bytes)"

# skopeo: each tree as one tar+zstd layer in a dir: image
skdir() {
	local src=$1 d=$2 layer cfg ld cd
	mkdir -p "$d"
	tar -C "$src" -cf - . | zstd -q -3 -T0 >"$d/layer"
	ld=$(sha256sum "$d/layer" | cut -d' ' -f1)
	mv "$d/layer" "$d/$ld"
	cfg='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
	printf '%s' "$cfg" >"$d/cfg"
	cd=$(sha256sum "$d/cfg" | cut -d' ' -f1)
	mv "$d/cfg" "$d/$cd"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"sha256:%s","size":%s}]}' \
		"$cd" "${#cfg}" "$ld" "$(stat -c %s "$d/$ld")" >"$d/manifest.json"
	echo 'Directory Transport Version: 1.1' >"$d/version"
	stat -c %s "$d/$ld"
}
for e in a b; do
	src=$TREE
	[ "$e" = a ] || src=$R/tree-b
	t0=$(now)
	size=$(skdir "$src" "$R/sk-$e")
	skopeo copy -q --dest-tls-verify=false "dir:$R/sk-$e" "docker://$REG/sk/$e:1" >/dev/null
	row "tar+zstd + skopeo copy $e" "$(bench_calc "$(now) - $t0")" "$size"
done
