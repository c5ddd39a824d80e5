#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A store of format 3 (tests/fixtures/store-format3.tar.gz, made by the
# release before extended attributes with tests/fixtures/mkstore-format3.sh)
# opens with this blastfs/blastctl: the first writing open logs the upgrade
# to format 4 (nothing is rewritten: format 3 records read as they are),
# every env and snapshot exports its tree unchanged and the store checks
# clean, deep; then an env mounted from it takes extended attributes,
# which export writes back, and the store still checks clean.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
require_cmd tar getfattr
fs_setup
tar -xzf "$BLAST_REPO/tests/fixtures/store-format3.tar.gz" -C "$W"
H=$W/store
cp -a "$W/src" "$W/src2"
rm "$W/src2/sub/f007"

fs_want 0 list
assert_contains "$ERR" "upgraded from format 3 to 4" "list on a format 3 store"
assert_contains "$OUT" "other" "list on a format 3 store"
for ref in old old@s1 other; do
	tree=$W/src
	[ "$ref" != other ] || tree=$W/src2
	fs_want 0 export "$ref" "$W/out-$ref"
	assert_same_tree --no-mtime --no-dir-mtime "$tree" "$W/out-$ref"
done
fs_check_store

note "an upgraded env takes extended attributes"
fs_mount old "$W/mnt"
setfattr -n user.k -v upgraded "$W/mnt/big.txt"
setfattr -n user.d -v dir "$W/mnt/sub"
fs_umount old "$W/mnt"
fs_want 0 export old "$W/out2"
assert_eq upgraded "$(getfattr --absolute-names --only-values -n user.k "$W/out2/big.txt")" "user.k after export"
assert_eq dir "$(getfattr --absolute-names --only-values -n user.d "$W/out2/sub")" "user.d after export"
fs_want 0 export old@s1 "$W/out3"
[ -z "$(getfattr --absolute-names -d "$W/out3/big.txt")" ] || die "the snapshot from format 3 gained attributes"
fs_check_store
fs_pass
