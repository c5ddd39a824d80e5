#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fs.quota counts metadata, not only file bytes: a directory costs 4096
# bytes, a symlink 256 plus its target, any other name 256 (README), so
# empty directories or long symlinks cannot fill the store past the
# quota; removing them gives the space back; snapshots do not count.
# Both open modes (policy-lib.sh).
set -euo pipefail
. "$(dirname "$0")/policy-lib.sh"
require_cmd df

df_used() { df -B1 --output=used "$M" | tail -n1 | tr -d ' '; }

route() {
	local mode=$1 before
	echo 'x' >"$SRC/keep.txt"
	pol_mount "$mode" "meta-$mode" "$SRC"
	bpol set fs.quota 64K
	before=$(df_used)
	"$BLAST_TEST_PYTHON" - "$M" <<'PY'
import errno, os, sys
M = sys.argv[1]
def fill(what, make, limit):
    made = []
    for i in range(limit):
        try:
            made.append(make(i))
        except OSError as e:
            assert e.errno == errno.EDQUOT, f"{what}: {e}"
            return made
    sys.exit(f"{what}: {limit} made under a 64 KiB quota")
dirs = fill("mkdir", lambda i: os.mkdir(os.path.join(M, f"d{i}")) or f"d{i}", 100)
assert 5 <= len(dirs) <= 16, dirs
for d in dirs:
    os.rmdir(os.path.join(M, d))
links = fill("symlink", lambda i: os.symlink("t" * 4000, os.path.join(M, f"l{i}")) or f"l{i}", 100)
assert 5 <= len(links) <= 16, links
for l in links:
    os.unlink(os.path.join(M, l))
fifos = fill("mkfifo", lambda i: os.mkfifo(os.path.join(M, f"f{i}")) or f"f{i}", 1000)
assert 100 <= len(fifos) <= 256, len(fifos)
for f in fifos:
    os.unlink(os.path.join(M, f))
PY
	assert_eq "$before" "$(df_used)" "$mode: df used after the names went"
	bctl save "$POL_ENV" snap1 >/dev/null 2>&1 || die "$mode: save"
	mkdir "$M/after-snap"
	rmdir "$M/after-snap"
	assert_eq "$before" "$(df_used)" "$mode: df used after a snapshot"
	pol_umount
}
pol_both_modes route
