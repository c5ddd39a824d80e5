# SPDX-License-Identifier: MIT
# bench/suite-shell.sh - the shell benchmark of issue 5: the time a user
# waits, in bash with the `blast` function (blastctl shell-init bash),
# from `blast start NAME` (the env exists, unmounted: mount, fix the
# scripts, source bin/activate) until the function returns and the prompt
# is drawn again, and for `blast kill` (deactivate, flush, unmount, daemon
# gone); next to what users do today, in the same run and interleaved:
# `python3 -m venv DIR` + `source DIR/bin/activate` (with pip, venv's
# default, and --without-pip), and `deactivate`. Each figure is measured
# inside one bash with $EPOCHREALTIME around the command, so shell start-up
# is not counted. The workloads bench/run passes do not matter here (an
# env with pip, as `blastctl create` makes it). Needs root (FUSE mounts,
# as the other suites run them). Sourced by bench/run.
# shellcheck shell=bash
# shellcheck disable=SC2016 # backquotes in single quotes are Markdown

# shellcheck source=bench/fs-lib.sh
. "$BENCH_DIR/fs-lib.sh"

SH_H="" SH_P="" SH_V=""
SH_W=venv # the one "workload" label of this suite

# One run of the blast function: prints "START KILL" in seconds.
SH_BLAST_RUN='
eval "$(blastctl shell-init bash)" || exit 1
cd "$1" || exit 1
t0=$EPOCHREALTIME
blast start w >/dev/null 2>&1 || exit 1
t1=$EPOCHREALTIME
[ "$VIRTUAL_ENV" = "$1/.blast" ] && [ "$(command -v python)" = "$1/.blast/bin/python" ] || exit 1
pid=$(sed -n "s/^pid=//p" "$BLAST_HOME/run/w.info")
cpu=$(sed "s/^.*) //" "/proc/$pid/stat" | awk -v t="$(getconf CLK_TCK)" "{ printf \"%.3f\", (\$12 + \$13) / t }")
t2=$EPOCHREALTIME
blast kill >/dev/null 2>&1 || exit 1
t3=$EPOCHREALTIME
[ -z "${VIRTUAL_ENV-}" ] || exit 1
echo "$t0 $t1 $t2 $t3 ${cpu:-nan}"
'

# One run of venv: prints "CREATE+ACTIVATE DEACTIVATE".
SH_VENV_RUN='
dir=$1
shift
t0=$EPOCHREALTIME
/usr/bin/python3 -m venv "$@" "$dir" >/dev/null || exit 1
. "$dir/bin/activate" || exit 1
t1=$EPOCHREALTIME
[ "$(command -v python)" = "$dir/bin/python" ] || exit 1
t2=$EPOCHREALTIME
deactivate
t3=$EPOCHREALTIME
echo "$t0 $t1 $t2 $t3"
'

# sh_record VARIANT START_METRIC STOP_METRIC RUN "t0 t1 t2 t3 [CPU]": CPU
# (blast only) is blastfs's user+sys from its birth (inside `blast start`)
# until just after the prompt returned: its CPU over the start figure.
sh_record() {
	local t0 t1 t2 t3 cpu
	read -r t0 t1 t2 t3 cpu <<<"$5"
	[[ -n $t3 ]] || bench_die "shell: $1 run $4 printed no times"
	bench_tsv "$SH_W" "$2" "$1" "$4" "$(bench_calc "$t1 - $t0")" s
	bench_tsv "$SH_W" "$3" "$1" "$4" "$(bench_calc "$t3 - $t2")" s
	[[ -z $cpu ]] || bench_tsv "$SH_W" "${2%_s}_cpu_s" "$1" "$4" "$cpu" s
}

sh_run_blast() {
	local out
	out=$(BLAST_HOME=$SH_H bash --norc --noprofile -c "$SH_BLAST_RUN" bash "$SH_P") ||
		bench_die "shell: blast start/kill run $1 failed"
	fs_mounted "$SH_P/.blast" && bench_die "shell: still mounted after blast kill"
	sh_record blast start_s stop_s "$1" "$out"
}

