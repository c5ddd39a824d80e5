#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl's command line: usage errors exit 2 with a message and the usage
# line on stderr; help and --version exit 0 with text on stdout; nothing
# creates the store.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup

# Usage errors: each exits 2, says why, shows usage, writes no stdout.
usage_case() {
	local want=$1
	shift
	ctl_run "$BLASTCTL" "$@"
	assert_eq 2 "$RC" "exit code of: blastctl $*"
	assert_usage_error
	assert_contains "$ERR" "$want" "message of: blastctl $*"
	assert_eq "" "$OUT" "stdout of: blastctl $*"
}
usage_case "no command given"
usage_case "unknown command 'frobnicate'" --home "$H" frobnicate
usage_case "unknown option '--bogus'" --bogus list
usage_case "unknown option '-x'" -x list
usage_case "option '--home' needs a value" --home
usage_case "--home needs a directory" --home "" list
usage_case "unknown option '--bogus'" --home "$H" list --bogus
usage_case "unexpected argument 'extra'" --home "$H" list extra
usage_case "expected NAME and DIR" --home "$H" import
usage_case "expected NAME and DIR" --home "$H" import onlyname
usage_case "too many arguments" --home "$H" import a b c
usage_case "option '--python' needs a value" --home "$H" import a "$W" --python
usage_case "invalid value 'abc' for --threads" --home "$H" import a "$W" --threads abc
usage_case "invalid value '0' for --threads" --home "$H" import a "$W" --threads 0
usage_case "expected REF and DIR" --home "$H" export a
usage_case "invalid ref 'a@'" --home "$H" export a@ "$W/x"
usage_case "--json is not supported by export" --home "$H" --json export a "$W/x"
usage_case "unknown option '--json'" --home "$H" export a "$W/x" --json
usage_case "option '--json' takes no value" --home "$H" list --json=yes
usage_case "unknown command 'nope'" help nope
usage_case "unknown option '--deeper'" --home "$H" check --deeper
[ ! -e "$H" ] || die "a usage error created the store"

# Help: stdout, exit 0.
for args in "help" "--help" "-h"; do
	# shellcheck disable=SC2086 # split on purpose
	ctl_run "$BLASTCTL" $args
	assert_eq 0 "$RC" "exit code of blastctl $args"
	assert_contains "$OUT" "usage: blastctl [--home DIR]" "blastctl $args"
	for cmd in init import export list gc check; do
		assert_contains "$OUT" "  $cmd " "command list of blastctl $args"
	done
done
for args in "import --help" "import -h" "help import"; do
	# shellcheck disable=SC2086
	ctl_run "$BLASTCTL" $args
	assert_eq 0 "$RC" "exit code of blastctl $args"
	assert_contains "$OUT" "usage: blastctl import NAME DIR" "blastctl $args"
	assert_contains "$OUT" "--threads N" "blastctl $args"
done
ctl_run "$BLASTCTL" --version
assert_eq 0 "$RC" "exit code of --version"
[[ "$OUT" =~ ^blastctl\ [0-9]+\.[0-9]+ ]] || die "--version printed: $OUT"
[ ! -e "$H" ] || die "help created the store"
exit 0
