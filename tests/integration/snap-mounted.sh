#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Snapshots of a mounted env, through its daemon: pip install wheel set A,
# save s1; install B and uninstall part of A, save s2; load s1 and s2 in
# turn: the mounted tree, `pip list` and imports are exactly each
# snapshot's (also against an export of it). A process holding a file
# open across a load still reads what it opened (an inline one and a
# blob, opened after the kernel forgot them, so that blastfs has not
# loaded them when the load comes); a load while a file is
# open for writing is refused with a clear message and changes nothing.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
pip_env_start

piplist() { "$PY" -m pip list --format=freeze 2>/dev/null; }
# manifest: the mounted tree, without directory mtimes of the root (the
# mountpoint) and atime-free as tree_manifest is.
manifest() { tree_manifest "$M"; }

note "set A, save s1"
pip install --no-index --find-links "$WHEELS" blast-alpha
echo v1 >"$M/held.txt"
head -c 5000 /dev/zero | tr '\0' A >"$M/held.bin" # stored as a blob
want 0 save s1 -m "set A"
assert_contains "$ERR" "saved 'proj@s1' (mounted) in " "mounted save status"
m1=$(manifest)
l1=$(piplist)
assert_contains "$l1" "blast-alpha==1.0" "s1 pip list"
bctl export proj@s1 "$W/x-s1" 2>/dev/null

note "set B, uninstall part of A, save s2"
pip install --no-index --find-links "$WHEELS" blast-gamma
pip uninstall -y blast-alpha
echo v2 >"$M/held.txt"
head -c 5000 /dev/zero | tr '\0' B >"$M/held.bin"
want 0 save s2
m2=$(manifest)
l2=$(piplist)
assert_contains "$l2" "blast-gamma==0.3" "s2 pip list"
assert_not_contains "$l2" "blast-alpha" "s2 pip list"

note "load s1 with held.txt and held.bin open"
# the kernel forgets them first: blastfs never loads what the opens below
# hold (no OPEN reaches it), so their first READ comes after the load
drop_kernel_caches || true
exec 3<"$M/held.txt" 5<"$M/held.bin"
want 0 load s1
assert_contains "$ERR" "loaded 'proj@s1' (mounted)" "load status"
assert_not_contains "$ERR" "automatic snapshot" "nothing unsaved before load"
assert_eq v2 "$(cat <&3)" "an open file keeps its content across load"
assert_eq "$(head -c 5000 /dev/zero | tr '\0' B)" "$(cat <&5)" "an open file keeps its stored blob across load"
exec 3<&- 5<&-
assert_eq "$m1" "$(manifest)" "mounted tree after load s1"
assert_eq "$l1" "$(piplist)" "pip list after load s1"
assert_same_tree "$W/x-s1" "$M"
"$PY" -c 'import blast_alpha, blast_beta' || die "imports after load s1"
"$PY" -c 'import blast_delta' 2>/dev/null && die "blast_delta importable at s1"

note "load s2"
want 0 load s2
assert_eq "$m2" "$(manifest)" "mounted tree after load s2"
assert_eq "$l2" "$(piplist)" "pip list after load s2"
"$PY" -c 'import blast_delta, blast_epsilon' || die "imports after load s2"
"$PY" -c 'import blast_alpha' 2>/dev/null && die "blast_alpha importable at s2"

note "load refused while a file is open for writing"
exec 4>>"$M/held.txt"
want 1 load s1
assert_contains "$ERR" "open for writing" "refusal names the reason"
assert_contains "$ERR" "$(readlink -f "$M")/held.txt (pid $$ " \
	"refusal names the file and the process holding it"
exec 4>&-
assert_eq "$m2" "$(manifest)" "a refused load changes nothing"

note "unsaved changes are saved first"
echo v3 >"$M/held.txt"
m3=$(manifest)
want 0 load s1
auto=$(sed -n "s/.*automatic snapshot '\\(auto-[^']*\\)'.*/\\1/p" <<<"$ERR")
[ -n "$auto" ] || die "load did not name its automatic snapshot: $ERR"
want 0 load "$auto"
assert_eq "$m3" "$(manifest)" "the automatic snapshot holds the unsaved state"

want 0 snapshots
assert_contains "$OUT" "auto" "automatic snapshots listed"
want 0 kill
want 0 check --store --deep
echo "PASS: $TEST_NAME"
