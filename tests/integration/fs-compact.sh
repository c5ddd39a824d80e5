#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `blastctl compact` next to a mounted env: while it repacks and
# recompresses the store, reads through the mount keep returning the
# imported bytes and writes land; afterwards the store verifies (deep),
# every byte reads back through a fresh mount and an export,
# a second compact does nothing, and gc after destroy frees the packs.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt

note "a tree of small and large files"
mkdir -p "$W/src"
cp -a /usr/lib/python3.11/email /usr/lib/python3.11/json \
	/usr/lib/python3.11/asyncio "$W/src/"
"$BLAST_TEST_PYTHON" - "$W/src/big.bin" <<'PY'
import random, sys
r = random.Random(7)
words = [bytes(r.choice(b"abcdefgh") for _ in range(r.randint(2, 9)))
         for _ in range(500)]
with open(sys.argv[1], "wb") as f:
    f.write(b" ".join(r.choice(words) for _ in range(600000)))
PY
(cd "$W/src" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$W/sums"
fs_import c "$W/src"
fs_mount c "$MNT"
before=$(bctl list --json | "$BLAST_TEST_PYTHON" -c \
	'import json,sys; print(json.load(sys.stdin)["store"]["stored_bytes"])')

note "compact while a reader checks every byte and a writer writes"
reader() {
	local n=0
	while [ ! -e "$W/stop" ] || [ "$n" -eq 0 ]; do
		# cold reads, so they come from the store being compacted
		echo 3 2>/dev/null >/proc/sys/vm/drop_caches || true
		(cd "$MNT" && sha256sum --quiet -c "$W/sums") >"$W/reader.out" 2>&1 ||
			{ echo "round $n" >>"$W/reader.out"; return 1; }
		n=$((n + 1))
	done
	echo "$n" >"$W/rounds"
}
reader &
rpid=$!
on_exit kill_pid "$rpid"
for i in $(seq 1 20); do
	printf 'written during compact %s\n' "$i" >"$MNT/new-$i.txt"
done
bctl compact --level 3 --json >"$W/compact.json" 2>"$W/compact.err" ||
	die "compact failed: $(cat "$W/compact.err")"
touch "$W/stop"
wait "$rpid" || die "a read during compact returned wrong bytes: $(cat "$W/reader.out")"
note "reader rounds: $(cat "$W/rounds")"
packs=$("$BLAST_TEST_PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["packs"], d["stored_after"])' "$W/compact.json")
read -r npacks after <<<"$packs"
[ "$npacks" -gt 0 ] || die "compact made no packs: $(cat "$W/compact.json")"
[ "$after" -lt "$before" ] || die "compact did not shrink the store: $before -> $after"

note "after compaction: unmount, verify, fresh mount reads every byte"
fs_umount c "$MNT"
fs_check_store
fs_mount c "$MNT"
(cd "$MNT" && sha256sum --quiet -c "$W/sums") || die "bytes differ after compaction"
for i in $(seq 1 20); do
	assert_eq "written during compact $i" "$(cat "$MNT/new-$i.txt")" "new-$i.txt"
done
fs_umount c "$MNT"
bctl export c "$W/out" >/dev/null 2>&1 || die "export failed"
(cd "$W/out" && sha256sum --quiet -c "$W/sums") || die "export differs after compaction"
assert_eq "$(($(wc -l <"$W/sums") + 20))" "$(find "$W/out" -type f | wc -l)" "files exported"

note "a second compact has nothing to do (only what was written since)"
bctl compact --level 3 --json >"$W/compact2.json" 2>/dev/null || die "second compact failed"
"$BLAST_TEST_PYTHON" - "$W/compact2.json" <<'PY' || die "second compact redid work: $(cat "$W/compact2.json")"
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["chunks_recompressed"] <= 20 and d["blobs_packed"] <= 20 else 1)
PY

note "bad input: a level out of range is a usage error and changes nothing"
assert_fails bctl compact --level 99
assert_eq 2 "$ASSERT_FAILS_RC" "exit code of --level 99"
assert_fails bctl compact --threads 0
assert_eq 2 "$ASSERT_FAILS_RC" "exit code of --threads 0"

note "destroy and gc free every blob and pack"
bctl destroy c >/dev/null 2>&1 || die "destroy failed"
bctl gc >/dev/null 2>&1 || die "gc failed"
blobs=$(bctl list --json | "$BLAST_TEST_PYTHON" -c \
	'import json,sys; print(json.load(sys.stdin)["store"]["blobs"])')
assert_eq 0 "$blobs" "blobs left after destroy + gc"
fs_check_store
fs_pass
