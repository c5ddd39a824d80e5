#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# File I/O exerciser (fsx.py, in the manner of fsx): random pwrite, pread,
# ftruncate up and down, mmap reads and msync'ed mmap writes, reopen,
# fsync, second-descriptor reads, fallocate (preallocate, punch hole, zero
# range) and SEEK_DATA/SEEK_HOLE on one file, checked against a model
# of its bytes after every op. First on a native file (the tool itself is
# right), then on blastfs: three seeds at once with seals at random points
# (small files that stay inline, files up to 256 KiB held in memory), one
# file that grows past 8 MiB (staged on disk), and one seed alone with
# two remounts and the kernel's caches dropped at random points. The times
# an mmap write gave a file are the ones a remount shows. Finally the
# store verifies clean. FS_FSX_OPS (default 4000) sets the op count.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup

ops=${FS_FSX_OPS:-4000}
fsx() {
	timeout -k 10 600 "$BLAST_TEST_PYTHON" "$FS_DIR/fsx.py" --quiet "$@"
}

note "native file: $ops ops"
mkdir "$W/native"
fsx --seed 1 --ops "$ops" "$W/native/f" || die "fsx.py fails on a native file"

fs_import fsx
fs_mount fsx "$W/mnt"
sync_cmd=$(fs_hook_cmd sync fsx)

note "three seeds at once, $ops ops each (inline-sized, 256 KiB, 8 MiB+)"
pids=()
fsx --seed 1 --ops "$ops" --sync-cmd "$sync_cmd" "$W/mnt/f1" >"$W/fsx.1.log" 2>&1 &
pids+=($!)
on_exit kill_pid "$!"
fsx --seed 2 --ops "$ops" --max-len 100 --max-op 40 --sync-cmd "$sync_cmd" \
	"$W/mnt/f2" >"$W/fsx.2.log" 2>&1 &
pids+=($!)
on_exit kill_pid "$!"
fsx --seed 3 --ops $((ops / 10)) --max-len $((12 << 20)) --max-op $((1 << 20)) \
	--sync-cmd "$sync_cmd" "$W/mnt/f3" >"$W/fsx.3.log" 2>&1 &
pids+=($!)
on_exit kill_pid "$!"
failed=
for i in 0 1 2; do
	rc=0
	wait "${pids[i]}" || rc=$?
	cat "$W/fsx.$((i + 1)).log" >&2
	[ "$rc" -eq 0 ] || failed="$failed $((i + 1))"
done
[ -z "$failed" ] || die "fsx.py found a mismatch for seed(s)$failed (see above)"

drop=()
if [ -w /proc/sys/vm/drop_caches ]; then
	drop=(--drop-caches 0.02)
fi
note "seed 4 alone: remounts after ops $((ops / 3)) and $((2 * ops / 3))${drop:+, caches dropped}"
fsx --seed 4 --ops "$ops" "${drop[@]}" --sync-cmd "$sync_cmd" \
	--remount-at "$((ops / 3)),$((2 * ops / 3))" \
	--remount-cmd "$(fs_hook_cmd remount fsx "$W/mnt")" "$W/mnt/f4" ||
	die "fsx.py seed 4: the file diverged from the model (see above)"

note "the times an mmap write gave are the ones a remount shows"
"$BLAST_TEST_PYTHON" - "$W/mnt/m" "$W/m.before" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"x" * 10000, 0)
os.stat(sys.argv[1])  # the kernel holds the attrs now
m = mmap.mmap(fd, 10000)
m[100:200] = b"y" * 100
m.flush()  # msync: written back, the file's times move
m.close()
os.close(fd)
st = os.stat(sys.argv[1])
open(sys.argv[2], "w").write("%d %d %d\n" % (st.st_size, st.st_mtime_ns, st.st_ctime_ns))
PY
bash "$FS_DIR/fs-lib.sh" remount fsx "$W/mnt" >/dev/null
assert_eq "$(cat "$W/m.before")" "$("$BLAST_TEST_PYTHON" -c 'import os, sys; st = os.stat(sys.argv[1]); print(st.st_size, st.st_mtime_ns, st.st_ctime_ns)' "$W/mnt/m")" \
	"size, mtime and ctime after an mmap write, across a remount"

note "unmount; the files are the ones last read back"
for f in f1 f2 f3 f4; do
	sha256sum <"$W/mnt/$f" >"$W/$f.sum"
done
fs_umount fsx "$W/mnt"
bctl export fsx "$W/export" >/dev/null 2>&1 || die "blastctl export failed"
for f in f1 f2 f3 f4; do
	assert_eq "$(cat "$W/$f.sum")" "$(sha256sum <"$W/export/$f")" "$f after unmount"
done
fs_check_store
fs_pass
