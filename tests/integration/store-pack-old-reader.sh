#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A pack file is removed only when nothing points into it, whatever
# snapshot an old LMDB reader holds: with a reader open (a process
# holding a read txn through liblmdb, as a daemon's read or an export
# does), destroying the only env empties the current pack file and its
# removal waits for the reader; an import meanwhile appends to the store.
# Once the reader is gone, gc removes what is garbage and the new env
# still exports whole, the store verifies clean. (The current file was
# marked dead, the import appended into it, and gc unlinked it with the
# new env's bytes.)
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup
"$BLAST_TEST_PYTHON" -c 'import ctypes.util, sys; sys.exit(0 if ctypes.util.find_library("lmdb") else 1)' ||
	skip "no liblmdb to hold a reader with"

# hold_reader: a process with a read txn open on the store until
# $W/stop exists (pid in RPID)
hold_reader() {
	rm -f -- "$W/ready" "$W/stop"
	"$BLAST_TEST_PYTHON" - "$H" "$W/ready" "$W/stop" <<'PY' &
import ctypes, ctypes.util, os, sys, time
home, ready, stop = sys.argv[1:]
lib = ctypes.CDLL(ctypes.util.find_library("lmdb"))
env, txn = ctypes.c_void_p(), ctypes.c_void_p()
MDB_RDONLY = 0x20000
if lib.mdb_env_create(ctypes.byref(env)):
    sys.exit("mdb_env_create failed")
lib.mdb_env_set_maxdbs(env, 64)
rc = lib.mdb_env_open(env, home.encode(), MDB_RDONLY, 0o600)
if rc:
    sys.exit("mdb_env_open: %d" % rc)
rc = lib.mdb_txn_begin(env, None, MDB_RDONLY, ctypes.byref(txn))
if rc:
    sys.exit("mdb_txn_begin: %d" % rc)
open(ready, "w").close()
deadline = time.time() + 300
while not os.path.exists(stop) and time.time() < deadline:
    time.sleep(0.02)
lib.mdb_txn_abort(txn)
lib.mdb_env_close(env)
PY
	RPID=$!
	on_exit kill_pid "$RPID"
	wait_until 30 "the reader to open its txn" test -e "$W/ready"
}
release_reader() {
	: >"$W/stop"
	wait "$RPID" || die "the reader failed"
}

mkdir -p "$W/a" "$W/b"
head -c 50000 /dev/urandom >"$W/a/f"
head -c 60000 /dev/urandom >"$W/b/g"
for pfmax in default 65536; do
	note "pack files of ${pfmax} bytes"
	rm -rf -- "$H"
	if [ "$pfmax" == default ]; then unset BLAST_PFILE_MAX; else export BLAST_PFILE_MAX=$pfmax; fi
	ctl_expect 0 import A "$W/a"
	hold_reader
	ctl_expect 0 destroy A
	ctl_expect 0 import B "$W/b"
	release_reader
	ctl_expect 0 --json gc
	note "gc: $(json_get 'j["pack_files_removed"]') pack files removed"
	ctl_expect 0 check --store --deep
	rm -rf -- "$W/out"
	ctl_expect 0 export B "$W/out"
	assert_same_tree --no-mtime --no-dir-mtime "$W/b" "$W/out"
	# and the same with the reader held across the gc
	hold_reader
	ctl_expect 0 destroy B
	ctl_expect 0 import A "$W/a"
	ctl_expect 0 gc
	release_reader
	ctl_expect 0 gc
	ctl_expect 0 check --store --deep
	rm -rf -- "$W/out"
	ctl_expect 0 export A "$W/out"
	assert_same_tree --no-mtime --no-dir-mtime "$W/a" "$W/out"
done
echo "PASS: $TEST_NAME"
