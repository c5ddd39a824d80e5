#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Damaged pack files (STORE/packs/*.pack) are found and never served as
# content: a flipped byte is reported by `check --store --deep` (exit 1)
# and reads as EIO through a mounted env while the other files read
# right; a truncated or deleted pack file is named by `check --store`
# (not deep) with the records that lost data, and `export` of the env
# whose bytes it held fails with an I/O error naming the file, while an
# env whose bytes lie in other files still exports unchanged.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_mount_setup

# e1: text files and a binary; e2: the same files (deduplicated: their
# bytes stay where e1 put them) plus victim.bin, imported last, so its
# bytes are the last of the last pack file. Small pack files: e1's bytes
# are in files before the victim's.
export BLAST_PFILE_MAX=65536
"$BLAST_TEST_PYTHON" - "$W/src" "$W/vsrc" <<'PY'
import os, random, shutil, sys
src, vsrc = sys.argv[1:]
random.seed(15)
os.makedirs(os.path.join(src, "bin"))
os.makedirs(os.path.join(src, "lib"))
for i in range(30):
    words = " ".join(random.choice(["alpha", "beta", "gamma", "delta", str(i)])
                     for _ in range(random.randint(10, 20000)))
    with open(os.path.join(src, "lib", "m%02d.py" % i), "w") as f:
        f.write(words + "\n")
with open(os.path.join(src, "lib", "data.bin"), "wb") as f:
    f.write(os.urandom(200000))
shutil.copytree(src, vsrc)
with open(os.path.join(vsrc, "victim.bin"), "wb") as f:
    f.write(os.urandom(150000))
PY
ctl_expect 0 import e1 "$W/src"
ctl_expect 0 import e2 "$W/vsrc"
ctl_expect 0 check --store --deep
PACK=$(find "$H/packs" -name '*.pack' | sort | tail -n 1)
[ -n "$PACK" ] || die "no pack file after two imports"
note "$(find "$H/packs" -name '*.pack' | wc -l) pack files, the victim's: $PACK ($(stat -c %s "$PACK") bytes)"
cp -a -- "$H" "$W/store.good"
restore() {
	rm -rf -- "$H"
	cp -a -- "$W/store.good" "$H"
}

# exports_same REF DIR: REF exports and equals DIR.
exports_same() {
	rm -rf -- "$W/out"
	ctl_expect 0 export "$1" "$W/out"
	assert_same_tree --no-mtime "$2" "$W/out"
}

# export_fails WHAT: exporting e2 fails, its last line an I/O error, the
# message naming WHAT.
export_fails() {
	rm -rf -- "$W/out"
	ctl_run bctl export e2 "$W/out"
	[ "$RC" -eq 1 ] || die "export of e2 with $1: exit $RC, want 1 (stderr: $ERR)"
	assert_contains "$(tail -n 1 <<<"$ERR")" "blastctl: cannot export 'e2' to '$W/out': Input/output error" "export with $1"
	[ "$(wc -l <<<"$ERR")" -le 3 ] || die "export with $1: more than 3 lines: $ERR"
	[ "$#" -lt 2 ] || assert_contains "$ERR" "$2" "export with $1"
}

note "a flipped byte in the victim's bytes"
size=$(stat -c %s "$PACK")
off=$((size - 2000))
old=$(od -An -tu1 -j "$off" -N1 "$PACK" | tr -d ' ')
# shellcheck disable=SC2059 # the format is the byte, as an octal escape
printf "\\$(printf '%03o' $(((old + 1) % 256)))" |
	dd of="$PACK" bs=1 seek="$off" conv=notrunc status=none
ctl_run bctl check --store --deep
[ "$RC" -eq 1 ] || die "check --store --deep after a flipped byte: exit $RC (out: $OUT; err: $ERR)"
assert_contains "$OUT$ERR" "does not decode" "check --deep on a flipped byte"
export_fails "a flipped byte"
exports_same e1 "$W/src"

note "reading through a mounted env: EIO for the victim, the rest intact"
mkdir "$W/proj"
env_start e2 "$W/proj"
M=$W/proj/.blast
if cat -- "$M/victim.bin" >/dev/null 2>"$W/cat.err"; then
	die "reading victim.bin with a flipped byte succeeded"
fi
assert_contains "$(cat "$W/cat.err")" "Input/output error" "cat victim.bin"
# the same once more (nothing cached wrong) and with a reader reading
# past the damage
if dd if="$M/victim.bin" of=/dev/null bs=65536 status=none 2>"$W/cat.err"; then
	die "a second read of victim.bin succeeded"
fi
assert_contains "$(cat "$W/cat.err")" "Input/output error" "dd victim.bin"
for f in "$W"/src/lib/*; do
	cmp -- "$f" "$M/lib/${f##*/}" || die "lib/${f##*/} reads wrong beside a damaged file"
done
ctl_expect 0 kill e2
restore

note "a truncated pack file"
truncate -s $((size - 1000)) "$PACK"
ctl_run bctl check --store
[ "$RC" -eq 1 ] || die "check --store on a truncated pack file: exit $RC"
assert_contains "$OUT" "pack file '$PACK' is truncated" "check on a truncated pack file"
assert_contains "$OUT" "lost data" "check on a truncated pack file"
export_fails "a truncated pack file" "$PACK"
exports_same e1 "$W/src"
restore

note "a deleted pack file"
rm -- "$PACK"
ctl_run bctl check --store
[ "$RC" -eq 1 ] || die "check --store on a missing pack file: exit $RC"
assert_contains "$OUT" "pack file '$PACK' is missing" "check on a missing pack file"
assert_contains "$OUT" "lost data" "check on a missing pack file"
export_fails "a missing pack file" "$PACK"
exports_same e1 "$W/src"
restore

ctl_expect 0 check --store --deep
exports_same e2 "$W/vsrc"
echo "PASS: $TEST_NAME"
