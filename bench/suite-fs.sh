# SPDX-License-Identifier: MIT
# bench/suite-fs.sh - the filesystem benchmark of issue 3 (and the import,
# metadata, read and write parts of issue 8): each workload tree served five
# ways - the native directory, kernel overlayfs and fuse-overlayfs (lower =
# the tree, empty upper), squashfuse (read-only, a squashfs-zstd image of the
# tree) and blastfs (the tree imported into a fresh store) - timed run by run
# interleaved (A B C D E A B C D E): the workload's imports warm
# and cold, a `find -type f` and a stat of every entry warm and cold, reading
# every byte warm and cold, `cp -a` of the tree into an empty mount with its
# unmount and a sync; blastfs with --threads 1 beside the default on the cold
# import; then an offline pip install of the fixture wheels into a native
# venv and into a `blastctl start`ed env, and `blastctl create` (first and
# second) against `python3 -m venv`. The daemons' CPU (blastfs,
# fuse-overlayfs and squashfuse, from /proc/PID/stat) is recorded over each
# timed run.
# Needs root (mount, drop_caches). Sourced by bench/run.
# shellcheck shell=bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown

# shellcheck source=bench/fs-lib.sh
. "$BENCH_DIR/fs-lib.sh"

# The variants of the read-side figures, in table order.
FS_VARIANTS=(native ovl fovl sqfs blast blast-c blast-t1 blast-s0)
declare -A FS_LABEL=([native]='native' [ovl]='kernel overlayfs' [fovl]='fuse-overlayfs'
	[sqfs]='squashfuse' [blast]='blastfs' [blast-c]='blastfs, compacted'
	[blast-t1]='blastfs --threads 1' [blast-s0]='blastfs --spin-us 0')

# Per workload, set by fs_workload.
FS_W=""        # workload name
FS_T=""        # its tree
FS_S=""        # its scratch dir
FS_FILES=0     # regular files in the tree
FS_BYTES=0     # their apparent bytes
FS_IMPORTS=""  # the python -c statement timed
declare -A FS_MNT=()  # variant -> mountpoint (native: the tree itself)
declare -A FS_DPID=() # variant -> daemon pid (fovl, sqfs, blast, blast-c, blast-t1, blast-s0)
FS_MPL=""      # MPLCONFIGDIR (outside every variant, the same for all)

# fs_imports WORKLOAD: the modules whose import is timed. On the large
# workload exactly issue 3's `import numpy, scipy, pandas, matplotlib,
# sympy`; the smaller workloads do not hold those, so the modules the
# workload script checks (bench_workload_imports).
fs_imports() {
	local m
	if [[ $1 == large ]]; then
		m='numpy scipy pandas matplotlib sympy'
	else
		m=$(bench_workload_imports "$1")
	fi
	printf 'import %s\n' "${m// /, }"
}

# ---- mounting the read-side variants ----------------------------------------

fs_mount_variant() { # VARIANT
	local v=$1 m=${FS_MNT[$1]}
	case $v in
	native) return 0 ;;
	ovl) fs_mount_overlay "$FS_T" "$FS_S/ovl/upper" "$FS_S/ovl/work" "$m" ;;
	fovl) fs_mount_fovl "$FS_T" "$FS_S/fovl/upper" "$FS_S/fovl/work" "$m" ;;
	sqfs) fs_mount_sqfs "$FS_S/tree.sqfs" "$m" ;;
	blast) fs_mount_blast "$FS_S/home" w "$m" ;;
	blast-c) fs_mount_blast "$FS_S/home-c" w "$m" ;;
	blast-t1) fs_mount_blast "$FS_S/home" wt1 "$m" --threads 1 ;;
	blast-s0) fs_mount_blast "$FS_S/home" ws0 "$m" --spin-us 0 ;;
	esac
	FS_DPID[$v]=$FS_PID
}

fs_umount_variant() { # VARIANT
	local v=$1 m=${FS_MNT[$1]}
	case $v in
	native) return 0 ;;
	ovl) umount "$m" ;;
	*) fs_umount_fuse "$m" "${FS_DPID[$v]}" ;;
	esac
	FS_DPID[$v]=""
}

# fs_cold VARIANT: unmount (the daemon exits), drop the page cache,
# dentries and inodes, mount again (a fresh daemon), the mount timed.
fs_cold() {
	local v=$1 t
	fs_umount_variant "$v"
	bench_drop_caches
	[[ $v == native ]] && return 0
	local t0 t1
	t0=$(date +%s.%N)
	fs_mount_variant "$v"
	t1=$(date +%s.%N)
	# The mount commands are shell functions (fs_time runs executables
	# only): wall time from date, which is good to the ms this needs.
	t=$(bench_calc "$t1 - $t0")
	bench_tsv "$FS_W" mount_s "$v" "$FS_RUN" "$t" s
}

