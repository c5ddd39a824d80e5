#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Snapshots of an unmounted env, done in the store: save, snapshots,
# load (saving an unsaved live state first as an automatic snapshot and
# saying so), undo, rm-snapshot; every snapshot exports exactly what was
# saved. Bad input (duplicate, unknown and invalid names, unknown env) is
# refused with one clear error and leaves the store as it was. The live
# state is changed between steps through a short blastfs mount.
set -euo pipefail
. "$(dirname "$0")/fs-lib.sh"
fs_setup

# change SCRIPT: run SCRIPT (bash) in a short mount of e1.
change() { fs_change e1 "$W/mnt" "$1"; }

# state: the store's envs and e1's snapshots, to prove nothing changed.
state() {
	bctl --json list | grep -v '"map_used"' || true
	bctl --json snapshots e1
}

mkdir -p "$W/src/pkg/sub" "$W/mnt"
echo one >"$W/src/pkg/a.txt"
echo keep >"$W/src/pkg/sub/b.txt"
ln -s a.txt "$W/src/pkg/link"
fs_import e1 "$W/src"

fs_want 0 save e1 s1 -m "the first state"
assert_contains "$ERR" "saved 'e1@s1' in " "save status"
assert_contains "$ERR" " ms" "save is timed"
bctl export e1@s1 "$W/x-s1" 2>/dev/null
assert_same_tree "$W/src" "$W/x-s1"

change 'echo two >pkg/a.txt; echo new >pkg/new.txt; rm pkg/sub/b.txt'
bctl export e1 "$W/live2" 2>/dev/null
fs_want 0 save e1 s2
bctl export e1@s2 "$W/x-s2" 2>/dev/null
assert_same_tree "$W/live2" "$W/x-s2"

fs_want 0 snapshots e1
# manual ones: the daemon also snapshots before the first change of a mount
assert_eq 3 "$(printf '%s\n' "$OUT" | grep -vc ' auto ')" "header + 2 snapshots"
assert_contains "$(sed -n 2p <<<"$OUT")" "s1" "oldest first"
assert_contains "$(sed -n 2p <<<"$OUT")" "the first state" "message"
assert_contains "$(sed -n 2p <<<"$OUT")" "manual" "kind"
fs_want 0 --json snapshots e1
assert_eq "s1 s2" "$(python3 -c 'import json,sys; print(" ".join(s["name"] for s in json.load(sys.stdin)["snapshots"] if not s["automatic"]))' <<<"$OUT")" "json names"

# live == s2: loading s1 saves nothing
fs_want 0 load e1 s1
assert_not_contains "$ERR" "automatic" "nothing unsaved"
assert_contains "$ERR" "loaded 'e1@s1'" "load status"
bctl export e1 "$W/x-live-s1" 2>/dev/null
assert_same_tree "$W/src" "$W/x-live-s1"

# unsaved changes are saved first, and said so
change 'echo three >pkg/a.txt; mkdir -p d; echo z >d/z'
bctl export e1 "$W/live3" 2>/dev/null
fs_want 0 load e1 s2
auto=$(sed -n "s/.*automatic snapshot '\\(auto-[0-9]\\{8\\}-[0-9]\\{6\\}-[0-9]*\\)'.*/\\1/p" <<<"$ERR")
[ -n "$auto" ] || die "load did not name its automatic snapshot: $ERR"
bctl export "e1@$auto" "$W/x-auto" 2>/dev/null
assert_same_tree "$W/live3" "$W/x-auto"
bctl export e1 "$W/x-live-s2" 2>/dev/null
assert_same_tree "$W/live2" "$W/x-live-s2"
fs_want 0 --json snapshots e1
assert_eq True "$(python3 -c 'import json,sys; print([s for s in json.load(sys.stdin)["snapshots"] if s["name"]=="'"$auto"'"][0]["automatic"])' <<<"$OUT")" "auto kind"

