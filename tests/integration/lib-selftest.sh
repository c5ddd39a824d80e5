#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2015 # `A && B || die` is intended: die exits
# shellcheck disable=SC2016 # child script bodies are single-quoted on purpose
# Self-test of tests/integration/lib.sh: the assertions pass and fail as they
# should, tree_manifest/assert_same_tree see every kind of difference, the
# EXIT-trap cleanup registry runs in reverse order on every way out, kill_pid
# kills children and strangers, and (where FUSE or bind mounts are possible)
# cleanup_mount and the work-dir removal never leave a mount behind.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
require_python

mkworkdir W
LIB=$BLAST_REPO/tests/integration/lib.sh

# expect_rc CODE CMD...: run CMD (usually a subshell) and check its exit code;
# its stderr is kept in $ERR.
expect_rc() {
	local want=$1 rc=0
	shift
	"$@" 2>"$W/stderr" || rc=$?
	ERR=$(cat "$W/stderr")
	[ "$rc" -eq "$want" ] || die "expected exit $want, got $rc from: $* (stderr: $ERR)"
}

# child NAME BODY: write a script that sources lib.sh, sets OUT=$W and runs
# BODY; print its path.
child() {
	printf '#!/usr/bin/env bash\nset -euo pipefail\n. %q\nOUT=%q\n%s\n' "$LIB" "$W" "$2" >"$W/$1"
	chmod +x "$W/$1"
	echo "$W/$1"
}

note "assertions"
assert_eq a a
assert_ne a b
assert_contains "hello world" "o w"
assert_not_contains "hello" "xyz"
expect_rc 1 bash -c ". '$LIB'; assert_eq a b 'my label'"
assert_contains "$ERR" "my label: expected [a], got [b]"
expect_rc 1 bash -c ". '$LIB'; assert_ne a a"
expect_rc 1 bash -c ". '$LIB'; assert_contains abc x"
expect_rc 1 bash -c ". '$LIB'; assert_not_contains abc b"
expect_rc 77 bash -c ". '$LIB'; skip no reason"
assert_contains "$ERR" "SKIP:"
expect_rc 1 bash -c ". '$LIB'; die bad thing"
assert_contains "$ERR" "FAIL:"
assert_contains "$ERR" "bad thing"

note "wait_until"
(sleep 0.3 && : >"$W/flag") &
wait_until 30 "the flag" test -e "$W/flag"
expect_rc 1 bash -c ". '$LIB'; wait_until 0.2 'a flag that never comes' test -e '$W/never'"
assert_contains "$ERR" "waited 0.2s for a flag that never comes"
# what CMD saw last ends the message; a CMD may stop the wait at once
expect_rc 1 bash -c ". '$LIB'; four() { WAIT_WHY='saw 3'; false; }; wait_until 0.2 'four' four"
assert_contains "$ERR" "waited 0.2s for four: saw 3"
printf 'one\ntwo\n' >"$W/lines"
wait_until 5 "the line two" has_line "$W/lines" two
expect_rc 1 bash -c ". '$LIB'; wait_until 0.2 'the line three' has_line '$W/lines' three"
assert_contains "$ERR" "waited 0.2s for the line three: $W/lines ends with: one"
t0=$(_lib_now_us)
expect_rc 1 bash -c ". '$LIB'; true & p=\$!; wait \$p; wait_until 60 'a dead process' alive_or_die \$p 'process \$p exited'"
assert_contains "$ERR" "exited"
[ $(($(_lib_now_us) - t0)) -lt 30000000 ] || die "alive_or_die did not stop the wait at once"

printf 'one\ntwo\n' >"$W/a"
cp "$W/a" "$W/b"
printf 'one\nTWO\n' >"$W/c"
assert_file_eq "$W/a" "$W/b"
expect_rc 1 bash -c ". '$LIB'; assert_file_eq '$W/a' '$W/c'"
assert_contains "$ERR" "+TWO"
expect_rc 1 bash -c ". '$LIB'; assert_file_eq '$W/a' '$W/nonexistent'"

assert_fails sh -c 'echo out; echo err >&2; exit 7'
assert_eq 7 "$ASSERT_FAILS_RC"
assert_eq out "$ASSERT_FAILS_STDOUT"
assert_eq err "$ASSERT_FAILS_STDERR"
assert_fails false
assert_eq 1 "$ASSERT_FAILS_RC"
expect_rc 1 bash -c ". '$LIB'; assert_fails true"
assert_contains "$ERR" "command succeeded"
assert_ok true
expect_rc 1 bash -c ". '$LIB'; assert_ok sh -c 'exit 4'"
assert_contains "$ERR" "exit 4"

