#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sparse files and fallocate through a real mount, against a native ext4
# (a loop disk): fssparse.py runs the same seeded writes, truncates,
# fallocate modes (errno rules included) and SEEK_DATA/SEEK_HOLE on both
# and compares sizes, content, holes and st_blocks unsealed, sealed, with
# the caches dropped and after a remount. Then `truncate -s 1G` with 4 KiB
# of data stays sparse before and after its seal (st_blocks, SEEK_DATA)
# and costs the store less than 1 MiB (du of the store dir), the store
# verifies, and its export keeps the holes.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
require_root
require_cmd mkfs.ext4 losetup fallocate
fs_setup
small_disk ext4 "$W/ext4" 64
fs_import sp
fs_mount sp "$W/mnt"

seeds=${FS_SPARSE_SEEDS:-"1 2"}
last=${seeds##* }
for seed in $seeds; do
	mkdir "$W/mnt/s$seed" "$W/ext4/s$seed"
	remount=()
	[ "$seed" != "$last" ] || remount=(--remount-cmd "$(fs_hook_cmd remount sp "$W/mnt")")
	"$BLAST_TEST_PYTHON" "$FS_DIR/fssparse.py" --seed "$seed" --ops "${FS_SPARSE_OPS:-300}" \
		--sync-cmd "$(fs_hook_cmd sync sp)" "${remount[@]}" "$W/mnt/s$seed" "$W/ext4/s$seed" ||
		die "fssparse.py seed $seed: blastfs and ext4 disagree (see above)"
done

# blocks FILE: its st_blocks; data_at FILE: SEEK_DATA from 0
blocks() { stat -c %b -- "$1"; }
data_at() {
	"$BLAST_TEST_PYTHON" -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); print(os.lseek(fd, 0, os.SEEK_DATA))' "$1"
}
fs_sync sp
before=$(du -sk "$H" | cut -f1)
f=$W/mnt/big
truncate -s 1G "$f"
[ "$(blocks "$f")" -eq 0 ] || die "truncate -s 1G: st_blocks $(blocks "$f"), want 0"
head -c 4096 /dev/urandom >"$W/data"
dd if="$W/data" of="$f" bs=4096 seek=$((300 * 256)) conv=notrunc status=none
assert_eq $((300 << 20)) "$(data_at "$f")" "SEEK_DATA of the unsealed file"
[ "$(blocks "$f")" -le 64 ] || die "unsealed: st_blocks $(blocks "$f") for 4 KiB of data"
fs_sync sp
assert_eq 1073741824 "$(stat -c %s "$f")" "size after the seal"
assert_eq $((300 << 20)) "$(data_at "$f")" "SEEK_DATA of the sealed file"
assert_eq 8 "$(blocks "$f")" "st_blocks of the sealed file"
after=$(du -sk "$H" | cut -f1)
note "store: ${before} KiB before, ${after} KiB after a 1 GiB file with 4 KiB of data"
[ $((after - before)) -lt 1024 ] || die "the sparse file cost the store $((after - before)) KiB"
cmp -s <(dd if="$f" bs=4096 skip=$((300 * 256)) count=1 status=none) "$W/data" || die "the data read back differs"
cmp -s <(head -c 1048576 "$f") <(head -c 1048576 /dev/zero) || die "the hole does not read as zeros"

fs_umount sp "$W/mnt"
fs_check_store
bctl export sp "$W/out" >/dev/null 2>&1 || die "blastctl export failed"
[ "$(blocks "$W/out/big")" -le 64 ] || die "export: st_blocks $(blocks "$W/out/big"), the holes were written"
cmp -s "$W/out/s$last/f0" "$W/ext4/s$last/f0" || die "export of s$last/f0 differs from ext4's"
fs_pass
