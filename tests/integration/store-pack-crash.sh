#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SIGKILL at random moments of the three writers of pack files, with
# small pack files (BLAST_PFILE_MAX=16384) so the moments fall among
# many appends, rolls to new files, repacks and removals:
#  import: `blastctl import` killed; its env is absent or whole, never
#          half there;
#  gc:     `blastctl gc` killed while repacking the garbage that
#          destroying half the envs left (the store before it restored
#          from a copy each time);
#  daemon: blastfs killed while a writer replaces files (write, fsync,
#          rename) and its reclaim thread repacks.
# After each kill `check --store --deep` is clean, every surviving env
# exports equal to its tree, and no file the writer had closed lost its
# content. BLAST_CRASH_MOMENTS (default 2: CI time; bench/pack-crash-campaign runs 100) moments of each kind;
# CRASH_SEED repeats them. bench/pack-crash-campaign runs it with 100.
set -euo pipefail
. "$(dirname "$0")/fs-lib.sh"
require_cmd mdb_dump
fs_setup
MOMENTS=${BLAST_CRASH_MOMENTS:-2}
[[ "$MOMENTS" =~ ^[0-9]+$ ]] || die "BLAST_CRASH_MOMENTS=$MOMENTS: not a number"
CRASH_SEED=${CRASH_SEED:-$RANDOM}
RANDOM=$CRASH_SEED
note "$MOMENTS moments of each kind, CRASH_SEED=$CRASH_SEED"
export BLAST_PFILE_MAX=16384

# trees t0..t5: shared text files plus files of their own
"$BLAST_TEST_PYTHON" - "$W" <<'PY'
import os, random, sys
w = sys.argv[1]
random.seed(15)
words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta"]
common = {}
for i in range(20):
    common["c%02d.txt" % i] = " ".join(random.choice(words) for _ in range(random.randint(50, 6000))).encode()
