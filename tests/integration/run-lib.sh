# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for blastctl run's confinement tests (run-escape-*.sh), on top of
# ctl-lib.sh:
#
#     . "$(dirname "$0")/run-lib.sh"
#     run_setup                    # root, FUSE, python; env proj mounted
#                                  # at $P/.blast ($M), cwd $P
#     run_expect 1 run -- touch /etc/x   # bctl ARGS, exit code checked

# shellcheck source=tests/integration/ctl-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ctl-lib.sh"
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"

# run_setup: the workdir, a store, env proj started in $W/proj.
run_setup() {
	require_fuse
	require_python
	require_blast
	require_root
	ctl_setup
	P=$W/proj
	M=$P/.blast
	mkdir -p "$P"
	on_exit cleanup_mount "$M"
	run_expect 0 start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
	on_exit kill_pid "$(bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]=="proj"][0])')"
	cd "$P" || die "cannot cd to $P"
}

# run_expect CODE ARGS...: bctl ARGS, fail unless it exits with CODE; $OUT,
# $ERR, $RC set.
run_expect() {
	local want=$1
	shift
	ctl_run bctl "$@"
	[ "$RC" -eq "$want" ] || die "blastctl $*: expected exit $want, got $RC: $OUT $ERR"
}
