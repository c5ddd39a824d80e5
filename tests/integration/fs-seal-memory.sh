#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unsealed data has bounds, even while nothing is sealed for being idle
# or old (BLASTFS_SEAL_IDLE_MS/AGE_MS hold those back): 150 new files of
# 1 MB written one after another (`open(..., "wb")`, once the kernel
# opens files itself: it sends no RELEASE, nothing seals them at close)
#  - keep the daemon's content buffers within their budget (status
#    content_memory_bytes <= 64 MiB; the rest goes to staging files);
#  - roll the write log over at its limit (BLASTFS_WLOG_MAX, 16 MiB here:
#    no generation grows past it by more than one write), and the files
#    that kept the old generations are sealed and those deleted;
#  - and every byte is there: in the mount, and in an export of the
#    mounted env.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
mkdir -p "$W/src"
printf 'seed\n' >"$W/src/seed"
fs_import w "$W/src"

export BLASTFS_SEAL_IDLE_MS=600000 BLASTFS_SEAL_AGE_MS=600000
export BLASTFS_WLOG_MAX=$((16 << 20))
fs_mount w "$MNT"
cat "$MNT/seed" >/dev/null # the kernel opens files itself from now on
"$BLAST_TEST_PYTHON" - "$MNT" "$H" <<'PY'
import hashlib, json, os, subprocess, sys, time
M, H = sys.argv[1:3]
S = os.path.join(H, "staging")
BUDGET, WLOG_MAX, MB = 64 << 20, 16 << 20, 1 << 20

def status():
    out = subprocess.run([os.environ["BLASTCTL"], "--home", H, "status", "w",
                          "--json"], check=True, capture_output=True).stdout
    return json.loads(out)

def logs():
    out = {}
    for n in os.listdir(S):
        try:
            if n.startswith("w.wlog."):
                out[n] = os.path.getsize(os.path.join(S, n))
        except FileNotFoundError:  # the daemon deleted it since listdir
            pass
    return out

def content(i):
    return hashlib.sha256(b"%d" % i).digest() * (MB // 32)

peak_mem = peak_gen = 0
for i in range(150):
    with open(os.path.join(M, "f%03d" % i), "wb") as f:
        f.write(content(i))
    if i == 0:
        assert status()["opens"] == "kernel", status()["opens"]
    if i % 10 == 9:
        mem = status()["content_memory_bytes"]
        peak_mem = max(peak_mem, mem)
        assert mem <= BUDGET, "content memory %d > budget %d" % (mem, BUDGET)
        big = max(logs().values())
        peak_gen = max(peak_gen, big)
        assert big <= WLOG_MAX + 2 * MB, "a log generation of %d bytes" % big
st = status()
print("# peak content memory %.1f MiB, largest log generation %.1f MiB, "
      "%d files sealed" % (peak_mem / MB, peak_gen / MB, st["files_sealed"]),
      file=sys.stderr)
assert peak_mem > BUDGET / 2, "the budget was never approached: %d" % peak_mem
# the files keeping old generations get sealed, and those are deleted
end = time.monotonic() + 120
while sum(logs().values()) > 2 * (WLOG_MAX + 2 * MB):
    assert time.monotonic() < end, "write log not trimmed: %r" % logs()
    time.sleep(0.1)
for i in range(150):
    with open(os.path.join(M, "f%03d" % i), "rb") as f:
        assert f.read() == content(i), i
PY
fs_want 0 export w "$W/export"
for f in "$MNT"/f*; do
	assert_file_eq "$f" "$W/export/${f##*/}"
done
fs_umount w "$MNT"
fs_check_store
fs_pass
