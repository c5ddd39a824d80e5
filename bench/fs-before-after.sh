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

bench_ba_init "bench/fs-before-after.sh OLD_BUILD [NEW_BUILD]" "$@"

for v in old new; do
	mkdir -p "$W/$v/mnt"
	"${B[$v]}/ctl/blastctl" --home "$W/$v/h" import big "$T" >/dev/null
	"${B[$v]}/fs/blastfs" --home "$W/$v/h" big "$W/$v/mnt"
done
read_all() { tar -cf - -C "$1" . | wc -c; }
for ((r = 1; r <= ${BA_ROUNDS:-3}; r++)); do
	for v in old new; do
		m=$W/$v/mnt
		bench_drop_caches
		a=$(bench_secs bench_ba_stat_walk "$m")
		b=$(bench_secs bench_ba_stat_walk "$m")
		bench_drop_caches
		c=$(bench_secs read_all "$m")
		d=$(bench_secs read_all "$m")
		bench_drop_caches
		e=$(bench_secs bench_ba_py_import "$m")
		f=$(bench_secs bench_ba_py_import "$m")
		echo "$r $v stat_cold $a stat_warm $b read_cold $c read_warm $d import_cold $e import_warm $f"
	done
done
