# SPDX-License-Identifier: MIT
# bench/lib.sh - helpers shared by bench/run, bench/workload.sh and the
# bench/suite-*.sh files: monotonic timing, repeated and interleaved (A B A B)
# runs, median/min/max, page-cache dropping, raw TSV rows, Markdown tables,
# and where to find the binaries. Source it; it defines functions only.
# shellcheck shell=bash

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(git -C "$BENCH_DIR" rev-parse --show-toplevel 2>/dev/null ||
	dirname "$BENCH_DIR")
BENCH_ROOT=${BLAST_BENCH_DIR:-/var/tmp/blast-bench}
BENCH_WORKLOADS=$BENCH_ROOT/workloads
BENCH_WORK=$BENCH_ROOT/work
BENCH_RESULTS=$BENCH_DIR/results
# The interpreter the workloads are built for. `python3` on PATH may be a
# pyenv shim or another version; the Debian packages belong to this one.
BENCH_PY=/usr/bin/python3
export BENCH_DIR BENCH_REPO BENCH_ROOT BENCH_WORKLOADS BENCH_WORK BENCH_RESULTS BENCH_PY
# Timed figures are taken without a background compactor at work (the
# footprint bench turns it on where it measures what it gives).
export BLAST_AUTO_COMPACT=0

bench_log() { printf 'bench: %s\n' "$*" >&2; }
bench_die() {
	printf 'bench: error: %s\n' "$*" >&2
	exit 1
}

# ---- binaries -------------------------------------------------------------

# bench_blastctl: prints the blastctl to use ($BLASTCTL, else the repo's
# build/ctl/blastctl) and fails with a clear message when it is not built.
bench_blastctl() {
	local b=${BLASTCTL:-$BENCH_REPO/build/ctl/blastctl}
	if [[ ! -x $b ]]; then
		printf 'bench: error: blastctl not found at %s (build it: meson setup build && meson compile -C build, or set BLASTCTL)\n' "$b" >&2
		return 1
	fi
	printf '%s\n' "$b"
}

# bench_pin_bin PATH: copies a binary into $BENCH_WORK/bin and prints the
# copy's path, so a rebuild while a suite runs (others work in the same
# tree) neither breaks the run nor mixes two builds in one table. Fails
# when the copy does not run `--version` (caught mid-link: try again).
bench_pin_bin() {
	local dst=$BENCH_WORK/bin/${1##*/} try
	mkdir -p "$BENCH_WORK/bin"
	for try in 1 2 3 4 5; do
		cp "$1" "$dst.tmp" && mv "$dst.tmp" "$dst" &&
			"$dst" --version >/dev/null 2>&1 && {
			printf '%s\n' "$dst"
			return 0
		}
		sleep "$try"
	done
	bench_log "error: $1 does not run (--version)"
	return 1
}

# bench_blastfs: same for the daemon (build/fs/blastfs or $BLASTFS).
bench_blastfs() {
	local b=${BLASTFS:-$BENCH_REPO/build/fs/blastfs}
	if [[ ! -x $b ]]; then
		printf 'bench: error: blastfs not found at %s (build it: meson setup build && meson compile -C build, or set BLASTFS)\n' "$b" >&2
		return 1
	fi
	printf '%s\n' "$b"
}

# bench_need CMD...: fails naming the first missing command.
bench_need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			{ bench_log "error: '$c' not found (bench/workload.sh installs the tools)"; return 1; }
	done
}

# ---- timing ---------------------------------------------------------------

