#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# chattr's flags (FS_IOC_GETFLAGS/SETFLAGS) on blastfs against the same
# operations on a native ext4 directory (fsfeat.py flags): immutable and
# append-only files and directories refuse what ext4 refuses (EPERM:
# writes, truncates, chmod, unlink, rename, link, new entries), setting
# or clearing them needs CAP_LINUX_IMMUTABLE, nodump and noatime are kept;
# the flags survive dropped caches and a remount, a snapshot and a
# clone carry them, export leaves them out (as tar). lsattr shows them.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
require_cmd setpriv lsattr
fs_setup
fs_feat_vs_ext4 flags
grep -q '^immutable: write: EPERM' "$W/want" || die "ext4 did not refuse: $(cat "$W/want")"
note "lsattr"
fs_mount feat "$W/mnt"
assert_contains "$(lsattr -d "$W/mnt/t/di" "$W/mnt/t/f")" "----i-" "lsattr"
assert_contains "$(lsattr -d "$W/mnt/t/da")" "-----a-" "lsattr"
fs_want 0 save feat s1
chattr -i "$W/mnt/t/f"
fs_umount feat "$W/mnt"

note "a snapshot and a clone keep them; export leaves them out (as tar)"
fs_want 0 create c2 --from feat@s1
fs_mount c2 "$W/mnt2"
assert_contains "$(lsattr "$W/mnt2/t/f")" "----i-" "lsattr of the clone"
fs_umount c2 "$W/mnt2"
fs_want 0 load feat s1
fs_mount feat "$W/mnt"
assert_contains "$(lsattr "$W/mnt/t/f")" "----i-" "lsattr after load"
fs_umount feat "$W/mnt"
mkdir "$W/exported"
fs_want 0 export feat "$W/exported"
fl=$(lsattr "$W/exported/t/f" | cut -d' ' -f1)
[[ "$fl" != *i* && "$fl" != *a* ]] || die "export set flags: $fl"
rm -rf "$W/exported"
fs_pass
