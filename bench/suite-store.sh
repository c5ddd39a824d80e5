# SPDX-License-Identifier: MIT
# bench/suite-store.sh - storage benchmark (issues 2 and 8): `blastctl import`
# of each workload tree into a fresh store (time, MB/s, stored bytes from the
# store's accounting and data.mdb on disk), interleaved run by run with
# `mksquashfs -comp zstd`, `tar --zstd` and a `cp -a` baseline of the same
# warm tree; then a second import under another name and ten envs sharing
# the packages (store growth), and gc. Sourced by bench/run.
# shellcheck shell=bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown

# Set by suite_store for the helpers below.
STORE_BCTL=""  # blastctl (a pinned copy), or empty when BENCH_NO_BLAST=1 and it is not built
STORE_BCTL_SRC="" # where that copy came from
STORE_BCTL_BUILT="" # and that file's mtime when it was copied
STORE_W=""     # workload name
STORE_T=""     # its tree
STORE_S=""     # scratch dir of this workload
STORE_BYTES=0  # apparent bytes of the tree (regular files)
STORE_DESTROY=0 # blastctl has `destroy`

# store_list H ENV: prints "env_logical env_stored env_files store_stored
# blob_bytes map_used" from `blastctl --home H list --json` ("nan" where a
# field is missing).
store_list() {
	timeout "${BENCH_TIMEOUT:-1800}" "$STORE_BCTL" --home "$1" list --json | "$BENCH_PY" -c '
import json, sys
d = json.load(sys.stdin)
env = next((e for e in d.get("envs", []) if e.get("name") == sys.argv[1]), {})
st = d.get("store", {})
def g(o, k):
    v = o.get(k)
    return "nan" if v is None else str(v)
print(g(env, "logical_bytes"), g(env, "stored_bytes"), g(env, "files"),
      g(st, "stored_bytes"), g(st, "blob_bytes"), g(st, "map_used_bytes"))
' "$2"
}

# store_mdb H: prints "allocated apparent" bytes of the store's data.mdb.
store_mdb() {
	local f
	f=$(find "$1" -name data.mdb -type f | head -n 1)
	if [[ -z $f ]]; then
		echo "nan nan"
		return 0
	fi
	printf '%s %s\n' "$(bench_du "$f")" "$(bench_size "$f")"
}

# store_mdb_live H: prints the bytes of data.mdb's pages in use (the file
# keeps its high-water mark; LMDB reuses its free pages for later writes).
store_mdb_live() {
	mdb_stat -ef "$1" 2>/dev/null | awk '
		/Number of pages used:/ { used = $NF }
		/Page size:/ { ps = $NF }
		/Free pages:/ { free = $NF }
		END { if (used == "" || ps == "") print "nan"; else print (used - free) * ps }'
}

# store_timed VAR CMD...: sync (untimed), time CMD with its stdout sent to
# stderr, then time a sync: what the command left dirty for the kernel to
# write (blastctl commits durably itself; tar, mksquashfs and cp do not).
# Sets VAR, VAR_sync and VAR_cpu (user+sys of CMD).
store_timed() {
	local __v=$1 __t __s
	shift
	sync
	bench_time __t "$@" >&2
	local __cpu
	__cpu=$(bench_calc "$BENCH_USER + $BENCH_SYS")
	bench_time __s sync
	printf -v "$__v" '%s' "$__t"
	printf -v "${__v}_sync" '%s' "$__s"
	printf -v "${__v}_cpu" '%s' "$__cpu"
}

store_record_time() { # VARIANT RUN T T_SYNC CPU
	bench_tsv "$STORE_W" time_s "$1" "$2" "$3" s
	bench_tsv "$STORE_W" sync_s "$1" "$2" "$4" s
	bench_tsv "$STORE_W" cpu_s "$1" "$2" "$5" s
	bench_tsv "$STORE_W" rate_MBps "$1" "$2" "$(bench_calc "$STORE_BYTES / $3 / 1e6")" MB/s
}

