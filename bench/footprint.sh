#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown
# bench/footprint.sh [--runs N] [--out FILE] - the disk a user sees (issue
# 15), on the large workload: du of the store after `blastctl import`
# (interleaved with `tar --zstd` of the same tree, N runs), against the
# squashfs-zstd image; after ten envs of the same packages; after
# `blastctl compact`; after a `cp -r` of the tree into a mounted env (seal-time
# packing); and cold full reads and python imports of the env through a
# fresh blastfs against the same tree on the host's filesystem (page cache
# dropped before each, interleaved), as imported and compacted. Writes
# bench/results/footprint.md. Needs root.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FP_RUNS=3
FP_OUT=$BENCH_RESULTS/footprint.md
while [[ $# -gt 0 ]]; do
	case $1 in
	--runs)
		[[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || bench_die "--runs takes a count"
		FP_RUNS=$2
		shift
		;;
	--out)
		[[ $# -ge 2 ]] || bench_die "--out takes a file"
		FP_OUT=$2
		shift
		;;
	*) bench_die "usage: bench/footprint.sh [--runs N] [--out FILE]" ;;
	esac
	shift
done

FP_CTL=${BLASTCTL:-$BENCH_REPO/build/ctl/blastctl}
FP_FS=${BLASTFS:-$BENCH_REPO/build/fs/blastfs}
[[ -x $FP_CTL && -x $FP_FS ]] || bench_die "build blastctl and blastfs first"
FP_TREE=$(bench_workload_tree large)
[[ -d $FP_TREE ]] || bench_die "no large workload: run bench/workload.sh large"
FP_W=$(mktemp -d /var/tmp/blast-bench-footprint.XXXXXX)
FP_PID=""
fp_cleanup() {
	if mountpoint -q "$FP_W/mnt"; then fusermount3 -u "$FP_W/mnt" || true; fi
	if [[ -n $FP_PID ]]; then
		while kill -0 "$FP_PID" 2>/dev/null; do sleep 0.1; done
	fi
	rm -rf -- "$FP_W"
}
trap fp_cleanup EXIT

fp_mib() { "$BENCH_PY" -c 'import sys; print("%.1f" % (int(sys.argv[1]) / 1048576))' "$1"; }
fp_du() { du -s --block-size=1 -- "$1" | cut -f1; }
fp_time() { # CMD...: wall seconds of CMD
	local t0 t1
	t0=$(bench_now)
	"$@" >/dev/null
	t1=$(bench_now)
	bench_calc "$t1 - $t0"
}
fp_med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# import vs tar --zstd, interleaved, the order swapped every round, the
# tree in the page cache for both (one untimed read first)
fp_import() {
	rm -rf "$FP_W/h"
	sync
	imp+=("$(fp_time "$FP_CTL" --home "$FP_W/h" import big "$FP_TREE" -q)")
	dus+=("$(fp_du "$FP_W/h")")
}
fp_tar() {
	rm -f "$FP_W/t.tar.zst"
	sync
	tar+=("$(fp_time tar --zstd -cf "$FP_W/t.tar.zst" -C "$FP_TREE" .)")
}
imp=() tar=() dus=()
tar -cf - -C "$FP_TREE" . | wc -c >/dev/null
for ((r = 0; r < FP_RUNS; r++)); do
	if ((r % 2)); then
		fp_tar
		fp_import
	else
		fp_import
		fp_tar
	fi
done
tarsize=$(bench_size "$FP_W/t.tar.zst")
rm -f "$FP_W/t.tar.zst"
mksquashfs "$FP_TREE" "$FP_W/img" -comp zstd -noappend -quiet >/dev/null
sqsize=$(bench_size "$FP_W/img")
rm -f "$FP_W/img"
du_import=$(fp_med "${dus[@]}")
bench_log "footprint: import du $(fp_mib "$du_import") MiB, squashfs $(fp_mib "$sqsize") MiB"

# ten envs of the same packages
for i in 1 2 3 4 5 6 7 8 9; do
	"$FP_CTL" --home "$FP_W/h" import "w$i" "$FP_TREE" -q
done
du_ten=$(fp_du "$FP_W/h")
for i in 1 2 3 4 5 6 7 8 9; do "$FP_CTL" --home "$FP_W/h" destroy "w$i" >/dev/null; done

# seal-time packing: the tree copied into a mounted empty env as pip
# writes (create, write, close: cp -r), sealed by blastfs, unmounted
mkdir -p "$FP_W/s" "$FP_W/smnt" "$FP_W/empty"
"$FP_CTL" --home "$FP_W/s" import cp "$FP_W/empty" -q
"$FP_FS" --home "$FP_W/s" cp "$FP_W/smnt"
FP_PID=$(sed -n 's/^pid=//p' "$FP_W/s/run/cp.info")
t0=$(bench_now)
cp -r "$FP_TREE/." "$FP_W/smnt/"
"$BENCH_PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"sync\n")
while s.recv(65536): pass' "$FP_W/s/run/cp.sock"
framed=$("$FP_CTL" --home "$FP_W/s" --json status cp | "$BENCH_PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["sealed_in_frames"], d["files_sealed"])')
fusermount3 -u "$FP_W/smnt"
while kill -0 "$FP_PID" 2>/dev/null; do sleep 0.1; done
FP_PID=""
t_copy=$(bench_calc "$(bench_now) - $t0")
du_copy=$(fp_du "$FP_W/s")
rm -rf "$FP_W/s"

# cold reads: the env through a fresh blastfs (unmounted, page cache
# dropped, mounted again, the mount not timed) vs the tree on the host fs
# (page cache dropped): a full read (tar) and a python import, interleaved,
# the order swapped every round; on the store as import left it, and again
# after `blastctl compact` (1 MiB zstd-15 frames, what the background
# compactor leaves)
mkdir -p "$FP_W/mnt" "$FP_W/mpl"
FP_IMPORTS='import numpy, scipy, pandas, matplotlib, sympy'
fp_read() { tar -cf - -C "$1" . | wc -c >/dev/null; }
fp_py() {
	env -u PYTHONPATH -u PYTHONHOME PYTHONDONTWRITEBYTECODE=1 \
		MPLCONFIGDIR="$FP_W/mpl" "$1/bin/python" -c "$FP_IMPORTS"
}
fp_mount() {
	"$FP_FS" --home "$FP_W/h" big "$FP_W/mnt"
	FP_PID=$(sed -n 's/^pid=//p' "$FP_W/h/run/big.info")
}
fp_umount() {
	fusermount3 -u "$FP_W/mnt"
	while kill -0 "$FP_PID" 2>/dev/null; do sleep 0.05; done
	FP_PID=""
}
fp_cold_blast() { # FN ARRAY: FN on a fresh daemon, page cache dropped
	local -n bout=$2
	fp_umount
	bench_drop_caches
	fp_mount
	bout+=("$(fp_time "$1" "$FP_W/mnt")")
}
fp_cold_host() { # FN ARRAY
	local -n hout=$2
	bench_drop_caches
	hout+=("$(fp_time "$1" "$FP_TREE")")
}
fp_cold() { # PREFIX: PREFIX_{read,py}_{b,n}, FP_RUNS runs each
	local r k
	fp_mount
	fp_py "$FP_W/mnt" >/dev/null # matplotlib's font cache, once
	for ((r = 0; r < FP_RUNS; r++)); do
		for k in read py; do
			if ((r % 2)); then
				fp_cold_host "fp_$k" "${1}_${k}_n"
				fp_cold_blast "fp_$k" "${1}_${k}_b"
			else
				fp_cold_blast "fp_$k" "${1}_${k}_b"
				fp_cold_host "fp_$k" "${1}_${k}_n"
			fi
		done
	done
	fp_umount
}
imp_read_b=() imp_read_n=() imp_py_b=() imp_py_n=()
cmp_read_b=() cmp_read_n=() cmp_py_b=() cmp_py_n=()
fp_cold imp

# compact, then du
t_compact=$(fp_time "$FP_CTL" --home "$FP_W/h" compact -q)
du_compact=$(fp_du "$FP_W/h")
check=$("$FP_CTL" --home "$FP_W/h" check --store --deep 2>&1 | tail -n 1)
fp_cold cmp

# no manual step: an import as users run it starts the background
# compactor (idle priority, zstd 19); du once it has settled
rm -rf "$FP_W/h"
fp_settled() {
	[[ ! -e $FP_W/h/run/compact.want ]] &&
		[[ $("$FP_CTL" --home "$FP_W/h" --json list | "$BENCH_PY" -c 'import json,sys; print(json.load(sys.stdin)["store"]["compacting"])') == 0 ]]
}
t0=$(bench_now)
BLAST_AUTO_COMPACT=1 "$FP_CTL" --home "$FP_W/h" import big "$FP_TREE" -q
until fp_settled; do sleep 1; done
t_auto=$(bench_calc "$(bench_now) - $t0")
du_auto=$(fp_du "$FP_W/h")
check_auto=$("$FP_CTL" --home "$FP_W/h" check --store --deep 2>&1 | tail -n 1)

mkdir -p "$(dirname "$FP_OUT")"
{
	printf '## Footprint (issue 15)\n\n'
	printf -- '- command: `bench/footprint.sh --runs %s`\n' "$FP_RUNS"
	printf -- '- date: %s; commit: %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" \
		"$(git -C "$BENCH_REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf '%s\n\n' "$(bench_machine)"
	printf 'Large workload (%s). du is `du -s --block-size=1` of the whole store ' "$FP_TREE"
	printf 'directory (data.mdb and pack files); medians of %s runs, interleaved.\n\n' "$FP_RUNS"
	printf '| measure | value | against | ratio |\n|---|---:|---:|---:|\n'
	printf '| du after `blastctl import` | %s MiB | squashfs-zstd image %s MiB | %s |\n' \
		"$(fp_mib "$du_import")" "$(fp_mib "$sqsize")" "$(bench_calc "$du_import / $sqsize")"
	printf '| du with ten envs of the packages | %s MiB | one env %s MiB | %s |\n' \
		"$(fp_mib "$du_ten")" "$(fp_mib "$du_import")" "$(bench_calc "$du_ten / $du_import")"
	printf '| du after `cp -r` of the tree into a mounted empty env and its unmount (%.1f s; %s of %s seals in shared frames) | %s MiB | `blastctl import` %s MiB | %s |\n' \
		"$t_copy" "${framed% *}" "${framed#* }" "$(fp_mib "$du_copy")" "$(fp_mib "$du_import")" "$(bench_calc "$du_copy / $du_import")"
	printf '| du after `blastctl compact` (%.1f s) | %s MiB | squashfs-zstd image %s MiB | %s |\n' \
		"$t_compact" "$(fp_mib "$du_compact")" "$(fp_mib "$sqsize")" "$(bench_calc "$du_compact / $sqsize")"
	printf '| du once the background compactor import starts settled (%.0f s after the import began) | %s MiB | squashfs-zstd image %s MiB | %s |\n' \
		"$t_auto" "$(fp_mib "$du_auto")" "$(fp_mib "$sqsize")" "$(bench_calc "$du_auto / $sqsize")"
	printf '| import time | %s s | `tar --zstd` %s s (%s MiB) | %s |\n' \
		"$(fp_med "${imp[@]}")" "$(fp_med "${tar[@]}")" "$(fp_mib "$tarsize")" \
		"$(bench_calc "$(fp_med "${imp[@]}") / $(fp_med "${tar[@]}")")"
	fp_cold_row() { # LABEL PREFIX KIND
		local -n b=${2}_${3}_b n=${2}_${3}_n
		printf '| %s | %s s | the tree on the host fs %s s | %s |\n' "$1" \
			"$(fp_med "${b[@]}")" "$(fp_med "${n[@]}")" \
			"$(bench_calc "$(fp_med "${b[@]}") / $(fp_med "${n[@]}")")"
	}
	fp_cold_row 'cold full read (tar of the tree), as imported' imp read
	fp_cold_row 'cold python import (`'"$FP_IMPORTS"'`), as imported' imp py
	fp_cold_row 'cold full read, after `blastctl compact`' cmp read
	fp_cold_row 'cold python import, after `blastctl compact`' cmp py
	printf '\nRuns: import %s; tar %s. Cold, as imported: read %s (host %s), python %s (host %s); compacted: read %s (host %s), python %s (host %s). `check --store --deep`: %s (after the background compactor: %s)\n' \
		"${imp[*]}" "${tar[*]}" "${imp_read_b[*]}" "${imp_read_n[*]}" "${imp_py_b[*]}" "${imp_py_n[*]}" \
		"${cmp_read_b[*]}" "${cmp_read_n[*]}" "${cmp_py_b[*]}" "${cmp_py_n[*]}" "$check" "$check_auto"
} >"$FP_OUT"
cat "$FP_OUT"
