#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `create NEW --from ENV` of a mounted env clones its live state: the
# daemon seals every written file and saves an automatic snapshot, which
# the clone shares. Every write that returned before create is in the
# clone (a closed file, a file still open for writing, a rename, a
# removal); what the source writes afterwards is not, and the source stays
# mounted and writable. Two clones within one second get two snapshots.
set -euo pipefail
. "$(dirname "$0")/fs-lib.sh"
fs_setup

mkdir -p "$W/src/pkg"
echo 'x = 1' >"$W/src/pkg/__init__.py"
echo gone >"$W/src/pkg/old.txt"
fs_import e1 "$W/src"
M=$W/mnt
fs_mount e1 "$M"

# Writes that returned: a closed file, one still open, a rename, an unlink.
head -c 300000 /dev/urandom >"$W/data.bin"
cp "$W/data.bin" "$M/pkg/data.bin"
exec 3>"$M/pkg/open.txt"
printf 'written, not closed\n' >&3
mv "$M/pkg/__init__.py" "$M/pkg/init.py"
rm "$M/pkg/old.txt"

fs_want 0 create e2 --from e1
assert_contains "$ERR" "env 'e1' is mounted: saved its live state as automatic snapshot 'e1@auto-" "auto snapshot said"
assert_contains "$ERR" "created env 'e2' from 'e1@auto-" "clone status"
snap=$(sed -n "s/.*automatic snapshot 'e1@\(auto-[^']*\)'.*/\1/p" <<<"$ERR")
[ -n "$snap" ] || die "no snapshot name in: $ERR"
fs_want 0 --json snapshots e1
assert_eq "True" "$(python3 -c 'import json,sys; j=json.load(sys.stdin); s=[x for x in j["snapshots"] if x["name"]==sys.argv[1]]; print(len(s)==1 and s[0]["automatic"])' "$snap" <<<"$OUT")" "the snapshot is listed as automatic"

# The source goes on: still mounted, its later writes stay its own.
echo later >&3
exec 3>&-
echo after >"$M/after.txt"
is_mounted "$M" || die "e1 unmounted by create"

bctl export e2 "$W/x-e2" 2>/dev/null
cmp "$W/data.bin" "$W/x-e2/pkg/data.bin" || die "closed file not in the clone"
assert_eq "written, not closed" "$(cat "$W/x-e2/pkg/open.txt")" "open file's write in the clone"
assert_eq "x = 1" "$(cat "$W/x-e2/pkg/init.py")" "rename in the clone"
[ ! -e "$W/x-e2/pkg/__init__.py" ] || die "renamed-away name in the clone"
[ ! -e "$W/x-e2/pkg/old.txt" ] || die "removed file in the clone"
[ ! -e "$W/x-e2/after.txt" ] || die "a later write reached the clone"

# Two clones in the same second: two snapshots, both clones right.
fs_want 0 create e3 --from e1
fs_want 0 create e4 --from e1
s3=$(sed -n "s/.*'e1@\(auto-[^']*\)'.*/\1/p" <<<"$ERR" | head -1)
fs_want 0 create e5 --from e1
s5=$(sed -n "s/.*'e1@\(auto-[^']*\)'.*/\1/p" <<<"$ERR" | head -1)
assert_ne "$s3" "$s5" "distinct automatic snapshots"
bctl export e5 "$W/x-e5" 2>/dev/null
assert_eq "after" "$(cat "$W/x-e5/after.txt")" "a later clone has the later write"
assert_eq "written, not closed
later" "$(cat "$W/x-e5/pkg/open.txt")" "closed file's last write"

# Refusals change nothing: no snapshot is taken for them.
fs_want 0 --json snapshots e1
before=$OUT
fs_want 1 create e2 --from e1
assert_contains "$ERR" "env 'e2' already exists" "existing name"
fs_want 0 --json snapshots e1
assert_eq "$before" "$OUT" "snapshots after a refused create"
fs_want 1 create e6 --from nosuch
assert_contains "$ERR" "no env named 'nosuch'" "unknown source"

fs_umount e1 "$M"
fs_check_store
fs_pass
