#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Pack files rewritten under readers and writers: in a mounted env with
# small pack files (BLAST_PFILE_MAX=65536), a writer replaces files with
# known contents (write, fsync, rename) while a reader reads every file
# and checks its sha256 against the versions it may have, and `blastctl
# gc` repacks in a loop beside the daemon's own reclaim. No read fails,
# no read returns other bytes, pack files are removed and created while
# it runs, and the store verifies clean afterwards.
set -euo pipefail
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
SECS=${REPACK_RACE_SECS:-20}
export BLAST_PFILE_MAX=65536

# versions/: NAME.vK, the contents the writer gives the hot files;
# src/: the env, static files (never rewritten) and hot ones (version 0)
"$BLAST_TEST_PYTHON" - "$W" <<'PY'
import os, random, sys
w = sys.argv[1]
random.seed(4)
os.makedirs(os.path.join(w, "src", "static"))
os.makedirs(os.path.join(w, "src", "hot"))
os.makedirs(os.path.join(w, "versions"))
for i in range(24):
    n = random.choice([300, 9000, 40000, 120000])
    with open(os.path.join(w, "src", "static", "s%02d" % i), "wb") as f:
        f.write(os.urandom(n) if i % 2 else (b"static %d\n" % i) * (n // 10))
for i in range(6):
    for v in range(5):
        n = random.choice([5000, 30000, 70000, 150000])
        data = os.urandom(n) if v % 2 else (b"hot %d version %d\n" % (i, v)) * (n // 18)
        with open(os.path.join(w, "versions", "h%d.v%d" % (i, v)), "wb") as f:
            f.write(data)
    os.link(os.path.join(w, "versions", "h%d.v0" % i),
            os.path.join(w, "src", "hot", "h%d" % i))
# import goes in name order, so zz-last is the last file imported, alone
# in a pack file (zy-big, over BLAST_PFILE_MAX, fills the one before): the
# file the daemon appends to first, which goes once the versions appended
# to it are dead
with open(os.path.join(w, "src", "zy-big"), "wb") as f:
    f.write(os.urandom(100000))
with open(os.path.join(w, "src", "zz-last"), "wb") as f:
    f.write(b"the last file of the import\n" * 4)
PY
fs_import rr "$W/src"
fs_mount rr "$MNT"
# the daemon's first append goes to the import's last pack file, after
# zz-last; it dies at once, so that file is mostly dead and gc repacks it
"$BLAST_TEST_PYTHON" - "$MNT" <<'PY'
import os, sys
p = os.path.join(sys.argv[1], "hot", ".seed")
with open(p, "wb") as f:
    f.write(os.urandom(3000))
    f.flush()
    os.fsync(f.fileno())
os.unlink(p)
PY
npacks() { find "$H/packs" -name '*.pack' | wc -l; }
note "$(npacks) pack files after the import"

: >"$W/stop"
rm -f -- "$W/stop"
"$BLAST_TEST_PYTHON" - "$W" "$MNT" writer <<'PY' >"$W/writer.out" 2>&1 &
import hashlib, os, random, sys, time
w, mnt, role = sys.argv[1:]
vers = {}
for name in os.listdir(os.path.join(w, "versions")):
    base, v = name.split(".")
    with open(os.path.join(w, "versions", name), "rb") as f:
        vers.setdefault(base, []).append(f.read())
n = 0
deadline = time.time() + 600
while not os.path.exists(os.path.join(w, "stop")) and time.time() < deadline:
    base = random.choice(sorted(vers))
    data = random.choice(vers[base])
    tmp = os.path.join(mnt, "hot", ".%s.tmp" % base)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(mnt, "hot", base))
    n += 1
print("writes", n)
PY
wpid=$!
on_exit kill_pid "$wpid"
"$BLAST_TEST_PYTHON" - "$W" "$MNT" <<'PY' >"$W/reader.out" 2>&1 &
import hashlib, os, sys, time
w, mnt = sys.argv[1:]
sha = lambda b: hashlib.sha256(b).hexdigest()
want = {}
for name in os.listdir(os.path.join(w, "versions")):
    base, v = name.split(".")
    with open(os.path.join(w, "versions", name), "rb") as f:
        want.setdefault("hot/" + base, set()).add(sha(f.read()))
for name in os.listdir(os.path.join(w, "src", "static")):
    with open(os.path.join(w, "src", "static", name), "rb") as f:
        want["static/" + name] = {sha(f.read())}
n = 0
bad = 0
deadline = time.time() + 600
while not os.path.exists(os.path.join(w, "stop")) and time.time() < deadline:
    for rel in sorted(want):
        try:
            with open(os.path.join(mnt, rel), "rb") as f:
                got = f.read()
                # the next read goes to the daemon, not the page cache
                os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError as e:
            print("read error on %s: %s" % (rel, e))
            bad += 1
            continue
        n += 1
        if sha(got) not in want[rel]:
            print("wrong bytes in %s: %d bytes, sha256 %s" % (rel, len(got), sha(got)))
            bad += 1
    if bad > 20:
        break
print("reads", n)
sys.exit(1 if bad else 0)
PY
rpid=$!
on_exit kill_pid "$rpid"

declare -A seen=()
for f in "$H"/packs/*.pack; do seen[${f##*/}]=1; done
first=("${!seen[@]}")
first_gone() {
	local f
	for f in "${first[@]}"; do [ -e "$H/packs/$f" ] || return 0; done
	return 1
}
gcs=0
end=$(_lib_deadline "$SECS")
# a loaded machine writes less in SECS: go on (up to 4x) until a pack file
# of the import has been rewritten and removed
hard=$(_lib_deadline $((SECS * 4)))
until _lib_past "$hard" || { _lib_past "$end" && first_gone; }; do
	bctl gc >"$W/gc.out" 2>&1 || die "gc $gcs failed: $(cat "$W/gc.out")"
	gcs=$((gcs + 1))
	for f in "$H"/packs/*.pack; do seen[${f##*/}]=1; done
	_lib_pid_alive "$rpid" || break
