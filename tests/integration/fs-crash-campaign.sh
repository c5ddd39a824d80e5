#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crash campaign: blastfs is killed with SIGKILL at COUNT random moments
# (default 5; bench/crash-campaign runs 100), alternately during a write
# loop with fsyncs and during `pip install --force-reinstall blast-many`
# (the system's pip, into a prefix on the mount),
# with opens kernel-handled and served (--serve-open) in turn. After each
# restart:
#  - every file the writer had closed, or fsync'ed while open, is exact:
#    new files (four ways), rewrites of existing ones to shorter content
#    (O_TRUNC), appends; only the file in flight at the kill may differ;
#  - every file pip installed is the wheel's, except the one pip was
#    writing at each kill (a prefix of it, until pip rewrites it);
#  - `blastctl check --store --deep` is clean.
# At the end pip installs the package for good and it imports. Moments:
# CRASH_SEED (default: random) makes them repeatable.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
COUNT=${COUNT:-5}
CRASH_SEED=${CRASH_SEED:-$RANDOM}
RANDOM=$CRASH_SEED
note "$COUNT moments, CRASH_SEED=$CRASH_SEED"
cd "$W"

cat >"$W/writer.py" <<'PY'
import hashlib, os, sys
mnt, log = sys.argv[1], sys.argv[2]
TAIL = b"appended tail\n"