for t in range(6):
    d = os.path.join(w, "t%d" % t)
    os.makedirs(os.path.join(d, "own"))
    os.makedirs(os.path.join(d, "common"))
    for name, data in common.items():
        with open(os.path.join(d, "common", name), "wb") as f:
            f.write(data)
    for i in range(25):
        n = random.choice([100, 3000, 20000, 60000])
        with open(os.path.join(d, "own", "f%02d" % i), "wb") as f:
            f.write(os.urandom(n) if i % 3 == 0 else
                    (" ".join(random.choice(words) for _ in range(n // 6))).encode())
# tx: 400 small incompressible files, 3 in 10 of them (by position) only
# there; tk: the other 7 in 10. Imported in turn they share tx's pack
# files; once tx is destroyed those files are about 70 % live: more than
# destroy's own repack wants (50 %), less than gc's (90 %)
for i in range(400):
    data = os.urandom(random.randint(1000, 4000))
    for t in ("tx", "tk") if i % 10 not in (0, 3, 7) else ("tx",):
        os.makedirs(os.path.join(w, t), exist_ok=True)
        with open(os.path.join(w, t, "f%03d" % i), "wb") as f:
            f.write(data)
PY
# exports_same REF TREE
exports_same() {
	rm -rf -- "$W/out"
	bctl export "$1" "$W/out" >"$W/run/export.out" 2>&1 ||
		die "export of $1 failed: $(cat "$W/run/export.out")"
	assert_same_tree --no-mtime --no-dir-mtime "$2" "$W/out"
}
# envs: the names of the store's envs, one a line
envs() {
	bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; [print(e["name"]) for e in json.load(sys.stdin)["envs"]]'
}
# verify WHEN [ENV...]: the store verifies clean and each ENV (default:
# every env) exports equal to the tree its name ends with (NAME-tN)
verify() {
	local e when=$1
	shift
	bctl check --store --deep >"$W/run/check.out" 2>&1 ||
		die "check --store --deep $when: $(cat "$W/run/check.out")"
	# shellcheck disable=SC2046 # env names have no blanks
	[ $# -gt 0 ] || set -- $(envs)
	for e in "$@"; do
		[[ "$e" == *-t[0-9k] ]] || continue
		exports_same "$e" "$W/${e##*-}"
	done
}
# sleep_ms MS
sleep_ms() {
	sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"
}
# timed_ms CMD...: run CMD (must succeed), print how long it took in ms
timed_ms() {
	local t0
	t0=$(_lib_now_us)
	"$@" >"$W/run/timed.out" 2>&1 || die "$*: $(cat "$W/run/timed.out")"
	echo $((($(_lib_now_us) - t0) / 1000))
}
# kill_at MS ARGS...: start blastctl ARGS (itself, not through a shell
# function: the kill must hit it), SIGKILL it after MS ms; sets KRC (its
# exit status: 137 when the kill hit, 0 when it finished first)
kill_at() {
	local ms=$1 pid
	shift
	"$BLASTCTL" --home "$H" "$@" >"$W/run/killed.out" 2>&1 &
	pid=$!
	sleep_ms "$ms"
	kill -KILL "$pid" 2>/dev/null || true
	KRC=0
	{ wait "$pid"; } 2>/dev/null || KRC=$?
}

T0=$SECONDS
note "import"
dur=$(timed_ms bctl import base-t0 "$W/t0")
note "one import: $dur ms"
for ((m = 1; m <= MOMENTS; m++)); do
	t=$((1 + m % 5))
	ms=$((RANDOM % (dur + 1)))
	kill_at "$ms" import "i$m-t$t" "$W/t$t"
	# (not `envs | grep -q`: grep's early exit breaks envs' pipe)
	all=$(envs)
	if grep -qxF "i$m-t$t" <<<"$all"; then
		note "import killed at $ms ms (exit $KRC): env present"
		verify "after import kill $m" "i$m-t$t"
	else
		note "import killed at $ms ms (exit $KRC): env absent"
		[ "$KRC" -ne 0 ] || die "import exited 0 without its env"
		verify "after import kill $m" base-t0
	fi
done

note "gc repacking what destroying half the envs left (imports took $((SECONDS - T0)) s)"
T0=$SECONDS
for t in x k; do
	bctl import "g$t-t$t" "$W/t$t" >/dev/null 2>&1 || die "import g$t failed"
done
for e in $(envs); do
	case "$e" in i*-t[024] | gx-tx) bctl destroy "$e" >/dev/null 2>&1 || die "destroy $e failed" ;; esac
done
cp -a -- "$H" "$W/store.pre"
dur=$(timed_ms bctl --json gc)
moved=$("$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["repacked_bytes"])' "$W/run/timed.out")
note "one gc: $dur ms, $moved bytes repacked"
[ "$moved" -gt 0 ] || die "gc after destroying half the envs repacked nothing"
for ((m = 1; m <= MOMENTS; m++)); do
	rm -rf -- "$H"
	cp -a -- "$W/store.pre" "$H"
	ms=$((RANDOM % (dur + 1)))
	kill_at "$ms" gc
	note "gc killed at $ms ms (exit $KRC): $(find "$H/packs" -name '*.pack' | wc -l) pack files"
	verify "after gc kill $m" gk-tk
	# the next gc finishes the work
	bctl gc >"$W/run/gc.out" 2>&1 || die "gc after gc kill $m: $(cat "$W/run/gc.out")"
done

note "the daemon's repack (gc took $((SECONDS - T0)) s)"
T0=$SECONDS
MNT=$W/mnt
fs_import dd "$W/t1"
fs_mount dd "$MNT"
# the writer replaces hot/hN by versions vK (content known from N and K),
# logging "W N K" before and "D N K" once renamed
write_loop() {
	"$BLAST_TEST_PYTHON" - "$MNT" "$W/run/wlog.txt" <<'PY' >>"$W/run/writer.out" 2>&1 &
import os, random, sys
mnt, log = sys.argv[1:]
def content(n, k):
    r = random.Random(n * 100003 + k)
    return r.randbytes(r.choice([3000, 20000, 50000])) if k % 2 else \
        (b"file %d version %d\n" % (n, k)) * r.choice([100, 3000])
os.makedirs(os.path.join(mnt, "hot"), exist_ok=True)
lf = open(log, "a", buffering=1)
k = random.randrange(1 << 30)
try:
    while True:
        n = random.randrange(8)
        k += 1
        lf.write("W %d %d\n" % (n, k))
        tmp = os.path.join(mnt, "hot", ".h%d" % n)
        with open(tmp, "wb") as f:
            f.write(content(n, k))
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(mnt, "hot", "h%d" % n))
        lf.write("D %d %d\n" % (n, k))
except OSError as e:
    print("writer stopped:", e)
PY
	WPID=$!
}
# check_hot: each hot file holds its last logged version, or the one
# being written at the kill
check_hot() {
	"$BLAST_TEST_PYTHON" - "$MNT" "$W/run/wlog.txt" <<'PY' || die "check of the hot files after daemon kill $m"
import os, random, sys
mnt, log = sys.argv[1:]
def content(n, k):
    r = random.Random(n * 100003 + k)
    return r.randbytes(r.choice([3000, 20000, 50000])) if k % 2 else \
        (b"file %d version %d\n" % (n, k)) * r.choice([100, 3000])
done, pending = {}, {}
for line in open(log):
    p = line.split()
    if len(p) != 3:
        continue
    n, k = int(p[1]), int(p[2])
    if p[0] == "W":
        pending[n] = k
    else:
        done[n] = k
        pending.pop(n, None)
bad = 0
for n, k in sorted(done.items()):
    ok = [content(n, k)]
    if n in pending:
        ok.append(content(n, pending[n]))
    try:
        got = open(os.path.join(mnt, "hot", "h%d" % n), "rb").read()
    except OSError as e:
        print("hot/h%d: %s" % (n, e)); bad += 1; continue
    if got not in ok:
        print("hot/h%d: %d bytes, not version %d (closed)" % (n, len(got), k)); bad += 1
sys.exit(1 if bad else 0)
PY
}
: >"$W/run/wlog.txt"
write_loop
on_exit kill_pid "$WPID"
for ((m = 1; m <= MOMENTS; m++)); do
	# the reclaim thread wakes every 5 s or after 1 MiB dropped
	ms=$((300 + RANDOM % 3000))
	sleep_ms "$ms"
	read -r rb pfr <<<"$(bctl --json status dd | "$BLAST_TEST_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(d["repacked_bytes"], d["pack_files_removed"])')"
	fs_kill9 dd "$MNT"
	wait "$WPID" || true
	note "daemon killed at $ms ms: it had repacked $rb bytes, removed $pfr pack files; $(grep -c '^D' "$W/run/wlog.txt") writes done"
	verify "after daemon kill $m" gk-tk
	fs_mount dd "$MNT"
	check_hot
	write_loop
done
kill_pid "$WPID"
wait "$WPID" 2>/dev/null || true
check_hot
fs_umount dd "$MNT"
verify "at the end"
note "the daemon took $((SECONDS - T0)) s"

# no pack file outlives the crashes: with every env destroyed and a gc,
# what is left is at most the current file, and it has a record
for e in $(envs); do
	bctl destroy "$e" >/dev/null 2>&1 || die "destroy $e failed"
done
bctl gc >"$W/run/gc.out" 2>&1 || die "the last gc: $(cat "$W/run/gc.out")"
left=$(cd "$H/packs" && ls)
note "pack files left: ${left//$'\n'/ }"
[ "$(wc -w <<<"$left")" -le 1 ] || die "pack files left with no env: ${left//$'\n'/ }"
if [ -n "$left" ]; then
	mdb_dump -n -s pfiles "$H/data.mdb" | grep -qi "^ ${left%.pack}" ||
		die "pack file $left has no record: $(mdb_dump -n -s pfiles "$H/data.mdb")"
fi
bctl check --store --deep >"$W/run/check.out" 2>&1 ||
	die "check --store --deep with no env: $(cat "$W/run/check.out")"
fs_pass
