# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the shell integration tests (shell-*.sh), on top of
# ctl-lib.sh.
#
#     . "$(dirname "$0")/shell-lib.sh"
#     shell_setup                # $W, $H, $P (project dir with a space and
#                                # quotes), $M ($P/.blast), env 'proj' mounted
#     nu_path                    # $NU, or skip
#
# The env is started once per test and killed (by pid) at exit.

# shellcheck source=tests/integration/ctl-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ctl-lib.sh"

# BLAST_NPM_DIR: where .ci/install-deps puts nushell and tree-sitter.
BLAST_NPM_DIR=${BLAST_NPM_DIR:-/opt/blast-npm}

# shell_setup: workdir, store, env 'proj' started at $P/.blast, where $P
# has a space and both kinds of quote in its name.
shell_setup() {
	require_fuse
	require_python
	require_blast
	ctl_setup
	export BLAST_HOME=$H
	P="$W/it's a \"proj\""
	M=$P/.blast
	mkdir -p "$P"
	on_exit cleanup_mount "$M"
	ctl_run bctl start --dir "$P" --python "$BLAST_TEST_PYTHON" proj
	[ "$RC" -eq 0 ] || die "start: exit $RC: $ERR"
	assert_eq "$M" "$OUT" "start prints the mountpoint"
	ctl_expect 0 list --json
	SHELL_PID=$(json_get "next(str(e['pid']) for e in j['envs'] if e['name'] == 'proj')")
	on_exit kill_pid "$SHELL_PID"
}

# nu_path: set NU to nushell's binary, or skip saying why.
# The npm package's own binary is used directly (its .bin/nu is a node
# wrapper that spawns it).
nu_path() {
	local b
	NU=
	for b in "$BLAST_NPM_DIR"/node_modules/@nushell/linux-*/bin/nu; do
		[ -x "$b" ] && "$b" --version >/dev/null 2>&1 && NU=$b && break
	done
	[ -n "$NU" ] || NU=$BLAST_NPM_DIR/node_modules/.bin/nu
	[ -x "$NU" ] || NU=$(command -v nu || true)
	[ -n "$NU" ] && [ -x "$NU" ] ||
		skip "nushell not installed (.ci/install-deps puts it in $BLAST_NPM_DIR)"
	"$NU" --version >/dev/null 2>&1 || skip "nu does not run here: $("$NU" --version 2>&1 | head -n 1)"
}

# nu_str S: S as a nushell raw string literal r#'...'#.
nu_str() {
	printf "r#'%s'#" "$1"
}