# undo: unsaved live state -> the newest automatic snapshot; then nothing
# older is left
change 'echo four >pkg/a.txt'
bctl export e1 "$W/live4" 2>/dev/null
fs_want 0 undo e1
# the daemon snapshotted the state before the last change (echo four)
assert_contains "$ERR" "loaded 'e1@auto-" "undo loads an automatic snapshot"
auto2=$(sed -n "s/.*automatic snapshot '\\(auto-[^']*\\)'.*/\\1/p" <<<"$ERR")
[ -n "$auto2" ] && [ "$auto2" != "$auto" ] || die "undo did not save the undone state: $ERR"
bctl export e1 "$W/x-undo" 2>/dev/null
assert_same_tree "$W/live2" "$W/x-undo"
bctl export "e1@$auto2" "$W/x-auto2" 2>/dev/null
assert_same_tree "$W/live4" "$W/x-auto2"
# undo again steps further back, until nothing older is left
steps=0
while bctl undo e1 >/dev/null 2>"$W/err"; do
	steps=$((steps + 1))
	[ "$steps" -lt 20 ] || die "undo never reaches the oldest state"
done
assert_contains "$(cat "$W/err")" "nothing to undo" "undo at the oldest"
[ "$steps" -ge 1 ] || die "undo could not step back a second time"

# bad input: one error, store unchanged
before=$(state)
fs_want 1 save e1 s1
assert_eq "blastctl: env 'e1' already has a snapshot 's1'" "$ERR" "duplicate"
fs_want 1 load e1 nope
assert_eq "blastctl: env 'e1' has no snapshot 'nope'" "$ERR" "unknown snapshot"
fs_want 1 rm-snapshot e1 nope
assert_contains "$ERR" "no snapshot 'nope'" "rm unknown"
fs_want 2 save e1 .bad
assert_contains "$ERR" "invalid snapshot name '.bad'" "invalid snapshot"
fs_want 2 load e1 'a/b'
assert_contains "$ERR" "invalid snapshot name 'a/b'" "invalid snapshot (load)"
fs_want 2 save 'bad env' s9
assert_contains "$ERR" "invalid env name" "invalid env"
fs_want 1 save nosuch s9
assert_eq "blastctl: no env named 'nosuch'" "$ERR" "unknown env"
fs_want 1 load nosuch s1
fs_want 1 snapshots nosuch
fs_want 2 save e1 s9 -m "$(printf 'two\nlines')"
cd "$W"
fs_want 1 save s9
cd - >/dev/null
assert_contains "$ERR" "no env is mounted at '$W/.blast'" "no NAME, no mount"
assert_eq "$before" "$(state)" "store unchanged by bad input"

# rm-snapshot
fs_want 0 rm-snapshot e1 s1
assert_contains "$ERR" "removed snapshot 'e1@s1'" "rm status"
fs_want 0 --json snapshots e1
assert_not_contains "$OUT" '"s1"' "s1 gone"
fs_want 1 load e1 s1
bctl export e1@s2 "$W/x-s2b" 2>/dev/null
assert_same_tree "$W/live2" "$W/x-s2b"

# retention of automatic snapshots: a setting, applied at once
nauto() { bctl --json snapshots e1 | python3 -c 'import json,sys; print(sum(s["automatic"] for s in json.load(sys.stdin)["snapshots"]))'; }
[ "$(nauto)" -ge 2 ] || die "expected several automatic snapshots, got $(nauto)"
fs_want 0 snapshots e1 --keep-auto 1
assert_contains "$ERR" "keeps its 1 newest automatic" "keep-auto status"
assert_eq 1 "$(nauto)" "automatic snapshots after --keep-auto 1"
change 'echo five >pkg/a.txt'
assert_eq 1 "$(nauto)" "the daemon keeps to --keep-auto"
fs_want 2 snapshots e1 --keep-auto 0

fs_want 0 gc
fs_want 0 check --store --deep
fs_pass
