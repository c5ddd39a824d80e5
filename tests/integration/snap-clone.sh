#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `create NAME --from ENV[@SNAP]` clones in O(1): the clone exports the
# same tree, and changes made in either (through a mount) never show in
# the other. A mounted source's snapshot clones too (its live state:
# ctl-create-from-mounted.sh). Bad
# --from input is refused. `destroy` refuses a mounted env unless
# --force, and after destroying the clones gc returns the store's blobs
# to what they were before.
set -euo pipefail
. "$(dirname "$0")/fs-lib.sh"
fs_setup

# change NAME SCRIPT: run SCRIPT (bash) in a short mount of NAME.
change() { fs_change "$1" "$W/mnt-$1" "$2"; }

# blobs: the store's blob count and stored bytes (after gc).
blobs() {
	bctl gc >/dev/null 2>&1
	bctl --json list | python3 -c 'import json,sys; s=json.load(sys.stdin)["store"]; print(s["blobs"], s["stored_bytes"])'
}

mkdir -p "$W/src/pkg"
head -c 300000 /dev/urandom >"$W/src/pkg/data.bin"
echo 'x = 1' >"$W/src/pkg/__init__.py"
fs_import e1 "$W/src"
base=$(blobs)

fs_want 0 create e2 --from e1
assert_contains "$ERR" "created env 'e2' from 'e1' in " "clone status"
bctl export e2 "$W/x-e2" 2>/dev/null
assert_same_tree "$W/src" "$W/x-e2"
fs_want 0 --json list
assert_eq "True" "$(python3 -c 'import json,sys; e={e["name"]: e for e in json.load(sys.stdin)["envs"]}; print(all(e["e1"][k] == e["e2"][k] for k in ("python", "python_version", "logical_bytes", "files")))' <<<"$OUT")" "clone keeps python and sizes"

# changes in the clone do not reach the source...
change e2 'echo "x = 2" >pkg/__init__.py; head -c 200000 /dev/urandom >pkg/more.bin'
bctl export e2 "$W/e2-after" 2>/dev/null
bctl export e1 "$W/x-e1" 2>/dev/null
assert_same_tree "$W/src" "$W/x-e1"
# ...nor the other way
change e1 'rm pkg/data.bin; echo y >y.txt'
rm -rf "$W/x-e2b"
bctl export e2 "$W/x-e2b" 2>/dev/null
assert_same_tree "$W/e2-after" "$W/x-e2b"

# from a snapshot, also while the source is mounted
fs_want 0 save e2 s1
mkdir -p "$W/mnt-e2"
fs_mount e2 "$W/mnt-e2"
fs_want 0 create e3 --from e2@s1
echo changed >"$W/mnt-e2/pkg/__init__.py"
bctl export e3 "$W/x-e3" 2>/dev/null
assert_same_tree "$W/e2-after" "$W/x-e3"

# bad --from
fs_want 1 create e5 --from nosuch
assert_contains "$ERR" "no env named 'nosuch'" "unknown source"
fs_want 1 create e5 --from e1@nosnap
assert_contains "$ERR" "env 'e1' has no snapshot 'nosnap'" "unknown snapshot"
fs_want 1 create e3 --from e1
assert_contains "$ERR" "env 'e3' already exists" "existing name"
fs_want 2 create e5 --from e1 --python /usr/bin/python3
fs_want 2 create e5 --from '@s1'
fs_want 2 create e5 --from 'e1@.x'

# destroy: a mounted env only with --force
fs_want 1 destroy e2
assert_contains "$ERR" "is mounted" "destroy refuses a mounted env"
fs_want 0 destroy e2 --force
assert_contains "$ERR" "destroyed env 'e2'" "destroy --force"
assert_contains "$ERR" "freed" "destroy frees what only it used"
is_mounted "$W/mnt-e2" && die "e2 still mounted after destroy --force"
fs_want 1 destroy e2
assert_contains "$ERR" "no env named 'e2'" "destroy twice"
fs_want 0 destroy e3
bctl export e1 "$W/x-e1-final" 2>/dev/null

# only e1 remains, which has dropped data.bin since: the clones' blobs
# (more.bin) and data.bin (last held by e2@s1) are reclaimed, the store
# holds less than it did before the clones
# the daemon snapshots the state before the first change of a mount
# (a package operation starts); those hold data.bin too: drop them
for a in $(bctl --json snapshots e1 | python3 -c 'import json,sys
d=json.load(sys.stdin)
for s in (d if isinstance(d, list) else d.get("snapshots", [])):
    if s.get("automatic") or s.get("auto"): print(s["name"])'); do
	fs_want 0 rm-snapshot e1 "$a"
done
read -r b0 s0 <<<"$base"
read -r b1 s1 <<<"$(blobs)"
[ "$b1" -lt "$b0" ] || die "blobs after destroy + gc: $b1 >= $b0"
[ "$s1" -le $((s0 - 290000)) ] || die "stored bytes after destroy + gc: $s1, before the clones $s0"
fs_want 0 check --store --deep
fs_pass
