# SPDX-License-Identifier: MIT
# bench/suite-snap.sh - the snapshot benchmark of issue 4: per workload, in a
# fresh store with the tree imported, the wall time of `blastctl save` and
# `blastctl load` unmounted and mounted (the whole command, as a user waits
# for it), run by run interleaved (A B C D) with what users do today: `cp -a`
# of the env directory (save) and `rm -rf` + `cp -a` back (restore), and
# `tar --zstd -cf` (save) and `rm -rf` + extract (restore). Then the time of
# `blastctl create CLONE --from ENV` for 10 clones, and the store growth when
# each clone gets one extra small package (the fixture wheel blast_gamma
# unpacked into its site-packages through a mount), against 10 `cp -a`
# copies of the env with the same package. Needs root (FUSE mounts as the
# other suites run them). Sourced by bench/run.
# shellcheck shell=bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown

# The mount bookkeeping, cleanup and fs_time come from the fs suite's
# helpers (FS_ROOT is this suite's scratch dir here).
# shellcheck source=bench/fs-lib.sh
. "$BENCH_DIR/fs-lib.sh"

SN_W="" SN_T="" SN_S="" SN_H="" SN_D="" SN_SPREL="" SN_WHEEL=""
SN_CLONES=10

sn_ctl() { "$FS_BLASTCTL" --home "$SN_H" "$@"; }

# sn_start NAME DIR: mount env NAME at DIR/.blast, noted for the cleanup.
sn_start() {
	mkdir -p "$2"
	fs_note_mount fuse "$2/.blast"
	sn_ctl start "$1" --dir "$2" >&2
	fs_blast_pid "$SN_H" "$1"
}
sn_kill() { sn_ctl kill "$1" >&2; }

# sn_store FIELD: a number from `blastctl list --json`'s "store" object.
sn_store() {
	sn_ctl list --json | "$BENCH_PY" -c '
import json, sys
print(json.load(sys.stdin)["store"].get(sys.argv[1], "nan"))' "$1"
}

# sn_write FILE: a small change (one new 1 KiB file) through the mount.
sn_write() { head -c 1024 /dev/urandom >"$1"; }

# ---- one timed run: blast unmounted, blast mounted, cp -a, tar --zstd ----------

sn_run() {
	local i=$1 t m=$SN_D/.blast tgt live=$SN_S/live
	# Unmounted: save a new snapshot of the (unchanged) live state; load
	# alternates between snapshots base and a, which differ by a file.
	fs_time t "$FS_BLASTCTL" --home "$SN_H" save w "u$i" >&2
	bench_tsv "$SN_W" save_s blast-unmounted "$i" "$t" s
	if ((i % 2)); then tgt=base; else tgt=a; fi
	fs_time t "$FS_BLASTCTL" --home "$SN_H" load w "$tgt" >&2
	bench_tsv "$SN_W" load_s blast-unmounted "$i" "$t" s

	# Mounted: write a file, save; write another (unsaved), load the
	# snapshot just saved (the unsaved state is saved automatically first,
	# inside the timed command) and check that the second file is gone.
	# blastfs's own CPU over each timed command (save_cpu_s, load_cpu_s:
	# the daemon's user+sys before and after; "nan" if it was replaced).
	local c0 c1
	sn_start w "$SN_D"
	sn_write "$m/$SN_SPREL/snapbench_m$i.a"
	c0=$(fs_cpu "$FS_PID")
	fs_time t "$FS_BLASTCTL" --home "$SN_H" save w "m$i" >&2
	c1=$(fs_cpu "$FS_PID")
	bench_tsv "$SN_W" save_s blast-mounted "$i" "$t" s
	bench_tsv "$SN_W" save_cpu_s blast-mounted "$i" "$(bench_calc "$c1 - $c0")" s
	sn_write "$m/$SN_SPREL/snapbench_m$i.b"
	c0=$(fs_cpu "$FS_PID")
	fs_time t "$FS_BLASTCTL" --home "$SN_H" load w "m$i" >&2
	c1=$(fs_cpu "$FS_PID")
	bench_tsv "$SN_W" load_s blast-mounted "$i" "$t" s
	bench_tsv "$SN_W" load_cpu_s blast-mounted "$i" "$(bench_calc "$c1 - $c0")" s
	[[ -e $m/$SN_SPREL/snapbench_m$i.a && ! -e $m/$SN_SPREL/snapbench_m$i.b ]] ||
		bench_die "snap: $SN_W: mounted load of m$i did not give m$i's tree"
	sn_kill w

	# cp -a: the copy is the snapshot; restore = rm -rf the env + cp -a back.
	fs_time t cp -a "$SN_T" "$SN_S/cp/$i" >&2
	bench_tsv "$SN_W" save_s cp "$i" "$t" s
	fs_time t bash -c 'rm -rf "$1" && cp -a "$2" "$1"' _ "$live" "$SN_S/cp/$i" >&2
	bench_tsv "$SN_W" load_s cp "$i" "$t" s

	# tar --zstd: save = create the archive; restore = rm -rf + extract.
	fs_time t tar --zstd -cf "$SN_S/tar/$i.tar.zst" -C "$SN_T" . >&2
	bench_tsv "$SN_W" save_s tar "$i" "$t" s
	bench_tsv "$SN_W" archive_B tar "$i" "$(bench_size "$SN_S/tar/$i.tar.zst")" B
	fs_time t bash -c 'rm -rf "$1" && mkdir "$1" && tar --zstd -xf "$2" -C "$1"' _ \
		"$live" "$SN_S/tar/$i.tar.zst" >&2
	bench_tsv "$SN_W" load_s tar "$i" "$t" s
}