# bench_time VAR CMD [ARG...]: runs CMD (an executable, not a shell
# function: wrap those in `bash -c`), stdout and stderr passed through, and
# sets VAR to its wall time in seconds from CLOCK_MONOTONIC, measured around
# fork+exec+wait only (the timer's own start-up is outside the interval).
# BENCH_USER and BENCH_SYS get the child's CPU seconds. Returns CMD's status;
# a CMD still running after $BENCH_TIMEOUT seconds (default 1800) is killed
# and 124 returned, so a hang fails the suite instead of the whole run.
# The child is reaped by a blocking wait() and the timeout is a watchdog
# thread: subprocess.call(timeout=...) polls with sleeps growing to 50 ms,
# which rounded every time above ~60 ms up to the next 0.063 + k * 0.05 s.
bench_time() {
	local __var=$1 __out __rc=0
	shift
	__out=$(mktemp "${TMPDIR:-/tmp}/bench-time.XXXXXX")
	"$BENCH_PY" -c '
import os, resource, subprocess, sys, threading, time
limit = float(os.environ.get("BENCH_TIMEOUT") or 1800)
box, killed, done = [], [], threading.Event()
def watchdog():
    if not done.wait(limit) and box:
        killed.append(1)
        box[0].kill()
threading.Thread(target=watchdog, daemon=True).start()
t0 = time.monotonic()
try:
    p = subprocess.Popen(sys.argv[2:])
except OSError as e:
    print("bench: cannot run %s: %s" % (sys.argv[2], e.strerror), file=sys.stderr)
    rc = 127
else:
    box.append(p)
    rc = p.wait()
t = time.monotonic() - t0
done.set()
if killed:
    print("bench: %s: killed after %g s (BENCH_TIMEOUT)" % (" ".join(sys.argv[2:]), limit),
          file=sys.stderr)
    rc = 124
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as f:
    f.write("%.6f %.6f %.6f\n" % (t, ru.ru_utime, ru.ru_stime))
sys.exit(rc if rc >= 0 else 128 - rc)
' "$__out" "$@" || __rc=$?
	local __bt_t __bt_u __bt_s
	read -r __bt_t __bt_u __bt_s <"$__out" || true
	rm -f "$__out"
	printf -v "$__var" '%s' "${__bt_t:-nan}"
	export BENCH_USER=${__bt_u:-nan} BENCH_SYS=${__bt_s:-nan}
	return "$__rc"
}

# bench_now: a CLOCK_MONOTONIC reading in seconds (costs a python start-up:
# use bench_time for anything short).
bench_now() { "$BENCH_PY" -c 'import time; print("%.6f" % time.monotonic())'; }

# bench_repeat N FN [ARG...]: calls `FN RUN ARG...` for RUN = 1..N.
bench_repeat() {
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do "$@" "$i"; done
}

# bench_interleave N FN_A FN_B [FN...]: for RUN = 1..N calls FN_A RUN,
# FN_B RUN, ... in turn (A B A B), so drift on a shared machine hits every
# variant alike. Each FN records its own numbers (bench_tsv).
bench_interleave() {
	local n=$1 i f
	shift
	for ((i = 1; i <= n; i++)); do
		for f in "$@"; do "$f" "$i"; done
	done
}

# bench_drop_caches: sync, then drop page cache, dentries and inodes.
# Returns 1 (with a message) where /proc/sys/vm/drop_caches is not writable.
bench_drop_caches() {
	sync
	if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		bench_log "warning: cannot drop caches (need root): cold runs are not cold"
		return 1
	fi
}

# ---- statistics -----------------------------------------------------------

# bench_stats V...: prints "median min max" of the numbers given ("nan"
# and empty values are ignored; all three are "nan" when none is left).
bench_stats() {
	printf '%s\n' "$@" | awk '
		$1 != "" && $1 != "nan" { v[n++] = $1 + 0 }
		END {
			if (n == 0) { print "nan nan nan"; exit }
			for (i = 1; i < n; i++) {   # insertion sort: n is small
				x = v[i]
				for (j = i - 1; j >= 0 && v[j] > x; j--) v[j + 1] = v[j]
				v[j + 1] = x
			}
			m = (n % 2) ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			printf "%.9g %.9g %.9g\n", m, v[0], v[n - 1]
		}'
}

