#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/cold-before-after.sh OLD_BUILD [NEW_BUILD] - cold reads of two
# builds (meson build dirs with ctl/blastctl and fs/blastfs; NEW_BUILD
# defaults to this checkout's build/) against the host: the large workload
# imported and `blastctl compact`ed by each build into its own store, then
# ${BA_ROUNDS:-4} rounds of a full read (tar) and a python import, each
# run on a fresh daemon with the page cache dropped (the mount not
# timed), host / old / new interleaved and the order reversed every
# round. Prints one line per run and the medians. Needs root. Used for
# issue 15 (cold reads).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_ba_init "bench/cold-before-after.sh OLD_BUILD [NEW_BUILD]" "$@"

declare -A PID=()
for v in old new; do
	mkdir -p "$W/$v/mnt"
	BLAST_AUTO_COMPACT=0 "${B[$v]}/ctl/blastctl" --home "$W/$v/h" import big "$T" -q
	BLAST_AUTO_COMPACT=0 "${B[$v]}/ctl/blastctl" --home "$W/$v/h" compact -q
done
mount_v() {
	"${B[$1]}/fs/blastfs" --home "$W/$1/h" big "$W/$1/mnt"
	PID[$1]=$(sed -n 's/^pid=//p' "$W/$1/h/run/big.info")
}
umount_v() {
	fusermount3 -u "$W/$1/mnt"
	while kill -0 "${PID[$1]}" 2>/dev/null; do sleep 0.05; done
}
read_all() { tar -cf - -C "$1" . | wc -c; }
py_import() { bench_ba_py_import "$@"; }
run() { # VARIANT FN: one cold run, its line
	local root=$T t
	bench_drop_caches
	if [[ $1 != host ]]; then
		mount_v "$1"
		root=$W/$1/mnt
	fi
	t=$(bench_secs "$2" "$root")
	[[ $1 == host ]] || umount_v "$1"
	echo "$1 $2 $t"
}
mkdir -p "$W/mpl"
py_import "$T" >/dev/null 2>&1 # matplotlib's font cache, once
out=$W/runs
for ((r = 0; r < ${BA_ROUNDS:-4}; r++)); do
	vs=(host old new)
	((r % 2)) && vs=(new old host)
	for f in read_all py_import; do
		for v in "${vs[@]}"; do run "$v" "$f" | tee -a "$out"; done
	done
done
"$BENCH_PY" - "$out" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    v, f, t = line.split()
    d[f, v].append(float(t))
for f in ("read_all", "py_import"):
    h = statistics.median(d[f, "host"])
    o = statistics.median(d[f, "old"])
    n = statistics.median(d[f, "new"])
    print("%s: host %.3f s, old %.3f s (%.2fx), new %.3f s (%.2fx), new/old %.2f"
          % (f, h, o, o / h, n, n / h, n / o))
PY
