#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastfs refuses bad input with one clear line on stderr and a nonzero
# exit, in the foreground (-f) and daemonizing alike, and changes nothing:
# a missing env, a missing store (not created), invalid env names, a
# missing mountpoint, a mountpoint that is a file, a non-empty mountpoint,
# a mountpoint that is already mounted, a second daemon for a mounted env,
# bad options. Afterwards no daemon is left over, nothing got mounted, the
# files and dirs involved are untouched, the first daemon still serves its
# mount, and the store verifies.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
fs_setup
cd "$W"

mkdir -p "$W/src/sub" "$W/empty" "$W/full"
echo hello >"$W/src/sub/file"
echo keep >"$W/full/keep"
echo "not a dir" >"$W/afile"
fs_import good "$W/src"
fs_import other "$W/src"
bctl list --json >"$W/list.before" 2>/dev/null
fs_mount good "$W/mnt"
echo "written before" >"$W/mnt/before"

# refuse LABEL WANT_SUBSTRING [BLASTFS ARGS...]: run blastfs (once with -f,
# once daemonizing); both must exit nonzero with exactly one stderr line
# 'blastfs: ...' containing WANT_SUBSTRING, and leave no new mount.
refuse() {
	local label=$1 want=$2 mode rc lines
	shift 2
	for mode in -f daemon; do
		local args=("$@")
		[ "$mode" == daemon ] || args=(-f "${args[@]}")
		rc=0
		timeout -k 5 "$FS_TIMEOUT" "$BLASTFS" "${args[@]}" </dev/null >"$W/out" 2>"$W/err" || rc=$?
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			die "$label ($mode): blastfs did not exit within ${FS_TIMEOUT}s (it should refuse at once)"
		fi
		[ "$rc" -ne 0 ] || die "$label ($mode): blastfs exited 0"
		lines=$(wc -l <"$W/err")
		[ "$lines" -eq 1 ] || die "$label ($mode): expected one stderr line, got $lines: $(cat "$W/err")"
		assert_contains "$(cat "$W/err")" "blastfs: " "$label ($mode): error prefix"
		assert_contains "$(cat "$W/err")" "$want" "$label ($mode): error message"
		assert_eq "" "$(cat "$W/out")" "$label ($mode): stdout"
		note "$label ($mode): exit $rc: $(cat "$W/err")"
	done
}

# No daemon for the test's store may run besides the 'good' one.
daemons() {
	pgrep -f -- "--home $H " | sort | tr '\n' ' '
}
good_pid=$(fs_daemon_pid good)
check_nothing_changed() {
	assert_eq "$good_pid " "$(daemons)" "$1: daemons running afterwards"
	local mounts
	mounts=$(awk -v w="$W/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo)
	assert_eq "$W/mnt" "$mounts" "$1: mounts under the workdir afterwards"
	assert_eq "written before" "$(cat "$W/mnt/before")" "$1: the first mount still works"
}

refuse "missing env" "nosuchenv" --home "$H" nosuchenv "$W/empty"
check_nothing_changed "missing env"
rmdir "$W/empty" && mkdir "$W/empty"

refuse "missing store" "$W/nostore" --home "$W/nostore" good "$W/empty"
[ ! -e "$W/nostore" ] || die "missing store: blastfs created $W/nostore"
check_nothing_changed "missing store"

for bad in "../x" "a/b" "" ".hidden" "$(printf 'x%.0s' {1..300})"; do
	refuse "invalid name '${bad:0:20}'" "invalid env name" --home "$H" "$bad" "$W/empty"
done
check_nothing_changed "invalid names"

refuse "missing mountpoint" "$W/nomnt" --home "$H" other "$W/nomnt"
[ ! -e "$W/nomnt" ] || die "missing mountpoint: blastfs created it"

refuse "mountpoint is a file" "$W/afile" --home "$H" other "$W/afile"
assert_eq "not a dir" "$(cat "$W/afile")" "the file used as a mountpoint"

refuse "non-empty mountpoint" "not empty" --home "$H" other "$W/full"
assert_eq "keep" "$(ls "$W/full")" "non-empty mountpoint listing"
assert_eq "keep" "$(cat "$W/full/keep")" "non-empty mountpoint content"

refuse "busy mountpoint" "$W/mnt" --home "$H" other "$W/mnt"
check_nothing_changed "busy mountpoint"

refuse "second daemon for a mounted env" "already mounted" --home "$H" good "$W/empty"
check_nothing_changed "second daemon"
[ -z "$(ls -A "$W/empty")" ] || die "second daemon left files in $W/empty"

note "bad options: usage, exit 2"
for args in "--threads 0 good $W/empty" "--threads abc good $W/empty" \
	"--notify-fd -3 good $W/empty" "--bogus good $W/empty" "good" ""; do
	rc=0
	# shellcheck disable=SC2086 # word splitting intended
	"$BLASTFS" --home "$H" $args >"$W/out" 2>"$W/err" </dev/null || rc=$?
	assert_eq 2 "$rc" "exit code of blastfs $args"
	assert_contains "$(cat "$W/err")" "blastfs" "stderr of blastfs $args"
done
check_nothing_changed "bad options"

note "the first daemon still works, the store is unchanged and verifies"
echo "written after" >"$W/mnt/after"
assert_eq "written after" "$(cat "$W/mnt/after")" "write after the refusals"
assert_eq "hello" "$(cat "$W/mnt/sub/file")" "imported file"
fs_umount good "$W/mnt"
bctl list --json >"$W/list.after" 2>/dev/null
# Only env 'good' was mounted and written: 'other' must be exactly as before.
"$BLAST_TEST_PYTHON" - "$W/list.before" "$W/list.after" <<'PY' || die "env 'other' changed: $(cat "$W/list.before" "$W/list.after")"
import json, sys
def other(path):
    j = json.load(open(path))
    envs = j["envs"] if isinstance(j, dict) else j
    return [e for e in envs if e.get("name") == "other"]
a, b = other(sys.argv[1]), other(sys.argv[2])
sys.exit(0 if a == b and a else 1)
PY
bctl export other "$W/other-out" >/dev/null 2>&1 || die "export of 'other' failed"
assert_same_tree "$W/src" "$W/other-out"
fs_check_store
fs_pass
