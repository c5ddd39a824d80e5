#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash safety: blastfs is killed with SIGKILL while a writer creates many
# files (each written and closed, some via tmp+rename, then its name logged
# and fsync'd outside the mount). After clearing the dead mount and
# restarting, every logged file is there with its exact bytes; twice in a
# row (a crash after a recovery). Then the same with a kill in the middle of
# `pip install blast-many`: after restart the mount works (python and pip
# run, the package installs again and imports) and the store verifies.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
cd "$W"

cat >"$W/writer.py" <<'PY'
import hashlib, os, sys
mnt, log, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
SIZES = [0, 1, 100, 4096, 70000, 300001, 1000, 5]

def content(i):
    block = hashlib.sha256(b"%d" % i).digest()
    n = SIZES[i % len(SIZES)]
    return (block * (n // 32 + 1))[:n]

with open(log, "a") as lf:
    i = start
    while True:
        d = os.path.join(mnt, "d%03d" % (i // 100))
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "f%06d" % i)
        if i == start:  # leftovers of the file being written at the last crash
            for p in (path, path + ".tmp"):
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
        lf.write("%d\n" % i)
        lf.flush()
        os.fsync(lf.fileno())
        i += 1
PY

cat >"$W/verify.py" <<'PY'
import hashlib, os, sys
mnt, log = sys.argv[1], sys.argv[2]
SIZES = [0, 1, 100, 4096, 70000, 300001, 1000, 5]
def content(i):
    block = hashlib.sha256(b"%d" % i).digest()
    n = SIZES[i % len(SIZES)]
    return (block * (n // 32 + 1))[:n]
bad = []
logged = [int(x) for x in open(log).read().split()]
for i in logged:
    path = os.path.join(mnt, "d%03d" % (i // 100), "f%06d" % i)
    try:
        with open(path, "rb") as f:
            got = f.read()
    except OSError as e:
        bad.append("%s: %s" % (path, e.strerror))
        continue
    if got != content(i):
        bad.append("%s: %d bytes, expected %d bytes %s" % (
            path, len(got), len(content(i)),
            "(same length, different bytes)" if len(got) == len(content(i)) else ""))
for b in bad[:20]:
    print(b)
print("%d logged files, %d bad" % (len(logged), len(bad)))
sys.exit(1 if bad else 0)
PY

# kill_during_writer ROUND TARGET: start the writer, SIGKILL the daemon once
# TARGET files are logged, reap the writer, clear the mount, restart.
kill_during_writer() {
	local round=$1 target=$2 start=0 wpid deadline n rc=0
	[ ! -s "$W/log" ] || start=$(($(tail -n1 "$W/log") + 1))
	"$BLAST_TEST_PYTHON" "$W/writer.py" "$MNT" "$W/log" "$start" 2>"$W/writer.err" &
	wpid=$!
	on_exit kill_pid "$wpid"
	deadline=$(_lib_deadline 120)
	while n=$(wc -l <"$W/log"); [ "$n" -lt "$target" ]; do
		_lib_pid_alive "$wpid" || die "round $round: writer died early: $(cat "$W/writer.err")"
		_lib_past "$deadline" && die "round $round: only $n files logged after 120s"
		sleep 0.01
	done
	note "round $round: $n files logged; kill -9 blastfs"
	fs_kill9 crash "$MNT"
	deadline=$(_lib_deadline 30)
	while _lib_pid_alive "$wpid"; do
		_lib_past "$deadline" && die "round $round: writer hung after the daemon was killed"
		sleep 0.01
	done
	wait "$wpid" || rc=$?
	[ "$rc" -ne 0 ] || die "round $round: writer exited 0 although its filesystem died"
	note "round $round: writer stopped with: $(tail -n1 "$W/writer.err")"
	fs_mount crash "$MNT"
	"$BLAST_TEST_PYTHON" "$W/verify.py" "$MNT" "$W/log" >"$W/verify.out" ||
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
"$BLAST_TEST_PYTHON" "$W/verify.py" "$MNT" "$W/log" >"$W/verify.out" ||
	die "after a clean remount: $(cat "$W/verify.out")"
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
deadline=$(_lib_deadline 120)
until [ "$(find "$SP/blast_many" -name '*.py' 2>/dev/null | wc -l)" -ge 600 ]; do
	_lib_pid_alive "$ppid" || die "pip finished before the kill: $(tail -n3 "$W/pip.out")"
	_lib_past "$deadline" && die "pip did not get to 600 files in 120s"
	sleep 0.01
done
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