store_run_blast() {
	local i=$1 h=$STORE_S/home-$1 t t_sync t_cpu
	local lb sb files st blob used st1 mdb1 mda1 st2 mdb2 stn mdbn j
	if [[ -z $STORE_BCTL ]]; then
		return 0
	fi
	rm -rf "$h"
	store_timed t "$STORE_BCTL" --home "$h" import w0 "$STORE_T"
	store_record_time blast "$i" "$t" "$t_sync" "$t_cpu"
	read -r lb sb files st blob used < <(store_list "$h" w0)
	read -r mdb1 mda1 < <(store_mdb "$h")
	st1=$st
	bench_tsv "$STORE_W" size_B blast "$i" "$st" B
	bench_tsv "$STORE_W" env_logical_B blast "$i" "$lb" B
	bench_tsv "$STORE_W" env_stored_B blast "$i" "$sb" B
	bench_tsv "$STORE_W" env_files blast "$i" "$files" files
	bench_tsv "$STORE_W" blob_B blast "$i" "$blob" B
	bench_tsv "$STORE_W" map_used_B blast "$i" "$used" B
	bench_tsv "$STORE_W" size_B blast-mdb-du "$i" "$mdb1" B
	bench_tsv "$STORE_W" size_B blast-mdb-apparent "$i" "$mda1" B

	# The same tree again under another name: everything dedups.
	store_timed t "$STORE_BCTL" --home "$h" import w1 "$STORE_T"
	bench_tsv "$STORE_W" import2_s blast "$i" "$t" s
	read -r _ _ _ st2 _ _ < <(store_list "$h" w1)
	read -r mdb2 _ < <(store_mdb "$h")
	bench_tsv "$STORE_W" growth2_B blast "$i" "$(bench_calc "$st2 - $st1")" B
	bench_tsv "$STORE_W" growth2_pct blast "$i" \
		"$(bench_calc "($st2 - $st1) * 100 / $STORE_BYTES")" %
	bench_tsv "$STORE_W" growth2_mdb_B blast "$i" "$(bench_calc "$mdb2 - $mdb1")" B
	bench_tsv "$STORE_W" growth2_mdb_pct blast "$i" \
		"$(bench_calc "($mdb2 - $mdb1) * 100 / $STORE_BYTES")" %

	# Ten envs sharing the packages.
	for ((j = 2; j < 10; j++)); do
		store_timed t "$STORE_BCTL" --home "$h" import "w$j" "$STORE_T"
		bench_tsv "$STORE_W" importn_s blast "$i" "$t" s
	done
	read -r _ _ _ stn _ _ < <(store_list "$h" w9)
	read -r mdbn _ < <(store_mdb "$h")
	bench_tsv "$STORE_W" envs10_B blast "$i" "$stn" B
	bench_tsv "$STORE_W" envs10_ratio blast "$i" "$(bench_calc "$stn / $st1")" x
	bench_tsv "$STORE_W" envs10_mdb_B blast "$i" "$mdbn" B
	bench_tsv "$STORE_W" envs10_mdb_ratio blast "$i" "$(bench_calc "$mdbn / $mdb1")" x

	# gc with every env alive frees nothing; after destroying nine of the
	# ten (where blastctl has `destroy`) it must come back to one env.
	store_timed t "$STORE_BCTL" --home "$h" gc
	bench_tsv "$STORE_W" gc_s blast "$i" "$t" s
	read -r _ _ _ st _ _ < <(store_list "$h" w0)
	bench_tsv "$STORE_W" gc_B blast "$i" "$st" B
	if [[ $STORE_DESTROY -eq 1 ]]; then
		for ((j = 1; j < 10; j++)); do
			"$STORE_BCTL" --home "$h" destroy "w$j" >&2
		done
		store_timed t "$STORE_BCTL" --home "$h" gc
		bench_tsv "$STORE_W" gc9_s blast "$i" "$t" s
		read -r _ _ _ st _ _ < <(store_list "$h" w0)
		read -r mdbn _ < <(store_mdb "$h")
		bench_tsv "$STORE_W" gc9_B blast "$i" "$st" B
		bench_tsv "$STORE_W" gc9_mdb_B blast "$i" "$mdbn" B
	fi

	# Background compaction of what is left (w0, or all ten envs).
	if "$STORE_BCTL" --help 2>&1 | grep -qw compact; then
		store_timed t "$STORE_BCTL" --home "$h" compact
		bench_tsv "$STORE_W" compact_s blast "$i" "$t" s
		bench_tsv "$STORE_W" compact_cpu_s blast "$i" "$t_cpu" s
		read -r _ _ _ st _ _ < <(store_list "$h" w0)
		read -r mdbn _ < <(store_mdb "$h")
		bench_tsv "$STORE_W" size_B blast-compact "$i" "$st" B
		bench_tsv "$STORE_W" size_B blast-compact-mdb-du "$i" "$mdbn" B
		bench_tsv "$STORE_W" size_B blast-compact-mdb-live "$i" "$(store_mdb_live "$h")" B
	fi
	rm -rf "$h"
}

