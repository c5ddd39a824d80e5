#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Holes survive every way in and out of an env: `cp -a --sparse=always`
# and `rsync -aS` of a tree of sparse files into the mount and out of it,
# import and export, a snapshot restored after the holes were filled
# (save, change, load) and a clone. Each copy has the source's content and
# no more allocated blocks than its data needs (du), and the store grows
# by a few KiB for 64 MiB of holes.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
require_cmd rsync fallocate
fs_setup

# the source tree: 32 MiB with 4 KiB of data in its middle, a 64 KiB
# file with a punched hole, a dense file and a 32 MiB hole alone
src=$W/src
mkdir -p "$src/sub"
truncate -s 32M "$src/big"
head -c 4096 /dev/urandom | dd of="$src/big" bs=4096 seek=4000 conv=notrunc status=none
head -c 65536 /dev/urandom >"$src/sub/punched"
fallocate -p -o 8192 -l 32768 "$src/sub/punched"
head -c 20000 /dev/urandom >"$src/dense"
truncate -s 32M "$src/sub/empty"

# sparse_like DIR WHAT: DIR's files have src's content, and none holds
# more than 64 KiB of blocks (their data is at most 64 KiB: holes kept).
sparse_like() {
	local d=$1 what=$2 f kib
	for f in big sub/punched dense sub/empty; do
		cmp -s "$src/$f" "$d/$f" || die "$what: $f differs from the source"
		kib=$(du -k -- "$d/$f" | cut -f1)
		[ "$kib" -le 64 ] || die "$what: $f takes $kib KiB: its holes were filled"
	done
}
sparse_like "$src" "the source"

fs_import sp
fs_mount sp "$W/mnt"
before=$(du -sk "$H" | cut -f1)
cp -a --sparse=always "$src" "$W/mnt/cp"
rsync -aS "$src/" "$W/mnt/rs/"
sparse_like "$W/mnt/cp" "cp --sparse=always into the mount (unsealed)"
sparse_like "$W/mnt/rs" "rsync -S into the mount (unsealed)"
fs_sync sp
drop_kernel_caches || true
sparse_like "$W/mnt/cp" "cp --sparse=always into the mount (sealed)"
sparse_like "$W/mnt/rs" "rsync -S into the mount (sealed)"
after=$(du -sk "$H" | cut -f1)
note "store: ${before} KiB, ${after} KiB after two copies of 64 MiB of holes"
[ $((after - before)) -lt 2048 ] || die "the copies cost the store $((after - before)) KiB"

cp -a --sparse=always "$W/mnt/cp" "$W/out-cp"
rsync -aS "$W/mnt/rs/" "$W/out-rs/"
sparse_like "$W/out-cp" "cp --sparse=always out of the mount"
sparse_like "$W/out-rs" "rsync -S out of the mount"

note "snapshot: save, fill the holes, load"
fs_umount sp "$W/mnt"
fs_want 0 save sp s1
fs_mount sp "$W/mnt"
head -c $((1 << 20)) /dev/urandom | dd of="$W/mnt/cp/big" bs=1M seek=10 conv=notrunc status=none
rm -- "$W/mnt/rs/sub/empty"
fs_umount sp "$W/mnt"
fs_want 0 load sp s1
fs_mount sp "$W/mnt"
sparse_like "$W/mnt/cp" "after load of the snapshot"
sparse_like "$W/mnt/rs" "after load of the snapshot (rsync copy)"
fs_umount sp "$W/mnt"

note "clone, export, import"
fs_want 0 create sp2 --from sp
fs_mount sp2 "$W/mnt2"
sparse_like "$W/mnt2/cp" "the clone"
fs_umount sp2 "$W/mnt2"
bctl export sp "$W/export" >/dev/null 2>&1 || die "blastctl export failed"
sparse_like "$W/export/cp" "export"
bctl import imp "$src" >/dev/null 2>&1 || die "blastctl import failed"
bctl export imp "$W/export-imp" >/dev/null 2>&1 || die "blastctl export of the import failed"
sparse_like "$W/export-imp" "import then export"
fs_check_store
fs_pass
