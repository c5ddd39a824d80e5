# SPDX-License-Identifier: MIT
# bench/suite-policy.sh - the cost of policy enforcement (issue 7): per
# workload, the tree imported into a fresh store as one env without a
# policy and an O(1) clone of it with 50 fs.readonly and 50 fs.hidden patterns (a quarter
# of each starting with '**', so their match states live in every
# directory: the matcher's worst case), both served by blastfs and timed
# run by run interleaved (A B A B): the workload's imports and a stat of
# every entry, warm and cold. Then `blastctl run -- python -c pass` (no
# limits; with memory, cpu and pids limits, which makes a cgroup; with
# --net none, a network namespace) against the env's own `python -c pass`.
# Needs root (FUSE mounts, drop_caches, cgroups). Sourced by bench/run.
# shellcheck shell=bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown

# fs_measure, fs_imports and the mount helpers: the fs suite's figures are
# the ones timed here, measured the same way.
# shellcheck source=bench/suite-fs.sh
. "$BENCH_DIR/suite-fs.sh"

PO_VARIANTS=(blast blast-policy)
declare -A PO_ENV=([blast]=w [blast-policy]=wp)
PO_H=""
PO_RUNS_RUN=20 # runs of the (short) run-overhead figures

# po_patterns SPREL: the 50 + 50 patterns, as `policy set` arguments, one
# key per line: readonly patterns on real packages' files (none hidden, so
# every import still works) and on paths that do not exist.
po_patterns() {
	local sp=$1 i
	printf 'fs.readonly'
	for ((i = 0; i < 13; i++)); do printf ' **/ro-none-%d/**' "$i"; done
	printf ' pyvenv.cfg bin/python*'
	for ((i = 0; i < 20; i++)); do printf ' %s/*/ro-data-%d.txt' "$sp" "$i"; done
	for ((i = 0; i < 15; i++)); do printf ' %s/ro-vendored-%d' "$sp" "$i"; done
	printf '\nfs.hidden'
	for ((i = 0; i < 13; i++)); do printf ' **/.hidden-%d.cfg' "$i"; done
	for ((i = 0; i < 20; i++)); do printf ' %s/*/tests/hidden-%d' "$sp" "$i"; done
	for ((i = 0; i < 17; i++)); do printf ' %s/zz-secret-%d/**' "$sp" "$i"; done
	printf '\n'
}

po_mount() { # VARIANT
	fs_mount_blast "$PO_H" "${PO_ENV[$1]}" "${FS_MNT[$1]}"
	FS_DPID[$1]=$FS_PID
}

po_umount() { # VARIANT
	fs_umount_fuse "${FS_MNT[$1]}" "${FS_DPID[$1]}"
	FS_DPID[$1]=""
}

FS_FIG="" FS_RUN=0
po_warm_run() {
	local v
	for v in "${PO_VARIANTS[@]}"; do fs_measure "$FS_FIG" "$v" "$1"; done
}
po_cold_run() {
	local v
	for v in "${PO_VARIANTS[@]}"; do
		po_umount "$v"
		bench_drop_caches
		po_mount "$v"
		fs_measure "$FS_FIG" "$v" "$1"
	done
}

