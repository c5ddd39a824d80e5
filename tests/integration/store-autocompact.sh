#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Space comes back without a manual step (issue 15): `import` starts the
# background compactor, which packs and recompresses the new content at
# idle priority and leaves a store smaller than the same import without
# it (BLAST_AUTO_COMPACT=0), that verifies clean and exports the same
# tree. A kick while a compactor runs starts no second one but leaves the
# work announced for it; a compactor killed with SIGKILL mid-pass leaves
# a store that verifies clean, and the next one finishes the work. A
# caller reading import's output to its end is not held up by the
# compactor (old code: no compactor at all; du stayed at import's size).
# data.mdb loses its free pages (a compacted copy) when no other process
# has the store open, and only then: not while an env is mounted.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
. "$(dirname "$0")/fs-lib.sh"
require_python
require_fuse
ctl_setup
mkdir -p "$W/run"

# a tree that compresses better in big frames at a high level: python
# sources and text
T=$W/tree
mkdir -p "$T"
cp -r /usr/lib/python3*/email /usr/lib/python3*/json /usr/lib/python3*/xml \
	/usr/lib/python3*/asyncio /usr/lib/python3*/unittest "$T/"
find "$T" -name __pycache__ -prune -exec rm -rf {} +

# compactor_pid HOME: the running compactor's pid (0: none)
compactor_pid() {
	"$BLASTCTL" --home "$1" --json list |
		"$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["store"]["compacting"])'
}
kill_compactor() {
	local p
	p=$(compactor_pid "$1" 2>/dev/null) || return 0
	[ "$p" -gt 1 ] && kill_pid "$p"
	return 0
}
settled() {
	[ ! -e "$1/run/compact.want" ] && [ "$(compactor_pid "$1")" = 0 ]
}

note "without the compactor: the store as import leaves it"
H0=$W/off
BLAST_AUTO_COMPACT=0 "$BLASTCTL" --home "$H0" import t "$T" -q
[ ! -e "$H0/run/compact.log" ] || die "BLAST_AUTO_COMPACT=0 started a compactor"
du0=$(du -sk "$H0" | cut -f1)

note "with it: import returns, the compactor settles the store smaller"
H1=$W/on
on_exit kill_compactor "$H1"
# $(...) reads import's output to its end: the compactor must not hold it
out=$(BLAST_AUTO_COMPACT=1 timeout 120 "$BLASTCTL" --home "$H1" import t "$T" 2>&1)
assert_contains "$out" "imported"
wait_until 300 "the background compactor to finish" settled "$H1"
du1=$(du -sk "$H1" | cut -f1)
note "du: $du0 KiB without, $du1 KiB after the background compactor"
[ "$du1" -lt "$du0" ] || die "the compactor did not shrink the store ($du0 -> $du1 KiB)"
assert_contains "$(cat "$H1/run/compact.log")" "compact --background: stored"
assert_contains "$(cat "$H1/run/compact.log")" "compact --background: data.mdb"
free=$(mdb_stat -ef "$H1" | awk '/Free pages:/ { print $3 }')
[ "$free" -le 16 ] || die "data.mdb still has $free free pages"
ctl_run "$BLASTCTL" --home "$H1" check --store --deep
[ "$RC" -eq 0 ] || die "check after the compactor: $OUT $ERR"
"$BLASTCTL" --home "$H1" export t "$W/out1" >/dev/null
assert_same_tree "$T" "$W/out1"

note "a kick while a compactor holds the lock starts no second one"
H2=$W/held
BLAST_AUTO_COMPACT=0 "$BLASTCTL" --home "$H2" import t "$T" -q
: >"$W/release"
"$BLAST_TEST_PYTHON" - "$H2/run/compact.lock" "$W/release" "$W/held.ok" <<'PY' &
import fcntl, os, struct, sys, time
os.makedirs(os.path.dirname(sys.argv[1]), mode=0o700, exist_ok=True)
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
# struct flock: l_type, l_whence, l_start, l_len, l_pid (F_OFD_SETLK = 37)
fcntl.fcntl(fd, 37, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0))
os.ftruncate(fd, 0)
os.write(fd, b"%d\n" % os.getpid())
open(sys.argv[3], "w").close()
while os.path.exists(sys.argv[2]):
    time.sleep(0.02)
