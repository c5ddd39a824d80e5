#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Concurrent stress (fsstress.py, in the manner of fsstress): processes
# race on one shared tree with random creates, writes, truncates, mmap
# writes, mkdir/rmdir, unlinks, renames of files and directories, links,
# symlinks, chmod, utimes, fsync, listings and stats, while the kernel's
# caches are dropped now and then (FORGETs of files still unsealed, fresh
# LOOKUPs). Only the errors the races explain may happen (no EIO, no
# ESTALE, no hang, the daemon stays up). The tool runs on a native
# directory first. Then the tree as the mount shows it is what a remount
# shows (content, modes, sizes, nlink, symlinks, file mtimes), and the
# store verifies clean. FS_STRESS_OPS (default 3000 per process) and
# FS_STRESS_PROCS (default 5) set the size; FS_STRESS_NO_DROP_CACHES=1
# leaves the caches alone.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup

ops=${FS_STRESS_OPS:-3000}
procs=${FS_STRESS_PROCS:-5}
stress() { # SEED DIR
	"$BLAST_TEST_PYTHON" "$FS_DIR/fsstress.py" run --seed "$1" --procs "$procs" \
		--ops "$ops" "$2" >"$W/stress.$1.out" || {
		cat "$W/stress.$1.out" >&2
		die "fsstress.py seed $1 on $2: an unexpected error (see above)"
	}
}

note "native directory: $procs processes x $ops ops"
mkdir "$W/native"
stress 1 "$W/native"

fs_import st
fs_mount st "$W/mnt"
mkdir "$W/mnt/t"
dropper=
if [ -w /proc/sys/vm/drop_caches ] && [ -z "${FS_STRESS_NO_DROP_CACHES:-}" ]; then
	(while :; do
		echo 3 >/proc/sys/vm/drop_caches
		sleep 0.5
	done) &
	dropper=$!
	on_exit kill_pid "$dropper"
fi
for seed in 1 2; do
	note "blastfs, seed $seed: $procs processes x $ops ops${dropper:+, caches dropped every 0.5 s}"
	stress "$seed" "$W/mnt/t"
	kill -0 "$(fs_daemon_pid st)" 2>/dev/null || die "the daemon died under stress"
done
[ -z "$dropper" ] || kill "$dropper"
note "ops done (seed 2, one process): $(head -n 1 "$W/stress.2.out" | cut -c1-200)..."

note "the tree the mount shows is the tree a remount shows"
# The kernel applies a SETATTR reply's times unconditionally: a chmod the
# daemon answered before an mmap writeback's WRITE, but whose reply came
# in after it, leaves the kernel the older mtime until its attr timeout
# (FUSE without writeback cache). So the mount is asked afresh.
drop_kernel_caches || true
"$BLAST_TEST_PYTHON" "$FS_DIR/fsstress.py" manifest "$W/mnt/t" "$W/before"
fs_umount st "$W/mnt"
fs_check_store
fs_mount st "$W/mnt"
"$BLAST_TEST_PYTHON" "$FS_DIR/fsstress.py" manifest "$W/mnt/t" "$W/after"
diff "$W/before" "$W/after" >&2 || die "the remounted tree differs (< before, > after)"
note "$(wc -l <"$W/before") entries, equal"
fs_umount st "$W/mnt"
fs_pass