note "tree_manifest / assert_same_tree"
A=$W/treeA
mkdir -p "$A/dir/sub" "$A/empty dir"
printf 'hello\n' >"$A/dir/file"
: >"$A/dir/empty"
printf 'x%.0s' {1..5000} >"$A/dir/sub/big"
printf 'nl' >"$A/name with
newline"
ln -s ../dir/file "$A/dir/sub/link"
ln -s dangling "$A/dangling"
mkfifo "$A/fifo"
chmod 0750 "$A/dir/sub"
chmod 4755 "$A/dir/empty"
find "$A" -exec touch -h -d '2021-02-03 04:05:06.123456789' {} +
M=$(tree_manifest "$A")
assert_eq 11 "$(wc -l <<<"$M")" "manifest lines"
assert_eq "." "$(head -n1 <<<"$M" | cut -f1)" "root entry first"
assert_contains "$M" "$(printf 'dir/file\tf\t0644\t6\t1612325106123456789\t-\t%s' \
	"$(printf 'hello\n' | sha256sum | cut -d' ' -f1)")"
assert_contains "$M" "$(printf 'dir/sub/link\tl\t0777\t11\t1612325106123456789\t../dir/file\t-')"
assert_contains "$M" "$(printf 'dir/empty\tf\t4755\t0\t')"
assert_contains "$M" "$(printf 'dir/sub\td\t0750\t-\t1612325106123456789\t-\t-')"
assert_contains "$M" "$(printf 'fifo\tp\t')"
assert_contains "$M" 'name\x20with\x0anewline'
assert_contains "$M" 'empty\x20dir'
assert_eq "$M" "$(cd "$A" && tree_manifest .)" "manifest independent of how DIR is named"

B=$W/treeB
cp -a "$A" "$B"
assert_same_tree "$A" "$B"

# content change, same size and mtime
printf 'HELLO\n' >"$B/dir/file"
touch -d '2021-02-03 04:05:06.123456789' "$B/dir/file"
expect_rc 1 bash -c ". '$LIB'; assert_same_tree '$A' '$B'"
assert_contains "$ERR" "-dir/file"
assert_contains "$ERR" "+dir/file"
cp -a "$A/dir/file" "$B/dir/file"
assert_same_tree "$A" "$B"
# mode change
chmod 0600 "$B/dir/file"
expect_rc 1 bash -c ". '$LIB'; assert_same_tree '$A' '$B'"
assert_contains "$ERR" "0600"
chmod 0644 "$B/dir/file"
# mtime change (file): detected, ignored with --no-mtime
touch -d '2022-01-01' "$B/dir/sub/big"
expect_rc 1 bash -c ". '$LIB'; assert_same_tree '$A' '$B'"
assert_same_tree --no-mtime "$A" "$B"
touch -d '2021-02-03 04:05:06.123456789' "$B/dir/sub/big"
# directory mtime only: ignored with --no-dir-mtime
touch -d '2022-01-01' "$B/dir"
expect_rc 1 bash -c ". '$LIB'; assert_same_tree '$A' '$B'"
assert_same_tree --no-dir-mtime "$A" "$B"
# symlink target, extra entry, missing entry
ln -sfn ../dir/empty "$B/dir/sub/link"
touch -h -d '2021-02-03 04:05:06.123456789' "$B/dir/sub/link"
expect_rc 1 bash -c ". '$LIB'; assert_same_tree --no-dir-mtime '$A' '$B'"
assert_contains "$ERR" "../dir/empty"
rm "$B/dir/sub/link"
expect_rc 1 bash -c ". '$LIB'; assert_same_tree --no-mtime '$A' '$B'"
assert_contains "$ERR" "-dir/sub/link"
ln -s ../dir/file "$B/dir/sub/link"
: >"$B/extra"
expect_rc 1 bash -c ". '$LIB'; assert_same_tree --no-mtime '$A' '$B'"
assert_contains "$ERR" "+extra"
rm "$B/extra"
assert_same_tree --no-mtime "$A" "$B"
assert_contains "$(tree_manifest --owner "$A")" "$(printf '\t%s\t%s\n' "$(id -u)" "$(id -g)")"
expect_rc 1 tree_manifest --bogus "$A"
# deep trees (deeper than Python's recursion limit)
D=$W/deep
mkdir -p "$D"
"$BLAST_TEST_PYTHON" -c '
import os, sys
os.chdir(sys.argv[1])
for _ in range(1200):
    os.mkdir("d"); os.chdir("d")