PY
HOLDER=$!
on_exit kill_pid "$HOLDER"
wait_until 30 "the lock holder" sh -c "test -e '$W/held.ok' || ! kill -0 $HOLDER"
[ -e "$W/held.ok" ] || die "the lock holder failed"
assert_eq "$HOLDER" "$(compactor_pid "$H2")" "list --json names the holder"
BLAST_AUTO_COMPACT=1 "$BLASTCTL" --home "$H2" import t2 "$T" -q
[ -e "$H2/run/compact.want" ] || die "the kick left no compact.want"
[ ! -e "$H2/run/compact.log" ] || die "a second compactor started: $(cat "$H2/run/compact.log")"
rm "$W/release"
wait "$HOLDER"
note "the work announced is done by the next compactor"
"$BLASTCTL" --home "$H2" compact --background
[ ! -e "$H2/run/compact.want" ] || die "compact --background left the work announced"
du2=$(du -sk "$H2" | cut -f1)
[ "$du2" -lt "$du0" ] || die "the next compactor did not shrink the store ($du0 -> $du2 KiB)"

note "SIGKILL mid-pass: the store verifies, the next pass finishes"
H3=$W/killed
BLAST_AUTO_COMPACT=0 "$BLASTCTL" --home "$H3" import t "$T" -q
mkdir -p -m 700 "$H3/run"
: >"$H3/run/compact.want"
"$BLASTCTL" --home "$H3" compact --background --level 19 >"$W/k.out" 2>&1 &
CP=$!
on_exit kill_pid "$CP"
wait_until 60 "the compactor to take the lock" sh -c "[ \"\$(cat '$H3/run/compact.lock' 2>/dev/null)\" = $CP ] || ! kill -0 $CP"
# a random moment of its pass (it may be over already: still a moment)
sleep "0.$((RANDOM % 400))"
kill -KILL "$CP" 2>/dev/null || true
wait "$CP" 2>/dev/null || true
ctl_run "$BLASTCTL" --home "$H3" check --store --deep
[ "$RC" -eq 0 ] || die "check after SIGKILL of the compactor: $OUT $ERR"
[ "$(compactor_pid "$H3")" = 0 ] || die "a killed compactor still holds the lock"
: >"$H3/run/compact.want"
"$BLASTCTL" --home "$H3" compact --background
ctl_run "$BLASTCTL" --home "$H3" check --store --deep
[ "$RC" -eq 0 ] || die "check after the next pass: $OUT $ERR"
"$BLASTCTL" --home "$H3" export t "$W/out3" >/dev/null
assert_same_tree "$T" "$W/out3"

note "data.mdb is not swapped while a daemon has the store open"
H=$H3
fs_mount t "$W/mnt"
assert_eq "$(cat "$T/email/parser.py")" "$(cat "$W/mnt/email/parser.py")" "a file through the mount"
: >"$H3/run/compact.want"
out=$("$BLASTCTL" --home "$H3" compact --background 2>&1)
assert_not_contains "$out" "data.mdb" "a shrink with the env mounted"
assert_eq "$(cat "$T/email/parser.py")" "$(cat "$W/mnt/email/parser.py")" "the mount after the pass"
fs_umount t "$W/mnt"
: >"$H3/run/compact.want"
out=$("$BLASTCTL" --home "$H3" compact --background 2>&1)
assert_contains "$out" "compact --background: data.mdb"
ctl_run "$BLASTCTL" --home "$H3" check --store --deep
[ "$RC" -eq 0 ] || die "check after the swap: $OUT $ERR"
fs_mount t "$W/mnt"
assert_eq "$(cat "$T/email/parser.py")" "$(cat "$W/mnt/email/parser.py")" "the mount after the swap"
echo changed >"$W/mnt/new.txt"
fs_umount t "$W/mnt"
"$BLASTCTL" --home "$H3" export t "$W/out4" >/dev/null
assert_eq changed "$(cat "$W/out4/new.txt")" "a file written after the swap"
echo "PASS: $TEST_NAME"
