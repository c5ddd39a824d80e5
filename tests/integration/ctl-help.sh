#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --help is success everywhere: for blastctl, every command in its table
# (as `blastctl help` lists them) and blastfs, -h and --help exit 0 with
# the usage on stdout and nothing on stderr.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup

ctl_run "$BLASTCTL" help
mapfile -t cmds < <(sed -n '/^commands:$/,/^$/s/^  \([a-z-]*\) .*/\1/p' <<<"$OUT")
[ "${#cmds[@]}" -gt 20 ] || die "blastctl help lists ${#cmds[@]} commands: $OUT"

help_case() {
	local want=$1
	shift
	ctl_run "$@"
	assert_eq 0 "$RC" "exit code of: $* (stderr: $ERR)"
	assert_eq "" "$ERR" "stderr of: $*"
	[[ "$OUT" == "$want"* ]] || die "stdout of $* does not start with [$want]: $OUT"
}
for cmd in "${cmds[@]}"; do
	for h in --help -h; do
		help_case "usage: blastctl $cmd" bctl "$cmd" "$h"
	done
	help_case "usage: blastctl $cmd" bctl help "$cmd"
done
[ ! -e "$H" ] || die "--help created the store"

if [ -x "$BLASTFS" ]; then
	for h in --help -h; do
		help_case "usage: blastfs " "$BLASTFS" "$h"
	done
	assert_contains "$OUT" "--recover" "blastfs --help"
fi
