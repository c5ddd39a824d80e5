#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gc and check --store on a clean store (empty, then with envs) exit 0:
# check says "store ok" on stderr and prints no problem on stdout; the
# --json forms have their documented shapes.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup

check_clean() {
	local args
	for args in "check" "check --store" "check --store --deep" "check --deep"; do
		# shellcheck disable=SC2086 # split on purpose
		ctl_expect 0 $args
		assert_eq "" "$OUT" "stdout of $args"
		assert_contains "$ERR" "store ok" "status of $args"
	done
	ctl_expect 0 check --store --deep --json
	assert_eq "True True True []" \
		"$(json_get '" ".join(str(x) for x in (j["ok"], j["store"]["ok"], j["store"]["deep"], j["store"]["problems"]))')" \
		"check --json"
	assert_eq "['ok', 'store']" "$(json_get 'list(j)')" "check --json keys"
	assert_eq "['ok', 'deep', 'problems']" "$(json_get 'list(j["store"])')" "check --json store keys"
	[ -z "$ERR" ] || die "check --json wrote to stderr: $ERR"
}

gc_json() {
	ctl_expect 0 gc --json
	assert_eq "['blobs_freed', 'bytes_freed', 'tables_freed', 'pins_dropped', 'repacked_bytes', 'pack_files_removed', 'pack_bytes_removed']" \
		"$(json_get 'list(j)')" "gc --json keys"
	assert_eq "True" "$(json_get 'all(type(v) is int and v >= 0 for v in j.values())')" \
		"gc --json values"
}

# Empty store.
ctl_expect 0 gc
assert_eq "" "$OUT" "stdout of gc"
assert_contains "$ERR" "gc: freed 0 blobs" "gc status"
gc_json
assert_eq "0" "$(json_get 'j["blobs_freed"] + j["tables_freed"]')" "gc of an empty store"
check_clean

# With envs: nothing referenced is freed, the store stays consistent.
"$BLAST_TEST_PYTHON" "$(dirname "$0")/ctl-mktree.py" "$W/src"
bctl import a "$W/src" 2>/dev/null
bctl import b "$W/src" 2>/dev/null
ctl_expect 0 list --json
before=$(json_get 'j["envs"]')
gc_json
ctl_expect 0 list --json
assert_eq "$before" "$(json_get 'j["envs"]')" "envs after gc"
check_clean
ctl_expect 0 export a "$W/out"
assert_same_tree "$W/src" "$W/out"
exit 0