# ---- clones -----------------------------------------------------------------

# sn_install DIR: "install" the small package: unpack the fixture wheel
# into DIR (a site-packages), as pip would lay it out.
sn_install() { "$BENCH_PY" -m zipfile -e "$SN_WHEEL" "$1"; }

sn_clones() {
	local k t b0 b1 m0 m1 n0 n1 d0 d1 c0 c1 dir
	sn_ctl gc >&2 || true
	b0=$(sn_store stored_bytes) m0=$(sn_store map_used_bytes) n0=$(sn_store blobs)
	d0=$(bench_du "$SN_H")
	for ((k = 1; k <= SN_CLONES; k++)); do
		fs_time t "$FS_BLASTCTL" --home "$SN_H" create "c$k" --from w >&2
		bench_tsv "$SN_W" clone_s blast "$k" "$t" s
		dir=$SN_S/clone/c$k
		sn_start "c$k" "$dir"
		sn_install "$dir/.blast/$SN_SPREL"
		sn_kill "c$k"
	done
	sync
	b1=$(sn_store stored_bytes) m1=$(sn_store map_used_bytes) n1=$(sn_store blobs)
	d1=$(bench_du "$SN_H")
	bench_tsv "$SN_W" clones_stored_B blast 1 "$(bench_calc "$b1 - $b0")" B
	bench_tsv "$SN_W" clones_map_B blast 1 "$(bench_calc "$m1 - $m0")" B
	bench_tsv "$SN_W" clones_blobs blast 1 "$(bench_calc "$n1 - $n0")" blobs
	bench_tsv "$SN_W" clones_du_B blast 1 "$(bench_calc "$d1 - $d0")" B
	# One clone really holds the package and the source does not.
	sn_start c1 "$SN_S/clone/c1"
	[[ -d $SN_S/clone/c1/.blast/$SN_SPREL/blast_gamma ]] || bench_die "snap: clone c1 lost its package"
	sn_kill c1

	mkdir -p "$SN_S/cpclone"
	sync
	c0=$(bench_du "$SN_S/cpclone")
	for ((k = 1; k <= SN_CLONES; k++)); do
		fs_time t cp -a "$SN_T" "$SN_S/cpclone/$k" >&2
		bench_tsv "$SN_W" clone_s cp "$k" "$t" s
		sn_install "$SN_S/cpclone/$k/$SN_SPREL"
	done
	sync
	c1=$(bench_du "$SN_S/cpclone")
	bench_tsv "$SN_W" clones_du_B cp 1 "$(bench_calc "$c1 - $c0")" B
}

# ---- one workload -------------------------------------------------------------