done
: >"$W/stop"
wait "$rpid" || die "the reader failed: $(head -n 20 "$W/reader.out")"
wait "$wpid" || die "the writer failed: $(tail -n 5 "$W/writer.out")"
gone=0
for f in "${first[@]}"; do [ -e "$H/packs/$f" ] || gone=$((gone + 1)); done
note "$gcs gc runs; $(cat "$W/reader.out"); $(cat "$W/writer.out"); pack files: ${#first[@]} at first, ${#seen[@]} seen, $(npacks) now, $gone of the first removed"
read -r rb pfr <<<"$(bctl --json status rr | "$BLAST_TEST_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["repacked_bytes"], d["pack_files_removed"])')"
note "the daemon repacked $rb bytes and removed $pfr pack files"
[ "${#seen[@]}" -gt "${#first[@]}" ] || die "no pack file was created while rewriting"
[ "$gone" -gt 0 ] || die "no pack file of the import was removed (gc $gcs times)"

# what the hot files hold now, to compare after a remount
"$BLAST_TEST_PYTHON" - "$MNT" >"$W/final.sha" <<'PY'
import hashlib, os, sys
for d in ("hot", "static"):
    for n in sorted(os.listdir(os.path.join(sys.argv[1], d))):
        with open(os.path.join(sys.argv[1], d, n), "rb") as f:
            print(d, n, hashlib.sha256(f.read()).hexdigest())
PY
fs_umount rr "$MNT"
fs_check_store
bctl gc >"$W/gc.out" 2>&1 || die "gc after unmount failed: $(cat "$W/gc.out")"
fs_check_store
fs_mount rr "$MNT"
"$BLAST_TEST_PYTHON" - "$MNT" >"$W/final2.sha" <<'PY'
import hashlib, os, sys
for d in ("hot", "static"):
    for n in sorted(os.listdir(os.path.join(sys.argv[1], d))):
        with open(os.path.join(sys.argv[1], d, n), "rb") as f:
            print(d, n, hashlib.sha256(f.read()).hexdigest())
PY
assert_file_eq "$W/final.sha" "$W/final2.sha" "content after remount"
fs_umount rr "$MNT"
fs_pass
