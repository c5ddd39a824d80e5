#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A damaged data.mdb (truncated to 0 bytes, a few pages, half; removed) is
# refused by every command that opens the store: exit 1, one line naming
# the file and what is wrong, never a signal, and nothing in the store
# directory changes. An emptied or vanished data file in a directory that
# held a store is damage, not a new store.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup

mkdir -p "$W/src/pkg"
for i in $(seq 1 60); do
	head -c $((i * 1500)) /dev/urandom >"$W/src/pkg/f$i"
done
ctl_expect 0 import e1 "$W/src"
ctl_expect 0 list
assert_contains "$OUT" "e1" "list before the damage"
cp -- "$H/data.mdb" "$W/data.good"
size=$(stat -c %s "$W/data.good")
pg=$(getconf PAGESIZE)
mkdir "$W/proj"

# refused WHAT: every command that opens the store exits 1 with one line
# containing WHAT and leaves the store directory as it was.
refused() {
	local what=$1 before args
	before=$(tree_manifest "$H")
	for args in "list" "check --store --deep" "gc" "export e1 $W/out" \
		"start e1 --dir $W/proj"; do
		# shellcheck disable=SC2086 # split on purpose
		ctl_run bctl $args
		[ "$RC" -eq 1 ] || die "$args on $what: expected exit 1, got $RC (stderr: $ERR)"
		assert_one_error "cannot open store '$H': data file '$H/data.mdb' is $what"
		assert_eq "$before" "$(tree_manifest "$H")" "store directory after $args"
		[ ! -e "$W/out" ] || die "export on $what created its target"
		[ -z "$(ls -A "$W/proj")" ] || die "start on $what wrote in its directory"
	done
}

for cut in 0 $((2 * pg)) $((5 * pg + 100)) $((size / 2)); do
	note "data.mdb truncated to $cut of $size bytes"
	truncate -s "$cut" "$H/data.mdb"
	if [ "$cut" -eq 0 ]; then
		refused "empty"
	else
		refused "truncated"
	fi
	cp -- "$W/data.good" "$H/data.mdb"
done

note "data.mdb removed"
rm -- "$H/data.mdb"
refused "missing"

# The store is whole again once the file is back.
cp -- "$W/data.good" "$H/data.mdb"
ctl_expect 0 check --store --deep
assert_contains "$ERR" "store ok" "check after restoring data.mdb"
ctl_expect 0 list
assert_contains "$OUT" "e1" "list after restoring data.mdb"