po_workload() {
	local w=$1 v f sp key args
	FS_W=$w
	FS_T=$(bench_workload_tree "$w")
	FS_S=$FS_ROOT/$w
	[[ -d $FS_T ]] || bench_die "workload '$w' not built (bench/workload.sh $w)"
	fs_rm "$FS_S"
	mkdir -p "$FS_S/m" "$FS_S/mpl"
	FS_MPL=$FS_S/mpl
	FS_IMPORTS=$(fs_imports "$w")
	PO_H=$FS_S/home
	# wp is an O(1) clone of w: both read the very same tables and blobs
	# (two imports would lay them out apart in LMDB, and cold runs would
	# time the layout, not the policy); only wp's root and state differ.
	"$FS_BLASTCTL" --home "$PO_H" import w "$FS_T" >&2
	"$FS_BLASTCTL" --home "$PO_H" create wp --from w >&2
	sp=$(bench_workload_sp "$w")
	sp=${sp#"$FS_T"/}
	while read -r key args; do
		# shellcheck disable=SC2086 # the patterns, one word each
		"$FS_BLASTCTL" --home "$PO_H" policy wp set "$key" $args >&2
	done < <(po_patterns "$sp")
	bench_tsv "$w" patterns blast-policy 0 \
		"$("$FS_BLASTCTL" --home "$PO_H" --json policy wp | "$BENCH_PY" -c '
import json, sys
p = json.load(sys.stdin)["policy"]
print(len(p["fs.readonly"]) + len(p["fs.hidden"]))')" patterns
	FS_MNT=([blast]=$FS_S/m/blast [blast-policy]=$FS_S/m/blast-policy)
	for v in "${PO_VARIANTS[@]}"; do po_mount "$v"; done
	bench_log "policy: $w: $FS_IMPORTS"
	for f in import stat; do
		FS_FIG=${f}_warm
		bench_log "policy: $w: $FS_FIG"
		for v in "${PO_VARIANTS[@]}"; do fs_measure "$FS_FIG" "$v" 0; done
		bench_interleave "$BENCH_RUNS" po_warm_run
	done
	for f in import stat; do
		FS_FIG=${f}_cold
		bench_log "policy: $w: $FS_FIG"
		bench_interleave "$BENCH_RUNS" po_cold_run
	done
}

# ---- blastctl run against the env's python ------------------------------------

PO_RW=""
po_run_run() {
	local i=$1 t py=${FS_MNT[blast]}/bin/python
	fs_time t "$py" -c pass
	bench_tsv run run_s plain "$i" "$t" s
	fs_time t "$FS_BLASTCTL" --home "$PO_H" run w -- python -c pass
	bench_tsv run run_s run "$i" "$t" s
	fs_time t "$FS_BLASTCTL" --home "$PO_H" run w --memory 1G --cpu 2 --pids 4096 -- python -c pass
	bench_tsv run run_s run-limits "$i" "$t" s
	fs_time t "$FS_BLASTCTL" --home "$PO_H" run w --net none -- python -c pass
	bench_tsv run run_s run-netns "$i" "$t" s
}

po_run() {
	local n=$PO_RUNS_RUN
	[[ ${BENCH_QUICK:-0} -eq 1 ]] && n=10
	bench_log "policy: blastctl run -- python -c pass ($n runs)"
	"$FS_BLASTCTL" --home "$PO_H" run w --memory 1G --cpu 2 --pids 4096 -- true 2>"$FS_ROOT/run.err" ||
		bench_die "policy: blastctl run with limits failed: $(cat "$FS_ROOT/run.err")"
	PO_RW=$(sed -n 's/.* via \([^(]*\) (.*/\1/p' "$FS_ROOT/run.err")
	bench_interleave "$n" po_run_run
}

# ---- report -------------------------------------------------------------------

po_report() {
	local w m label r v
	cat <<EOF
### Method

Per workload, its tree is imported into a fresh store as env \`w\`, without
a policy, and \`wp\`, an O(1) clone of it (the same tables and blobs: two
imports would lie apart in LMDB, and cold runs would time that layout) with
50 \`fs.readonly\` and 50 \`fs.hidden\`
patterns (13 of each start with \`**\`, so their match states are alive in
every directory; the rest name real packages' paths or none; none hides a
file the imports need). Both are mounted by blastfs and timed run by run
interleaved (A B A B), $BENCH_RUNS runs, after one untimed warm-up run:
\`python -c "IMPORTS"\` with the env's interpreter (the fs suite's
imports), and \`find -printf %s\` over the whole tree (a stat of every
entry). Cold runs unmount, drop the page cache, dentries and inodes, and
mount again before each run. The ratio is the median of the per-run
ratios, with their range. blastfs CPU is the daemon's user+sys
(\`/proc/PID/stat\`, all threads) over each timed run.

EOF
	{
		for w in "$@"; do
			for r in 'import_warm_s|import, warm' 'import_cold_s|import, cold' \
				'stat_warm_s|stat walk, warm' 'stat_cold_s|stat walk, cold'; do
				m=${r%%|*}
				label=${r#*|}
				printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$label" \
					"$(fs_cell 3 "$w" "$m" blast)" "$(fs_cell 3 "$w" "$m" blast-policy)" \
					"$(fs_ratio_fmt "$w" "$m" blast-policy blast)" \
					"$(fs_cell 2 "$w" "${m%_s}_cpu_s" blast)" "$(fs_cell 2 "$w" "${m%_s}_cpu_s" blast-policy)"
			done
		done
	} | bench_md_table workload figure '>no policy (s)' '>100 patterns (s)' '>ratio' \
		'>blastfs CPU, no policy (s)' '>blastfs CPU, 100 patterns (s)'
	printf '\n'
	for w in "$@"; do
		for m in import_warm_s import_cold_s stat_warm_s stat_cold_s; do
			fs_verdict "$w: ${m%_s}: 100 patterns within 1.05x of none" \
				"$(fs_ratio_med "$w" "$m" blast-policy blast)" '<=' 1.05 \
				"median ratio $(fs_ratio_fmt "$w" "$m" blast-policy blast)"
		done
	done
	cat <<EOF

### \`blastctl run -- python -c pass\`

The env's own \`python -c pass\` against the same through \`blastctl run\`
(env resolved in the store, policy read, fork, exec): with no limits; with
\`--memory 1G --cpu 2 --pids 4096\` (a cgroup made, written, entered and
removed per run: ${PO_RW:-n/a} here); with \`--net none\` (a new network
namespace). Interleaved, ${PO_RUNS_RUN} runs (10 with --quick); wall time
in ms, median (min–max).

EOF
	{
		for v in plain run run-limits run-netns; do
			local vals=() ms=()
			mapfile -t vals < <(bench_values run run_s "$v")
			for m in "${vals[@]}"; do ms+=("$(bench_calc "$m * 1000")"); done
			printf '%s\t%s\t%s\n' "$v" "$(bench_fmt 1 "${ms[@]}")" \
				"$(bench_calc "($(bench_median_of run run_s "$v") - $(bench_median_of run run_s plain)) * 1000")"
		done
	} | bench_md_table variant '>wall (ms)' '>overhead vs plain (ms, medians)'
}

suite_policy() {
	local w
	bench_need fusermount3 find
	fs_suite_begin policy
	bench_log "policy: using $("$FS_BLASTCTL" --version 2>&1 | head -n 1)"
	for w in "$@"; do
		po_workload "$w"
		[[ $w == "${!#}" ]] && po_run
		for v in "${PO_VARIANTS[@]}"; do po_umount "$v"; done
		fs_unmount_all
		fs_rm "$FS_S"
		: >"$FS_STATE"
	done
	po_report "$@"
}