sn_workload() {
	local files bytes sp
	SN_W=$1
	SN_T=$(bench_workload_tree "$1")
	[[ -d $SN_T ]] || bench_die "workload '$1' not built (bench/workload.sh $1)"
	sp=$(bench_workload_sp "$1")
	SN_SPREL=${sp#"$SN_T"/}
	SN_S=$FS_ROOT/$1
	SN_H=$SN_S/home
	SN_D=$SN_S/proj
	fs_rm "$SN_S"
	mkdir -p "$SN_S/cp" "$SN_S/tar" "$SN_S/clone"
	read -r files bytes < <(bench_tree_stats "$SN_T")
	bench_tsv "$SN_W" tree_files tree 0 "$files" files
	bench_tsv "$SN_W" tree_B tree 0 "$bytes" B
	bench_log "snap: $1: $files files, $bytes bytes"

	# A fresh store; snapshots base and a differ by one file.
	sn_ctl import w "$SN_T" >&2
	sn_ctl save w base >&2
	sn_start w "$SN_D"
	sn_write "$SN_D/.blast/$SN_SPREL/snapbench_a"
	sn_ctl save w a >&2
	sn_kill w
	cp -a "$SN_T" "$SN_S/live"
	bench_warm "$SN_T"
	sync

	bench_log "snap: $1: save/load (blast unmounted, mounted, cp -a, tar --zstd)"
	bench_interleave "$BENCH_RUNS" sn_run
	bench_log "snap: $1: $SN_CLONES clones"
	sn_clones

	fs_unmount_all
	fs_rm "$SN_S"
	: >"$FS_STATE"
}

# ---- report -------------------------------------------------------------------

SN_VARIANTS=(blast-unmounted blast-mounted cp tar)
declare -A SN_LABEL=([blast-unmounted]='blastctl, unmounted' [blast-mounted]='blastctl, mounted'
	[cp]='`cp -a` / `rm -rf` + `cp -a`' [tar]='`tar --zstd -cf` / `rm -rf` + `tar -xf`')

sn_ms() { # WORKLOAD METRIC VARIANT: median (min-max) in ms
	local vals=() v ms=()
	mapfile -t vals < <(bench_values "$1" "$2" "$3")
	[[ ${#vals[@]} -gt 0 ]] || return 0
	for v in "${vals[@]}"; do ms+=("$(bench_calc "$v * 1000")"); done
	bench_fmt 1 "${ms[@]}"
}

sn_mib() { # BYTES: MiB with one decimal, KiB below 1 MiB
	[[ $1 == nan || -z $1 ]] && { printf 'n/a'; return 0; }
	awk -v b="$1" 'BEGIN {
		if (b < 1048576 && b > -1048576) printf "%.1f KiB", b / 1024
		else printf "%.1f MiB", b / 1048576 }'
}

sn_report() {
	local w v files bytes
	printf 'What issue 4 asks: `blastctl save` and `load` of a whole env, timed\n'
	printf 'as the whole command (fork to exit), beside the way users snapshot an\n'
	printf 'env today, run by run interleaved on the same tree. Unmounted, load\n'
	printf 'alternates between two snapshots that differ by one file; mounted,\n'
	printf 'each save follows a 1 KiB write through the mount, and each load\n'
	printf 'follows a second (unsaved) write, so the timed load includes saving\n'
	printf 'that state as an automatic snapshot. `cp -a` restore is `rm -rf` of the\n'
	printf 'env then `cp -a` of the saved copy; tar restore is `rm -rf` then\n'
	printf 'extract. Times in ms.\n\n'
	{
		for w in "$@"; do
			read -r files bytes < <(printf '%s %s\n' "$(bench_median_of "$w" tree_files tree)" \
				"$(bench_median_of "$w" tree_B tree)")
			for v in "${SN_VARIANTS[@]}"; do
				printf '%s (%s files, %s)\t%s\t%s\t%s\n' "$w" "$files" "$(sn_mib "$bytes")" \
					"${SN_LABEL[$v]}" "$(sn_ms "$w" save_s "$v")" "$(sn_ms "$w" load_s "$v")"
			done
		done
	} | bench_md_table workload method '>save (ms)' '>load / restore (ms)'
	printf '\nblastfs CPU (user+sys of the daemon, `/proc/PID/stat`) over the mounted\n'
	printf 'save and load commands, ms: '
	local sep=''
	for w in "$@"; do
		printf '%s%s save %s, load %s' "$sep" "$w" "$(sn_ms "$w" save_cpu_s blast-mounted)" \
			"$(sn_ms "$w" load_cpu_s blast-mounted)"
		sep='; '
	done
	printf ' (unmounted: no daemon runs; counted in clock ticks of %s ms, so mostly 0).\n\n' \
		"$((1000 / FS_TICK))"

	printf 'Clones: `blastctl create cK --from w` (K = 1..%d, the source unmounted)\n' "$SN_CLONES"
	printf 'against `cp -a` of the env; then each clone gets one small package\n'
	printf '(the fixture wheel `blast_gamma` unpacked into its site-packages, for\n'
	printf 'blast through a `blastctl start`ed mount). Growth: for blast the\n'
	printf "store's stored bytes (\`list --json\`), its LMDB map in use, and \`du\`\n"
	printf 'of the store dir; for `cp -a` the `du` of the 10 copies.\n\n'
	{
		for w in "$@"; do
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$w" 'blastctl create --from' \
				"$(sn_ms "$w" clone_s blast)" \
				"$(sn_mib "$(bench_median_of "$w" clones_stored_B blast)")" \
				"$(sn_mib "$(bench_median_of "$w" clones_map_B blast)")" \
				"$(sn_mib "$(bench_median_of "$w" clones_du_B blast)")"
			printf '%s\t%s\t%s\t\t\t%s\n' "$w" '`cp -a`' "$(sn_ms "$w" clone_s cp)" \
				"$(sn_mib "$(bench_median_of "$w" clones_du_B cp)")"
		done
	} | bench_md_table workload method '>clone (ms)' '>stored bytes growth' '>LMDB map growth' '>du growth'
	printf '\n'

	printf '### Targets\n\n'
	local a m
	for w in "$@"; do
		for v in blast-unmounted blast-mounted; do
			for m in save load; do
				a=$(bench_median_of "$w" "${m}_s" "$v")
				fs_verdict "$w: $m, ${v#blast-}, under 20 ms" "$a" '<' 0.020 \
					"$(printf 'median %.1f ms, max %s' "$(bench_calc "$a * 1000")" \
						"$(sn_max_ms "$w" "${m}_s" "$v")")"
			done
		done
	done
	for v in blast-unmounted blast-mounted; do
		for m in save load; do
			local first last
			first=$(bench_median_of "$1" "${m}_s" "$v")
			last=$(bench_median_of "${!#}" "${m}_s" "$v")
			# "Not growing": the largest workload's median within 2x + 5 ms
			# of the smallest's (its tree is 7-25x bigger).
			fs_verdict "$m, ${v#blast-}: not growing with env size ($1 -> ${!#})" \
				"$last" '<=' "$(bench_calc "2 * $first + 0.005")" \
				"$(printf '%.1f ms -> %.1f ms' "$(bench_calc "$first * 1000")" "$(bench_calc "$last * 1000")")"
		done
	done
}

sn_max_ms() { # WORKLOAD METRIC VARIANT: the max in ms
	local vals _m _l hi
	mapfile -t vals < <(bench_values "$@")
	read -r _m _l hi < <(bench_stats "${vals[@]}")
	printf '%.1f ms' "$(bench_calc "$hi * 1000")"
}

suite_snap() {
	local w
	bench_need fusermount3 tar zstd cp
	fs_suite_begin snap
	mkdir -p "$FS_ROOT/wheels"
	"$BENCH_PY" "$BENCH_REPO/tests/fixtures/mkwheels.py" "$FS_ROOT/wheels" >/dev/null
	SN_WHEEL=$(printf '%s\n' "$FS_ROOT"/wheels/blast_gamma-*.whl | head -n 1)
	[[ -f $SN_WHEEL ]] || bench_die "no blast_gamma fixture wheel"
	bench_log "snap: using $("$FS_BLASTCTL" --version 2>&1 | head -n 1)"
	for w in "$@"; do sn_workload "$w"; done
	sn_report "$@"
}