# ---- the timed read-side commands ---------------------------------------------

fs_tsv() { # like bench_tsv, but run 0 (an untimed warm-up) is not recorded
	[[ $4 == 0 ]] || bench_tsv "$@"
}

# FUSE requests that reach the daemon, by type (the profile of where a
# figure's time goes): counted by blastfs, read through `blastctl status`.
FS_REQS=(lookup getattr open ioctl read opendir readdir releasedir release)
fs_reqs() { # HOME ENV -> the FS_REQS counters, space-separated
	"$FS_BLASTCTL" --home "$1" status "$2" --json 2>/dev/null | "$BENCH_PY" -c '
import json, sys
r = json.load(sys.stdin).get("requests", {})
print(" ".join(str(r.get(k, "nan")) for k in sys.argv[1:]))' "${FS_REQS[@]}" ||
		echo nan
}

# fs_measure FIGURE VARIANT RUN: times FIGURE on the variant as it is now
# (warm or cold is the caller's business) and records FIGURE_s, the
# daemon's CPU over the run, and the figure's sanity count (files, entries,
# tar bytes) so that variants that saw different trees stand out.
fs_measure() {
	local fig=$1 v=$2 i=$3 root=${FS_MNT[$2]} out=$FS_S/out t c0=nan c1=nan pid=${FS_DPID[$2]:-}
	[[ -n $pid ]] && c0=$(fs_cpu "$pid")
	local r0=() r1=() k
	[[ $v == blast ]] && read -r -a r0 < <(fs_reqs "$FS_S/home" w)
	case ${fig%_*} in
	import)
		fs_time t env -u PYTHONPATH -u PYTHONHOME PYTHONDONTWRITEBYTECODE=1 \
			MPLCONFIGDIR="$FS_MPL" "$root/bin/python" -c "$FS_IMPORTS" >&2
		;;
	find)
		fs_time t bash -c 'find "$1" -type f | wc -l >"$2"' _ "$root" "$out"
		fs_tsv "$FS_W" "${fig}_count" "$v" "$i" "$(cat "$out")" files
		;;
	stat)
		fs_time t bash -c 'find "$1" -printf "%s\n" | wc -l >"$2"' _ "$root" "$out"
		fs_tsv "$FS_W" "${fig}_count" "$v" "$i" "$(cat "$out")" entries
		;;
	read)
		fs_time t bash -c 'tar -cf - -C "$1" . | wc -c >"$2"' _ "$root" "$out"
		fs_tsv "$FS_W" "${fig}_count" "$v" "$i" "$(cat "$out")" B
		fs_tsv "$FS_W" "${fig}_MBps" "$v" "$i" "$(bench_calc "$FS_BYTES / $t / 1e6")" MB/s
		;;
	esac
	fs_tsv "$FS_W" "${fig}_s" "$v" "$i" "$t" s
	if [[ $v == blast && ${#r0[@]} -eq ${#FS_REQS[@]} ]]; then
		read -r -a r1 < <(fs_reqs "$FS_S/home" w)
		for k in "${!FS_REQS[@]}"; do
			[[ ${r1[k]:-nan} != nan && ${r0[k]} != nan ]] &&
				fs_tsv "$FS_W" "${fig}_req_${FS_REQS[k]}" blast "$i" "$((r1[k] - r0[k]))" requests
		done
	fi
	if [[ -n $pid ]]; then
		c1=$(fs_cpu "$pid")
		fs_tsv "$FS_W" "${fig}_cpu_s" "$v" "$i" "$(bench_calc "$c1 - $c0")" s
	fi
}

# Interleaved drivers: bench_interleave calls FN RUN; the figure and the
# variant list come from these globals.
FS_FIG="" FS_RUN=0
FS_VLIST=()
fs_warm_run() {
	local v
	FS_RUN=$1
	for v in "${FS_VLIST[@]}"; do fs_measure "$FS_FIG" "$v" "$1"; done
}
fs_cold_run() {
	local v
	FS_RUN=$1
	for v in "${FS_VLIST[@]}"; do
		fs_cold "$v"
		fs_measure "$FS_FIG" "$v" "$1"
	done
}

# ---- write: cp -a into an empty mount ----------------------------------------

# fs_write VARIANT RUN: cp -a of the tree into an empty mount of the
# variant (native: an empty dir), then its unmount (native: none), then a
# sync, each timed; the copies stay until the workload is done (DESIGN.md:
# creating many files soon after deleting many is slow on this ext4).
fs_write() {
	local v=$1 i=$2 d=$FS_S/write/$1-$2 mnt t_cp t_um=0 t_sy c0=nan c1=nan pid=""
	mkdir -p "$d"
	case $v in
	native) mnt=$d/dst && mkdir -p "$mnt" ;;
	ovl) mnt=$d/mnt && fs_mount_overlay "$FS_S/empty" "$d/upper" "$d/work" "$mnt" ;;
	fovl) mnt=$d/mnt && fs_mount_fovl "$FS_S/empty" "$d/upper" "$d/work" "$mnt" && pid=$FS_PID ;;
	blast)
		mnt=$d/mnt
		"$FS_BLASTCTL" --home "$d/home" import empty "$FS_S/empty" --python "$BENCH_PY" >&2
		fs_mount_blast "$d/home" empty "$mnt"
		pid=$FS_PID
		;;
	esac
	sync
	[[ -n $pid ]] && c0=$(fs_cpu "$pid")
	fs_time t_cp cp -a "$FS_T" "$mnt/" >&2
	[[ -n $pid ]] && c1=$(fs_cpu "$pid")
	case $v in
	ovl) fs_time t_um umount "$mnt" ;;
	fovl) fs_time t_um bash -c "$FS_FUSE_UMOUNT" _ "$mnt" "$pid" ;;
	# blastctl kill: waits for the sealing backlog, syncs the store,
	# unmounts and waits for blastfs to exit.
	blast) fs_time t_um "$FS_BLASTCTL" --home "$d/home" kill empty >&2 ;;
	esac
	fs_time t_sy sync
	bench_tsv "$FS_W" write_cp_s "$v" "$i" "$t_cp" s
	bench_tsv "$FS_W" write_umount_s "$v" "$i" "$t_um" s
	bench_tsv "$FS_W" write_sync_s "$v" "$i" "$t_sy" s
	bench_tsv "$FS_W" write_s "$v" "$i" "$(bench_calc "$t_cp + $t_um + $t_sy")" s
	bench_tsv "$FS_W" write_MBps "$v" "$i" "$(bench_calc "$FS_BYTES / ($t_cp + $t_um + $t_sy) / 1e6")" MB/s
	[[ -n $pid ]] && bench_tsv "$FS_W" write_cpu_s "$v" "$i" "$(bench_calc "$c1 - $c0")" s
	# What arrived: regular files in the env after the unmount.
	local n=nan
	case $v in
	native) n=$(find "$mnt" -type f | wc -l) ;;
	ovl | fovl) n=$(find "$d/upper" -type f ! -name '.wh.*' | wc -l) ;; # not the opaque-dir markers
	blast)
		n=$("$FS_BLASTCTL" --home "$d/home" list --json | "$BENCH_PY" -c '
import json, sys
print(next((e.get("files", "nan") for e in json.load(sys.stdin).get("envs", [])
            if e.get("name") == "empty"), "nan"))')
		;;
	esac
	bench_tsv "$FS_W" write_count "$v" "$i" "$n" files
}
fs_write_run() {
	local v
	for v in native ovl fovl blast; do fs_write "$v" "$1"; done
}