store_run_squashfs() {
	local i=$1 img=$STORE_S/img-$1.sqfs t t_sync t_cpu
	rm -f "$img"
	store_timed t mksquashfs "$STORE_T" "$img" -comp zstd -noappend -quiet -no-progress
	store_record_time squashfs "$i" "$t" "$t_sync" "$t_cpu"
	bench_tsv "$STORE_W" size_B squashfs "$i" "$(bench_size "$img")" B
	rm -f "$img"
}

store_run_tar() {
	local i=$1 out=$STORE_S/tar-$1.tar.zst t t_sync t_cpu
	rm -f "$out"
	store_timed t tar --zstd -cf "$out" -C "$STORE_T" .
	store_record_time tar "$i" "$t" "$t_sync" "$t_cpu"
	bench_tsv "$STORE_W" size_B tar "$i" "$(bench_size "$out")" B
	rm -f "$out"
}

# The copies are kept until the workload is done: on this machine's
# journal-less ext4, creating many files right after deleting many is
# quadratic (DESIGN.md), which would slow the next copy, not this one.
store_run_cp() {
	local i=$1 dst=$STORE_S/cp-$1 t t_sync t_cpu
	store_timed t cp -a "$STORE_T" "$dst"
	store_record_time cp "$i" "$t" "$t_sync" "$t_cpu"
	bench_tsv "$STORE_W" size_B cp "$i" "$(bench_du "$dst")" B
}

store_workload() {
	local files
	STORE_W=$1
	STORE_T=$(bench_workload_tree "$1")
	STORE_S=$BENCH_WORK/store/$1
	[[ -d $STORE_T ]] || bench_die "workload '$1' not built (bench/workload.sh $1)"
	rm -rf "$STORE_S"
	mkdir -p "$STORE_S"
	read -r files STORE_BYTES < <(bench_tree_stats "$STORE_T")
	bench_tsv "$STORE_W" tree_files tree 0 "$files" files
	bench_tsv "$STORE_W" tree_B tree 0 "$STORE_BYTES" B
	bench_tsv "$STORE_W" tree_du_B tree 0 "$(bench_du "$STORE_T")" B
	bench_log "store: $1: $files files, $STORE_BYTES bytes"
	bench_warm "$STORE_T"
	bench_interleave "$BENCH_RUNS" store_run_blast store_run_squashfs store_run_tar store_run_cp
	rm -rf "$STORE_S"
}

# ---- report -----------------------------------------------------------------

store_mb() { # WORKLOAD METRIC VARIANT -> "median MB (min-max)"
	local vals v out=()
	mapfile -t vals < <(bench_values "$1" "$2" "$3")
	for v in "${vals[@]}"; do out+=("$(bench_calc "$v / 1e6")"); done
	bench_fmt 1 "${out[@]}"
}

store_ratio() { # WORKLOAD METRIC VARIANT -> "median ratio to tree bytes"
	local vals v out=() tb
	tb=$(bench_median_of "$1" tree_B tree)
	mapfile -t vals < <(bench_values "$1" "$2" "$3")
	for v in "${vals[@]}"; do out+=("$(bench_calc "$v / $tb")"); done
	bench_fmt 3 "${out[@]}"
}

store_min() { # WORKLOAD METRIC VARIANT -> the smallest recorded value
	local vals lo
	mapfile -t vals < <(bench_values "$@")
	read -r _ lo _ < <(bench_stats "${vals[@]}")
	printf '%s\n' "$lo"
}

