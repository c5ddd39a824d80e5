#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastfs's request loop (fs/loop.c) serves a busy mount correctly with
# every shape of it: one thread without spinning, four threads with the
# default spin, and the longest spin. Eight concurrent writers and
# readers (creates, writes, fsyncs, renames, reads of each other's files,
# isatty on every open) get exact content; SIGTERM ends the daemon
# promptly even while it spins or sleeps (its mount goes away, exit 0),
# and what was closed before is intact after a remount; status shows the
# spin in effect, none when the daemon may use one CPU only; bad
# --spin-us values are usage errors.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
MNT=$W/mnt
fs_import lp

work() { # ROUND
	"$BLAST_TEST_PYTHON" - "$MNT" "$1" <<'PY' || die "concurrent workers failed (round $1)"
import os, sys, threading
root, rnd = sys.argv[1], sys.argv[2]
errors = []

def body(k, i):
    return (("%s:%d:%d\n" % (rnd, k, i)).encode()) * (1 + (i * 997) % 3000)

def worker(k):
    try:
        d = os.path.join(root, "r%s-t%d" % (rnd, k))
        os.mkdir(d)
        for i in range(60):
            tmp, p = os.path.join(d, ".tmp%d" % i), os.path.join(d, "f%03d" % i)
            with open(tmp, "wb") as f:
                f.write(body(k, i))
                if i % 10 == 0:
                    f.flush()
                    os.fsync(f.fileno())
            os.rename(tmp, p)
            # read a file another worker wrote (if it is there yet)
            q = os.path.join(root, "r%s-t%d" % (rnd, (k + 1) % 8), "f%03d" % i)
            try:
                with open(q, "rb") as f:
                    assert not f.isatty()
                    assert f.read() == body((k + 1) % 8, i), q
            except FileNotFoundError:
                pass
        for i in range(60):
            with open(os.path.join(d, "f%03d" % i), "rb") as f:
                assert f.read() == body(k, i)
    except Exception as e:
        errors.append(repr(e))

ts = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
for t in ts: t.start()
for t in ts: t.join()
if errors:
    print(errors[:3])
    sys.exit(1)
PY
}

verify() { # ROUND
	"$BLAST_TEST_PYTHON" - "$MNT" "$1" <<'PY' || die "round $1's files differ after remount"
import os, sys
root, rnd = sys.argv[1], sys.argv[2]
for k in range(8):
    for i in range(60):
        want = (("%s:%d:%d\n" % (rnd, k, i)).encode()) * (1 + (i * 997) % 3000)
        with open(os.path.join(root, "r%s-t%d" % (rnd, k), "f%03d" % i), "rb") as f:
            assert f.read() == want, (k, i)
PY
}

# term_daemon: SIGTERM the daemon; it must exit 0 by itself (the leader
# sleeps in poll() for at most 1 s at a time) and unmount. The wait is 60 s:
# its final seal and sync under ASan on a busy machine took over 5 s.
term_daemon() {
	local pid
	pid=$(fs_daemon_pid lp)
	kill -TERM "$pid"
	wait_until 60 "blastfs (pid $pid) to exit after SIGTERM" test -s "$W/run/lp.rc"
	assert_eq 0 "$(cat "$W/run/lp.rc")" "blastfs exit status after SIGTERM"
	! is_mounted "$MNT" || die "$MNT still mounted after the daemon exited"
}

# spin_in_effect: the daemon's spin_us as `blastctl status` reports it
# (the mount is live a moment before the control socket: wait for it)
spin_in_effect() {
	wait_until 60 "blastctl status to answer" status_json
	"$BLAST_TEST_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["spin_us"])' "$W/status.json"
}

# status_json: blastctl status into $W/status.json
status_json() {
	bctl status lp --json >"$W/status.json" 2>"$W/status.err" && return 0
	WAIT_WHY=$(cat "$W/status.err")
	return 1
}

loop_sleeps() {
	bctl status lp --json | "$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["loop_sleeps"])'
}
slept_since() {
	[ "$(loop_sleeps)" -gt "$1" ]
}

round=0
for opts in "--threads 1 --spin-us 0" "--threads 4" "--threads 2 --spin-us 100000"; do
	round=$((round + 1))
	note "blastfs $opts: 8 concurrent workers"
	# shellcheck disable=SC2086 # word splitting intended
	fs_mount lp "$MNT" $opts
	case $round in
	1) want=0 ;; 2) want=2000 ;; 3) want=100000 ;;
	esac
	assert_eq "$want" "$(spin_in_effect)" "spin in effect with $opts"
	work "$round"
	if [ "$round" -eq 2 ]; then
		# idle: the leader stops spinning and sleeps in poll()
		s0=$(loop_sleeps)
		wait_until 60 "the request loop's leader to sleep in poll()" \
			slept_since "$s0"
	fi
	note "SIGTERM ($opts)"
	term_daemon
	fs_mount lp "$MNT"
	for r in $(seq "$round"); do verify "$r"; done
	fs_umount lp "$MNT"
done

note "one usable CPU: no spin, and still correct"
cat >"$W/blastfs-1cpu" <<EOF2
#!/bin/sh
exec taskset -c 0 "$BLASTFS" "\$@"
EOF2
chmod +x "$W/blastfs-1cpu"
REAL_BLASTFS=$BLASTFS
BLASTFS=$W/blastfs-1cpu
fs_mount lp "$MNT" --threads 2 --spin-us 1000
BLASTFS=$REAL_BLASTFS
assert_eq 0 "$(spin_in_effect)" "spin in effect on one CPU"
work 4
fs_umount lp "$MNT"

note "BLASTFS_SPIN_US sets the default (blastctl start passes it on)"
BLASTFS_SPIN_US=250 fs_mount lp "$MNT"
assert_eq 250 "$(spin_in_effect)" "spin in effect with BLASTFS_SPIN_US=250"
fs_umount lp "$MNT"
BLASTFS_SPIN_US=0 fs_mount lp "$MNT" --spin-us 42
assert_eq 42 "$(spin_in_effect)" "--spin-us wins over BLASTFS_SPIN_US"
fs_umount lp "$MNT"
rc=0
BLASTFS_SPIN_US=lots "$BLASTFS" --home "$H" lp "$MNT" >"$W/out" 2>"$W/err" </dev/null || rc=$?
assert_eq 2 "$rc" "exit code of blastfs with BLASTFS_SPIN_US=lots"
assert_contains "$(cat "$W/err")" "BLASTFS_SPIN_US" "stderr of blastfs with BLASTFS_SPIN_US=lots"

note "bad --spin-us values are usage errors"
for v in -1 abc 100001 ""; do
	rc=0
	"$BLASTFS" --home "$H" --spin-us "$v" lp "$MNT" >"$W/out" 2>"$W/err" </dev/null || rc=$?
	assert_eq 2 "$rc" "exit code of blastfs --spin-us '$v'"
	assert_contains "$(cat "$W/err")" "blastfs" "stderr of blastfs --spin-us '$v'"
done
! is_mounted "$MNT" || die "a refused blastfs mounted $MNT"
fs_check_store
fs_pass
