#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The package state is live: pip uninstall of a dependency makes check
# report it at once, with no rescan (the daemon counts its package
# updates; check never says it rebuilt); reinstalling clears it. A
# METADATA still open for writing never counts: the distribution appears
# only once the file is closed, with what it finally holds, also when the
# kernel forgot it and its directory meanwhile. Renaming a
# dist-info away and back, and snapshots (load restores the graph with the
# files), keep the state right. `watch` streams the events (removed,
# installed, conflict, resolved) as they happen and ends with the mount.
set -euo pipefail
. "$(dirname "$0")/pkg-lib.sh"
pkg_setup
WHEELS=$(wheels_dir)

updates() {
	bctl status --json | "$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["package_updates"])'
}

ctl_expect 0 check
pipq install --no-index --find-links "$WHEELS" blast-alpha
ctl_expect 0 check
assert_eq "$OUT" "No broken requirements found." "installed"
ctl_expect 0 save before

note "watch"
bctl watch >"$W/watch.out" 2>"$W/watch.err" &
WPID=$!
on_exit kill_pid "$WPID"
wait_line "$W/watch.err" "watching env 'proj' (Ctrl-C stops)"

note "uninstall a dependency: reported live"
u0=$(updates)
pipq uninstall -y blast-beta
ctl_expect 1 check
assert_eq "$OUT" "blast-alpha 1.0 requires blast-beta, which is not installed." "after uninstall"
assert_not_contains "$ERR" "rebuilt" "no rescan"
u1=$(updates)
[ "$u1" -gt "$u0" ] || die "the daemon made no package update ($u0 -> $u1)"

note "reinstall clears it"
pipq install --no-index --find-links "$WHEELS" "blast-beta==2.1"
ctl_expect 0 check
assert_eq "$OUT" "No broken requirements found." "after reinstall"

for l in "removed blast-beta 2.1" \
	"conflict: blast-alpha 1.0 requires blast-beta, which is not installed." \
	"installed blast-beta 2.1" \
	"resolved: blast-alpha 1.0 requires blast-beta, which is not installed."; do
	wait_line "$W/watch.out" "$l"
done

note "a downgrade is a conflict"
pipq install --no-index --find-links "$WHEELS" "blast-beta==1.5"
ctl_expect 1 check
assert_eq "$OUT" "blast-alpha 1.0 has requirement blast-beta>=2.0, but you have blast-beta 1.5." "downgrade"

note "a METADATA being written does not count until it is closed"
D=$SITE/halfway-1.0.dist-info
mkdir "$D"
exec 7>"$D/METADATA"
printf 'Metadata-Version: 2.1\nName: halfway\nVer' >&7
ctl_run bctl deps --json
assert_not_contains "$OUT" '"halfway"' "open METADATA"
printf 'sion: 1.0\nRequires-Dist: blast-nothere\n' >&7
note "clean counts it (a full rescan does not wait for writers): watch hears it"
ctl_run bctl clean
wait_line "$W/watch.out" "installed halfway 1.0"
exec 7>&-
ctl_expect 1 check
assert_contains "$OUT" "halfway 1.0 requires blast-nothere, which is not installed." "closed METADATA"

note "renamed away and back"
mv "$D" "$SITE/~alfway-1.0.dist-info"
ctl_expect 1 check
assert_not_contains "$OUT" "halfway" "stashed"
mv "$SITE/~alfway-1.0.dist-info" "$D"
ctl_expect 1 check
assert_contains "$OUT" "halfway 1.0 requires" "restored"
rm -r "$D"

if [ -w /proc/sys/vm/drop_caches ]; then
	note "a METADATA closed after its seal, then forgotten by the kernel with its directory"
	D=$SITE/forgot-1.0.dist-info
	mkdir "$D"
	exec 7>"$D/METADATA"
	printf 'Metadata-Version: 2.1\nName: forgot\nVersion: 1.0\nRequires-Dist: blast-gone\n' >&7
	ctl_run bctl deps --json # sealed while open: judged once closed
	assert_not_contains "$OUT" '"forgot"' "open METADATA"
	exec 7>&-
	drop_kernel_caches
	ctl_expect 1 check
	assert_contains "$OUT" "forgot 1.0 requires blast-gone, which is not installed." "forgotten METADATA"
	rm -r "$D"
fi

wait_line "$W/watch.out" "conflict: blast-alpha 1.0 has requirement blast-beta>=2.0, but you have blast-beta 1.5."
ctl_expect 0 diff before
assert_contains "$OUT" "blast-beta 2.1 -> 1.5" "diff by distribution, from the state"

note "load restores the graph with the files, and watch hears it"
ctl_expect 0 load before
wait_line "$W/watch.out" "upgraded blast-beta 1.5 -> 2.1"
wait_line "$W/watch.out" "resolved: blast-alpha 1.0 has requirement blast-beta>=2.0, but you have blast-beta 1.5."
ctl_expect 0 check
assert_eq "$OUT" "No broken requirements found." "after load"
ctl_expect 0 deps
assert_contains "$OUT" "blast-beta 2.1" "deps after load"

note "watch ends with the mount"
cd "$W"
ctl_expect 0 kill proj
wait "$WPID" || die "watch exited with $?: $(cat "$W/watch.err")"
assert_contains "$(cat "$W/watch.err")" "env 'proj' is no longer mounted" "watch end"
exit 0
