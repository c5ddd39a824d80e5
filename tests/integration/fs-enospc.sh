#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A full filesystem under the store (a 30 MB tmpfs, then a 40 MB ext4 on a
# loop device): mkdir, create and write in the mounted env fail with
# ENOSPC, the daemon stays up (no SIGBUS from its writable map), earlier
# files are intact; once space is freed the same operations work, the
# daemon unmounts cleanly and `check --store --deep` finds nothing.
set -euo pipefail
. "$(dirname "$0")/fs-lib.sh"
require_root
require_cmd mkfs.ext4 losetup fallocate
fs_setup

mkdir -p "$W/src/lib"
for i in $(seq 1 20); do
	head -c $((i * 3000)) /dev/urandom >"$W/src/lib/m$i.py"
done

# expect_enospc WHAT CMD...: CMD fails with "No space left on device".
expect_enospc() {
	local what=$1 rc=0
	shift
	"$@" 2>"$W/run/enospc.err" || rc=$?
	[ "$rc" -ne 0 ] || die "$what succeeded on a full disk"
	assert_contains "$(cat "$W/run/enospc.err")" "No space left on device" "$what"
}

# until_enospc WHAT MAX FN: run FN 1..MAX until it fails, which must be
# with "No space left on device" (and must happen).
until_enospc() {
	local what=$1 max=$2 fn=$3 i
	for ((i = 1; i <= max; i++)); do
		"$fn" "$i" 2>"$W/run/enospc.err" || break
	done
	[ "$i" -le "$max" ] || die "$max times $what on a full disk"
	assert_contains "$(cat "$W/run/enospc.err")" "No space left on device" "$what"
	alive "after $what"
}
op_symlink() { ln -s "$LONG_TARGET" "$M/s$1"; }
op_mkdir() { mkdir "$M/d$1"; }
op_create() { touch "$M/f$1"; }
LONG_TARGET=$(printf '%04000d' 0)

# alive: the daemon runs and the mount answers.
alive() {
	_lib_pid_alive "$FS_PID" || die "blastfs died ($1): rc $(cat "$W/run/e1.rc" 2>/dev/null)"
	ls "$M" >/dev/null || die "mount does not answer ($1)"
}



run_case() {
	local kind=$1 D=$W/disk-$1 i n
	note "store on $kind"
	small_disk "$kind" "$D" "$([ "$kind" == tmpfs ] && echo 30 || echo 40)"
	H=$D/store
	M=$W/mnt-$kind
	fs_import e1 "$W/src"
	fs_mount e1 "$M"
	mkdir "$M/before"
	cp "$W/src/lib/m5.py" "$M/before/a.py"
	fs_sync e1

	fill "$D"
	# Blocks allocated ahead of LMDB still take some changes: long
	# symlinks (inline targets) use them up, then each kind of change
	# fails, within a few tries (a smaller one may fit what is left).
	until_enospc "symlink" 2000 op_symlink
	until_enospc "mkdir" 100 op_mkdir
	until_enospc "create" 100 op_create
	expect_enospc "write" cp "$W/src/lib/m20.py" "$M/before/big.py"
	alive "after create and write"
	assert_file_eq "$W/src/lib/m5.py" "$M/before/a.py" "earlier file"
	assert_same_tree --no-mtime "$W/src/lib" "$M/lib"

	rm -f "$D/fill" "$D/fill2"
	mkdir "$M/after"
	cp "$W/src/lib/m20.py" "$M/after/big.py"
	cp "$W/src/lib/m20.py" "$M/before/big.py"
	touch "$M/newfile"
	alive "after freeing space"
	fs_sync e1
	fs_umount e1 "$M"
	bctl check --store --deep >"$W/run/check.out" 2>&1 ||
		die "check after $kind: $(cat "$W/run/check.out")"
	fs_mount e1 "$M"
	assert_file_eq "$W/src/lib/m5.py" "$M/before/a.py" "earlier file after remount"
	assert_file_eq "$W/src/lib/m20.py" "$M/before/big.py" "rewritten file after remount"
	assert_file_eq "$W/src/lib/m20.py" "$M/after/big.py" "later file after remount"
	assert_same_tree --no-mtime "$W/src/lib" "$M/lib"
	fs_umount e1 "$M"
}

run_case tmpfs
run_case ext4
fs_pass
