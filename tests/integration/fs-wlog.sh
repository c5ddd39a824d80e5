#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The write log (fs/wlog.c): blastfs answers OPEN and FLUSH with ENOSYS,
# so the kernel opens and closes files without telling it; every write is
# logged before it is answered and files are sealed later. Here seals are
# held back (BLASTFS_SEAL_IDLE_MS/AGE_MS) so that the daemon is killed
# with writes only in memory and in the log:
#  - reads never reach OPEN (a Python import, cat), status says so;
#  - after kill -9 and a restart, every closed file is exact: a rewritten
#    existing file (O_TRUNC, no CREATE), an append, a file renamed after
#    its write, one moved with its directory, one hard-linked, one chmod'ed
#    and given an mtime between writes, a large one (staged on disk), a
#    new one; unlinked ones stay gone; mtimes are the writes' own;
#  - a torn record at the log's tail (the daemon died in an append) is
#    dropped, the records before it replayed, and the daemon says so;
#  - a second restart replays nothing; a clean unmount leaves no log;
#  - a file the kernel forgets with its directories (drop_caches) before
#    its seal is sealed all the same, under its path;
#  - blastctl export and save of a killed, unmounted env replay its log
#    first (blastfs --recover) and say so;
#  - a file written without pause never goes idle, yet the log stays
#    bounded (sealed every BLASTFS_SEAL_AGE_MS; BLASTFS_WLOG_MAX: new
#    generations, old ones deleted);
#  - --serve-open and BLASTFS_SERVE_OPEN=1 bring OPEN back (status
#    "served"), and then a close seals at once.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt

status() { # KEY: one field of `blastctl status --json`
	bctl status w --json | "$BLAST_TEST_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
v = d
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$1"
}
forgot_since() { # N: drop the kernel's caches; more than N FORGETs came
	drop_kernel_caches && [ "$(status requests.forget)" -gt "$1" ]
}
wlogs() { # the write log files of env w
	find "$H/staging" -maxdepth 1 -name 'w.wlog.*' -printf '%f %s\n' | sort
}

note "a tree with files to rewrite"
mkdir -p "$W/src/d/sub" "$W/src/moved"
for f in rewrite append renamed linked attrs unlinked; do
	printf 'old %s\n' "$f" >"$W/src/d/$f"
done
printf 'in sub\n' >"$W/src/d/sub/f"
head -c 9000000 /dev/urandom >"$W/src/d/large"
fs_import w "$W/src"

export BLASTFS_SEAL_IDLE_MS=600000 BLASTFS_SEAL_AGE_MS=600000
fs_mount w "$MNT"

note "reads: no OPEN round trip"
assert_eq undecided "$(status opens)" "opens before any"
cat "$MNT/d/rewrite" >/dev/null
"$BLAST_TEST_PYTHON" - "$MNT" <<'PY'
import os, sys
M = sys.argv[1]
for _ in range(50):
    with open(os.path.join(M, "d", "append"), "rb") as f:
        f.read()
PY
assert_eq kernel "$(status opens)" "opens after reads"
assert_eq 1 "$(status requests.open)" "OPEN requests (the first answers ENOSYS)"

note "writes the sealer holds back; the daemon dies"
DAEMON=$(fs_daemon_pid w) "$BLAST_TEST_PYTHON" - "$MNT" "$W/expect.json" <<'PY'
import json, os, sys
M, out = sys.argv[1], sys.argv[2]
j = lambda *a: os.path.join(M, "d", *a)
def put(p, data, mode="wb"):
    with open(p, mode) as f:
        f.write(data)
put(j("rewrite"), b"new content\n")                 # O_TRUNC: SETATTR + WRITE
put(j("append"), b"more\n", "ab")                  # O_APPEND, no OPEN
put(j("renamed"), b"renamed content\n")
os.rename(j("renamed"), j("renamed-to"))
put(j("sub", "f"), b"moved with its dir\n")
os.rename(j("sub"), os.path.join(M, "moved", "sub"))
put(j("linked"), b"linked content\n")
os.link(j("linked"), j("linked-2"))
put(j("attrs"), b"first\n")
os.chmod(j("attrs"), 0o600)                        # seals
put(j("attrs"), b"second\n", "ab")
put(j("unlinked"), b"doomed\n")
os.unlink(j("unlinked"))
big = bytes(range(256)) * 40000                    # 10 MB: staged on disk
put(j("large"), big)
with open(j("large"), "r+b") as f:
    f.seek(5_000_000)
    f.write(b"PATCH")
