#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash safety: blastfs is killed with SIGKILL while a writer creates many
# files (each written and closed, some via tmp+rename, some then chmod'ed
# and given an explicit mtime, symlinked or unlinked; each step logged and
# fsync'd outside the mount once it returned). After clearing the dead
# mount and restarting, every logged step is there: exact bytes, modes,
# mtimes, symlinks, and unlinked files stay gone; twice in a row (a crash
# after a recovery). fsync/fdatasync are honest: what they covered survives
# a kill -9 while the files are still open. Then a kill in the middle of
# `pip install blast-many`: after restart the mount works (python and pip
# run, the package installs again and imports) and the store verifies.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
cd "$W"

# One module for the writer and the checker: what file i holds, and which
# metadata operations follow its write (each logged once it returned).
cat >"$W/crashlib.py" <<'PY'
import hashlib, os
SIZES = [0, 1, 100, 4096, 70000, 300001, 1000, 5]
T0 = 1_500_000_000_000_000_000

def content(i):
    block = hashlib.sha256(b"%d" % i).digest()
    n = SIZES[i % len(SIZES)]
    return (block * (n // 32 + 1))[:n]

def paths(mnt, i):
    d = os.path.join(mnt, "d%03d" % (i // 100))
    return d, os.path.join(d, "f%06d" % i), os.path.join(d, "l%06d" % i)

def expected(i, ops):
    """(content or None if unlinked, mode, mtime_ns or None, symlink or None)"""
    mode = 0o640 if i % 3 == 2 else 0o644
    mtime = None
    if "m" in ops:
        mode, mtime = 0o600, T0 + i
    data = None if "u" in ops else content(i)
    return data, mode, mtime, ("f%06d" % i if "s" in ops else None)
PY

cat >"$W/writer.py" <<'PY'
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from crashlib import content, paths, T0
mnt, log, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.umask(0o022)

with open(log, "a") as lf:
    def done(line):
        lf.write(line + "\n")
        lf.flush()
        os.fsync(lf.fileno())
    i = start
    while True:
        d, path, link = paths(mnt, i)
        os.makedirs(d, exist_ok=True)
        if i == start:  # leftovers of the file being written at the last crash
            for p in (path, path + ".tmp", link):
                if os.path.lexists(p):
                    os.unlink(p)
        if i % 3 == 0:  # like _write_atomic / pip's adjacent tmp file
            with open(path + ".tmp", "xb") as f:
                f.write(content(i))
            os.replace(path + ".tmp", path)
        elif i % 3 == 1:
            with open(path, "wb") as f:  # two writes
                c = content(i)
                f.write(c[: len(c) // 2])
                f.write(c[len(c) // 2:])
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            os.write(fd, content(i))
            os.close(fd)
        done("%d w" % i)
        if i % 5 == 4:
            os.chmod(path, 0o600)
            os.utime(path, ns=(T0 + i, T0 + i))
            done("%d m" % i)
        if i % 7 == 6:
            os.symlink("f%06d" % i, link)
            done("%d s" % i)
        if i % 11 == 10:
            os.unlink(path)
            done("%d u" % i)
        i += 1
PY

cat >"$W/verify.py" <<'PY'
import os, stat, sys
sys.path.insert(0, os.path.dirname(sys.argv[0]))
from crashlib import expected, paths
mnt, log, cuts = sys.argv[1], sys.argv[2], sys.argv[3]
ops = {}
for line in open(log):
    i, op = line.split()
    ops.setdefault(int(i), set()).add(op)
# where a kill cut the writer: the op after its last logged one may have
# happened (the kill fell between the call and its log line), then the next
cut = {int(x) for x in open(cuts).read().split()} if os.path.exists(cuts) else set()

def check(i, o, chmod_only=False):
    bad = []
    data, mode, mtime, target = expected(i, o)
    _, path, link = paths(mnt, i)
    try:
        if data is None:
            if os.path.lexists(path):
                bad.append("%s: unlinked before the kill, back after restart" % path)
        else:
            st = os.stat(path)
            got = open(path, "rb").read()
            if got != data:
                bad.append("%s: %d bytes, expected %d%s" % (path, len(got), len(data),
                           " (same length, other bytes)" if len(got) == len(data) else ""))
            if stat.S_IMODE(st.st_mode) != mode:
                bad.append("%s: mode %o, expected %o" % (path, stat.S_IMODE(st.st_mode), mode))
            if mtime is not None and st.st_mtime_ns != mtime and not chmod_only:
                bad.append("%s: mtime %d, expected %d (utimens before the kill)"
                           % (path, st.st_mtime_ns, mtime))
        if target is not None and os.readlink(link) != target:
            bad.append("%s: symlink to %r, expected %r" % (link, os.readlink(link), target))
    except OSError as e:
        bad.append("%s: %s" % (e.filename or path, e.strerror))
    return bad

bad = []
for i, o in sorted(ops.items()):
    found = check(i, o)
    if found and i in cut:
        after = [op for op, due in (("m", i % 5 == 4), ("s", i % 7 == 6), ("u", i % 11 == 10))
                 if due and op not in o]
        # "m" is a chmod then a utime: the kill may fall between them
        tries = [(o | {"m"}, True)] if "m" in after else []
        tries += [(o | set(after[:k]), False) for k in range(1, len(after) + 1)]
        if any(not check(i, t, loose) for t, loose in tries):
            found = []
    bad += found
for b in bad[:20]:
    print(b)
print("%d logged files (%d operations), %d bad" % (len(ops), sum(map(len, ops.values())),
                                                 len(bad)))
sys.exit(1 if bad else 0)
PY

# logged TARGET (in kill_during_writer): TARGET files in the writer's log,
# their number in n; fails the test at once if the writer died first.
logged() {
	n=$(cut -d' ' -f1 "$W/log" | uniq | wc -l)
	[ "$n" -lt "$1" ] || return 0
	alive_or_die "$wpid" "round $round: writer died early: $(cat "$W/writer.err")"
	WAIT_WHY="only $n"
	return 1
}

# kill_during_writer ROUND TARGET: start the writer, SIGKILL the daemon once
# TARGET files are logged, reap the writer, clear the mount, restart.
kill_during_writer() {
	local round=$1 target=$2 start=0 wpid n rc=0
	[ ! -s "$W/log" ] || start=$(($(tail -n1 "$W/log" | cut -d' ' -f1) + 1))
	"$BLAST_TEST_PYTHON" "$W/writer.py" "$MNT" "$W/log" "$start" 2>"$W/writer.err" &
	wpid=$!
	on_exit kill_pid "$wpid"
	wait_until 600 "round $round: $target files logged" logged "$target"
	note "round $round: $n files logged; kill -9 blastfs"
	fs_kill9 crash "$MNT"
	wait_until 60 "round $round: the writer to end after the daemon was killed" pid_gone "$wpid"
	wait "$wpid" || rc=$?
	[ "$rc" -ne 0 ] || die "round $round: writer exited 0 although its filesystem died"
	note "round $round: writer stopped with: $(tail -n1 "$W/writer.err")"
	# the last logged file: its next op may have been done, not logged
	tail -n1 "$W/log" | cut -d' ' -f1 >>"$W/cuts"
	fs_mount crash "$MNT"
	"$BLAST_TEST_PYTHON" "$W/verify.py" "$MNT" "$W/log" "$W/cuts" >"$W/verify.out" ||
		die "round $round: closed files lost or damaged after kill -9:
$(cat "$W/verify.out")"
	note "round $round: $(tail -n1 "$W/verify.out")"
}

note "writer killed in the middle"
fs_import crash
: >"$W/log"
fs_mount crash "$MNT"
kill_during_writer 1 1500
kill_during_writer 2 3000
fs_umount crash "$MNT"
fs_check_store
fs_mount crash "$MNT"
"$BLAST_TEST_PYTHON" "$W/verify.py" "$MNT" "$W/log" "$W/cuts" >"$W/verify.out" ||
	die "after a clean remount: $(cat "$W/verify.out")"

note "fsync is honest: what fsync/fdatasync covered survives kill -9 with the files still open"
cat >"$W/holder.py" <<'PY'
import os, sys, time
mnt, ready = sys.argv[1], sys.argv[2]
a = os.open(os.path.join(mnt, "synced"), os.O_RDWR | os.O_CREAT, 0o644)
os.write(a, b"A" * 100000)
os.fsync(a)
b = os.open(os.path.join(mnt, "datasynced"), os.O_RDWR | os.O_CREAT, 0o644)
os.write(b, b"B" * 5000)
os.fdatasync(b)
c = os.open(os.path.join(mnt, "synced-then-more"), os.O_RDWR | os.O_CREAT, 0o644)
os.write(c, b"C" * 3000)
os.fsync(c)
os.write(c, b"D" * 3000)
open(ready, "w").close()
time.sleep(3600)  # keep every file open until killed
PY
"$BLAST_TEST_PYTHON" "$W/holder.py" "$MNT" "$W/holder.ready" 2>"$W/holder.err" &
hpid=$!
on_exit kill_pid "$hpid"
holder_ready() {
	[ -e "$W/holder.ready" ] && return 0
	alive_or_die "$hpid" "holder died: $(cat "$W/holder.err")"
	return 1
}
wait_until 120 "the holder to open its files" holder_ready
fs_kill9 crash "$MNT"
kill_pid "$hpid"
fs_mount crash "$MNT"
"$BLAST_TEST_PYTHON" - "$MNT" <<'PY' || die "fsync'd data lost by kill -9 (see above)"
import os, sys
m = sys.argv[1]
bad = []
def get(name):
    try:
        return open(os.path.join(m, name), "rb").read()
    except OSError as e:
        return "missing (%s)" % e.strerror
got = get("synced")
if got != b"A" * 100000:
    bad.append("synced: fsync'd 100000 bytes, after kill -9: %r" % (got[:20],))
got = get("datasynced")
if got != b"B" * 5000:
    bad.append("datasynced: fdatasync'd 5000 bytes, after kill -9: %r" % (got[:20],))
got = get("synced-then-more")
if got not in (b"C" * 3000, b"C" * 3000 + b"D" * 3000):
    bad.append("synced-then-more: neither the fsync'd nor the later content: %r..."
               % (got[:20],))
for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
PY
fs_umount crash "$MNT"

note "kill -9 during pip install blast-many"
"$BLAST_TEST_PYTHON" -c 'import ensurepip, venv' 2>/dev/null || {
	note "no ensurepip: pip part skipped"
	fs_pass
	exit 0
}
WHEELS=$(wheels_dir)
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
	PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
"$BLAST_TEST_PYTHON" -m venv "$W/v"
fs_import pipcrash "$W/v"
PMNT=$W/pmnt
fs_mount pipcrash "$PMNT"
PY=$PMNT/bin/python
SP=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[[ "$SP" == "$PMNT"/* ]] || die "site-packages $SP not on the mount"
"$PY" -m pip install --no-index --find-links "$WHEELS" blast-many >"$W/pip.out" 2>&1 &
ppid=$!
on_exit kill_pid "$ppid"
pip_midway() {
	local n
	n=$(find "$SP/blast_many" -name '*.py' 2>/dev/null | wc -l)
	[ "$n" -lt 600 ] || return 0
	alive_or_die "$ppid" "pip finished before the kill: $(tail -n3 "$W/pip.out")"
	WAIT_WHY="pip got to $n files"
	return 1
}
wait_until 240 "pip to write 600 files" pip_midway
fs_kill9 pipcrash "$PMNT"
rc=0
wait "$ppid" || rc=$?
[ "$rc" -ne 0 ] || die "pip succeeded although the filesystem died under it"
fs_mount pipcrash "$PMNT"
"$PY" -c 'import pip, sys; print(sys.prefix)' >"$W/out" 2>&1 || die "python on the restarted mount: $(cat "$W/out")"
assert_eq "$PMNT" "$(cat "$W/out")" "sys.prefix after restart"
"$PY" -m pip install --no-index --find-links "$WHEELS" blast-many >"$W/pip2.out" 2>&1 ||
	die "pip install after the crash: $(tail -n 20 "$W/pip2.out")"
assert_eq 2000 "$("$PY" -c 'import blast_many; print(blast_many.check_all())' 2>&1)" "blast_many after reinstall"
out=$("$PY" -m pip check 2>&1) || die "pip check: $out"
fs_umount pipcrash "$PMNT"
fs_check_store
fs_pass
