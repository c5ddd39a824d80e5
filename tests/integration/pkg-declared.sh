#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Declared requirements: requirements*.txt and constraints*.txt in the
# project directory (the one holding .blast), with -r/-c includes, held
# against what is installed: a requirement not installed or excluded, a
# constraint excluding, a false marker skipped, a bad line and a missing
# include named with FILE:LINE. An edit shows at the next check (the files
# are read as they are now), and a clean project checks clean. `watch`
# reports declared problems appearing and going as the files are edited
# (the daemon watches the project directory with inotify).
set -euo pipefail
. "$(dirname "$0")/pkg-lib.sh"
pkg_setup
for d in foo-1.0 bar-2.5; do
	mkdir "$SITE/$d.dist-info"
	printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' "${d%-*}" "${d#*-}" \
		>"$SITE/$d.dist-info/METADATA"
done
ctl_expect 0 check
assert_eq "$OUT" "No broken requirements found." "no declarations"

mkdir "$P/req"
printf 'foo>=1.0\nBar<2 --hash=sha256:0 \\\n  --hash=sha256:1\n-r req/more.txt\nwin ; sys_platform == "win32"\n' >"$P/requirements.txt"
printf 'baz==3.0\nnot valid!!\n-c ../constraints-dev.txt\n-r nothere.txt\n' >"$P/req/more.txt"
printf 'foo!=1.0\nqux<1\n' >"$P/constraints-dev.txt"
ctl_expect 1 check
want="No broken requirements found.
declared: bar 2.5 is excluded by requirements.txt:2: Bar<2
declared: baz is not installed (req/more.txt:1: baz==3.0)
declared: req/more.txt:2: invalid requirement 'not valid!!': invalid version specifier
declared: foo 1.0 is excluded by constraints-dev.txt:1: foo!=1.0
declared: req/more.txt:4: cannot open 'nothere.txt'"
assert_eq "$(printf '%s\n' "$OUT" | sort)" "$(printf '%s\n' "$want" | sort)" "declared"
assert_contains "$ERR" "declared: 5 problems found" "count"

note "watch sees edits"
bctl watch >"$W/watch.out" 2>"$W/watch.err" &
WPID=$!
on_exit kill_pid "$WPID"
wait_line "$W/watch.err" "watching env 'proj' (Ctrl-C stops)"
printf 'qux<1\nfoo<1\n' >"$P/constraints-dev.txt"
wait_line "$W/watch.out" "declared: foo 1.0 is excluded by constraints-dev.txt:2: foo<1"
wait_line "$W/watch.out" "declared-resolved: foo 1.0 is excluded by constraints-dev.txt:1: foo!=1.0"

note "edits show at once"
printf 'foo>=1.0\n' >"$P/requirements.txt"
rm "$P/constraints-dev.txt"
ctl_expect 0 check
assert_eq "$OUT" "No broken requirements found." "after the edit"
wait_line "$W/watch.out" "declared-resolved: baz is not installed (req/more.txt:1: baz==3.0)"
exit 0
