# SPDX-License-Identifier: MIT
# bench/fs-lib.sh - helpers of bench/suite-fs.sh: mounting the variants
# (kernel overlayfs, fuse-overlayfs, squashfuse, blastfs), unmounting them and waiting
# for their daemons, daemon CPU from /proc/PID/stat, and the cleanup that
# the suite's EXIT trap runs so that no mount or daemon outlives a run, even
# a failed or interrupted one. Sourced by suite-fs.sh; functions only.
# shellcheck shell=bash
# shellcheck disable=SC2034,SC2153 # globals used by suite-fs.sh; BENCH_* from lib.sh

FS_ROOT=""     # the suite's scratch dir ($BENCH_WORK/fs); every mount is under it
FS_STATE=""    # $FS_ROOT/state: one line per mount ("mnt KIND PATH") or daemon ("pid NAME PID")
FS_BLASTCTL="" # pinned copies of the binaries
FS_BLASTFS=""
FS_PID=""      # set by the fs_mount_* functions: the daemon serving the new mount
FS_TICK=$(getconf CLK_TCK)

# fs_pin SRC: copies a binary into $FS_ROOT/bin (a rebuild by someone else
# during the run neither breaks it nor mixes two builds) and prints the copy.
# blastctl finds blastfs next to itself, so both are pinned side by side.
fs_pin() {
	local dst=$FS_ROOT/bin/${1##*/}
	mkdir -p "$FS_ROOT/bin"
	cp "$1" "$dst.tmp"
	mv "$dst.tmp" "$dst"
	printf '%s\n' "$dst"
}

# fs_time VAR CMD [ARG...]: lib.sh's bench_time (it reaps the child with a
# blocking wait now; it used to poll and round times up to ~50 ms steps).
fs_time() {
	bench_time "$@"
}

fs_mounted() { # PATH: is PATH a mountpoint now (/proc/self/mounts)
	awk -v m="$1" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts
}

fs_alive() { # PID: the process exists and is not a zombie
	local st
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[[ -n $st && $st != Z ]]
}

# fs_cpu PID: user+sys CPU seconds of the process (all its threads) so far,
# from /proc/PID/stat fields 14 and 15; "nan" when it is gone.
fs_cpu() {
	local f
	f=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo nan; return 0; }
	# After "PID (comm) ", field 3 is the first: 14 and 15 are $12 and $13.
	awk -v t="$FS_TICK" '{ printf "%.3f\n", ($12 + $13) / t }' <<<"$f"
}

fs_wait_gone() { # PID [SECONDS]: waits for the process to exit (default 120 s)
	local pid=$1 n=$((${2:-120} * 100))
	while fs_alive "$pid"; do
		((n-- > 0)) || { bench_log "error: pid $pid still alive"; return 1; }
		sleep 0.01
	done
}

# The unmount command the write test times: unmount a FUSE mount and wait
# for its daemon to exit (what a user waits for before the data is safe).
# shellcheck disable=SC2016 # expanded by the bash that runs it
FS_FUSE_UMOUNT='fusermount3 -u "$1" || exit 1
while [ -e "/proc/$2/stat" ] && ! grep -q "^[0-9]* ([^)]*) Z" "/proc/$2/stat" 2>/dev/null; do
	sleep 0.002
done'

fs_note_mount() { printf 'mnt %s %s\n' "$1" "$2" >>"$FS_STATE"; }
fs_note_pid() { printf 'pid %s %s\n' "$1" "$2" >>"$FS_STATE"; }

# fs_mount_overlay LOWER UPPER WORK MNT: kernel overlayfs.
fs_mount_overlay() {
	mkdir -p "$2" "$3" "$4"
	fs_note_mount overlay "$4"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
	FS_PID=""
}