def content(i, v=1):
    n = [0, 1, 100, 4096, 70000, 300001, 1000, 5][i % 8] // v
    b = hashlib.sha256(b"%d/%d" % (v, i)).digest()
    return (b * (n // 32 + 1))[:n]

def path(i):
    return os.path.join(mnt, "data", "d%03d" % (i // 100), "f%06d" % i)

def expected(i, ops):
    data = content(i, 2) if "r" in ops else content(i)
    return data + TAIL if "a" in ops and "r" not in ops else data

if __name__ == "__main__":
    ops = [l.split() for l in open(log)]
    start = max([int(i) for i, _ in ops], default=-1) + 1
    with open(log, "a") as lf:
        def done(i, op):  # op on file i returned (b: about to begin)
            lf.write("%d %s\n" % (i, op))
            lf.flush()
            os.fsync(lf.fileno())
        i = start
        while True:
            p = path(i)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            done(i, "b")
            if i % 4 == 0:
                with open(p, "xb") as f:
                    f.write(content(i))
            elif i % 4 == 1:  # fsync'ed, logged while still open
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                os.write(fd, content(i))
                os.fsync(fd)
                done(i, "w")
                os.close(fd)
            elif i % 4 == 2:
                with open(p, "wb") as f:
                    c = content(i)
                    f.write(c[: len(c) // 2])
                    f.write(c[len(c) // 2:])
            else:
                with open(p + ".tmp", "xb") as f:
                    f.write(content(i))
                os.replace(p + ".tmp", p)
            done(i, "w")
            if i % 5 == 0:
                done(i, "b")
                with open(p, "ab") as f:
                    f.write(TAIL)
                    f.flush()
                    os.fsync(f.fileno())
                done(i, "a")
            if i % 3 == 0 and i > start:  # rewrite the previous one shorter
                done(i - 1, "b")
                with open(path(i - 1), "wb") as f:
                    f.write(content(i - 1, 2))
                done(i - 1, "r")
            i += 1
PY

cat >"$W/verify.py" <<'PY'
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[0]))
import writer
writer.mnt, log = sys.argv[1], sys.argv[2]
ops, last = {}, {}
for line in open(log):
    i, op = line.split()
    ops.setdefault(int(i), set()).add(op)
    last[int(i)] = op
bad, checked = [], 0
for i, o in sorted(ops.items()):
    if last[i] == "b" or "x" in o:
        continue  # in flight at a kill: excluded from now on
    want = writer.expected(i, o)
    try:
        got = open(writer.path(i), "rb").read()
    except OSError as e:
        bad.append("%s: %s" % (writer.path(i), e.strerror))
        continue
    checked += 1
    if got != want:
        bad.append("%s (ops %s): %d bytes, expected %d" % (
            writer.path(i), "".join(sorted(o)), len(got), len(want)))
with open(log, "a") as lf:
    for i in sorted(i for i in last if last[i] == "b"):
        lf.write("%d x\n" % i)
for b in bad[:20]:
    print(b)
print("%d files checked, %d bad" % (checked, len(bad)))
sys.exit(1 if bad else 0)
PY

cat >"$W/pipverify.py" <<'PY'
import glob, os, sys, zipfile
prefix, wheels, leftovers = sys.argv[1:4]
whl = glob.glob(os.path.join(wheels, "blast_many-*.whl"))[0]
# files in flight at earlier kills (a prefix each) may stay so
left = set(open(leftovers).read().split()) if os.path.exists(leftovers) else set()
sp = next((d for d, subs, _ in os.walk(prefix) if "blast_many" in subs), None)
bad, partial, present = [], [], 0
with zipfile.ZipFile(whl) as z:
    for name in z.namelist() if sp else []:
        if ".dist-info/" in name:
            continue  # pip writes its own RECORD, INSTALLER...
        try:
            got = open(os.path.join(sp, name), "rb").read()
        except FileNotFoundError:
            continue  # not installed (yet) at the kill
        present += 1
        want = z.read(name)
        if got == want or (name in left and want.startswith(got)):
            continue
        (partial if want.startswith(got) else bad).append(name)
        print("%s: %d bytes, wheel has %d" % (name, len(got), len(want)))
print("%d wheel files present, %d damaged, %d partial (the one in flight), "
      "%d left by earlier kills" % (present, len(bad), len(partial), len(left)))
with open(leftovers, "a") as f:
    f.writelines(n + "\n" for n in partial)
if sp and len(sys.argv) > 4:
    open(sys.argv[4], "w").write(sp)
sys.exit(1 if bad or len(partial) > 1 else 0)
PY

# mount_round K: mount env c, opens kernel-handled or served by turn.
mount_round() {
	if (($1 % 4 < 2)); then
		fs_mount c "$MNT"
	else
		fs_mount c "$MNT" --serve-open
	fi
}

# after_kill K WHAT PID: kill -9 blastfs, stop the workload PID, restart,
# check.
after_kill() {
	local k=$1 what=$2
	fs_kill9 c "$MNT"
	kill_pid "$3"
	mount_round "$k"
	"$BLAST_TEST_PYTHON" "$W/verify.py" "$MNT" "$W/log" >"$W/verify.out" ||
		die "moment $k ($what): closed or fsync'ed files damaged after kill -9:
$(cat "$W/verify.out")"
	note "moment $k ($what): $(tail -n1 "$W/verify.out") ($SECONDS s)"
	if [ -n "$PIPOK" ]; then
		"$BLAST_TEST_PYTHON" "$W/pipverify.py" "$MNT/p" "$WHEELS" "$W/leftovers" >"$W/pipverify.out" ||
			die "moment $k ($what): installed files damaged after kill -9:
$(cat "$W/pipverify.out")"
		note "moment $k ($what): $(tail -n1 "$W/pipverify.out")"
	fi
	bctl check --store --deep >"$W/check.out" 2>&1 ||
		die "moment $k ($what): blastctl check --store --deep: $(cat "$W/check.out")"
}

# writer_logs (in writer_moment): the writer logged more than LOGGED
# lines; fails the test at once if it died first.
writer_logs() {
	[ "$(wc -l <"$W/log")" -gt "$LOGGED" ] && return 0
	alive_or_die "$wpid" "moment $k: writer died: $(cat "$W/writer.err")"
	return 1
}

# writer_moment K: kill blastfs at a random moment of the write loop.
writer_moment() {
	local k=$1 wpid delay
	"$BLAST_TEST_PYTHON" "$W/writer.py" "$MNT" "$W/log" 2>"$W/writer.err" &
	wpid=$!
	on_exit kill_pid "$wpid"
	wait_until 240 "moment $k: the writer to log" writer_logs
	delay=$((RANDOM % 2000))
	sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
	_lib_pid_alive "$wpid" || die "moment $k: writer died: $(cat "$W/writer.err")"
	after_kill "$k" "write loop, +${delay} ms" "$wpid"
	LOGGED=$(wc -l <"$W/log")
}

# pip_installs (in pip_moment): pip started installing; fails the test
# at once if it exited first.
pip_installs() {
	grep -q "^Installing collected packages" "$W/pip.out" && return 0
	alive_or_die "$ppid" "moment $k: pip exited: $(tail -n 5 "$W/pip.out")"
	return 1
}

# pip_moment K: kill blastfs at a random moment of a pip install, once
# it installs (it takes seconds to get there).
pip_moment() {
	local k=$1 ppid delay
	PYTHONUNBUFFERED=1 pip_install >"$W/pip.out" 2>&1 &
	ppid=$!
	on_exit kill_pid "$ppid"
	wait_until 240 "moment $k: pip to start installing" pip_installs
	delay=$((RANDOM % 3000))
	sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
	after_kill "$k" "pip install, +${delay} ms" "$ppid"
}

# pip_install: the system's pip (its own code read from the host's disk,
# which keeps a round short) installs blast-many into the mount's prefix
# p, over what is there.
pip_install() {
	"$BLAST_TEST_PYTHON" -m pip install --prefix "$MNT/p" --force-reinstall \
		--no-deps --no-index --find-links "$WHEELS" blast-many
}

PIPOK=
"$BLAST_TEST_PYTHON" -m pip --version >/dev/null 2>&1 && PIPOK=1
if [ -n "$PIPOK" ]; then
	WHEELS=$(wheels_dir)
	export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
		PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1
else
	note "no pip: write loop only"
fi
fs_import c
: >"$W/log"
LOGGED=0
mount_round 0
for ((k = 1; k <= COUNT; k++)); do
	if ((k % 2)) || [ -z "$PIPOK" ]; then
		writer_moment "$k"
	else
		pip_moment "$k"
	fi
done
if [ -n "$PIPOK" ]; then
	pip_install >"$W/pip.out" 2>&1 ||
		die "pip install after the crashes: $(tail -n 20 "$W/pip.out")"
	rm -f "$W/leftovers"
	"$BLAST_TEST_PYTHON" "$W/pipverify.py" "$MNT/p" "$WHEELS" "$W/leftovers" "$W/sp" \
		>"$W/pipverify.out" ||
		die "pip install after the crashes: $(cat "$W/pipverify.out")"
	assert_contains "$(tail -n1 "$W/pipverify.out")" " 0 damaged, 0 partial" \
		"the wheel's files after the last install"
	assert_eq 2000 "$(PYTHONPATH=$(cat "$W/sp") "$BLAST_TEST_PYTHON" -c \
		'import blast_many; print(blast_many.check_all())' 2>&1)" "blast_many after the crashes"
fi
fs_umount c "$MNT"
fs_check_store
fs_pass
