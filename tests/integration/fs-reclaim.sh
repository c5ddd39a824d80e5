#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The daemon gives space back by itself: a 256 KiB file rewritten (and
# fsynced) 400 times leaves the store, without `blastctl gc`, within a
# few MiB of what it held before (stored bytes, and du of data.mdb, which
# stops growing once the first half reached its bound); an
# open unlinked file's content survives, a snapshot's content survives,
# and an import that dedups against content the daemon is dropping (and
# reclaiming) at the same moment loses nothing. The store verifies clean
# after a kill -9 in the middle of rewrites.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
REWRITES=${RECLAIM_REWRITES:-400}
fs_import rc
# no automatic snapshot is pruned: each one taken while rewriting (after a
# 2 s pause of a slow machine) holds a version, counted below
fs_want 0 snapshots rc --keep-auto 1000
fs_mount rc "$MNT"

stored() {
	bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["store"]["stored_bytes"])'
}
data_kib() {
	du -k -- "$H/data.mdb" | cut -f1
}
nsnaps() {
	bctl --json snapshots rc | "$BLAST_TEST_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["snapshots"]))'
}
# daemon FIELD...: those fields of the daemon's status, on one line
daemon() {
	bctl --json status rc | "$BLAST_TEST_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(*(d[k] for k in sys.argv[1:]))' "$@"
}
# settle: wait until the only blob at refcount 0 is the pinned open.bin
settle() {
	wait_until 240 "only open.bin's blob at refcount 0" unreferenced_blobs_are 1
}
# unreferenced_blobs_are N: the daemon counts N blobs at refcount 0
unreferenced_blobs_are() {
	local n
	n=$(daemon unreferenced_blobs)
	WAIT_WHY="$n blobs at refcount 0"
	[ "$n" = "$1" ]
}

note "a snapshot's content and an open unlinked file's content"
head -c 262144 /dev/urandom >"$W/snap.bin"
head -c 262144 /dev/urandom >"$W/open.bin"
cp "$W/snap.bin" "$MNT/keep.bin"
fs_sync rc
fs_want 0 save rc s1
# written, sealed (fsync), opened and unlinked in one go: no quiet gap, so
# no automatic snapshot holds it; only its pin keeps it
"$BLAST_TEST_PYTHON" - "$MNT/open.bin" "$W/open.bin" "$W/go" "$W/opened" <<'PY' &
import os, sys, time
path, want, go, opened = sys.argv[1:]
data = open(want, "rb").read()
with open(path, "wb") as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
fd = os.open(path, os.O_RDONLY)
os.unlink(path)
open(opened, "w").close()
deadline = time.time() + 600
while not os.path.exists(go):
    if time.time() > deadline:
        sys.exit("never told to read")
    time.sleep(0.05)
got = os.pread(fd, 1 << 20, 0)
if got != data:
    sys.exit("open unlinked file changed: %d bytes" % len(got))
PY
opid=$!
on_exit kill_pid "$opid"
wait_until 120 "the reader to open open.bin" test -e "$W/opened"
# its blob stays at refcount 0 (anything else at 0 goes)
settle

note "an import dedups against content the daemon drops meanwhile"
"$BLAST_TEST_PYTHON" - "$W/imp" <<'PY'
import os, random, sys
random.seed(7)
for d in range(4):
    os.makedirs(os.path.join(sys.argv[1], "d%d" % d))
    for i in range(60):
        n = random.choice([100, 5000, 70000, 300000])
        with open(os.path.join(sys.argv[1], "d%d" % d, "f%d" % i), "wb") as f:
            f.write(os.urandom(n))
PY
# each file written, sealed and unlinked again and again while blastctl
# imports the same files: its dedup hits fall on blobs at refcount 0
"$BLAST_TEST_PYTHON" - "$W/imp" "$MNT/churn" "$W/imported" <<'PY' &
import os, sys, time
src, dst, stop = sys.argv[1:]
files = [os.path.join(d, f) for d in sorted(os.listdir(src))
         for f in sorted(os.listdir(os.path.join(src, d)))]