# _fs_mount_fuse LABEL MNT CMD...: run CMD, a FUSE daemon that daemonizes
# once mounted on MNT; FS_PID is its daemon, found by its exact command
# line.
_fs_mount_fuse() {
	local label=$1 mnt=$2 err pids
	shift 2
	fs_note_mount fuse "$mnt"
	err=$("$@" 2>&1) || {
		bench_log "error: $label $mnt: $err"
		return 1
	}
	mapfile -t pids < <(pgrep -x -f "$*")
	[[ ${#pids[@]} -eq 1 ]] || {
		bench_log "error: cannot tell the $label daemon of $mnt (${pids[*]:-none})"
		return 1
	}
	FS_PID=${pids[0]}
	fs_note_pid "$label" "$FS_PID"
}

# fs_mount_fovl LOWER UPPER WORK MNT: fuse-overlayfs.
fs_mount_fovl() {
	mkdir -p "$2" "$3" "$4"
	_fs_mount_fuse fuse-overlayfs "$4" fuse-overlayfs -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4"
}

# fs_mount_sqfs IMG MNT: squashfuse serving a squashfs image read-only.
fs_mount_sqfs() {
	mkdir -p "$2"
	_fs_mount_fuse squashfuse "$2" squashfuse "$1" "$2"
}

# fs_mount_blast HOME NAME MNT [BLASTFS OPTION...]: blastfs (returns once
# mounted); FS_PID from HOME/run/NAME.info.
fs_mount_blast() {
	local home=$1 name=$2 mnt=$3
	shift 3
	mkdir -p "$mnt"
	fs_note_mount fuse "$mnt"
	"$FS_BLASTFS" --home "$home" "$@" "$name" "$mnt" >&2
	fs_blast_pid "$home" "$name"
}

fs_blast_pid() { # HOME NAME: FS_PID from the env's info file
	FS_PID=$(sed -n 's/^pid=//p' "$1/run/$2.info")
	[[ $FS_PID =~ ^[0-9]+$ ]] || { bench_log "error: no pid in $1/run/$2.info"; return 1; }
	fs_note_pid blastfs "$FS_PID"
}

# fs_umount_fuse MNT PID: unmount, wait for the daemon to exit.
fs_umount_fuse() {
	fusermount3 -u "$1"
	fs_wait_gone "$2"
}

# fs_unmount_all: unmounts every mount under $FS_ROOT (the ones noted and
# any other, e.g. one `blastctl create` left behind), newest first; then
# waits for each daemon noted, and kills (TERM, then KILL) one that is still
# there after 20 s, if it is still the program we started. Returns 1 when
# something could not be unmounted.
fs_unmount_all() {
	local kind what path rc=0 m pid name
	[[ -n $FS_STATE && -f $FS_STATE ]] || return 0
	# Noted mounts, newest first, then anything else below FS_ROOT
	# (deepest first).
	{
		tac "$FS_STATE" | awk '$1 == "mnt" { print $3 }'
		awk -v r="$FS_ROOT/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts | sort -r
	} | awk '!seen[$0]++' | while IFS= read -r m; do
		fs_mounted "$m" || continue
		kind=$(awk -v m="$m" '$2 == m { print $3 }' /proc/self/mounts | tail -n 1)
		if [[ $kind == fuse* ]]; then
			fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" || true
		else
			umount "$m" 2>/dev/null || umount -l "$m" || true
		fi
	done
	while read -r what name pid; do
		[[ $what == pid ]] || continue
		local n=2000
		while fs_alive "$pid" && ((n-- > 0)); do sleep 0.01; done
		fs_alive "$pid" || continue
		# Only the program we started: same name, and our scratch dir
		# (its mountpoint or home) on its command line.
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || continue
		tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$FS_ROOT/" || continue
		bench_log "warning: $name (pid $pid) still running after its unmount: killing it"
		kill -TERM "$pid" 2>/dev/null || true
		n=500
		while fs_alive "$pid" && ((n-- > 0)); do sleep 0.01; done
		fs_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	done <"$FS_STATE"
	while IFS= read -r path; do
		bench_log "error: still mounted: $path"
		rc=1
	done < <(awk -v r="$FS_ROOT/" 'index($2, r) == 1 { print $2 }' /proc/self/mounts)
	return "$rc"
}

# fs_cleanup: the EXIT trap of the suite: every mount and daemon goes.
fs_cleanup() {
	local rc=$?
	set +e
	trap - EXIT INT TERM
	fs_unmount_all
	return "$rc"
}

# fs_rm DIR: removes a scratch dir, refusing while anything below it is
# mounted (rm -rf would delete through the mount).
fs_rm() {
	if awk -v r="$1/" 'index($2 "/", r) == 1 { f = 1 } END { exit !f }' /proc/self/mounts; then
		bench_log "error: refusing to remove $1: something below it is mounted"
		return 1
	fi
	rm -rf "$1"
}

# fs_paired WORKLOAD METRIC VARIANT_A VARIANT_B: A/B per run, one a line.
fs_paired() {
	awk -F'\t' -v w="$1" -v m="$2" -v a="$3" -v b="$4" '
		$2 == w && $3 == m && $4 == a { va[$5] = $6 }
		$2 == w && $3 == m && $4 == b { vb[$5] = $6 }
		END {
			for (r in va)
				if ((r in vb) && va[r] != "nan" && vb[r] != "nan" && vb[r] > 0)
					printf "%.6g\n", va[r] / vb[r]
		}' "$BENCH_TSV"
}

# fs_ratio_fmt WORKLOAD METRIC VARIANT BASE: "median (min-max)" of the
# per-run ratios VARIANT/BASE, "x" appended; empty when not measured.
fs_ratio_fmt() {
	local r
	mapfile -t r < <(fs_paired "$@")
	[[ ${#r[@]} -gt 0 ]] || return 0
	printf '%sx' "$(bench_fmt 2 "${r[@]}")"
}

fs_ratio_med() { # WORKLOAD METRIC VARIANT BASE: median per-run ratio ("nan")
	local r m _a _b
	mapfile -t r < <(fs_paired "$@")
	read -r m _a _b < <(bench_stats "${r[@]}")
	printf '%s\n' "$m"
}

# fs_cell PREC WORKLOAD METRIC VARIANT: bench_fmt_of, or empty if no value.
fs_cell() {
	[[ -n $(bench_values "$2" "$3" "$4") ]] || return 0
	bench_fmt_of "$@"
}

fs_verdict() { # TEXT A OP B DETAIL: "- TEXT: **met**/**MISSED** (DETAIL)"
	local v
	v=$(awk -v a="$2" -v b="$4" -v op="$3" 'BEGIN {
		if (a == "nan" || b == "nan" || a == "" || b == "") { print "not measured"; exit }
		ok = (op == "<") ? (a + 0 < b + 0) : (a + 0 <= b + 0)
		print ok ? "met" : "MISSED" }')
	printf -- '- %s: **%s** (%s)\n' "$1" "$v" "$5"
}

# fs_suite_begin NAME: what every mounting suite does first: require root,
# a scratch root $BENCH_WORK/NAME with its mount state file, leftovers of an
# interrupted run unmounted and removed, cleanup traps, and pinned copies of
# blastctl and blastfs (FS_BLASTCTL, FS_BLASTFS, their sources in *_SRC;
# BLASTFS exported).
fs_suite_begin() {
	[[ $(id -u) -eq 0 ]] || bench_die "the $1 suite needs root (FUSE mounts)"
	FS_BLASTCTL_SRC=$(bench_blastctl)
	FS_BLASTFS_SRC=$(bench_blastfs)
	FS_ROOT=$BENCH_WORK/$1
	FS_STATE=$FS_ROOT/state
	mkdir -p "$FS_ROOT"
	touch "$FS_STATE"
	# Leftovers of an interrupted run: unmount them, then start clean.
	fs_unmount_all
	trap fs_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	find "$FS_ROOT" -mindepth 1 -maxdepth 1 ! -name state -exec rm -rf {} +
	: >"$FS_STATE"
	FS_BLASTCTL=$(fs_pin "$FS_BLASTCTL_SRC")
	FS_BLASTFS=$(fs_pin "$FS_BLASTFS_SRC")
	export BLASTFS=$FS_BLASTFS
}