# ---- one workload -------------------------------------------------------------

fs_workload() {
	local v f
	FS_W=$1
	FS_T=$(bench_workload_tree "$1")
	FS_S=$FS_ROOT/$1
	[[ -d $FS_T ]] || bench_die "workload '$1' not built (bench/workload.sh $1)"
	fs_rm "$FS_S"
	mkdir -p "$FS_S/empty" "$FS_S/m"
	read -r FS_FILES FS_BYTES < <(bench_tree_stats "$FS_T")
	FS_IMPORTS=$(fs_imports "$1")
	bench_tsv "$FS_W" tree_files tree 0 "$FS_FILES" files
	bench_tsv "$FS_W" tree_B tree 0 "$FS_BYTES" B
	bench_log "fs: $1: $FS_FILES files, $FS_BYTES bytes; timing: $FS_IMPORTS"

	# blastfs serves the tree from a fresh store: imported as `w`, and
	# again as `wt1` for the --threads 1 mount (a second mount of one env
	# is refused; the second import shares every blob).
	"$FS_BLASTCTL" --home "$FS_S/home" import w "$FS_T" >&2
	"$FS_BLASTCTL" --home "$FS_S/home" import wt1 "$FS_T" >&2
	# ... and as `ws0` for the mount without the request loop's spin.
	"$FS_BLASTCTL" --home "$FS_S/home" import ws0 "$FS_T" >&2
	# blast-c: the same tree in a store that `blastctl compact` packed and
	# recompressed (how reads fare from packs).
	"$FS_BLASTCTL" --home "$FS_S/home-c" import w "$FS_T" >&2
	"$FS_BLASTCTL" --home "$FS_S/home-c" compact >&2
	# squashfuse serves a squashfs-zstd image of the tree (built once,
	# untimed; the store suite times mksquashfs itself).
	mksquashfs "$FS_T" "$FS_S/tree.sqfs" -comp zstd -noappend -quiet -no-progress >&2
	bench_tsv "$FS_W" image_B sqfs 0 "$(bench_size "$FS_S/tree.sqfs")" B
	FS_MNT=([native]=$FS_T [ovl]=$FS_S/m/ovl [fovl]=$FS_S/m/fovl [sqfs]=$FS_S/m/sqfs
		[blast]=$FS_S/m/blast [blast-c]=$FS_S/m/blast-c [blast-t1]=$FS_S/m/blast-t1
		[blast-s0]=$FS_S/m/blast-s0)
	for v in "${FS_VARIANTS[@]}"; do fs_mount_variant "$v"; done

	# Warm: one untimed run of each figure per variant, then the runs.
	for f in import find stat read; do
		FS_VLIST=(native ovl fovl sqfs blast blast-c)
		[[ $f == import ]] && FS_VLIST+=(blast-s0)
		FS_FIG=${f}_warm
		bench_log "fs: $1: $FS_FIG"
		for v in "${FS_VLIST[@]}"; do fs_measure "$FS_FIG" "$v" 0; done
		bench_interleave "$BENCH_RUNS" fs_warm_run
	done

	# Cold: before every timed run unmount, drop caches, mount again.
	for f in import find stat read; do
		FS_FIG=${f}_cold
		FS_VLIST=(native ovl fovl sqfs blast blast-c)
		[[ $f == import ]] && FS_VLIST+=(blast-t1 blast-s0)
		bench_log "fs: $1: $FS_FIG"
		bench_interleave "$BENCH_RUNS" fs_cold_run
	done
	for v in "${FS_VARIANTS[@]}"; do fs_umount_variant "$v"; done

	bench_log "fs: $1: write (cp -a into an empty mount)"
	bench_interleave "$BENCH_RUNS" fs_write_run

	fs_unmount_all
	fs_rm "$FS_S"
	: >"$FS_STATE"
}

