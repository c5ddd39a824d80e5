#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Seal-time packing (issue 15): small files written into a mount are sealed
# in groups, their new content compressed as shared frames, not one blob
# per file. After a copy of 300 small text files (a package's worth) the
# daemon reports files sealed in frames, the store takes less than one
# compressed blob per file would, every byte reads back (through the
# mount, after a remount with the page cache dropped, and in an export),
# duplicates of content the store holds stay deduplicated, a file
# rewritten or removed while its group seals loses nothing, data.mdb keeps
# no blocks reserved for the large txns, and the store verifies clean.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
SRC=$W/src
mkdir -p "$SRC/pkg" "$W/empty"
"$BLAST_TEST_PYTHON" - "$SRC/pkg" <<'PY'
import os, random, sys
rnd = random.Random(15)
words = [("w%d" % i).encode() for i in range(400)]
for i in range(300):
    n = rnd.randint(200, 30000)
    body = b" ".join(rnd.choice(words) for _ in range(n // 4))[:n]
    with open(os.path.join(sys.argv[1], "m%03d.py" % i), "wb") as f:
        f.write(b"# module %d\n" % i + body)
PY
fs_import fr "$W/empty"
fs_mount fr "$MNT"

note "a copy of 300 small files is sealed in frames"
# (cp -r, as pip writes: create, write, close; a chmod or utimens of a file
# not yet sealed seals it at once, alone: cp -a's files are not framed)
cp -r "$SRC/pkg" "$MNT/pkg"
fs_sync fr
st=$(bctl --json status fr)
framed=$(printf '%s' "$st" | "$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["sealed_in_frames"])')
[ "$framed" -ge 250 ] || die "only $framed of 300 small files were sealed in frames: $st"
diff -r "$SRC/pkg" "$MNT/pkg" || die "the copy reads back different"

note "the same content again: deduplicated, not framed twice"
cp -r "$SRC/pkg" "$MNT/pkg2"
fs_sync fr
st2=$(bctl --json status fr)
"$BLAST_TEST_PYTHON" - "$st" "$st2" <<'PY' || die "a second copy of the same files"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert b["sealed_in_frames"] == a["sealed_in_frames"], (a["sealed_in_frames"], b["sealed_in_frames"])
assert b["blobs_deduped"] - a["blobs_deduped"] >= 300, (a["blobs_deduped"], b["blobs_deduped"])
PY

note "rewrites, removals and renames racing the sealer lose nothing"
"$BLAST_TEST_PYTHON" - "$MNT/pkg" <<'PY'
import os, sys
d = sys.argv[1]
for r in range(5):
    for i in range(0, 300, 3):
        p = os.path.join(d, "m%03d.py" % i)
        with open(p, "wb") as f:
            f.write(b"round %d file %d\n" % (r, i) * (50 + i))
    for i in range(1, 300, 30):
        p = os.path.join(d, "m%03d.py" % i)
        if os.path.exists(p):
            os.rename(p, p + ".moved")
    for i in range(2, 300, 50):
        p = os.path.join(d, "m%03d.py" % i)
        if os.path.exists(p):
            os.unlink(p)
PY
note "files fsynced or grown past 64 KiB while the sealer groups them"
# (a node the sealer picked for a group and another thread sealed, or that
# grew out of the group's size, before the group copied it: left to fs_seal)
"$BLAST_TEST_PYTHON" - "$MNT/pkg" <<'PY'
import os, sys, threading
d = sys.argv[1]
def worker(t):
    for r in range(150):
        p = os.path.join(d, "race-%d-%d.py" % (t, r % 20))
        with open(p, "wb") as f:
            f.write(b"thread %d round %d\n" % (t, r) * 40)
        if r % 3 == 0:
            fd = os.open(p, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        elif r % 3 == 1:
            with open(p, "ab") as f:
                f.write(b"x" * 70000)
ts = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
for t in ts:
    t.start()
for t in ts:
    t.join()
PY
"$BLAST_TEST_PYTHON" - "$MNT/pkg" "$W/want" <<'PY'
import os, shutil, sys
shutil.copytree(sys.argv[1], sys.argv[2])
PY
note "kill -9 right after the close, before the sealer's pass: the write log keeps them"
"$BLAST_TEST_PYTHON" - "$MNT/pkg" "$W/want" <<'PY'
import os, sys
for i in range(80):
    data = b"closed just before the kill %d\n" % i * (10 + i * 20)
    with open(os.path.join(sys.argv[1], "late-%02d.py" % i), "wb") as f:
        f.write(data)
PY
fs_kill9 fr "$MNT"
fs_mount fr "$MNT"
"$BLAST_TEST_PYTHON" - "$MNT/pkg" <<'PY' || die "a small file closed just before kill -9 was lost"
import os, sys
for i in range(80):
    want = b"closed just before the kill %d\n" % i * (10 + i * 20)
    with open(os.path.join(sys.argv[1], "late-%02d.py" % i), "rb") as f:
        assert f.read() == want, i
PY
"$BLAST_TEST_PYTHON" - "$MNT/pkg" "$W/want" <<'PY'
import os, shutil, sys
shutil.rmtree(sys.argv[2])
shutil.copytree(sys.argv[1], sys.argv[2])
PY
fs_remount fr "$MNT"
echo 3 >/proc/sys/vm/drop_caches
diff -r "$W/want" "$MNT/pkg" || die "files rewritten while sealing read back different after a remount"
diff -r "$SRC/pkg" "$MNT/pkg2" || die "the deduplicated copy reads back different after a remount"
fs_umount fr "$MNT"

note "the index keeps no blocks a large seal txn reserved and did not use"
# (space.c reserves by an upper bound per put: 5 txns of 64 seals each
# left data.mdb at 20+ MiB of du before the next txn gave them back)
mdb_kib=$(du -k "$H/data.mdb" | cut -f1)
[ "$mdb_kib" -le 10240 ] || die "data.mdb takes $mdb_kib KiB of disk after sealing 900 small files"

note "export carries the same bytes; the store verifies clean"
bctl export fr "$W/out" >/dev/null 2>"$W/export.err" || die "export: $(cat "$W/export.err")"
diff -r "$W/want" "$W/out/pkg" || die "export of the framed files differs"
fs_check_store
fs_pass
