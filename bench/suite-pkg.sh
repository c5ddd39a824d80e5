# SPDX-License-Identifier: MIT
# bench/suite-pkg.sh - the package-layer benchmark of issue 6: `blastctl
# check` (answered from the package state blastfs keeps) against `pip check`
# (which reads every distribution's metadata), run by run interleaved, on a
# mounted env holding 50 crafted distributions (bench/mkbenchwheels.py) plus
# pip and setuptools, and on each workload's real env (imported, unmounted;
# pip check runs on the original tree with `pip --python`). Then what the
# live updates cost a pip install: the 50 wheels and blast-many (2000
# modules) installed into fresh clones served with and without the package
# layer (BLASTFS_NO_PACKAGES), interleaved. Needs root (FUSE). Sourced by
# bench/run. (`pip --python` starts one more interpreter than a pip
# installed in the env would: ~20 ms of pip check's ~1 s.)
# shellcheck shell=bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown

# shellcheck source=bench/fs-lib.sh
. "$BENCH_DIR/fs-lib.sh"

PK_H="" PK_WHEELS="" PK_MANY=""

pk_ctl() { "$FS_BLASTCTL" --home "$PK_H" "$@"; }

pk_start() { # NAME DIR [ENV...]: mount NAME at DIR/.blast
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	fs_note_mount fuse "$dir/.blast"
	env "$@" "$FS_BLASTCTL" --home "$PK_H" start "$name" --dir "$dir" >&2
	fs_blast_pid "$PK_H" "$name"
}

pk_pip() { # DIR ARGS...: the env's pip, quiet
	local dir=$1
	shift
	PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 \
		"$dir/.blast/bin/python" -m pip -q "$@" >&2
}

# ---- check on the 50-distribution env --------------------------------------

# blastfs's CPU (user+sys, /proc/PID/stat) over each timed command that
# runs while d50 is mounted, as check_cpu_s (PK_PID: d50's daemon).
PK_PID=""
pk_check_blast() {
	local t c0 c1
	# check exits 1 (d50 has problems): the time is recorded all the same
	cd "$FS_ROOT/d50"
	c0=$(fs_cpu "$PK_PID")
	fs_time t "$FS_BLASTCTL" --home "$PK_H" check >/dev/null 2>&1 || true
	c1=$(fs_cpu "$PK_PID")
	cd - >/dev/null
	bench_tsv d50 check_s blastctl "$1" "$t" s
	bench_tsv d50 check_cpu_s blastctl "$1" "$(bench_calc "$c1 - $c0")" s
}

pk_check_pip() {
	local t c0 c1
	c0=$(fs_cpu "$PK_PID")
	fs_time t "$FS_ROOT/d50/.blast/bin/python" -m pip check >/dev/null 2>&1 || true
	c1=$(fs_cpu "$PK_PID")
	bench_tsv d50 check_s pip "$1" "$t" s
	bench_tsv d50 check_cpu_s pip "$1" "$(bench_calc "$c1 - $c0")" s
}

pk_d50() {
	local lines_b lines_p
	bench_log "pkg: 50 distributions"
	pk_ctl create d50 --python /usr/bin/python3 >&2
	pk_start d50 "$FS_ROOT/d50"
	PK_PID=$FS_PID
	pk_pip "$FS_ROOT/d50" install --no-index --no-deps "$PK_WHEELS"/pkgb_*.whl
	lines_b=$(cd "$FS_ROOT/d50" && pk_ctl check 2>/dev/null | sort) || true
	lines_p=$("$FS_ROOT/d50/.blast/bin/python" -m pip check 2>/dev/null | sort) || true
	[[ $lines_b == "$lines_p" ]] || bench_die "pkg: blastctl check and pip check disagree on d50"
	PK_D50_LINES=$(printf '%s\n' "$lines_b" | grep -c . || true)
	PK_D50_DISTS=$("$FS_ROOT/d50/.blast/bin/python" -m pip list 2>/dev/null | tail -n +3 | wc -l)
	bench_interleave "$BENCH_RUNS" pk_check_blast pk_check_pip
	pk_ctl kill d50 >&2
}

# ---- check on a workload's real env ----------------------------------------

pk_real() {
	local w=$1 tree i t
	tree=$(bench_workload_tree "$w")
	bench_log "pkg: $w: import"
	pk_ctl import "real-$w" "$tree" >&2
	pk_ctl clean "real-$w" >&2
	lines_b=$(pk_ctl check "real-$w" --packages 2>/dev/null | sort) || true
	lines_p=$(/usr/bin/python3 -m pip --python "$tree/bin/python" check 2>/dev/null | sort) || true
	[[ $lines_b == "$lines_p" ]] ||
		bench_log "warning: pkg: $w: blastctl check and pip check differ"
	PK_REAL_DISTS[$w]=$(pk_ctl --json deps "real-$w" | "$BENCH_PY" -c 'import json,sys; print(len(json.load(sys.stdin)["distributions"]))')
	for ((i = 1; i <= BENCH_RUNS; i++)); do
		fs_time t "$FS_BLASTCTL" --home "$PK_H" check "real-$w" --packages >/dev/null 2>&1 || true
		bench_tsv "$w" check_s blastctl "$i" "$t" s
		fs_time t /usr/bin/python3 -m pip --python "$tree/bin/python" check >/dev/null 2>&1 || true
		bench_tsv "$w" check_s pip "$i" "$t" s
	done
}