store_paired() { # WORKLOAD METRIC VARIANT_A VARIANT_B -> A/B per run, one a line
	awk -F'\t' -v w="$1" -v m="$2" -v a="$3" -v b="$4" '
		$2 == w && $3 == m && $4 == a { va[$5] = $6 }
		$2 == w && $3 == m && $4 == b { vb[$5] = $6 }
		END { for (r in va) if ((r in vb) && vb[r] > 0) printf "%.6g\n", va[r] / vb[r] }
	' "$BENCH_TSV"
}

store_row() { # WORKLOAD VARIANT LABEL
	local w=$1 v=$2
	if [[ -z $(bench_values "$w" time_s "$v") ]]; then
		printf '%s\t%s\tn/a\tn/a\tn/a\tn/a\tn/a\tn/a\n' "$w" "$3"
		return 0
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$3" \
		"$(bench_fmt_of 2 "$w" time_s "$v")" "$(bench_fmt_of 2 "$w" sync_s "$v")" \
		"$(bench_fmt_of 0 "$w" rate_MBps "$v")" "$(bench_fmt_of 2 "$w" cpu_s "$v")" \
		"$(store_mb "$w" size_B "$v")" "$(store_ratio "$w" size_B "$v")"
}

store_target() { # TEXT OK(1/0/"") DETAIL
	local verdict=MISSED
	[[ $2 == 1 ]] && verdict=met
	[[ -z $2 ]] && verdict="not measured"
	printf -- '- %s: **%s** (%s)\n' "$1" "$verdict" "$3"
}

store_le() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || a == "" || b == "") exit 2; exit !(a + 0 <= b + 0) }'; }

store_cmp() { # A B -> 1 if A <= B, 0 if not, "" if unknown
	local rc=0
	store_le "$1" "$2" || rc=$?
	case $rc in 0) echo 1 ;; 1) echo 0 ;; *) echo "" ;; esac
}

