#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Access times as ext4 keeps them: the same reads (fsfeat.py atime: a
# file whose atime is before its mtime, after it, two days old, read
# twice, a directory listed twice) on a native ext4 directory and on
# blastfs, mounted relatime (the default), strictatime, noatime and
# relatime,nodiratime alike, must change atime alike. Then lazily kept:
# 10,000 reads through a strictatime mount (each one reaches the daemon:
# its pages are dropped first) change the atime each time and write
# nothing to LMDB (data.mdb's last txn id unchanged), yet the atime
# survives the unmount.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
require_root
require_cmd mdb_stat
fs_setup
small_disk ext4 "$W/ext4" 16
fs_import at

for mode in relatime strictatime noatime relatime,nodiratime; do
	note "mounted $mode"
	mount -o "remount,atime,diratime,$mode" "$W/ext4"
	fs_mount at "$W/mnt" --atime "$mode"
	mkdir "$W/ext4/$mode" "$W/mnt/$mode"
	"$BLAST_TEST_PYTHON" "$FS_DIR/fsfeat.py" atime run "$W/ext4/$mode" >"$W/want.$mode"
	"$BLAST_TEST_PYTHON" "$FS_DIR/fsfeat.py" atime run "$W/mnt/$mode" >"$W/got.$mode"
	assert_file_eq "$W/want.$mode" "$W/got.$mode"
	fs_umount at "$W/mnt"
done
grep -q '^atime before mtime: atime changed' "$W/want.relatime" ||
	die "ext4 kept an atime relatime changes: $(cat "$W/want.relatime")"

note "10,000 reads, no LMDB write"
txn_id() { mdb_stat -ne "$H/data.mdb" | awk '/Last transaction ID/ { print $4 }'; }
fs_mount at "$W/mnt" --atime strictatime
echo data >"$W/mnt/f"
fs_sync at
t0=$(txn_id)
last=$("$BLAST_TEST_PYTHON" - "$W/mnt/f" <<'PY'
import os, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDONLY)
seen = []
for i in range(10000):
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # the read reaches blastfs
    assert os.pread(fd, 5, 0) == b"data\n"
    if i % 1000 == 0:
        seen.append(os.fstat(fd).st_atime_ns)
os.close(fd)
seen.append(os.stat(path).st_atime_ns)
if seen != sorted(set(seen)):
    sys.exit("atime did not move with the reads: %r" % seen)
print(seen[-1])
PY
) || die "the reads failed"
t1=$(txn_id)
assert_eq "$t0" "$t1" "data.mdb's last txn id after 10,000 reads"
fs_umount at "$W/mnt"
[ "$(txn_id)" -gt "$t1" ] || die "the unmount wrote no atime"
fs_mount at "$W/mnt"
assert_eq "$last" "$("$BLAST_TEST_PYTHON" -c 'import os, sys; print(os.stat(sys.argv[1]).st_atime_ns)' "$W/mnt/f")" \
	"atime after the remount"
fs_umount at "$W/mnt"
fs_check_store
fs_pass
