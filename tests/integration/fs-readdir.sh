#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# readdir without opendir (blastfs answers OPENDIR with ENOSYS, so the
# kernel skips OPENDIR/RELEASEDIR): a reader continues in the listing it
# started with while the directory changes under it - unlinking every
# entry while reading (rm -rf's pattern) removes them all, entries created
# while reading never make an original one be skipped or repeated, eight
# interleaved readers of one directory each see every name once - and
# walking a tree costs no OPENDIR or RELEASEDIR requests after the first.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
fs_import rd
fs_mount rd "$MNT"

"$BLAST_TEST_PYTHON" - "$MNT" <<'PY' || die "readdir semantics (see above)"
import os, sys
root = sys.argv[1]

def fill(d, n):
    os.makedirs(d)
    for i in range(n):
        with open(os.path.join(d, "f%05d-%s" % (i, "x" * (i % 40))), "w") as f:
            f.write("x")

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

# 1. unlink each entry as it is read: all go, rmdir works
d = os.path.join(root, "unlink")
fill(d, 3000)
seen = 0
with os.scandir(d) as it:
    for e in it:
        os.unlink(e.path)
        seen += 1
if seen != 3000:
    fail("read %d of 3000 entries while unlinking" % seen)
if os.listdir(d):
    fail("left after unlink-while-reading: %d" % len(os.listdir(d)))
os.rmdir(d)

# 2. create while reading: every original name exactly once
d = os.path.join(root, "create")
fill(d, 2000)
orig = set(os.listdir(d))
names = []
with os.scandir(d) as it:
    for k, e in enumerate(it):
        names.append(e.name)
        if k % 10 == 0:
            open(os.path.join(d, "new-%05d" % k), "w").close()
got = [n for n in names if n in orig]
if sorted(got) != sorted(orig) or len(got) != len(set(got)):
    fail("create-while-reading: %d originals seen, %d distinct, want %d"
         % (len(got), len(set(got)), len(orig)))

# 3. eight interleaved readers of one directory
d = os.path.join(root, "many")
fill(d, 1500)
want = sorted(os.listdir(d))
its = [os.scandir(d) for _ in range(8)]
seen = [[] for _ in its]
live = set(range(8))
while live:
    for k in list(live):
        try:
            seen[k].append(next(its[k]).name)
        except StopIteration:
            live.discard(k)
for k, s in enumerate(seen):
    if sorted(s) != want:
        fail("reader %d saw %d names (%d distinct), want %d"
             % (k, len(s), len(set(s)), len(want)))
for it in its:
    it.close()

# 4. a tree walk
for i in range(50):
    os.makedirs(os.path.join(root, "tree", "d%02d" % i, "sub"))
n = sum(1 for _ in os.walk(os.path.join(root, "tree")))
if n != 101:
    fail("os.walk saw %d dirs, want 101" % n)
PY

note "after the first, no OPENDIR or RELEASEDIR reaches the daemon"
bctl status rd --json >"$W/status.json" || die "status failed"
"$BLAST_TEST_PYTHON" - "$W/status.json" <<'PY' || die "OPENDIR/RELEASEDIR still sent: $(cat "$W/status.json")"
import json, sys
r = json.load(open(sys.argv[1]))["requests"]
print("opendir", r["opendir"], "releasedir", r["releasedir"], "readdir", r["readdir"])
sys.exit(0 if r["opendir"] <= 1 and r["releasedir"] == 0 and r["readdir"] > 100 else 1)
PY
fs_umount rd "$MNT"
fs_check_store
fs_pass
