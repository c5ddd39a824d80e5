#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fsync is honest and grouped: eight threads writing and fsyncing files at
# once share syncs (the daemon's status shows fewer syncs than fsync
# requests), every fsynced file survives kill -9 of the daemon byte for
# byte, and the store verifies.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
fs_import fsy
fs_mount fsy "$MNT"

"$BLAST_TEST_PYTHON" - "$MNT" <<'PY' || die "concurrent fsync writers failed"
import os, sys, threading
root = sys.argv[1]
errors = []

def writer(k):
    try:
        d = os.path.join(root, "t%d" % k)
        os.mkdir(d)
        for i in range(40):
            p = os.path.join(d, "f%03d" % i)
            with open(p, "wb") as f:
                f.write(("%d:%d\n" % (k, i)).encode() * (1 + i * 37))
                f.flush()
                os.fsync(f.fileno())
        fd = os.open(d, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    except Exception as e:
        errors.append(repr(e))

ts = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
for t in ts: t.start()
for t in ts: t.join()
if errors:
    print(errors)
    sys.exit(1)
PY

bctl status fsy --json >"$W/status.json" || die "status failed"
read -r req syncs < <("$BLAST_TEST_PYTHON" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["sync_requests"], d["syncs"])' "$W/status.json")
note "fsync requests: $req, syncs: $syncs"
[ "$req" -ge 328 ] || die "expected >= 328 sync requests, got $req"
[ "$syncs" -lt "$req" ] || die "no fsync shared a sync ($syncs syncs for $req requests)"

note "kill -9 the daemon: every fsynced file is intact"
fs_kill9 fsy "$MNT"
fs_mount fsy "$MNT"
"$BLAST_TEST_PYTHON" - "$MNT" <<'PY' || die "fsynced data lost after kill -9"
import os, sys
root = sys.argv[1]
for k in range(8):
    for i in range(40):
        p = os.path.join(root, "t%d" % k, "f%03d" % i)
        want = ("%d:%d\n" % (k, i)).encode() * (1 + i * 37)
        with open(p, "rb") as f:
            if f.read() != want:
                print("bad:", p)
                sys.exit(1)
PY
fs_umount fsy "$MNT"
fs_check_store
fs_pass
