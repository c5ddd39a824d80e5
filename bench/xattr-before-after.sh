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

[[ $# -ge 1 ]] || bench_die "usage: bench/xattr-before-after.sh OLD_BUILD [NEW_BUILD]"
declare -A B=([old]=$1 [new]=${2:-$BENCH_REPO/build})
T=$(bench_workload_tree large)
[[ -d $T ]] || bench_die "no large workload: run bench/workload.sh large"
W=$(mktemp -d /var/tmp/blast-bench-xa.XXXXXX)
cleanup() {
	local v
	for v in old new; do
		if mountpoint -q "$W/$v/mnt"; then fusermount3 -u "$W/$v/mnt" || true; fi
	done
	rm -rf -- "$W"
}
trap cleanup EXIT

secs() {
	local s e
	s=$(bench_now)
	"$@" >/dev/null 2>&1
	e=$(bench_now)
	bench_calc "$e - $s"
}
stat_walk() { find "$1" -printf '%s\n' | wc -l; }
py_import() {
	MPLCONFIGDIR=$W/mpl PYTHONDONTWRITEBYTECODE=1 "$BENCH_PY" -c \
		"import sys; sys.path.insert(0, '$1/lib/python3.11/site-packages'); import numpy, scipy, pandas, matplotlib, sympy"
}
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
		imp=$(secs "${B[$v]}/ctl/blastctl" --home "$W/$v/h" import big "$T")
		"${B[$v]}/fs/blastfs" --home "$W/$v/h" big "$W/$v/mnt"
		m=$W/$v/mnt
		stat_walk "$m" >/dev/null
		sw=$(secs stat_walk "$m")
		py_import "$m" >/dev/null 2>&1
		pi=$(secs py_import "$m")
		wr=$(secs writes "$m")
		echo "$r $v import $imp stat_warm $sw pyimport_warm $pi writes_20k $wr getxattr_requests $(getxattrs "$v")"
		fusermount3 -u "$m"
	done
done