os.mkdir(dst)
deadline = time.time() + 600
while not os.path.exists(stop) and time.time() < deadline:
    for rel in files:
        data = open(os.path.join(src, rel), "rb").read()
        p = os.path.join(dst, "x")
        with open(p, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.unlink(p)
PY
cpid=$!
on_exit kill_pid "$cpid"
for round in 1 2; do
	bctl import "imp$round" "$W/imp" >"$W/import.out" 2>&1 ||
		die "import $round failed: $(cat "$W/import.out")"
done
: >"$W/imported"
wait "$cpid" || die "the churn failed"
for round in 1 2; do
	bctl export "imp$round" "$W/x-imp$round" >/dev/null 2>&1 ||
		die "export of imp$round failed"
	assert_same_tree "$W/imp" "$W/x-imp$round"
done

note "rewrite a 256 KiB file $REWRITES times, in two halves"
# let what the churn dropped go first: the baseline is the live content
settle
s0=$(stored)
d0=$(data_kib)
n0=$(nsnaps)
note "before: stored $s0 bytes, data.mdb $d0 KiB"
rewrite() {
	"$BLAST_TEST_PYTHON" - "$MNT/hot.bin" "$1" <<'PY' || die "rewrites failed"
import os, sys
path, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(path, "wb") as f:
        f.write(os.urandom(262144))
        f.flush()
        os.fsync(f.fileno())
PY
}
rewrite $((REWRITES / 2))
settle
d_half=$(data_kib)
note "after the first half: data.mdb $d_half KiB"
rewrite $((REWRITES - REWRITES / 2))
read -r nrec nerr <<<"$(daemon reclaimed_blobs reclaim_errors)"
note "reclaimed by the daemon while rewriting: $nrec blobs, errors $nerr"
assert_eq 0 "$nerr" "reclaim errors"
settle
s1=$(stored)
held=$(($(nsnaps) - n0))
note "automatic snapshots taken while rewriting: $held"
# live now: s0 + hot.bin (256 KiB, random: stored raw, 9 bytes of header),
# and at most one version more per automatic snapshot
[ "$s1" -le $((s0 + (1 + held) * 262153)) ] ||
	die "stored bytes $s1 > $s0 + $((1 + held)) x 256 KiB without gc"
d1=$(data_kib)
note "after: stored $s1 bytes, data.mdb $d1 KiB"
# data.mdb's high-water mark is the live content plus the versions that
# waited for reclaim at once (more on a busy machine) and the blocks
# reserved ahead of LMDB (store/space.c): a bound, reached in the first
# half; the second half reuses the freed pages. Without reclaim each half
# grows it by 50 MiB.
[ "$d1" -le $((d0 + 16 * 1024 + held * 257)) ] ||
	die "data.mdb grew from $d0 to $d1 KiB for $REWRITES rewrites"
[ "$d1" -le $((d_half + 8 * 1024 + held * 257)) ] ||
	die "data.mdb grew from $d_half to $d1 KiB in the second $((REWRITES / 2)) rewrites"

: >"$W/go"
wait "$opid" || die "the open unlinked file lost its content"
cmp -- "$W/snap.bin" "$MNT/keep.bin" || die "keep.bin changed"
bctl export rc@s1 "$W/x-s1" >/dev/null 2>&1 || die "export of rc@s1 failed"
cmp -- "$W/snap.bin" "$W/x-s1/keep.bin" || die "the snapshot's content changed"

note "kill -9 while rewriting: the store verifies clean"
"$BLAST_TEST_PYTHON" - "$MNT/hot.bin" <<'PY' 2>"$W/writer.err" &
import os, sys
while True:
    with open(sys.argv[1], "wb") as f:
        f.write(os.urandom(262144))
        os.fsync(f.fileno())
PY
wpid=$!
on_exit kill_pid "$wpid"
# kill once the daemon has reclaimed some of these rewrites
read -r nrec nerr <<<"$(daemon reclaimed_blobs reclaim_errors)"
reclaimed_more_than() {
	[ "$(daemon reclaimed_blobs)" -gt "$1" ]
}
wait_until 240 "the daemon to reclaim blobs while rewriting" reclaimed_more_than $((nrec + 20))
fs_kill9 rc "$MNT"
kill_pid "$wpid"
fs_check_store
fs_mount rc "$MNT"
fs_umount rc "$MNT"
fs_check_store
# the new daemon dropped the dead one's pins, and freed what its replay
# and its last seals dropped before it exited: nothing is left for gc
fs_want 0 --json gc
assert_eq "0 0" "$(echo "$OUT" | "$BLAST_TEST_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["blobs_freed"], d["pins_dropped"])')" "gc after the daemon exited"
fs_pass
