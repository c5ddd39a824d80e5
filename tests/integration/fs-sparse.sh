#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sparse files and fallocate through a real mount, against a native ext4
# (a loop disk): fssparse.py runs the same seeded writes, truncates,
# fallocate modes (errno rules included) and SEEK_DATA/SEEK_HOLE on both
# and compares sizes, content, holes and st_blocks unsealed, sealed, with
# the caches dropped and after a remount. Then `truncate -s 1G` with 4 KiB
# of data stays sparse before and after its seal (st_blocks, SEEK_DATA)
# and costs the store less than 1 MiB (du of the store dir), the store
# verifies, and its export keeps the holes. The env's policy (quota,
# KEEP_SIZE preallocation included, max file size, read-only paths)
# holds for fallocate.
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

note "policy: quota, max file size and read-only paths hold for fallocate"
fs_import q
fs_mount q "$W/q"
mkdir "$W/q/ro"
: >"$W/q/ro/f"
fs_want 0 policy q set fs.quota 1M
fs_want 0 policy q set fs.readonly ro
# falloc_fails WANT ARGS...: fallocate ARGS fails with message WANT
falloc_fails() {
	local want=$1
	shift
	if fallocate "$@" 2>"$W/falloc.err"; then
		die "fallocate $*: succeeded, want '$want'"
	fi
	assert_contains "$(cat "$W/falloc.err")" "$want" "fallocate $*"
}
falloc_fails "Disk quota exceeded" -l 2M "$W/q/f"
: >"$W/q/g"
falloc_fails "Disk quota exceeded" -n -l 2M "$W/q/g"
fallocate -l 512K "$W/q/f" || die "fallocate within the quota failed"
fallocate -p -o 0 -l 4096 "$W/q/f" || die "punch hole within the quota failed"
falloc_fails "Read-only file system" -l 4096 "$W/q/ro/f"
fs_want 0 policy q set fs.max-file-size 256K
falloc_fails "File too large" -l 300K "$W/q/h"
fs_umount q "$W/q"

fs_umount sp "$W/mnt"
fs_check_store
bctl export sp "$W/export" >/dev/null 2>&1 || die "blastctl export failed"
[ "$(blocks "$W/export/big")" -le 64 ] || die "export: st_blocks $(blocks "$W/export/big"), the holes were written"
cmp -s "$W/export/s$last/f0" "$W/ext4/s$last/f0" || die "export of s$last/f0 differs from ext4's"
fs_pass
