#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# renameat2(RENAME_EXCHANGE) on blastfs against the same operations on a
# native ext4 directory (fsfeat.py exchange): files, a file and a
# directory, directories across directories with their link counts, hard
# links, a symlink, an open fd that follows its inode, and ext4's errnos
# (ENOENT, EINVAL with NOREPLACE or into a subtree, ...); then the same
# tree after caches are dropped, and after a remount.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
require_root
fs_setup
small_disk ext4 "$W/ext4" 16
mkdir "$W/ext4/t"
fs_import x
fs_mount x "$W/mnt"
mkdir "$W/mnt/t"
feat() { "$BLAST_TEST_PYTHON" "$FS_DIR/fsfeat.py" exchange "$@"; }

feat run "$W/ext4/t" >"$W/want" || die "fsfeat.py failed on ext4"
feat run "$W/mnt/t" >"$W/got" || die "fsfeat.py failed on blastfs"
assert_file_eq "$W/want" "$W/got"
grep -q '^files: ok' "$W/want" || die "ext4 refused the exchange: $(cat "$W/want")"

note "caches dropped"
drop_kernel_caches
feat state "$W/mnt/t" >"$W/got2"
feat state "$W/ext4/t" >"$W/want2"
assert_file_eq "$W/want2" "$W/got2"

note "remount"
fs_remount x "$W/mnt"
feat state "$W/mnt/t" >"$W/got3"
assert_file_eq "$W/want2" "$W/got3"
fs_umount x "$W/mnt"
fs_check_store
fs_pass