# ---- pip and create (once, not per workload) ------------------------------------

FS_WHEELS="" FS_PIPPKGS=()
FS_P=""
# The environment pip runs in, the same for both variants.
FS_PIP_ENV=(env -u PYTHONPATH -u PYTHONHOME -u PYTHONDONTWRITEBYTECODE -u PIP_INDEX_URL
	-u PIP_FIND_LINKS -u PIP_REQUIRE_VIRTUALENV PIP_DISABLE_PIP_VERSION_CHECK=1
	PIP_NO_CACHE_DIR=1 PIP_NO_INPUT=1)
fs_pip_check() { # PYTHON: the installed packages import
	"${FS_PIP_ENV[@]}" "$1" -c 'import blast_many, blast_gamma
try:
    import blast_cext
except ImportError:
    pass' >&2
}

fs_pip_run() {
	local i=$1 d t t_cl t_sy c0 c1 pid py
	# (a) a native venv with pip, made untimed.
	d=$FS_P/native-$i
	"$BENCH_PY" -m venv "$d" >&2
	py=$d/bin/python
	sync
	fs_time t "${FS_PIP_ENV[@]}" "$py" -m pip install -q --no-index --find-links "$FS_WHEELS" "${FS_PIPPKGS[@]}" >&2
	fs_time t_sy sync
	fs_pip_check "$py"
	bench_tsv pip pip_s native "$i" "$t" s
	bench_tsv pip pip_close_s native "$i" 0 s
	bench_tsv pip pip_sync_s native "$i" "$t_sy" s
	bench_tsv pip pip_total_s native "$i" "$(bench_calc "$t + $t_sy")" s

	# (b) an env made by `blastctl create` (the second create: O(1)),
	# mounted by `blastctl start`, closed by `blastctl kill`.
	d=$FS_P/blast-$i
	mkdir -p "$d"
	"$FS_BLASTCTL" --home "$FS_P/home" create "pip$i" --python "$BENCH_PY" >&2
	fs_note_mount fuse "$d/.blast"
	"$FS_BLASTCTL" --home "$FS_P/home" start "pip$i" --dir "$d" >&2
	fs_blast_pid "$FS_P/home" "pip$i"
	pid=$FS_PID
	py=$d/.blast/bin/python
	sync
	c0=$(fs_cpu "$pid")
	fs_time t "${FS_PIP_ENV[@]}" "$py" -m pip install -q --no-index --find-links "$FS_WHEELS" "${FS_PIPPKGS[@]}" >&2
	c1=$(fs_cpu "$pid")
	fs_time t_cl "$FS_BLASTCTL" --home "$FS_P/home" kill "pip$i" >&2
	fs_time t_sy sync
	bench_tsv pip pip_s blast "$i" "$t" s
	bench_tsv pip pip_close_s blast "$i" "$t_cl" s
	bench_tsv pip pip_sync_s blast "$i" "$t_sy" s
	bench_tsv pip pip_total_s blast "$i" "$(bench_calc "$t + $t_cl + $t_sy")" s
	bench_tsv pip pip_cpu_s blast "$i" "$(bench_calc "$c1 - $c0")" s
	# Remounted: what pip wrote survived the kill and imports.
	"$FS_BLASTCTL" --home "$FS_P/home" start "pip$i" --dir "$d" >&2
	fs_blast_pid "$FS_P/home" "pip$i"
	fs_pip_check "$py"
	"$FS_BLASTCTL" --home "$FS_P/home" kill "pip$i" >&2
}

