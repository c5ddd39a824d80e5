#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A tree 10,000 levels deep made inside a mounted env (mkdir through dir
# fds: the paths are far over PATH_MAX): save, diff against the live state
# (the change of a file at the bottom, its path 20,000 bytes long), save, load while
# mounted (the daemon's
# invalidation diff), unmount, export, re-import of the export, gc and
# check --store --deep, blastctl on a 1 MiB stack. Each export equals the
# other (deeptree.py).
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
depth=${DEEP_TREE_LEVELS:-10000}
deeptree() { "$BLAST_TEST_PYTHON" "$BLAST_REPO/tests/integration/deeptree.py" "$@"; }
small() {
	(ulimit -s 1024 && fs_want "$@")
	OUT=$(cat "$W/out")
	ERR=$(cat "$W/err")
}

[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -gt $((depth + 200)) ] ||
	skip "open files hard limit $(ulimit -Hn) is below one per level"
fs_import deep
fs_mount deep "$W/mnt"
mkdir "$W/mnt/bin" # load rewrites bin/activate
deeptree make "$W/mnt/x" "$depth"
size=$(deeptree size "$W/mnt/x")
small 0 save deep s1
deeptree append "$W/mnt/x" more
small 0 diff deep s1 # the live state: synced first
bottom=$(printf 'x%*s/last' "$depth" '' | sed 's| |/d|g')
assert_eq "~ $bottom" "$OUT" "diff names the deep file"
small 0 save deep s2
small 0 load deep s1
assert_eq "$size" "$(deeptree size "$W/mnt/x")" "bottom size after load"
fs_umount deep "$W/mnt"

small 0 export deep "$W/out1"
small 0 import again "$W/out1"
small 0 export again "$W/out2"
deeptree compare "$W/out1" "$W/out2" || die "re-import's export differs"
assert_eq "$size" "$(deeptree size "$W/out2/x")" "bottom size in the export"
small 0 destroy deep
small 0 gc
fs_check_store
fs_pass
