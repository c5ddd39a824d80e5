#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kill -9 of the daemon in the middle of save and of load: after a restart
# the env is either fully the old state or fully the new one (its tree
# equals one of the two exports), the snapshot exists or does not, and the
# store verifies clean. Many rounds, the kill at a different moment each.
set -euo pipefail
. "$(dirname "$0")/fs-lib.sh"
fs_setup
M=$W/mnt
S=$W/tree
mkdir -p "$S/pkg"
for i in $(seq 1 300); do echo "module $i" >"$S/pkg/m$i.py"; done
head -c 400000 /dev/urandom >"$S/pkg/big.bin"
fs_import e1 "$S"
bctl save e1 base >/dev/null 2>&1
bctl export e1@base "$W/state-a" 2>/dev/null

# state b: a different tree, saved as snapshot b
fs_mount e1 "$M"
rm -rf "$M/pkg/m1"*.py
echo changed >"$M/pkg/m200.py"
mkdir "$M/new" && echo n >"$M/new/f"
bctl save e1 b >/dev/null 2>&1 || die "save b failed"
fs_umount e1 "$M"
bctl export e1@b "$W/state-b" 2>/dev/null

# which_state OLD NEW: is the live tree the tree at OLD or at NEW?
which_state() {
	rm -rf "$W/live"
	bctl export e1 "$W/live" 2>/dev/null || die "export of the live tree failed"
	if diff -r "$W/live" "$1" >/dev/null; then
		echo old
	elif diff -r "$W/live" "$2" >/dev/null; then
		echo new
	else
		echo torn
	fi
}

rounds=12
for r in $(seq 1 $rounds); do
	rm -rf "$W/prev"
	bctl export e1 "$W/prev" 2>/dev/null
	fs_mount e1 "$M"
	pid=$(fs_daemon_pid e1)
	target=$([ $((r % 2)) -eq 0 ] && echo base || echo b)
	want=$([ "$target" = base ] && echo "$W/state-a" || echo "$W/state-b")
	# a load, then a save, killed at a moment that moves with r
	(bctl load e1 "$target" >/dev/null 2>&1 || true) &
	lp=$!
	delay=$(awk -v r="$r" 'BEGIN { printf "%.4f", (r % 6) * 0.004 }')
	sleep "$delay" # the moment of the kill is the variable under test
	kill -KILL "$pid" 2>/dev/null || true
	wait "$lp" || true
	fs_kill9 e1 "$M"
	st=$(which_state "$W/prev" "$want")
	[ "$st" != torn ] || die "round $r: after kill -9 during load the tree is neither the old nor the new state"
	fs_mount e1 "$M"
	pid=$(fs_daemon_pid e1)
	echo "round $r" >"$M/round"
	(bctl save e1 "r$r" >/dev/null 2>&1 || true) &
	sp=$!
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$sp" || true
	fs_kill9 e1 "$M"
	# the snapshot, if it exists, is complete: it has the round file
	if bctl export "e1@r$r" "$W/snap-r$r" 2>/dev/null; then
		assert_eq "round $r" "$(cat "$W/snap-r$r/round")" "snapshot r$r content"
	fi
	out=$(bctl check --store --deep 2>&1) || die "round $r: store does not verify: $out"
	note "round $r: load of $target killed -> $st state; snapshot r$r $([ -d "$W/snap-r$r" ] && echo saved || echo absent)"
done
fs_pass