open("f", "w").write("bottom\n")' "$D"
assert_eq 1202 "$(tree_manifest "$D" | wc -l)" "deep tree"
rm -rf "$D"

note "cleanup registry"
c=$(child order.sh '
mkworkdir WD
echo "$WD" >"$OUT/order.wd"
on_exit echo first
on_exit echo "second arg" "with  spaces" "\$HOME;\`x\`"
on_exit sh -c "echo failing cleanup; exit 9"
on_exit die "a cleanup that dies"
on_exit echo last
[ -d "$WD" ] || exit 5
false
echo not reached')
out=$("$c" 2>"$W/order.err") && die "child should fail" || rc=$?
assert_eq 1 "$rc" "exit code of a set -e failure preserved through cleanup"
assert_eq "last
failing cleanup
second arg with  spaces \$HOME;\`x\`
first" "$out" "cleanups run last-registered first, all of them"
assert_contains "$(cat "$W/order.err")" "cleanup failed (exit 9)"
[ ! -e "$(cat "$W/order.wd")" ] || die "mkworkdir dir not removed at exit"

for end in "exit 0:0" "die x:1" "skip x:77" "exit 3:3" "kill -TERM \$\$:143" "kill -INT \$\$:130"; do
	c=$(child end.sh "on_exit echo cleaned; ${end%:*}")
	rc=0
	out=$("$c" 2>/dev/null) || rc=$?
	assert_eq "${end##*:}" "$rc" "exit code after '${end%:*}'"
	assert_eq cleaned "$out" "cleanup ran after '${end%:*}'"
done

c=$(child sub.sh 'on_exit echo cleaned; ( on_exit echo lost ); echo unreached')
rc=0
out=$("$c" 2>"$W/sub.err") || rc=$?
assert_eq 1 "$rc" "on_exit in a subshell is an error"
assert_eq cleaned "$out"
assert_contains "$(cat "$W/sub.err")" "subshell"

c=$(child sub2.sh 'on_exit echo cleaned; x=$(echo inner; exit 0); y=$( (exit 0) ); echo "$x"')
assert_eq "inner
cleaned" "$("$c")" "subshells do not run the parent's cleanups"

c=$(child keep.sh 'mkworkdir WD; echo "$WD"')
wd=$(BLAST_TEST_KEEP=1 "$c" 2>/dev/null)
[ -d "$wd" ] || die "BLAST_TEST_KEEP=1 did not keep $wd"
rm -rf "$wd"

note "kill_pid"
sleep 100 &
p=$!
kill_pid "$p"
! _lib_pid_alive "$p" || die "child $p survived kill_pid"
setsid sh -c 'sleep 100 & echo $! >"$1"' sh "$W/orphan.pid"
p=$(cat "$W/orphan.pid")
kill -0 "$p" || die "orphan not started"
kill_pid "$p"
! _lib_pid_alive "$p" || die "orphan $p survived kill_pid"  # a zombie is gone
sh -c 'trap "" TERM; echo ready; while :; do sleep 0.05; done' >"$W/stubborn.out" &
p=$!
wait_until 30 "the TERM-ignoring process to start" test -s "$W/stubborn.out"
t0=$(_lib_now_us)
kill_pid "$p" 0.3 2>"$W/stubborn.err"
! _lib_pid_alive "$p" || die "TERM-ignoring $p survived kill_pid"
assert_contains "$(cat "$W/stubborn.err")" "SIGKILL"
t=$(($(_lib_now_us) - t0))
[ "$t" -ge 300000 ] && [ "$t" -lt 3000000 ] || die "kill_pid timeout not honoured: ${t}us"
kill_pid "$p"  # already gone: fine
kill_pid ""

note "wait_for_mount"
mkdir "$W/notmnt"
is_mounted "$W/notmnt" && die "is_mounted on a plain dir"
is_mounted / || die "is_mounted /"
t0=$(_lib_now_us)
expect_rc 1 bash -c ". '$LIB'; wait_for_mount '$W/notmnt' 0.2"
t=$(($(_lib_now_us) - t0))
assert_contains "$ERR" "not mounted after 0.2s"
[ "$t" -ge 200000 ] && [ "$t" -lt 5000000 ] || die "wait_for_mount deadline not honoured: ${t}us"
sh -c 'exit 0' &
p=$!
wait "$p"
t0=$(_lib_now_us)
expect_rc 1 bash -c ". '$LIB'; wait_for_mount '$W/notmnt' 30 $p"
assert_contains "$ERR" "exited before"
[ $(($(_lib_now_us) - t0)) -lt 5000000 ] || die "wait_for_mount did not notice the dead daemon"
cleanup_mount "$W/notmnt"  # not mounted: no-op

note "mounts"
parts=0
if [ "$(id -u)" -eq 0 ] && mkdir "$W/bind" "$W/outside" && echo keep >"$W/outside/precious" &&
	mount --bind "$W/outside" "$W/bind" 2>/dev/null; then
	is_mounted "$W/bind" || die "bind mount not seen"
	cleanup_mount "$W/bind"
	is_mounted "$W/bind" && die "bind mount left"
	# A test that forgets to unmount inside its work dir: removal of the work
	# dir unmounts first and never deletes through the mount.
	c=$(child leak.sh 'mkworkdir WD; echo "$WD"; mkdir "$WD/m"; mount --bind "$OUT/outside" "$WD/m"; is_mounted "$WD/m"')
	wd=$("$c" 2>"$W/leak.err") || die "leak.sh failed: $(cat "$W/leak.err")"
	assert_contains "$(cat "$W/leak.err")" "unmounting leftover mount $wd/m"
	[ ! -e "$wd" ] || die "leaky work dir not removed"
	is_mounted "$wd/m" && die "leaked mount left"
	assert_eq keep "$(cat "$W/outside/precious")" "removal crossed into a mount"
	parts=$((parts + 1))
else
	note "skipped bind-mount part (needs root and mount)"
fi
if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null && command -v fuse-overlayfs >/dev/null; then
	mkdir -p "$W/lower" "$W/up" "$W/work" "$W/fmnt"
	echo data >"$W/lower/f"
	fuse-overlayfs -f -o "lowerdir=$W/lower,upperdir=$W/up,workdir=$W/work" "$W/fmnt" &
	p=$!
	on_exit kill_pid "$p"
	on_exit cleanup_mount "$W/fmnt"
	wait_for_mount "$W/fmnt" 10 "$p"
	assert_eq data "$(cat "$W/fmnt/f")"
	# Busy mount: a process inside makes fusermount3 -u fail; lazy fallback.
	(cd "$W/fmnt" && exec sleep 100) &
	busy=$!
	cwd_is() { [ "$(readlink "/proc/$1/cwd" 2>/dev/null)" == "$2" ]; }
	wait_until 30 "a process in the mount" cwd_is "$busy" "$W/fmnt"
	cleanup_mount "$W/fmnt" 2>"$W/busy.err"
	assert_contains "$(cat "$W/busy.err")" "lazy unmount"
	is_mounted "$W/fmnt" && die "busy fuse mount left"
	kill_pid "$busy"
	kill_pid "$p"
	# A dead FUSE mount (daemon SIGKILLed): stat fails, but it is detected
	# and removed.
	fuse-overlayfs -f -o "lowerdir=$W/lower,upperdir=$W/up,workdir=$W/work" "$W/fmnt" &
	p=$!
	on_exit kill_pid "$p"
	wait_for_mount "$W/fmnt" 10 "$p"
	kill -KILL "$p"
	wait "$p" 2>/dev/null || true
	! stat "$W/fmnt" >/dev/null 2>&1 || note "dead mount still stat-able"
	is_mounted "$W/fmnt" || die "dead fuse mount not detected"
	cleanup_mount "$W/fmnt"
	is_mounted "$W/fmnt" && die "dead fuse mount left"
	parts=$((parts + 1))
else
	note "skipped FUSE part (needs /dev/fuse, fusermount3, fuse-overlayfs)"
fi

note "wheels_dir"
export BLAST_TEST_CACHE=$W/cache
wd1=$(wheels_dir)
wd2=$(wheels_dir)
assert_eq "$wd1" "$wd2" "wheels_dir is cached"
[ -f "$wd1/blast_gamma-0.3-py3-none-any.whl" ] || die "no wheels in $wd1"
assert_eq 0 "$(find "$W/cache/wheels" -maxdepth 1 -name '.build.*' | wc -l)" "build dirs left"

echo "PASS: $TEST_NAME ($parts of 2 mount parts ran)"
