#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/xattr-before-after.sh OLD_BUILD [NEW_BUILD] - what extended
# attribute and ACL support costs (issue 20): two builds (meson build
# dirs; NEW_BUILD defaults to this checkout's build/), rounds interleaved
# (old, new) x ${BA_ROUNDS:-3}: `blastctl import` of the large workload
# (source in the page cache), then on its mount a warm stat walk, a warm
# python import and 20,000 4 KiB writes (the kernel asks
# security.capability before writes once a filesystem answers getxattr),
# with the GETXATTR requests blastfs counted (status). Needs root.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_ba_init "bench/xattr-before-after.sh OLD_BUILD [NEW_BUILD]" "$@"

writes() { dd if=/dev/zero of="$1/w.bin" bs=4k count=20000 status=none; }
getxattrs() {
	"${B[$1]}/ctl/blastctl" --home "$W/$1/h" --json status big 2>/dev/null |
		"$BENCH_PY" -c 'import json, sys
def find(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "getxattr":
                return v
            r = find(v)
            if r is not None:
                return r
    return None
print(find(json.load(sys.stdin)) or 0)' || echo "?"
}

tar -cf - -C "$T" . >/dev/null # the source in the page cache
for ((r = 1; r <= ${BA_ROUNDS:-3}; r++)); do
	for v in old new; do
		rm -rf -- "$W/$v"
		mkdir -p "$W/$v/mnt"
		imp=$(bench_secs "${B[$v]}/ctl/blastctl" --home "$W/$v/h" import big "$T")
		"${B[$v]}/fs/blastfs" --home "$W/$v/h" big "$W/$v/mnt"
		m=$W/$v/mnt
		bench_ba_stat_walk "$m" >/dev/null
		sw=$(bench_secs bench_ba_stat_walk "$m")
		bench_ba_py_import "$m" >/dev/null 2>&1
		pi=$(bench_secs bench_ba_py_import "$m")
		wr=$(bench_secs writes "$m")
		echo "$r $v import $imp stat_warm $sw pyimport_warm $pi writes_20k $wr getxattr_requests $(getxattrs "$v")"
		fusermount3 -u "$m"
	done
done