fs_pip() {
	local whl
	FS_P=$FS_ROOT/pip
	fs_rm "$FS_P"
	mkdir -p "$FS_P"
	FS_WHEELS=$FS_P/wheels
	"$BENCH_PY" "$BENCH_REPO/tests/fixtures/mkwheels.py" "$FS_WHEELS" >/dev/null
	FS_PIPPKGS=(blast-many blast-gamma)
	for whl in "$FS_WHEELS"/blast_cext-*.whl; do
		if [[ -e $whl ]]; then FS_PIPPKGS+=(blast-cext); fi
	done
	bench_log "fs: pip install ${FS_PIPPKGS[*]}"
	# The store's first create seeds pip (ensurepip through a mount),
	# untimed here (the create figures time it).
	"$FS_BLASTCTL" --home "$FS_P/home" create seed --python "$BENCH_PY" >&2
	bench_interleave "$BENCH_RUNS" fs_pip_run
	fs_unmount_all
	fs_rm "$FS_P"
	: >"$FS_STATE"
}

FS_C=""
fs_create_run() {
	local i=$1 h=$FS_C/home-$1 t t_sy
	fs_time t "$FS_BLASTCTL" --home "$h" create first --python "$BENCH_PY" >&2
	fs_time t_sy sync
	bench_tsv create create_s blast-first "$i" "$t" s
	bench_tsv create create_sync_s blast-first "$i" "$t_sy" s
	fs_time t "$FS_BLASTCTL" --home "$h" create second --python "$BENCH_PY" >&2
	fs_time t_sy sync
	bench_tsv create create_s blast-second "$i" "$t" s
	bench_tsv create create_sync_s blast-second "$i" "$t_sy" s
	fs_time t "$BENCH_PY" -m venv "$FS_C/venv-$i" >&2
	fs_time t_sy sync
	bench_tsv create create_s venv "$i" "$t" s
	bench_tsv create create_sync_s venv "$i" "$t_sy" s
	fs_time t "$BENCH_PY" -m venv --without-pip "$FS_C/venv-nopip-$i" >&2
	fs_time t_sy sync
	bench_tsv create create_s venv-nopip "$i" "$t" s
	bench_tsv create create_sync_s venv-nopip "$i" "$t_sy" s
}

fs_create() {
	FS_C=$FS_ROOT/create
	fs_rm "$FS_C"
	mkdir -p "$FS_C"
	bench_log "fs: create"
	bench_interleave "$BENCH_RUNS" fs_create_run
	fs_unmount_all
	fs_rm "$FS_C"
}

# ---- report -----------------------------------------------------------------

# One row of the times table: measure, each variant, then daemon CPU.
fs_row() { # WORKLOAD METRIC LABEL PREC
	local w=$1 m=$2 v cells=""
	for v in "${FS_VARIANTS[@]}"; do cells+=$'\t'$(fs_cell "$4" "$w" "$m" "$v"); done
	printf '%s\t%s%s\t%s\t%s\t%s\n' "$w" "$3" "$cells" \
		"$(fs_cell 2 "$w" "${m%_s}_cpu_s" fovl)" "$(fs_cell 2 "$w" "${m%_s}_cpu_s" sqfs)" \
		"$(fs_cell 2 "$w" "${m%_s}_cpu_s" blast)"
}
fs_ratio_row() { # WORKLOAD METRIC LABEL
	local w=$1 m=$2 v cells=""
	for v in "${FS_VARIANTS[@]}"; do
		[[ $v == native ]] && { cells+=$'\t'; [[ -n $(bench_values "$w" "$m" native) ]] && cells+=1; continue; }
		cells+=$'\t'$(fs_ratio_fmt "$w" "$m" "$v" native)
	done
	printf '%s\t%s%s\t%s\t%s\n' "$w" "$3" "$cells" "$(fs_ratio_fmt "$w" "$m" blast fovl)" \
		"$(fs_ratio_fmt "$w" "$m" blast sqfs)"
}