# bench_fmt PREC V...: "median (min-max)" with PREC decimals; just the
# median when min and max print the same.
bench_fmt() {
	local prec=$1 med lo hi
	shift
	read -r med lo hi < <(bench_stats "$@")
	if [[ $med == nan ]]; then
		printf 'n/a'
		return 0
	fi
	printf -v med "%.${prec}f" "$med"
	printf -v lo "%.${prec}f" "$lo"
	printf -v hi "%.${prec}f" "$hi"
	if [[ $lo == "$hi" ]]; then
		printf '%s' "$med"
	else
		printf '%s (%s–%s)' "$med" "$lo" "$hi"
	fi
}

# bench_calc EXPR: floating-point arithmetic (awk), printed with %.6g;
# "nan" when EXPR mentions nan or is empty (a figure that was not measured).
bench_calc() {
	if [[ -z $1 || $1 == *nan* ]]; then
		echo nan
		return 0
	fi
	awk "BEGIN { x = $1; printf \"%.6g\n\", x }"
}

# ---- raw results (TSV) ----------------------------------------------------

export BENCH_TSV_HEADER=$'suite\tworkload\tmetric\tvariant\trun\tvalue\tunit'

# bench_tsv WORKLOAD METRIC VARIANT RUN VALUE UNIT: appends one raw figure
# to $BENCH_TSV (the running suite's file); BENCH_SUITE names the suite.
bench_tsv() {
	: "${BENCH_TSV:?bench_tsv: BENCH_TSV not set}"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${BENCH_SUITE:-?}" "$@" >>"$BENCH_TSV"
}

# bench_values WORKLOAD METRIC VARIANT: prints the recorded values, one per
# argument-friendly line, in run order.
bench_values() {
	awk -F'\t' -v w="$1" -v m="$2" -v v="$3" \
		'$2 == w && $3 == m && $4 == v { print $6 }' "$BENCH_TSV"
}

# bench_fmt_of PREC WORKLOAD METRIC VARIANT: bench_fmt of recorded values.
bench_fmt_of() {
	local prec=$1 vals
	shift
	mapfile -t vals < <(bench_values "$@")
	bench_fmt "$prec" "${vals[@]}"
}

# bench_median_of WORKLOAD METRIC VARIANT: the median of recorded values.
bench_median_of() {
	local vals med _lo _hi
	mapfile -t vals < <(bench_values "$@")
	read -r med _lo _hi < <(bench_stats "${vals[@]}")
	printf '%s\n' "$med"
}

# ---- Markdown ---------------------------------------------------------------

# bench_md_table COL...: prints a Markdown table with those column headers
# and one row per tab-separated line of stdin. A column header starting
# with '>' is right-aligned (the '>' is dropped).
bench_md_table() {
	local c head='|' rule='|'
	for c in "$@"; do
		if [[ $c == '>'* ]]; then
			head+=" ${c#>} |"
			rule+='---:|'
		else
			head+=" $c |"
			rule+='---|'
		fi
	done
	printf '%s\n%s\n' "$head" "$rule"
	awk -F'\t' '{ s = "|"; for (i = 1; i <= NF; i++) s = s " " $i " |"; print s }'
}

# bench_machine: one Markdown line per machine fact.
bench_machine() {
	local cpu mem fs
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	fs=$(df -T "$BENCH_ROOT" 2>/dev/null | awk 'NR == 2 { print $2 " (" $1 ")" }')
	printf -- '- machine: %s CPUs (nproc), %s, %s\n' "$(nproc)" "${cpu:-unknown CPU}" "$mem"
	printf -- '- kernel: %s; OS: %s\n' "$(uname -r)" \
		"$(. /etc/os-release 2>/dev/null && printf '%s' "${PRETTY_NAME:-?}")"
	# shellcheck disable=SC2016 # the backquotes are Markdown
	printf -- '- workload dir: `%s` on %s\n' "$BENCH_ROOT" "${fs:-?}"
	local load
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	printf -- '- load average at the start: %s' "$load"
	if awk -v l="${load%% *}" -v n="$(nproc)" 'BEGIN { exit !(l + 0 > n + 0) }'; then
		printf ' — **busier than its %s CPUs: timings are not reliable**\n' "$(nproc)"
	else
		printf ' (other work may share the machine)\n'
	fi
	printf -- '- python: %s\n' "$("$BENCH_PY" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null) ($BENCH_PY)"
}