store_report() {
	local w files tb
	if [[ -n $STORE_BCTL ]]; then
		printf 'Binary: `%s` (%s, built %s).\n\n' "$STORE_BCTL_SRC" \
			"$("$STORE_BCTL" --version 2>&1 | head -n 1)" \
			"$STORE_BCTL_BUILT"
	fi
	echo '### Import and packing of the workload tree'
	echo
	echo "Each tool reads the same page-cache-warm tree. \`blastctl import\` into a fresh store each run;"
	echo "\`mksquashfs TREE IMG -comp zstd -noappend -quiet\` (its default zstd level 15, all CPUs);"
	echo "\`tar --zstd -cf OUT -C TREE .\`; \`cp -a TREE DST\`. *+ sync* is a \`sync\` timed right after the"
	echo "command (the data it left dirty); MB/s is apparent tree bytes / command time; CPU is user+sys."
	echo "Size for blast is the store's \`stored_bytes\` (\`blastctl list --json\`), then its data.mdb allocated"
	echo "(\`du --block-size=1\`) and apparent; for cp the copy's allocated bytes. *then blastctl compact*"
	echo "runs at the end of each blast run on the same store (only \`w0\` left, see below): default"
	echo "level 15, small files packed; its size is stored_bytes, then data.mdb's pages in use (\`mdb_stat -ef\`:"
	echo "used - free) and the file's allocated bytes (LMDB keeps the high-water mark and reuses free pages)."
	echo
	{
		for w in "$@"; do
			read -r files < <(bench_values "$w" tree_files tree)
			tb=$(bench_median_of "$w" tree_B tree)
			printf '%s\ttree (%s files)\t\t\t\t\t%.1f\t1.000\n' "$w" "$files" "$(bench_calc "$tb / 1e6")"
			store_row "$w" blast 'blastctl import (stored_bytes)'
			if [[ -n $(bench_values "$w" size_B blast-mdb-du) ]]; then
				printf '%s\t%s\t\t\t\t\t%s\t%s\n' "$w" 'blast data.mdb, allocated' \
					"$(store_mb "$w" size_B blast-mdb-du)" "$(store_ratio "$w" size_B blast-mdb-du)"
				printf '%s\t%s\t\t\t\t\t%s\t%s\n' "$w" 'blast data.mdb, apparent' \
					"$(store_mb "$w" size_B blast-mdb-apparent)" "$(store_ratio "$w" size_B blast-mdb-apparent)"
			fi
			if [[ -n $(bench_values "$w" size_B blast-compact) ]]; then
				printf '%s\t%s\t%s\t\t\t%s\t%s\t%s\n' "$w" 'then blastctl compact (stored_bytes)' \
					"$(bench_fmt_of 2 "$w" compact_s blast)" "$(bench_fmt_of 2 "$w" compact_cpu_s blast)" \
					"$(store_mb "$w" size_B blast-compact)" "$(store_ratio "$w" size_B blast-compact)"
				printf '%s\t%s\t\t\t\t\t%s\t%s\n' "$w" 'compacted data.mdb, pages in use' \
					"$(store_mb "$w" size_B blast-compact-mdb-live)" "$(store_ratio "$w" size_B blast-compact-mdb-live)"
				printf '%s\t%s\t\t\t\t\t%s\t%s\n' "$w" 'compacted data.mdb, allocated' \
					"$(store_mb "$w" size_B blast-compact-mdb-du)" "$(store_ratio "$w" size_B blast-compact-mdb-du)"
			fi
			store_row "$w" squashfs 'mksquashfs -comp zstd'
			store_row "$w" tar 'tar --zstd'
			store_row "$w" cp 'cp -a'
		done
	} | bench_md_table workload tool '>time s' '>+ sync s' '>MB/s' '>CPU s' '>size MB' '>size / tree'
	echo
	[[ -n $STORE_BCTL ]] || {
		echo '(blastctl rows: n/a, blastctl was not built: BENCH_NO_BLAST=1)'
		echo
	}
	echo '### Sharing and gc'
	echo
	echo 'Per run, in the same fresh store: import the tree as `w0`, again as `w1` (all content'
	echo 'deduplicates), then as `w2`..`w9` (ten envs), then `blastctl gc`.'
	echo
	{
		for w in "$@"; do
			printf '%s\t%s\t%s\n' "$w" 'second import, time s' "$(bench_fmt_of 2 "$w" import2_s blast)"
			printf '%s\t%s\t%s\n' "$w" 'second import, store growth bytes' "$(bench_fmt_of 0 "$w" growth2_B blast)"
			printf '%s\t%s\t%s\n' "$w" 'second import, growth % of tree bytes' "$(bench_fmt_of 3 "$w" growth2_pct blast)"
			printf '%s\t%s\t%s\n' "$w" 'second import, data.mdb growth bytes' "$(bench_fmt_of 0 "$w" growth2_mdb_B blast)"
			printf '%s\t%s\t%s\n' "$w" 'second import, data.mdb growth % of tree bytes' "$(bench_fmt_of 3 "$w" growth2_mdb_pct blast)"
			printf '%s\t%s\t%s\n' "$w" 'imports 3-10, time s each' "$(bench_fmt_of 2 "$w" importn_s blast)"
			printf '%s\t%s\t%s\n' "$w" 'ten envs, stored MB' "$(store_mb "$w" envs10_B blast)"
			printf '%s\t%s\t%s\n' "$w" 'ten envs / one env (stored_bytes)' "$(bench_fmt_of 4 "$w" envs10_ratio blast)"
			printf '%s\t%s\t%s\n' "$w" 'ten envs / one env (data.mdb allocated)' "$(bench_fmt_of 4 "$w" envs10_mdb_ratio blast)"
			printf '%s\t%s\t%s\n' "$w" 'gc (all ten alive), time s' "$(bench_fmt_of 3 "$w" gc_s blast)"
			printf '%s\t%s\t%s\n' "$w" 'after gc, stored MB' "$(store_mb "$w" gc_B blast)"
			if [[ -n $(bench_values "$w" gc9_B blast) ]]; then
				printf '%s\t%s\t%s\n' "$w" 'destroy w1..w9 + gc, time s' "$(bench_fmt_of 3 "$w" gc9_s blast)"
				printf '%s\t%s\t%s\n' "$w" 'destroy w1..w9 + gc, stored MB' "$(store_mb "$w" gc9_B blast)"
			fi
		done
	} | bench_md_table workload measure '>value'
	echo
	echo '### Targets'
	echo
	local sb sq it tt g r gm rmdb
	for w in "$@"; do
		sb=$(bench_median_of "$w" size_B blast)
		sq=$(bench_median_of "$w" size_B squashfs)
		it=$(bench_median_of "$w" time_s blast)
		tt=$(bench_median_of "$w" time_s tar)
		g=$(bench_median_of "$w" growth2_pct blast)
		r=$(bench_median_of "$w" envs10_ratio blast)
		gm=$(bench_median_of "$w" growth2_mdb_pct blast)
		rmdb=$(bench_median_of "$w" envs10_mdb_ratio blast)
		store_target "$w: stored bytes <= squashfs-zstd image" "$(store_cmp "$sb" "$sq")" \
			"$(printf '%.1f MB vs %.1f MB' "$(bench_calc "$sb / 1e6")" "$(bench_calc "$sq / 1e6")")"
		local md
		md=$(bench_median_of "$w" size_B blast-mdb-du)
		store_target "$w: data.mdb on disk <= squashfs-zstd image" "$(store_cmp "$md" "$sq")" \
			"$(printf '%.1f MB vs %.1f MB' "$(bench_calc "$md / 1e6")" "$(bench_calc "$sq / 1e6")")"
		# Paired per run (the two ran back to back), so drift on a shared
		# machine cancels out of the verdict; best times beside.
		local pr prs
		mapfile -t prs < <(store_paired "$w" time_s blast tar)
		read -r pr _ _ < <(bench_stats "${prs[@]}")
		store_target "$w: import at least as fast as tar --zstd" "$(store_cmp "$pr" 1)" \
			"$(printf 'import/tar per run: %s; medians %.3f s vs %.3f s; best %.3f s vs %.3f s' \
				"$(bench_fmt 3 "${prs[@]}")" "$it" "$tt" \
				"$(store_min "$w" time_s blast)" "$(store_min "$w" time_s tar)")"
		store_target "$w: second import grows stored_bytes < 1% of the tree" "$(store_cmp "$g" 1)" \
			"$(printf '%.3f %%' "$g")"
		store_target "$w: second import grows data.mdb < 1% of the tree" "$(store_cmp "$gm" 1)" \
			"$(printf '%.3f %%' "$gm")"
		local cb cl
		cb=$(bench_median_of "$w" size_B blast-compact)
		cl=$(bench_median_of "$w" size_B blast-compact-mdb-live)
		if [[ -n $cb && $cb != nan ]]; then
			store_target "$w: after compact, stored bytes <= squashfs-zstd image" "$(store_cmp "$cb" "$sq")" \
				"$(printf '%.1f MB vs %.1f MB' "$(bench_calc "$cb / 1e6")" "$(bench_calc "$sq / 1e6")")"
			store_target "$w: after compact, data.mdb pages in use <= squashfs-zstd image" "$(store_cmp "$cl" "$sq")" \
				"$(printf '%.1f MB vs %.1f MB' "$(bench_calc "$cl / 1e6")" "$(bench_calc "$sq / 1e6")")"
		fi
		store_target "$w: ten envs <= 1.1x one env (stored_bytes)" "$(store_cmp "$r" 1.1)" "$(printf '%.3fx' "$r")"
		store_target "$w: ten envs <= 1.1x one env (data.mdb allocated)" "$(store_cmp "$rmdb" 1.1)" "$(printf '%.3fx' "$rmdb")"
	done
}

suite_store() {
	if ! STORE_BCTL=$(bench_blastctl); then
		[[ ${BENCH_NO_BLAST:-0} == 1 ]] || return 1
		bench_log "store: BENCH_NO_BLAST=1: baselines only"
		STORE_BCTL=""
	fi
	if [[ -n $STORE_BCTL ]]; then
		STORE_BCTL_SRC=$STORE_BCTL
		STORE_BCTL_BUILT=$(date -u -r "$STORE_BCTL" '+%Y-%m-%d %H:%M:%S UTC')
		STORE_BCTL=$(bench_pin_bin "$STORE_BCTL")
		bench_log "store: using $("$STORE_BCTL" --version 2>&1 | head -n 1) (a copy: $STORE_BCTL)"
	fi
	if [[ -n $STORE_BCTL ]] && "$STORE_BCTL" --help 2>&1 | grep -qw destroy; then
		STORE_DESTROY=1
	fi
	bench_need mksquashfs tar zstd cp
	local w
	for w in "$@"; do store_workload "$w"; done
	store_report "$@"
}