put(j("new"), b"created here\n")                   # CREATE
with open(j("partial"), "wb") as f:                # still open at the kill:
    f.write(b"w" * 100)                            # written, so kept
    f.flush()
    exp = {}
    for rel in ["d/rewrite", "d/append", "d/renamed-to", "moved/sub/f",
                "d/linked", "d/linked-2", "d/attrs", "d/large", "d/new",
                "d/partial"]:
        p = os.path.join(M, rel)
        st = os.stat(p)
        with open(p, "rb") as g:
            data = g.read()
        exp[rel] = [data.hex(), st.st_mode, st.st_mtime_ns, st.st_size]
    json.dump(exp, open(out, "w"))
    os.kill(int(os.environ["DAEMON"]), 9)
    try:
        f.close()  # the daemon is gone: whatever close says
    except OSError:
        pass
PY
fs_kill9 w "$MNT"
[ -n "$(wlogs)" ] || die "no write log left by the killed daemon"
note "log left: $(wlogs | tr '\n' ' ')"

note "a torn record at the tail, as if the daemon died mid-append"
last=$(wlogs | tail -n 1 | cut -d' ' -f1)
printf 'BWLG torn tail of a record' >>"$H/staging/$last"

verify() {
	"$BLAST_TEST_PYTHON" - "$MNT" "$W/expect.json" <<'PY'
import json, os, sys
M, exp = sys.argv[1], json.load(open(sys.argv[2]))
for rel, (hexdata, mode, mtime, size) in exp.items():
    p = os.path.join(M, rel)
    st = os.stat(p)
    with open(p, "rb") as f:
        data = f.read()
    assert data.hex() == hexdata, f"{rel}: content differs ({len(data)} bytes)"
    assert st.st_mode == mode, f"{rel}: mode {st.st_mode:o} != {mode:o}"
    assert st.st_mtime_ns == mtime, f"{rel}: mtime {st.st_mtime_ns} != {mtime}"
    assert st.st_size == size, rel
for gone in ["d/unlinked", "d/renamed", "d/sub"]:
    assert not os.path.lexists(os.path.join(M, gone)), gone
assert os.stat(os.path.join(M, "d/linked")).st_nlink == 2
PY
}

fs_mount w "$MNT"
grep -q "write log: replayed unsealed writes to" "$W/run/w.log" ||
	die "no replay line in the daemon log: $(tail -n 5 "$W/run/w.log")"
grep -q "1 torn tail dropped" "$W/run/w.log" ||
	die "the torn tail was not reported: $(grep 'write log' "$W/run/w.log")"
verify
note "replayed: $(grep 'write log: replayed' "$W/run/w.log" | tail -n 1)"

note "a second crash right after recovery replays nothing new"
fs_kill9 w "$MNT"
fs_mount w "$MNT"
verify

forgot=
if [ -w /proc/sys/vm/drop_caches ]; then
	note "a file the kernel forgets, with its directories, before its seal"
	f0=$(status requests.forget) # before: another test's drop may come first
	mkdir -p "$MNT/deep/er/est"
	printf 'forgotten before its seal\n' >"$MNT/deep/er/est/f"
	[ "$(status sealing_backlog)" -ge 1 ] || die "the file was sealed already"
	# FORGETs are queued: drop the caches until they arrive
	wait_until 60 "the kernel to forget (FORGET requests: $f0)" forgot_since "$f0"
	fs_sync w # the sealer finds its path through the kept directories
	assert_eq 0 "$(status sealing_backlog)" "backlog after sync"
	forgot=1
fi
fs_umount w "$MNT"
assert_eq "" "$(wlogs)" "write log files after a clean unmount"
fs_check_store
if [ -n "$forgot" ]; then
	bctl export w "$W/export-forgot" >/dev/null 2>&1 || die "blastctl export failed"
	assert_eq "forgotten before its seal" "$(cat "$W/export-forgot/deep/er/est/f")" \
		"the forgotten file, exported"
