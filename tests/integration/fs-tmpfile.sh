#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# open(dir, O_TMPFILE) on blastfs against the same operations on a native
# ext4 directory (fsfeat.py tmpfile): an anonymous file (no name, nlink
# 0) named by linkat(AT_EMPTY_PATH) and again by /proc/self/fd (a hard
# link then), writes after the link kept, O_TMPFILE|O_EXCL never linkable
# (ENOENT), one closed unnamed leaves nothing, ext4's errnos (ENOTDIR,
# EINVAL, ENOENT, EEXIST, EPERM in an immutable directory); the tree the
# same after dropped caches and a remount.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
fs_feat_vs_ext4 tmpfile
grep -q '^linkat AT_EMPTY_PATH: ok' "$W/want" || die "ext4 did not link: $(cat "$W/want")"
fs_pass
