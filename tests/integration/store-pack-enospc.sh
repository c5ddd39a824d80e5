#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Pack files on a full disk (the store on a 24 MB tmpfs, then a 32 MB
# ext4 on a loop device; small pack files): a `gc` that must repack and an
# `import` both meet ENOSPC and fail with one line saying so, exit 1;
# the store then verifies clean and every env exports unchanged. Once
# space is freed gc repacks, the store's disk use (list's disk_bytes)
# comes down, and the import works.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_root
require_python
require_cmd mkfs.ext4 losetup fallocate
ctl_setup
export BLAST_PFILE_MAX=65536

# tx: 1000 incompressible files of 1-6 KiB, 3 in 10 of them (by position)
# only there; tk: the other 7 in 10; new: what the import brings
"$BLAST_TEST_PYTHON" - "$W" <<'PY'
import os, random, sys
w = sys.argv[1]
random.seed(3)
for t in ("tx", "tk", "new"):
    os.makedirs(os.path.join(w, t))
for i in range(1000):
    data = os.urandom(random.randint(1000, 6000))
    for t in ("tx", "tk") if i % 10 not in (0, 3, 7) else ("tx",):
        with open(os.path.join(w, t, "f%04d" % i), "wb") as f:
            f.write(data)
for i in range(100):
    with open(os.path.join(w, "new", "n%03d" % i), "wb") as f:
        f.write(os.urandom(40000))
PY

disk_bytes() {
	bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["store"]["disk_bytes"])'
}
# intact WHEN: the store verifies, tk exports unchanged
intact() {
	ctl_expect 0 check --store --deep
	rm -rf -- "$W/out"
	ctl_expect 0 export tk "$W/out"
	assert_same_tree --no-mtime --no-dir-mtime "$W/tk" "$W/out"
	rm -rf -- "$W/out"
}
# enospc CMD...: blastctl CMD fails (exit 1) with one line naming ENOSPC
enospc() {
	ctl_run bctl "$@"
	[ "$RC" -eq 1 ] || die "blastctl $* on a full disk: exit $RC, want 1 (stderr: $ERR)"
	assert_one_error "No space left on device"
	note "$*: $ERR"
}

run_case() {
	local kind=$1 D=$W/disk-$1 before after
	note "store on $kind"
	small_disk "$kind" "$D" "$([ "$kind" == tmpfs ] && echo 24 || echo 32)"
	H=$D/store
	ctl_expect 0 import tx "$W/tx"
	ctl_expect 0 import tk "$W/tk"
	# tx's own bytes die: its pack files stay about 70 % live, which
	# destroy leaves and gc repacks
	ctl_expect 0 destroy tx
	intact "before filling"
	before=$(disk_bytes)

	fill "$D"
	enospc gc
	enospc import n1 "$W/new"
	ctl_expect 0 list
	assert_not_contains "$OUT" "n1" "envs after the import met ENOSPC"
	intact "after gc and import met ENOSPC"

	rm -f -- "$D/fill" "$D/fill2"
	ctl_expect 0 --json gc
	note "gc with space: $(json_get 'j["repacked_bytes"]') bytes repacked, $(json_get 'j["pack_files_removed"]') pack files removed"
	[ "$(json_get 'j["repacked_bytes"]')" -gt 0 ] || die "gc repacked nothing"
	after=$(disk_bytes)
	note "disk_bytes: $before before, $after after gc"
	[ "$after" -lt "$before" ] || die "disk use $before -> $after after gc"
	intact "after gc"
	ctl_expect 0 import n1 "$W/new"
	rm -rf -- "$W/out"
	ctl_expect 0 export n1 "$W/out"
	assert_same_tree --no-mtime --no-dir-mtime "$W/new" "$W/out"
	intact "at the end"
}

run_case tmpfs
run_case ext4
echo "PASS: $TEST_NAME"