sh_run_venv() {
	local out
	rm -rf "$SH_V"
	out=$(bash --norc --noprofile -c "$SH_VENV_RUN" bash "$SH_V") ||
		bench_die "shell: python -m venv run $1 failed"
	sh_record venv start_s stop_s "$1" "$out"
}

sh_run_venv_nopip() {
	local out
	rm -rf "$SH_V"
	out=$(bash --norc --noprofile -c "$SH_VENV_RUN" bash "$SH_V" --without-pip) ||
		bench_die "shell: python -m venv --without-pip run $1 failed"
	sh_record venv-without-pip start_s stop_s "$1" "$out"
}

sh_report() {
	local base ratio
	printf 'Time a user waits in bash, from the command to the prompt (the shell function\n'
	printf 'returning; measured inside the shell with `$EPOCHREALTIME`). blast: the env\n'
	printf 'exists unmounted, `blast start w` mounts it and activates, `blast kill`\n'
	printf 'deactivates, flushes and unmounts. venv: `python3 -m venv DIR` + `source\n'
	printf 'DIR/bin/activate`, then `deactivate`.\n\n'
	{
		printf 'blast start / blast kill\t%s\t%s\n' \
			"$(bench_fmt_of 3 "$SH_W" start_s blast)" "$(bench_fmt_of 3 "$SH_W" stop_s blast)"
		printf 'python -m venv (with pip) + activate / deactivate\t%s\t%s\n' \
			"$(bench_fmt_of 3 "$SH_W" start_s venv)" "$(bench_fmt_of 4 "$SH_W" stop_s venv)"
		printf 'python -m venv --without-pip + activate / deactivate\t%s\t%s\n' \
			"$(bench_fmt_of 3 "$SH_W" start_s venv-without-pip)" \
			"$(bench_fmt_of 4 "$SH_W" stop_s venv-without-pip)"
	} | bench_md_table 'variant' '>start to prompt (s)' '>stop to prompt (s)'
	local b
	b=$(bench_median_of "$SH_W" start_s blast)
	base=$(bench_median_of "$SH_W" start_s venv)
	ratio=$(bench_calc "$base / $b")
	printf '\n- `blast start` of an existing env vs `python -m venv` (with pip) + activate: %.0fx faster (medians)\n' "$ratio"
	base=$(bench_median_of "$SH_W" start_s venv-without-pip)
	ratio=$(bench_calc "$base / $b")
	printf -- '- vs `python -m venv --without-pip` + activate: %.1fx faster (medians)\n' "$ratio"
	printf -- '- blastfs CPU over `blast start` (user+sys of the daemon from its start until the prompt returned): %s s; over `blast kill`: not measured (the daemon exits inside it)\n' \
		"$(bench_fmt_of 3 "$SH_W" start_cpu_s blast)"
	printf -- '- load average at the end of the suite: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
}

suite_shell() {
	bench_need fusermount3 bash
	fs_suite_begin shell
	# the function calls `blastctl` on PATH: the pinned one
	PATH=$FS_ROOT/bin:$PATH
	export PATH
	SH_H=$FS_ROOT/home SH_P=$FS_ROOT/proj SH_V=$FS_ROOT/venv
	mkdir -p "$SH_P"
	fs_note_mount fuse "$SH_P/.blast"
	bench_log "shell: using $("$FS_BLASTCTL" --version 2>&1 | head -n 1)"
	"$FS_BLASTCTL" --home "$SH_H" create w --python /usr/bin/python3 >&2
	# one untimed start/kill: the first mount writes the scripts
	"$FS_BLASTCTL" --home "$SH_H" start w --dir "$SH_P" >/dev/null 2>&1
	"$FS_BLASTCTL" --home "$SH_H" kill w >&2
	bench_interleave "$BENCH_RUNS" sh_run_blast sh_run_venv sh_run_venv_nopip
	rm -rf "$SH_V"
	sh_report
}
