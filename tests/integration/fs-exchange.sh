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
fs_setup
fs_feat_vs_ext4 exchange
grep -q '^files: ok' "$W/want" || die "ext4 refused the exchange: $(cat "$W/want")"
fs_pass
