#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fs.readonly and a shared writable mapping made before the policy: the
# write into the mapping is refused at writeback (msync says EROFS), and
# every reader sees the stored content again, not the refused bytes the
# kernel's page cache kept; the attempt is audited with the writer's pid
# (writeback WRITEs carry none: served, the pid recorded at open;
# kernel, the process mapping the file, from /proc). Both open modes
# (policy-lib.sh).
set -euo pipefail
. "$(dirname "$0")/policy-lib.sh"

route() {
	local mode=$1 wpid
	"$BLAST_TEST_PYTHON" -c 'import sys; open(sys.argv[1], "w").write("original" * 1024)' "$SRC/ro.txt"
	pol_mount "$mode" "mmap-$mode" "$SRC"

	"$BLAST_TEST_PYTHON" - "$M" "$BLASTCTL" "$H" "$POL_ENV" >"$W/writer.pid" <<'PY'
import errno, mmap, os, subprocess, sys, time
M, ctl, home, env = sys.argv[1:]
print(os.getpid(), flush=True)
path = os.path.join(M, "ro.txt")
fd = os.open(path, os.O_RDWR)
mm = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
subprocess.run([ctl, "--home", home, "policy", env, "set", "fs.readonly",
                "ro.txt"], check=True, stdout=subprocess.DEVNULL)
mm[0:8] = b"POISONED"
try:
    mm.flush()
    sys.exit("msync of a refused write succeeded")
except OSError as e:
    assert e.errno == errno.EROFS, e
# another process reads the file: the stored bytes, once the refused
# pages are gone (generous bound; on the old code they stayed for good)
deadline = time.monotonic() + 60
while True:
    got = subprocess.run(["head", "-c", "16", path], capture_output=True).stdout
    if got == b"originaloriginal":
        break
    if time.monotonic() > deadline:
        sys.exit(f"readers still see {got!r}")
    time.sleep(0.05)
mm.close()
os.close(fd)
PY
	wpid=$(cat "$W/writer.pid")
	assert_eq originaloriginal "$(head -c 16 "$M/ro.txt")" "$mode: the stored content"
	pol_audit_json
	assert_eq True "$(pol_json "any(d['pid'] == $wpid and d['rule'] == 'fs.readonly' and d['op'] == 'write' and d['path'] == 'ro.txt' for d in j['denials'])")" \
		"$mode: refused writeback audited with the writer's pid $wpid"
	assert_eq True "$(pol_json "all(d['pid'] > 0 for d in j['denials'])")" "$mode: no pid 0"
	pol_umount
}
pol_both_modes route
