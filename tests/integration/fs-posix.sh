#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# POSIX edge cases on a real blastfs mount, one named check each (see
# fsposix.py --list): name and path limits, open unlinked files, ctime and
# dir mtime/ctime on every kind of change, rename in all its forms and
# errors, renameat2 flags, O_EXCL, fifos and 0:0 char devices, hard links,
# long symlinks, chmod/chown/truncate/utimensat (NOW/OMIT), O_APPEND, holes,
# mmap, fsync, statfs, big readdirs (also while deleting), stable st_ino
# (also across a remount), st_blocks, and the known traps of other FUSE
# filesystems (negative lookups, stale page cache, rename over open files,
# FORGET of hard-linked inodes), concurrency and sealing races.
# FS_POSIX_ONLY=check1,check2 runs only those.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup

fs_import posix
fs_mount posix "$W/mnt"
cd "$W"
extra=()
[ -z "${FS_POSIX_ONLY:-}" ] || extra=(--only "$FS_POSIX_ONLY")
# Checks may evict dentries/inodes machine-wide (FORGETs) where allowed;
# FS_POSIX_NO_DROP_CACHES=1 keeps the test from touching other processes' caches.
if [ -w /proc/sys/vm/drop_caches ] && [ -z "${FS_POSIX_NO_DROP_CACHES:-}" ]; then
	extra+=(--drop-caches)
fi
rc=0
timeout -k 10 900 "$BLAST_TEST_PYTHON" "$FS_DIR/fsposix.py" --design "${extra[@]}" \
	--remount-cmd "$(fs_hook_cmd remount posix "$W/mnt")" \
	--sync-cmd "$(fs_hook_cmd sync posix)" \
	"$W/mnt" >"$W/run/fsposix.out" 2>&1 || rc=$?
cat "$W/run/fsposix.out" >&2
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	die "fsposix.py timed out (hung mount?)"
fi
[ "$rc" -eq 0 ] || die "POSIX checks failed: $(grep '^not ok' "$W/run/fsposix.out" | cut -d: -f1 | sed 's/^not ok //' | tr '\n' ' ')"

note "with --allow-other: other users get ext4's permission semantics"
fs_import posix-other
chmod 711 "$W" # the uid-65534 probe must reach the mountpoint
fs_mount posix-other "$W/mnt-other" --allow-other
rc=0
timeout -k 10 300 "$BLAST_TEST_PYTHON" "$FS_DIR/fsposix.py" --only other_user_permissions,xattr_trusted_needs_cap_sys_admin \
	"$W/mnt-other" >"$W/run/fsposix-other.out" 2>&1 || rc=$?
cat "$W/run/fsposix-other.out" >&2
[ "$rc" -eq 0 ] || die "POSIX checks with --allow-other failed"
grep -q '^ok other_user_permissions' "$W/run/fsposix-other.out" ||
	die "other_user_permissions did not run with --allow-other"
grep -q '^ok xattr_trusted_needs_cap_sys_admin' "$W/run/fsposix-other.out" ||
	die "xattr_trusted_needs_cap_sys_admin did not run with --allow-other"
fs_umount posix-other "$W/mnt-other"

note "unmount, check the store"
fs_umount posix "$W/mnt"
fs_check_store
fs_pass
