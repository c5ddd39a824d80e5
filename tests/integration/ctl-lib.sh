# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for blastctl's integration tests (ctl-*.sh), on top of lib.sh.
#
#     . "$(dirname "$0")/ctl-lib.sh"
#     ctl_setup                  # $W: private workdir, $H: its store dir
#     bctl list --json           # blastctl --home "$H" list --json
#     ctl_expect 2 import        # run, check exit code; $OUT/$ERR/$RC set
#
# Tests never touch the user's store: every run passes --home, and
# BLAST_HOME/XDG_DATA_HOME/HOME point into the workdir.

# shellcheck source=tests/integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ctl_setup: make the workdir $W and the store path $H (not created), check
# that blastctl is built, keep the environment away from real stores.
ctl_setup() {
	[ -x "$BLASTCTL" ] || die "blastctl not built: $BLASTCTL (meson compile -C build)"
	mkworkdir W
	H=$W/home
	export HOME=$W/userhome XDG_DATA_HOME=$W/xdg
	unset BLAST_HOME CLICOLOR CLICOLOR_FORCE NO_COLOR
}

# bctl ARGS...: blastctl on the test's store.
bctl() {
	"$BLASTCTL" --home "$H" "$@"
}

# ctl_run CMD...: run CMD without failing the test; set RC, OUT (stdout) and
# ERR (stderr). CMD is usually bctl or "$BLASTCTL".
ctl_run() {
	RC=0
	"$@" >"$W/.out" 2>"$W/.err" || RC=$?
	OUT=$(cat -- "$W/.out")
	ERR=$(cat -- "$W/.err")
}

# ctl_expect CODE ARGS...: bctl ARGS, fail unless it exits with CODE.
ctl_expect() {
	local want=$1
	shift
	ctl_run bctl "$@"
	[ "$RC" -eq "$want" ] ||
		die "blastctl $*: expected exit $want, got $RC (stdout: $OUT; stderr: $ERR)"
}

# assert_one_error [SUBSTRING]: $ERR is exactly one 'blastctl: ' line
# (optionally containing SUBSTRING).
assert_one_error() {
	[ "$(printf '%s\n' "$ERR" | wc -l)" -eq 1 ] ||
		die "expected one stderr line, got: $ERR"
	assert_contains "$ERR" "blastctl: " "error prefix"
	[ $# -eq 0 ] || assert_contains "$ERR" "$1" "error message"
}

# assert_usage_error: $ERR starts with 'blastctl: ' and shows a usage line.
assert_usage_error() {
	[[ "$ERR" == "blastctl: "* ]] || die "usage error without prefix: $ERR"
	assert_contains "$ERR" "usage: blastctl" "usage line"
}

# json_get EXPR: evaluate python EXPR with `j` bound to the JSON in $OUT.
json_get() {
	"$BLAST_TEST_PYTHON" -c 'import json, sys
j = json.loads(sys.stdin.read())
print(eval(sys.argv[1]))' "$1" <<<"$OUT"
}

# pip_env_start: what the tests of a mounted env with real pip share:
# FUSE, python with ensurepip and the binaries required; ctl_setup; the
# fixture wheels in $WHEELS; env 'proj' started at $P/.blast ($M, its
# python $PY, its daemon $PID killed at exit); pip quiet and cache-free;
# the shell in $P. Then `want N ARGS...` runs blastctl ARGS expecting exit
# N, `pip ARGS...` runs the env's pip (failing the test on error).
pip_env_start() {
	require_fuse
	require_python
	require_blast
	"$BLAST_TEST_PYTHON" -c 'import ensurepip' 2>/dev/null ||
		skip "$BLAST_TEST_PYTHON lacks ensurepip"
	ctl_setup
	WHEELS=$(wheels_dir)
	P=$W/proj
	M=$P/.blast
	PY=$M/bin/python
	mkdir "$P"
	export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
	on_exit cleanup_mount "$M"
	want 0 start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
	PID=$(bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]=="proj"][0])')
	on_exit kill_pid "$PID"
	cd "$P"
}

want() {
	local n=$1
	shift
	ctl_run bctl "$@"
	[ "$RC" -eq "$n" ] || die "blastctl $*: expected exit $n, got $RC: $ERR"
}

pip() { "$PY" -m pip "$@" >/dev/null 2>"$W/pip.err" || die "pip $*: $(cat "$W/pip.err")"; }

# ctl_mount_setup: what tests that mount envs share: FUSE, python and the
# binaries required, ctl_setup, an initialised store.
ctl_mount_setup() {
	require_fuse
	require_python
	require_blast
	ctl_setup
	bctl init >/dev/null
}

# env_pid NAME: the pid of env NAME's daemon per `list --json` ("" if none).
env_pid() {
	bctl list --json | "$BLAST_TEST_PYTHON" -c 'import json, sys
print(next((str(e["pid"] or "") for e in json.load(sys.stdin)["envs"]
	    if e["name"] == sys.argv[1]), ""))' "$1"
}

# env_start NAME DIR: start env NAME at DIR/.blast with $BLAST_TEST_PYTHON
# (expecting exit 0); unmounted and its daemon ($PID) killed at exit.
env_start() {
	on_exit cleanup_mount "$2/.blast"
	ctl_expect 0 start "$1" --dir "$2" --python "$BLAST_TEST_PYTHON"
	PID=$(env_pid "$1")
	[ -n "$PID" ] || die "env '$1' has no daemon after start"
	on_exit kill_pid "$PID"
}

# poll_until WHAT CMD...: wait_until CMD succeeds, for at most 60 s.
poll_until() {
	local what=$1
	shift
	wait_until 60 "$what" "$@"
}