fi

note "a file written without pause: the log stays bounded"
export BLASTFS_SEAL_AGE_MS=200 BLASTFS_SEAL_IDLE_MS=100 BLASTFS_WLOG_MAX=65536
fs_mount w "$MNT"
"$BLAST_TEST_PYTHON" - "$MNT" "$H/staging" <<'PY'
import os, sys, time
M, S = sys.argv[1], sys.argv[2]
peak = written = 0


def size(p):  # the daemon deletes an old generation between listdir and stat
    try:
        return os.path.getsize(p)
    except FileNotFoundError:
        return 0



fd = os.open(os.path.join(M, "busy"), os.O_WRONLY | os.O_CREAT, 0o644)
end = time.monotonic() + 3
while time.monotonic() < end:  # rewrites a 1 MiB file, never pausing
    os.pwrite(fd, b"%08d" % written * 512, (written * 4096) % (1 << 20))
    written += 4096
    if written % (64 * 4096) == 0:
        total = sum(size(os.path.join(S, n)) for n in os.listdir(S)
                    if n.startswith("w.wlog."))
        peak = max(peak, total)
os.close(fd)
print("wrote %d bytes, log peak %d bytes" % (written, peak))
assert written > 16 * 65536, written
# sealed every age period, old generations deleted: far below what was written
assert peak < written / 4, (peak, written)
PY
"$BLAST_TEST_PYTHON" - "$H/staging" "$MNT" <<'PY'
import os, sys, time
S, M = sys.argv[1], sys.argv[2]
end = time.monotonic() + 10
while time.monotonic() < end:
    logs = {}
    for n in os.listdir(S):
        try:
            if n.startswith("w.wlog."):
                logs[n] = os.path.getsize(os.path.join(S, n))
        except FileNotFoundError:  # deleted since listdir
            pass
    if len(logs) == 1 and sum(logs.values()) == 0:
        break
    time.sleep(0.05)
else:
    sys.exit("write log not emptied once quiet: %r" % logs)
PY
assert_eq 0 "$(status sealing_backlog)" "backlog once quiet"
fs_umount w "$MNT"
unset BLASTFS_SEAL_AGE_MS BLASTFS_SEAL_IDLE_MS BLASTFS_WLOG_MAX

note "offline: blastctl export and save of a killed env recover its log first"
BLASTFS_SEAL_IDLE_MS=600000 BLASTFS_SEAL_AGE_MS=600000 fs_mount w "$MNT"
cat "$MNT/d/new" >/dev/null # the kernel stops sending OPEN (and RELEASE)
printf 'only in the log\n' >"$MNT/d/offline"
[ "$(status sealing_backlog)" -ge 1 ] || die "the write was sealed already"
fs_kill9 w "$MNT"
fs_want 0 export w "$W/export-offline"
assert_contains "$ERR" "recovered the writes a killed blastfs left for env 'w'"
assert_eq "only in the log" "$(cat "$W/export-offline/d/offline")" "offline export"
assert_eq "" "$(wlogs)" "write log after recovery"
fs_want 0 save w after-crash
fs_want 0 export w@after-crash "$W/export-snap"
assert_eq "only in the log" "$(cat "$W/export-snap/d/offline")" "snapshot after recovery"
fs_check_store

note "--serve-open and BLASTFS_SERVE_OPEN=1: OPEN served, a close seals"
for how in flag env; do
	if [ $how = flag ]; then
		fs_mount w "$MNT" --serve-open
	else
		BLASTFS_SERVE_OPEN=1 fs_mount w "$MNT"
	fi
	cat "$MNT/d/new" >/dev/null
	cat "$MNT/d/new" >/dev/null
	assert_eq served "$(status opens)" "opens ($how)"
	assert_eq 2 "$(status requests.open)" "OPEN requests ($how)"
	printf 'sealed at close\n' >"$MNT/d/closed-$how"
	assert_eq 0 "$(status sealing_backlog)" "backlog right after a close ($how)"
	fs_umount w "$MNT"
done
fs_check_store
fs_pass
