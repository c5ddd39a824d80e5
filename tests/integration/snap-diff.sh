#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl diff: between two snapshots and between a snapshot and the
# live state (unmounted, and mounted after a sync), as +/-/~ path lines
# sorted by path (a directory added or removed is one line ending in
# '/'), with a package summary from the dist-info directories under
# site-packages; hard-linked names compare through their inode; --json
# says the same; identical states print nothing; errors exit 1 (unknown
# env or snapshot) or 2 (bad names, arguments).
set -euo pipefail
. "$(dirname "$0")/fs-lib.sh"
fs_setup

# change SCRIPT: run SCRIPT (bash) in a short mount of e1.
change() { fs_change e1 "$W/mnt" "$1"; }

SP=lib/python3.11/site-packages
mkdir -p "$W/src/$SP"/{foo-1.0.dist-info,foo,bar-2.0.dist-info,bar} \
	"$W/src/bin" "$W/mnt"
echo "Name: foo" >"$W/src/$SP/foo-1.0.dist-info/METADATA"
echo "Name: bar" >"$W/src/$SP/bar-2.0.dist-info/METADATA"
echo "v = '1.0'" >"$W/src/$SP/foo/__init__.py"
echo "x = 1" >"$W/src/$SP/foo/util.py"
echo "v = '2.0'" >"$W/src/$SP/bar/__init__.py"
echo "#!/bin/sh" >"$W/src/bin/tool"
ln -s python3.11 "$W/src/bin/python"
fs_import e1 "$W/src"
fs_want 0 save e1 s1

note "upgrade foo, remove bar, add baz; save s2"
change "
set -e
cd $SP
mv foo-1.0.dist-info foo-1.1.dist-info
echo \"v = '1.1'\" >foo/__init__.py
ln foo/__init__.py foo/alias.py
rm -r bar bar-2.0.dist-info
mkdir baz baz-0.1.dist-info
echo 'Name: baz' >baz-0.1.dist-info/METADATA
echo 'z = 0' >baz/__init__.py
"
fs_want 0 save e1 s2

fs_want 0 diff e1 s1 s2
want="-bar 2.0
+baz 0.1
foo 1.0 -> 1.1
- $SP/bar-2.0.dist-info/
- $SP/bar/
+ $SP/baz-0.1.dist-info/
+ $SP/baz/
- $SP/foo-1.0.dist-info/
+ $SP/foo-1.1.dist-info/
~ $SP/foo/__init__.py
+ $SP/foo/alias.py"
assert_eq "$want" "$OUT" "diff s1 s2"
assert_eq "" "$ERR" "diff s1 s2 stderr"

note "--json"
fs_want 0 diff e1 s1 s2 --json
printf '%s' "$OUT" >"$W/diff.json"
"$BLAST_TEST_PYTHON" - "$SP" "$W/diff.json" <<'EOF' || die "diff --json: $OUT"
import json, sys
sp = sys.argv[1]
with open(sys.argv[2]) as f:
    j = json.load(f)
assert j["from"] == "s1" and j["to"] == "s2", j
assert j["added"] == [f"{sp}/baz-0.1.dist-info/", f"{sp}/baz/",
                      f"{sp}/foo-1.1.dist-info/", f"{sp}/foo/alias.py"], j
assert j["removed"] == [f"{sp}/bar-2.0.dist-info/", f"{sp}/bar/",
                        f"{sp}/foo-1.0.dist-info/"], j
assert j["changed"] == [f"{sp}/foo/__init__.py"], j
assert j["packages"] == [
    {"name": "bar", "from": "2.0", "to": None},
    {"name": "baz", "from": None, "to": "0.1"},
    {"name": "foo", "from": "1.0", "to": "1.1"}], j["packages"]
EOF
# --json also before the command name
fs_want 0 --json diff e1 s2 s1
assert_contains "$OUT" '"from": "s2"' "reverse json"

note "the reverse diff"
fs_want 0 diff e1 s2 s1
assert_eq "+bar 2.0
-baz 0.1
foo 1.1 -> 1.0
+ $SP/bar-2.0.dist-info/
+ $SP/bar/
- $SP/baz-0.1.dist-info/
- $SP/baz/
+ $SP/foo-1.0.dist-info/
- $SP/foo-1.1.dist-info/
~ $SP/foo/__init__.py
- $SP/foo/alias.py" "$OUT" "diff s2 s1"

note "identical states print nothing"
fs_want 0 save e1 s2b
fs_want 0 diff e1 s2 s2b
assert_eq "" "$OUT" "identical snapshots"
fs_want 0 diff e1 s2
assert_eq "" "$OUT" "s2 vs identical live state"
fs_want 0 diff e1 s1 s1 --json
assert_contains "$OUT" '"added": []' "identical json"
assert_contains "$OUT" '"packages": []' "identical json packages"

note "live state: write through a hard link, chmod, symlink, new dir"
change "
set -e
echo \"v = '1.1.1'\" >>$SP/foo/alias.py
chmod 0700 bin/tool
ln -sfn python3.12 bin/python
mkdir -p share/doc && echo hi >share/doc/README
rm $SP/foo/util.py
"
fs_want 0 diff e1 s2
assert_eq "~ bin/python
~ bin/tool
~ $SP/foo/__init__.py
~ $SP/foo/alias.py
- $SP/foo/util.py
+ share/" "$OUT" "diff s2 vs live"
fs_want 0 diff e1 s2 --json
assert_contains "$OUT" '"to": null' "live json to"

note "mounted live state (synced first)"
fs_mount e1 "$W/mnt"
echo new >"$W/mnt/$SP/foo/new.py"
fs_want 0 diff e1 s2
assert_contains "$OUT" "+ $SP/foo/new.py" "mounted live diff"
fs_umount e1 "$W/mnt"

note "errors"
fs_want 1 diff nosuch s1
assert_contains "$ERR" "no env named 'nosuch'" "unknown env"
fs_want 1 diff e1 nosnap
assert_contains "$ERR" "has no snapshot 'nosnap'" "unknown snapshot A"
fs_want 1 diff e1 s1 nosnap
assert_contains "$ERR" "has no snapshot 'nosnap'" "unknown snapshot B"
fs_want 2 diff e1 'bad/name'
assert_contains "$ERR" "invalid snapshot name" "bad snapshot name"
fs_want 2 diff 'bad name' s1 s2
assert_contains "$ERR" "invalid env name" "bad env name"
fs_want 2 diff e1 s1 s2 s3
assert_contains "$ERR" "too many arguments" "too many"
fs_want 2 diff
assert_contains "$ERR" "usage: blastctl diff" "no operands"
fs_want 0 diff --help
assert_contains "$OUT" "Exits 0" "help says exit status"

fs_pass
