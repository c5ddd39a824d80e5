#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/fs-before-after.sh OLD_BUILD [NEW_BUILD] - blastfs figures of two
# builds (meson build dirs with ctl/blastctl and fs/blastfs; NEW_BUILD
# defaults to this checkout's build/), each serving the large workload
# imported by its own blastctl into its own store, rounds interleaved
# (old, new) x ${BA_ROUNDS:-3}: stat walk, full read and python import, cold (page cache
# dropped) and warm. Prints one line per round and build. Needs root.
# Used for issue 19 (fs/ reshaped, behaviour and speed unchanged).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -ge 1 ]] || bench_die "usage: bench/fs-before-after.sh OLD_BUILD [NEW_BUILD]"
declare -A B=([old]=$1 [new]=${2:-$BENCH_REPO/build})
T=$(bench_workload_tree large)
[[ -d $T ]] || bench_die "no large workload: run bench/workload.sh large"
W=$(mktemp -d /var/tmp/blast-bench-ba.XXXXXX)
cleanup() {
	local v
	for v in old new; do
		if mountpoint -q "$W/$v/mnt"; then fusermount3 -u "$W/$v/mnt" || true; fi
	done
	rm -rf -- "$W"
}
trap cleanup EXIT

for v in old new; do
	mkdir -p "$W/$v/mnt"
	"${B[$v]}/ctl/blastctl" --home "$W/$v/h" import big "$T" >/dev/null
	"${B[$v]}/fs/blastfs" --home "$W/$v/h" big "$W/$v/mnt"
done
secs() {
	local s e
	s=$(bench_now)
	"$@" >/dev/null 2>&1
	e=$(bench_now)
	bench_calc "$e - $s"
}
stat_walk() { find "$1" -printf '%s\n' | wc -l; }
read_all() { tar -cf - -C "$1" . | wc -c; }
py_import() {
	MPLCONFIGDIR=$W/mpl PYTHONDONTWRITEBYTECODE=1 "$BENCH_PY" -c \
		"import sys; sys.path.insert(0, '$1/lib/python3.11/site-packages'); import numpy, scipy, pandas, matplotlib, sympy"
}
for ((r = 1; r <= ${BA_ROUNDS:-3}; r++)); do
	for v in old new; do
		m=$W/$v/mnt
		bench_drop_caches
		a=$(secs stat_walk "$m")
		b=$(secs stat_walk "$m")
		bench_drop_caches
		c=$(secs read_all "$m")
		d=$(secs read_all "$m")
		bench_drop_caches
		e=$(secs py_import "$m")
		f=$(secs py_import "$m")
		echo "$r $v stat_cold $a stat_warm $b read_cold $c read_warm $d import_cold $e import_warm $f"
	done
done
