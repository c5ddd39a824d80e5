#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every written file is sealed within a bounded time after its last write
# (fs/sealer.c: 100 ms idle, 2 s dirty at most), without anything else
# waking the sealer, whatever path made it dirty, in both open modes
# (the kernel opens files; --serve-open). Each kind of write is made
# alone, then the sealing backlog must drain by itself:
#  - `>` of a new file (CREATE with O_TRUNC), O_CREAT without O_TRUNC,
#    `>` over an existing file, `>>`, a write in the middle of a stored
#    file (copy-up), a truncate, and a file still open for writing;
#  - `blastctl export` of the mounted env has every write that returned,
#    even with seals held back (it asks the daemon to seal first).
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt

status() { # KEY: one field of `blastctl status w --json`
	bctl status w --json | "$BLAST_TEST_PYTHON" -c '
import json, sys
print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
# backlog_drained: nothing waits for its seal
backlog_drained() {
	[ "$(status sealing_backlog)" = 0 ] && return 0
	WAIT_WHY="sealer passes: $(status sealer_passes)"
	return 1
}

# sealed WHAT: the backlog drains by itself (generous: a busy machine)
sealed() {
	local t0
	t0=$(_lib_now_us)
	wait_until "${SEAL_WAIT:-60}" "$1: the sealing backlog to drain" backlog_drained
	note "$1: sealed after $((($(_lib_now_us) - t0) / 1000)) ms"
}

mkdir -p "$W/src"
for f in rewrite append middle trunc; do
	printf 'stored %s content\n' "$f" >"$W/src/$f"
done
fs_import w "$W/src"

for mode in kernel served; do
	note "opens: $mode"
	if [ $mode = kernel ]; then
		fs_mount w "$MNT"
	else
		fs_mount w "$MNT" --serve-open
	fi
	cat "$MNT/rewrite" >/dev/null # the first open decides the mode
	assert_eq $mode "$(status opens)" "open mode"

	printf 'DATA %s\n' $mode >"$MNT/new-$mode"
	sealed "> of a new file"
	"$BLAST_TEST_PYTHON" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
os.write(fd, b"no trunc\n")
os.close(fd)' "$MNT/creat-$mode"
	sealed "O_CREAT without O_TRUNC"
	printf 'rewritten %s\n' $mode >"$MNT/rewrite"
	sealed "> of an existing file"
	printf 'appended %s\n' $mode >>"$MNT/append"
	sealed ">> of an existing file"
	"$BLAST_TEST_PYTHON" -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b"MIDDLE", 3)
os.close(fd)' "$MNT/middle"
	sealed "a write in the middle"
	truncate -s 4 "$MNT/trunc"
	sealed "a truncate"
	exec 7>"$MNT/open-$mode"
	printf 'still open\n' >&7
	sealed "a file still open for writing"
	exec 7>&-
	sealed "the file closed"
	fs_umount w "$MNT"
done

note "export of the mounted env, seals held back"
BLASTFS_SEAL_IDLE_MS=600000 BLASTFS_SEAL_AGE_MS=600000 fs_mount w "$MNT"
cat "$MNT/rewrite" >/dev/null
printf 'only written\n' >"$MNT/unsealed"
printf 'appended late\n' >>"$MNT/append"
[ "$(status sealing_backlog)" -ge 1 ] || die "the writes were sealed already"
fs_want 0 export w "$W/export"
for f in new-kernel new-served creat-kernel creat-served rewrite append \
	middle trunc open-kernel open-served unsealed; do
	assert_file_eq "$MNT/$f" "$W/export/$f"
done
assert_eq "only written" "$(cat "$W/export/unsealed")" "the unsealed file, exported"
fs_umount w "$MNT"
fs_check_store
fs_pass