# ---- trees ------------------------------------------------------------------

# bench_tree_stats DIR: prints "files bytes" - regular files and the sum of
# their sizes (apparent bytes; symlinks and directories not counted).
bench_tree_stats() {
	find "$1" -type f -printf '%s\n' | awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }'
}

# bench_du DIR_OR_FILE: allocated bytes on disk.
bench_du() { du -s --block-size=1 "$1" | awk '{ print $1 }'; }

# bench_size FILE: apparent size in bytes.
bench_size() { stat -c %s "$1"; }

# bench_warm DIR: reads every file once, so a suite starts page-cache warm.
bench_warm() {
	tar -C "$1" -cf - . | cat >/dev/null
}

# bench_workload_tree NAME: the venv-shaped tree of workload NAME (built by
# bench/workload.sh), and bench_workload_sp NAME its site-packages.
bench_workload_tree() { printf '%s\n' "$BENCH_WORKLOADS/$1/env"; }
bench_workload_sp() {
	local d
	for d in "$BENCH_WORKLOADS/$1"/env/lib/python3*/site-packages; do
		printf '%s\n' "$d"
		return 0
	done
	return 1
}

# bench_workload_imports NAME: the modules a workload must import (the
# import suite times exactly these).
bench_workload_imports() {
	case $1 in
	small) echo 'requests jinja2 yaml dateutil pytz packaging mpmath' ;;
	mid) echo 'numpy pandas' ;;
	large) echo 'numpy scipy pandas matplotlib sympy requests jinja2 yaml' ;;
	*) return 1 ;;
	esac
}

# Before/after scripts (fs-before-after.sh, xattr-before-after.sh):
# bench_ba_init USAGE OLD_BUILD [NEW_BUILD] sets B[old], B[new] (NEW_BUILD
# defaults to this checkout's build/), T (the large workload's tree) and
# W (a work dir removed at exit, old/mnt and new/mnt unmounted first).
bench_ba_init() {
	local usage=$1
	shift
	[[ $# -ge 1 ]] || bench_die "usage: $usage"
	declare -gA B=([old]=$1 [new]=${2:-$BENCH_REPO/build})
	T=$(bench_workload_tree large)
	[[ -d $T ]] || bench_die "no large workload: run bench/workload.sh large"
	W=$(mktemp -d /var/tmp/blast-bench-ba.XXXXXX)
	trap _bench_ba_cleanup EXIT
}
_bench_ba_cleanup() {
	local v
	for v in old new; do
		if mountpoint -q "$W/$v/mnt"; then fusermount3 -u "$W/$v/mnt" || true; fi
	done
	rm -rf -- "$W"
}
# bench_secs CMD...: the seconds CMD takes (its output dropped).
bench_secs() {
	local s e
	s=$(bench_now)
	"$@" >/dev/null 2>&1
	e=$(bench_now)
	bench_calc "$e - $s"
}
# bench_ba_stat_walk MNT, bench_ba_py_import MNT: the before/after scripts'
# stat walk of a mount and python import of the large workload's packages
# from it.
bench_ba_stat_walk() { find "$1" -printf '%s\n' | wc -l; }
bench_ba_py_import() {
	MPLCONFIGDIR=$W/mpl PYTHONDONTWRITEBYTECODE=1 "$BENCH_PY" -c \
		"import sys; sys.path.insert(0, '$1/lib/python3.11/site-packages'); import numpy, scipy, pandas, matplotlib, sympy"
}
