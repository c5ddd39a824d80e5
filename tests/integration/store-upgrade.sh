#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A store of format 2 (tests/fixtures/store-format2.tar.gz, made by the
# release before pack files with tests/fixtures/mkstore-format2.sh) opens
# with this blastctl: `list` works and logs the upgrade to format 3, envs
# and the snapshot export unchanged, `gc` moves the bytes kept inside
# LMDB to pack files (packs/ appears, data.mdb's used pages drop) and the
# store verifies clean. A SIGKILL at a random moment of the upgrade and
# migration leaves a store that lists, exports right, verifies, and
# finishes migrating at the next gc.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
require_cmd mdb_stat tar
ctl_setup
KILLS=${BLAST_CRASH_MOMENTS:-4}
FIXTURE=$BLAST_REPO/tests/fixtures/store-format2.tar.gz

# unpack: a fresh copy of the fixture's store at $H, its trees in $W
unpack() {
	rm -rf -- "$W/store" "$W/src"
	tar -xzf "$FIXTURE" -C "$W"
	H=$W/store
}
unpack
# 'other' is 'old' with pkg/extra.txt added and pkg/sub/m007.py removed
cp -a -- "$W/src" "$W/src2"
rm -- "$W/src2/pkg/sub/m007.py"
for ((i = 0; i < 5000; i++)); do echo "only in 'other'"; done >"$W/src2/pkg/extra.txt"

# used_pages: data.mdb's pages in use (high-water mark less free pages)
used_pages() {
	mdb_stat -nef "$H/data.mdb" | awk '/Number of pages used:/ { u = $5 } /Free pages:/ { f = $3 } END { print u - f }'
}
# content_ok WHEN: list shows both envs, every ref exports equal to its
# tree, the store verifies clean.
content_ok() {
	local ref tree
	ctl_expect 0 list
	assert_contains "$OUT" "old" "list $1"
	assert_contains "$OUT" "other" "list $1"
	for ref in old old@s1 other; do
		tree=$W/src
		[ "$ref" != other ] || tree=$W/src2
		rm -rf -- "$W/out"
		ctl_expect 0 export "$ref" "$W/out"
		assert_same_tree --no-mtime --no-dir-mtime "$tree" "$W/out"
	done
	ctl_expect 0 check --store --deep
}
# migrated: gc moves nothing more (no inline bytes are left)
migrated() {
	ctl_expect 0 --json gc
	assert_eq 0 "$(json_get 'j["repacked_bytes"]')" "bytes gc moved $1"
}

p0=$(used_pages)
[ ! -e "$H/packs" ] || die "the fixture has pack files"
ctl_expect 0 list
assert_contains "$ERR" "upgraded from format 2 to 4" "list on a format 2 store"
assert_contains "$OUT" "old" "list on a format 2 store"
content_ok "after the upgrade"
p1=$(used_pages)
ctl_expect 0 --json gc
moved=$(json_get 'j["repacked_bytes"]')
[ "$moved" -gt 90000 ] || die "gc moved $moved bytes of a store of 102 KiB kept inside LMDB"
[ -d "$H/packs" ] || die "no packs/ after gc"
npacks=$(find "$H/packs" -name '*.pack' | wc -l)
[ "$npacks" -ge 1 ] || die "no pack file after gc"
p2=$(used_pages)
note "data.mdb pages in use: $p0 as made, $p1 upgraded, $p2 migrated ($moved bytes into $npacks pack files)"
[ "$p2" -le $((p1 - 15)) ] || die "data.mdb's used pages went from $p1 to $p2 only"
content_ok "after the migration"
migrated "after the migration"

# a SIGKILL at a random moment of a `gc` opening the fresh format 2 store
# (the upgrade, then the migration into small pack files); the moment is
# drawn from how long one such gc takes here
unpack
t0=$(_lib_now_us)
BLAST_PFILE_MAX=4096 bctl gc >"$W/gc.out" 2>&1 || die "gc: $(cat "$W/gc.out")"
dur=$((($(_lib_now_us) - t0) / 1000))
note "upgrade and migration by one gc: $dur ms"
for ((k = 1; k <= KILLS; k++)); do
	unpack
	ms=$((RANDOM % (dur + 1)))
	BLAST_PFILE_MAX=4096 "$BLASTCTL" --home "$H" gc >"$W/kill.out" 2>&1 &
	pid=$!
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null || true
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	note "kill $k at $ms ms (exit $rc): $(find "$H/packs" -name '*.pack' 2>/dev/null | wc -l) pack files"
	content_ok "after kill $k"
	BLAST_PFILE_MAX=4096 bctl gc >"$W/gc.out" 2>&1 || die "gc after kill $k: $(cat "$W/gc.out")"
	migrated "after kill $k and a gc"
	ctl_expect 0 check --store --deep
	rm -rf -- "$W/out"
	ctl_expect 0 export old "$W/out"
	assert_same_tree --no-mtime --no-dir-mtime "$W/src" "$W/out"
	[ "$(used_pages)" -le $((p1 - 15)) ] || die "data.mdb's used pages $(used_pages) after kill $k and a gc"
done
echo "PASS: $TEST_NAME"