FS_ROWS=(
	'import_warm_s|import, warm|3'
	'import_cold_s|import, cold|3'
	'find_warm_s|find -type f, warm|3'
	'find_cold_s|find -type f, cold|3'
	'stat_warm_s|stat walk, warm|3'
	'stat_cold_s|stat walk, cold|3'
	'read_warm_s|read all, warm|3'
	'read_cold_s|read all, cold|3'
	'write_s|cp -a + unmount + sync|2'
	'write_cp_s|  cp -a|2'
	'write_umount_s|  unmount|3'
	'write_sync_s|  sync|3'
)

fs_req_table() { # WORKLOAD: FUSE requests per timed blastfs run, by figure
	local w=$1 f k cells
	for f in import_warm import_cold find_warm find_cold stat_warm stat_cold read_warm read_cold; do
		[[ -n $(bench_values "$w" "${f}_req_open" blast) ]] || continue
		cells=""
		for k in "${FS_REQS[@]}"; do
			cells+=$'\t'$(bench_fmt_of 0 "$w" "${f}_req_$k" blast)
		done
		printf '%s\t%s%s\n' "$w" "$f" "$cells"
	done | bench_md_table workload figure "${FS_REQS[@]}"
}

fs_sanity() { # WORKLOAD: a line per figure whose counts differ between variants
	awk -F'\t' -v w="$1" '
		$2 == w && ($3 ~ /_count$/) && $6 != "nan" {
			k = $3; split(k, p, "_"); f = p[1]
			if (!(f in first)) { first[f] = $6; fv[f] = $4 }
			else if ($6 != first[f] && !(f in bad)) {
				bad[f] = 1
				printf "- **warning**: %s: %s saw %s, %s saw %s (%s)\n", w, $4, $6, fv[f], first[f], $3
			}
		}' "$BENCH_TSV"
}

fs_report() {
	local w r m label prec
	printf 'Binaries: `%s` and `%s` (%s, built %s), pinned copies.\n\n' "$FS_BLASTCTL_SRC" \
		"$FS_BLASTFS_SRC" "$("$FS_BLASTCTL" --version 2>&1 | head -n 1)" "$FS_BUILT"
	cat <<'EOF'
### Method

Variants: **native** is the workload tree itself (ext4); **kernel overlayfs** and
**fuse-overlayfs** have the tree as lower and an empty upper/work beside it on the same
ext4; **squashfuse** (read-only: no write figures) serves a squashfs image of the tree
built once per workload, untimed, with `mksquashfs TREE IMG -comp zstd -noappend -quiet -no-progress`
and mounted with `squashfuse IMG MNT`; **blastfs** serves the tree imported (untimed) into a fresh store, mounted with
`blastfs --home H NAME MNT` (default 4 threads); **blastfs --threads 1** the same store
(a second env name, every blob shared) mounted with `--threads 1`, on the cold import only;
**blastfs --spin-us 0** likewise (a third env name) without the request loop's spin
(fs/loop.c), on the warm and cold import.
Runs are interleaved variant by variant (A B C D A B C D); ratios are to native, taken per
run (variant/native of the same run) and then median (min–max); *blastfs / fuse-ovl* and
*blastfs / squashfuse* are the same per-run ratio between those two.

- *import*: the variant's own `bin/python` (a venv's interpreter finds its `pyvenv.cfg`
  and site-packages next to itself, so the whole import goes through the variant; the
  stdlib is `/usr/lib/python3.11` for all) runs `python -c "import …"` with
  `PYTHONDONTWRITEBYTECODE=1` and `MPLCONFIGDIR` on native disk. The large workload
  times `import numpy, scipy, pandas, matplotlib, sympy` (issue 3); small and mid hold
  none or only some of those and time the modules `bench/workload.sh` checks for them.
- *find -type f*: `find MNT -type f | wc -l`; *stat walk*: `find MNT -printf '%s\n' | wc -l`
  (an lstat of every entry); *read all*: `tar -cf - -C MNT . | wc -c`, MB/s = the tree's
  apparent file bytes / time.
- *warm*: after one untimed run of the same command on the same mount. *cold*: before
  every timed run the mount is unmounted (its daemon exits), `sync; echo 3 >
  /proc/sys/vm/drop_caches`, and mounted again (a fresh daemon; also for kernel overlayfs).
