#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run, the env's policy cannot be changed from inside: blastctl
# inside finds no store ($BLAST_HOME hidden), by --home or by default (old
# code: 'policy set fs.hidden x' from inside rewrote it).
set -euo pipefail
. "$(dirname "$0")/run-lib.sh"
run_setup
note "the env's policy cannot be changed from inside"
run_expect 1 run -- env ASAN_OPTIONS="$INNER_ASAN" "$BLASTCTL" --home "$H" policy proj set fs.hidden x
assert_contains "$ERR" "no env named 'proj'" # the store is not there
assert_not_contains "$ERR" "Sanitizer"
run_expect 1 run -- env ASAN_OPTIONS="$INNER_ASAN" "$BLASTCTL" policy set res.memory 1G
bctl --json policy >"$W/pol"
assert_not_contains "$(cat "$W/pol")" "fs.hidden"
assert_not_contains "$(cat "$W/pol")" "res.memory"

