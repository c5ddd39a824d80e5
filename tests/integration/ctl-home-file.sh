#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --home naming a regular file (or a path under one) fails every command
# with exit 1 and one clear line naming the path; the file is untouched.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup

echo "not a store" >"$W/file"
for args in "init" "list" "list --json" "gc" "check --store"; do
	# shellcheck disable=SC2086 # split on purpose
	ctl_run "$BLASTCTL" --home "$W/file" $args
	assert_eq 1 "$RC" "exit code of $args"
	assert_one_error "cannot open store '$W/file': Not a directory"
	assert_eq "" "$OUT" "stdout of $args"
done
ctl_run "$BLASTCTL" --home "$W/file/sub" list
assert_eq 1 "$RC" "exit code with --home under a file"
assert_one_error "cannot open store '$W/file/sub': Not a directory"
assert_eq "not a store" "$(cat "$W/file")" "the file"
exit 0
