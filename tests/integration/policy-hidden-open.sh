#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Once `policy set` returns, a hidden file's content is out of reach of
# what was opened before it: a descriptor (read), a re-open through
# /proc/PID/fd, pages the kernel cached from earlier reads, a shared
# mapping; a read-only file's descriptor opened for writing cannot
# write. Refused reads are audited with the reader's pid. Both open
# modes (policy-lib.sh).
set -euo pipefail
. "$(dirname "$0")/policy-lib.sh"

route() {
	local mode=$1
	"$BLAST_TEST_PYTHON" -c 'import sys; open(sys.argv[1], "w").write("secret!" * 3000)' "$SRC/secret.bin"
	echo 'frozen' >"$SRC/ro.txt"
	pol_mount "$mode" "open-$mode" "$SRC"

	"$BLAST_TEST_PYTHON" - "$M" "$BLASTCTL" "$H" "$POL_ENV" >"$W/holder.pid" <<'PY'
import errno, mmap, os, signal, subprocess, sys
M, ctl, home, env = sys.argv[1:]
print(os.getpid(), flush=True)
secret = os.path.join(M, "secret.bin")
fd = os.open(secret, os.O_RDONLY)
assert os.pread(fd, 7, 0) == b"secret!"
assert b"secret" in os.pread(fd, 1 << 20, 0)  # every page cached
mm = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
assert mm[:7] == b"secret!"
wfd = os.open(os.path.join(M, "ro.txt"), os.O_RDWR)
def policy(*args):
    subprocess.run([ctl, "--home", home, "policy", env, *args], check=True,
                   stdout=subprocess.DEVNULL)
policy("set", "fs.hidden", "secret.bin")
policy("set", "fs.readonly", "ro.txt")

def refused(what, fn):
    try:
        got = fn()
    except OSError as e:
        return e.errno
    if got and b"secret" in got:
        sys.exit(f"{what}: read the hidden content")
    if got:
        sys.exit(f"{what}: read {got[:20]!r}")
    return 0
refused("a descriptor opened before", lambda: os.pread(fd, 7, 0))
refused("pages cached before", lambda: os.pread(fd, 1 << 20, 0))
refused("a later offset", lambda: os.pread(fd, 100, 8192))
try:
    with open(f"/proc/self/fd/{fd}", "rb") as f:
        got = f.read()
    sys.exit(f"re-open through /proc: read {got[:20]!r}")
except OSError:
    pass
pid = os.fork()
if pid == 0:  # a fault on a page mapped before: SIGBUS, or no secret
    os._exit(3 if mm[:7] == b"secret!" or b"secret" in mm[8000:9000] else 0)
_, status = os.waitpid(pid, 0)
if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3:
    sys.exit("a mapping made before still shows the hidden content")
e = 0
try:
    os.pwrite(wfd, b"x", 0)
except OSError as err:
    e = err.errno
assert e == errno.EROFS, f"write to a read-only file through an older fd: {e}"
os.close(wfd)
PY
	hpid=$(head -n1 "$W/holder.pid")
	assert_eq frozen "$(cat "$M/ro.txt")" "$mode: the read-only file"
	pol_audit_json
	assert_eq True "$(pol_json "any(d['pid'] == $hpid and d['rule'] == 'fs.hidden' and d['path'] == 'secret.bin' for d in j['denials'])")" \
		"$mode: refused reads audited with pid $hpid"
	# the mapping's fault, in the child the holder forked
	assert_eq True "$(pol_json "any(d['pid'] > 0 and d['op'] == 'read' and d['path'] == 'secret.bin' for d in j['denials'])")" \
		"$mode: a refused READ audited"
	bpol unset fs.hidden
	bpol unset fs.readonly
	assert_contains "$(cat "$M/secret.bin")" "secret!" "$mode: unhidden"
	pol_umount
}
pol_both_modes route