# ---- install time with and without the live layer --------------------------

pk_install() { # RUN VARIANT ENVVAR
	local i=$1 v=$2 name="in-$2-$1" t c0 c1
	pk_ctl create "$name" --python /usr/bin/python3 >&2
	if [[ $v == on ]]; then pk_start "$name" "$FS_ROOT/$name"; else pk_start "$name" "$FS_ROOT/$name" BLASTFS_NO_PACKAGES=1; fi
	c0=$(fs_cpu "$FS_PID")
	fs_time t bash -c 'PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 "$1/.blast/bin/python" -m pip -q install --no-index --no-deps "$2"/pkgb_*.whl "$3" >&2' _ \
		"$FS_ROOT/$name" "$PK_WHEELS" "$PK_MANY"
	c1=$(fs_cpu "$FS_PID")
	bench_tsv install install_s "$v" "$i" "$t" s
	bench_tsv install install_cpu_s "$v" "$i" "$(bench_calc "$c1 - $c0")" s
	pk_ctl kill "$name" >&2
	pk_ctl destroy "$name" >&2
}
pk_install_on() { pk_install "$1" on; }
pk_install_off() { pk_install "$1" off; }

pk_ratio() { # WORKLOAD: median pip/blastctl per-run ratio
	fs_paired "$1" check_s pip blastctl | {
		mapfile -t r
		read -r med lo hi < <(bench_stats "${r[@]}")
		printf '%.0fx (%.0f–%.0f)' "$med" "$lo" "$hi"
	}
}

pk_report() {
	local w on off
	printf '`blastctl check` answers from the package state blastfs keeps current; `pip check` reads every distribution'"'"'s metadata. Both print the same lines (checked before timing). Wall time of the whole command, %s runs interleaved, median (min–max).\n\n' "$BENCH_RUNS"
	{
		printf 'mounted env, %s distributions (%s problem lines)\t%s\t%s\t%s\n' "$PK_D50_DISTS" "$PK_D50_LINES" \
			"$(bench_fmt_of 4 d50 check_s blastctl)" "$(bench_fmt_of 3 d50 check_s pip)" "$(pk_ratio d50)"
		for w in "$@"; do
			printf '%s real env, %s distributions (unmounted)\t%s\t%s\t%s\n' "$w" "${PK_REAL_DISTS[$w]}" \
				"$(bench_fmt_of 4 "$w" check_s blastctl)" "$(bench_fmt_of 3 "$w" check_s pip)" "$(pk_ratio "$w")"
		done
	} | bench_md_table env '>blastctl check (s)' '>pip check (s)' '>speed-up'
	printf '\nblastfs CPU (user+sys of the mounted env'"'"'s daemon) over each command on the mounted env: blastctl check %s s, pip check %s s (the real envs are unmounted: no daemon).\n' \
		"$(bench_fmt_of 3 d50 check_cpu_s blastctl)" "$(bench_fmt_of 3 d50 check_cpu_s pip)"
	printf '\nTarget: 100x faster than `pip check`.\n\n'
	for w in d50 "$@"; do
		fs_verdict "check on $w 100x faster" \
			"$(bench_calc "100 * $(bench_median_of "$w" check_s blastctl)")" "<=" \
			"$(bench_median_of "$w" check_s pip)" "$(pk_ratio "$w") faster"
	done
	on=$(bench_median_of install install_s on)
	off=$(bench_median_of install install_s off)
	printf '\n### pip install with and without the live package layer\n\n'
	printf '50 crafted wheels and blast-many (2000 modules) with `pip install --no-deps` into a fresh clone, blastfs with the package layer and with `BLASTFS_NO_PACKAGES=1`, interleaved.\n\n'
	printf 'with package layer\t%s\t%s\nwithout\t%s\t%s\noverhead\t%s %%\t\n' \
		"$(bench_fmt_of 2 install install_s on)" "$(bench_fmt_of 2 install install_cpu_s on)" \
		"$(bench_fmt_of 2 install install_s off)" "$(bench_fmt_of 2 install install_cpu_s off)" \
		"$(bench_calc "100 * ($on - $off) / $off")" |
		bench_md_table variant '>install (s)' '>blastfs CPU (s)'
}

suite_pkg() {
	local w
	bench_need fusermount3
	fs_suite_begin pkg
	PK_H=$FS_ROOT/home
	PK_WHEELS=$FS_ROOT/wheels
	"$BENCH_PY" "$BENCH_DIR/mkbenchwheels.py" "$PK_WHEELS" >/dev/null
	"$BENCH_PY" "$BENCH_REPO/tests/fixtures/mkwheels.py" --no-cext "$FS_ROOT/fixtures" >/dev/null
	PK_MANY=$(printf '%s\n' "$FS_ROOT"/fixtures/blast_many-*.whl | head -n 1)
	declare -gA PK_REAL_DISTS=()
	pk_d50
	for w in "$@"; do pk_real "$w"; done
	bench_interleave "$BENCH_RUNS" pk_install_on pk_install_off
	pk_report "$@"
}