- *write*: `cp -a TREE MNT/` into an empty mount (blastfs: an env imported from an empty
  dir, in a fresh store each run; overlays: empty lower; native: an empty dir), then the
  unmount (blastfs: `blastctl kill`, which waits for the sealing backlog, syncs the store,
  unmounts and waits for the daemon to exit - blastfs seals each file at its last close,
  during the copy, so little is left for the unmount; fuse-overlayfs: `fusermount3 -u` and
  its daemon's exit; kernel overlayfs: `umount`), then a timed `sync` (for native this is
  where its data reaches the disk). The copies are kept until the workload is done.
- Times are wall seconds (CLOCK_MONOTONIC) around fork+exec+wait of the command, with
  the child reaped by a blocking wait (`fs_time` in `bench/fs-lib.sh`; lib.sh's
  `bench_time` polls the child with sleeps of up to 50 ms, which rounds short figures up).
- *daemon CPU*: user+sys of the fuse-overlayfs, squashfuse and blastfs processes over the timed run
  (`/proc/PID/stat` fields 14+15, all threads; write: over the `cp -a`).
EOF
	echo
	for w in "$@"; do
		echo "### $w: times (s)"
		echo
		printf 'Tree: %s files, %.1f MB; timed: `%s`.\n\n' "$(bench_median_of "$w" tree_files tree)" \
			"$(bench_calc "$(bench_median_of "$w" tree_B tree) / 1e6")" "$(fs_imports "$w")"
		{
			for r in "${FS_ROWS[@]}"; do
				IFS='|' read -r m label prec <<<"$r"
				fs_row "$w" "$m" "$label" "$prec"
			done
			fs_row "$w" read_warm_MBps 'read all, warm, MB/s' 0
			fs_row "$w" read_cold_MBps 'read all, cold, MB/s' 0
			fs_row "$w" write_MBps 'cp -a + unmount + sync, MB/s' 0
			fs_row "$w" mount_s 'mount (cold remounts)' 3
		} | bench_md_table workload measure "${FS_LABEL[native]}" "${FS_LABEL[ovl]}" \
			"${FS_LABEL[fovl]}" "${FS_LABEL[sqfs]}" "${FS_LABEL[blast]}" "${FS_LABEL[blast-c]}" \
			"${FS_LABEL[blast-t1]}" "${FS_LABEL[blast-s0]}" 'fuse-ovl CPU s' 'squashfuse CPU s' \
			'blastfs CPU s'
		echo
		echo "### $w: ratio to native (per run)"
		echo
		{
			for r in "${FS_ROWS[@]}"; do
				IFS='|' read -r m label prec <<<"$r"
				# native has no unmount: no ratio
				[[ $m == write_umount_s ]] || fs_ratio_row "$w" "$m" "$label"
			done
		} | bench_md_table workload measure "${FS_LABEL[native]}" "${FS_LABEL[ovl]}" \
			"${FS_LABEL[fovl]}" "${FS_LABEL[sqfs]}" "${FS_LABEL[blast]}" "${FS_LABEL[blast-c]}" \
			"${FS_LABEL[blast-t1]}" "${FS_LABEL[blast-s0]}" 'blastfs / fuse-ovl' 'blastfs / squashfuse'
		echo
		echo
		echo "FUSE requests reaching blastfs per timed run (median), the profile of the"
		echo "blastfs figures: a warm run pays a round trip for each IOCTL (Python's"
		echo "open() asks isatty of every file) and nothing else that waits; OPEN,"
		echo "FLUSH and RELEASE are gone (answered ENOSYS once, fs/io.c), as are"
		echo "OPENDIR/RELEASEDIR (fs/dirlist.c)."
		echo
		fs_req_table "$w"
		echo
		printf -- '- threads knob, cold import: blastfs --threads 1 / default (4), per run: %s\n' \
			"$(fs_ratio_fmt "$w" import_cold_s blast-t1 blast)"
		printf -- '- spin knob (fs/loop.c), warm import: blastfs --spin-us 0 / default (2000), per run: %s\n' \
			"$(fs_ratio_fmt "$w" import_warm_s blast-s0 blast)"
		printf -- '- spin knob, cold import: blastfs --spin-us 0 / default (2000), per run: %s\n' \
			"$(fs_ratio_fmt "$w" import_cold_s blast-s0 blast)"
		fs_sanity "$w"
		echo
	done

	echo '### pip install'
	echo
	printf 'Offline `python -m pip install -q --no-index --find-links WHEELS %s` (wheels from\n' "${FS_PIPPKGS[*]}"
	echo '`tests/fixtures/mkwheels.py`: 2000+ modules, a console script, dependencies'
	echo 'between packages, a compiled extension) with pip from ensurepip, `PIP_NO_CACHE_DIR=1`.'
	echo 'A fresh env every run (no uninstall): (a) `python3 -m venv DIR` (untimed), (b)'
	echo '`blastctl create` (a second create in a seeded store) + `blastctl start`, both untimed.'
	echo '*close* is `blastctl kill` for blastfs (waits for sealing, unmounts), nothing for native;'
	echo 'then a timed `sync` for both. Blastfs CPU is over the pip run.'
	echo
	{
		for r in 'pip_s|pip install' 'pip_close_s|close' 'pip_sync_s|sync' 'pip_total_s|total'; do
			IFS='|' read -r m label <<<"$r"
			printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$(fs_cell 2 pip "$m" native)" \
				"$(fs_cell 2 pip "$m" blast)" \
				"$( [[ $m == pip_s || $m == pip_total_s ]] && fs_ratio_fmt pip "$m" blast native)" \
				"$( [[ $m == pip_s ]] && fs_cell 2 pip pip_cpu_s blast)"
		done
	} | bench_md_table measure 'native venv, s' 'blastfs env, s' '>blastfs / native' '>blastfs CPU s'
	echo
	echo '### create'
	echo
	echo '`blastctl --home H create NAME --python /usr/bin/python3` in a fresh store each run'
	echo '(first: seeds pip by running ensurepip through a mount; second: the same store, a'
	echo 'clone of the seeded tree), against `python3 -m venv DIR` (with pip) and'
	echo '`python3 -m venv --without-pip DIR`; a timed `sync` after each.'
	echo
	{
		for r in 'blast-first|blastctl create, first' 'blast-second|blastctl create, second' \
			'venv|python3 -m venv' 'venv-nopip|python3 -m venv --without-pip'; do
			IFS='|' read -r m label <<<"$r"
			printf '%s\t%s\t%s\t%s\n' "$label" "$(fs_cell 3 create create_s "$m")" \
				"$(fs_cell 3 create create_sync_s "$m")" "$(fs_ratio_fmt create create_s "$m" venv)"
		done
	} | bench_md_table command '>time s' '>+ sync s' '>/ python3 -m venv'
	echo
	echo '### Targets (issue 3)'
	echo
	local a b
	for w in "$@"; do
		a=$(fs_ratio_med "$w" import_warm_s blast native)
		fs_verdict "$w: warm import within 1.10x native" "$a" '<=' 1.10 "$(printf '%.2fx' "$a")"
		a=$(fs_ratio_med "$w" import_cold_s blast fovl)
		fs_verdict "$w: cold import faster than fuse-overlayfs" "$a" '<' 1 \
			"$(printf 'blastfs/fuse-ovl %.2fx; %.3f s vs %.3f s' "$a" \
				"$(bench_median_of "$w" import_cold_s blast)" "$(bench_median_of "$w" import_cold_s fovl)")"
		a=$(fs_ratio_med "$w" import_cold_s blast sqfs)
		fs_verdict "$w: cold import faster than squashfuse (issue 8)" "$a" '<' 1 \
			"$(printf 'blastfs/squashfuse %.2fx; %.3f s vs %.3f s' "$a" \
				"$(bench_median_of "$w" import_cold_s blast)" "$(bench_median_of "$w" import_cold_s sqfs)")"
		for b in cold warm; do
			a=$(fs_ratio_med "$w" "stat_${b}_s" blast fovl)
			fs_verdict "$w: $b stat walk faster than fuse-overlayfs" "$a" '<' 1 \
				"$(printf 'blastfs/fuse-ovl %.2fx; %.3f s vs %.3f s' "$a" \
					"$(bench_median_of "$w" "stat_${b}_s" blast)" "$(bench_median_of "$w" "stat_${b}_s" fovl)")"
		done
	done
	a=$(fs_ratio_med pip pip_s blast native)
	fs_verdict "pip install within 1.5x native" "$a" '<=' 1.5 \
		"$(printf '%.2fx; with close and sync %.2fx' "$a" "$(fs_ratio_med pip pip_total_s blast native)")"
	a=$(bench_median_of create create_s blast-second)
	fs_verdict "second create under 50 ms" "$a" '<' 0.050 "$(printf '%.1f ms' "$(bench_calc "$a * 1000")")"
}

suite_fs() {
	local w
	bench_need fuse-overlayfs squashfuse mksquashfs fusermount3 mount umount tar find pgrep
	fs_suite_begin fs
	FS_BUILT=$(date -u -r "$FS_BLASTFS_SRC" '+%Y-%m-%d %H:%M:%S UTC')
	FS_MPL=$FS_ROOT/mplconfig
	mkdir -p "$FS_MPL"
	bench_log "fs: using $("$FS_BLASTCTL" --version 2>&1 | head -n 1) and $FS_BLASTFS"
	for w in "$@"; do fs_workload "$w"; done
	fs_pip
	fs_create
	fs_report "$@"
}
