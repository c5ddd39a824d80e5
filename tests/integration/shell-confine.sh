#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# policy shell.confine: `blast start` opens the env's shell under
# `blastctl run` (host read-only but the project, a private /tmp, its own
# PID namespace), with real bash and fish; leaving it deactivates the
# calling shell. With the key off (or unset) the calling shell is
# activated in place and writes the host as before. A shell function
# that cannot open a confined shell (enter without --confine-shell) is
# refused, not left unconfined in silence; bad values change nothing.
set -euo pipefail
. "$(dirname "$0")/shell-lib.sh"
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"
require_root
shell_setup
PATH=$(dirname "$BLASTCTL"):$PATH
export PATH
# a host directory outside the project and outside /tmp (private inside)
O=$(mktemp -d /var/tmp/blast-shell-confine.XXXXXX)
on_exit rm -rf "$O"

note "bad values: one-line error, policy unchanged"
for bad in yes 1 TRUE "true false"; do
	ctl_expect 1 policy proj set shell.confine "$bad"
	assert_one_error "expected true or false"
done
ctl_expect 1 policy proj set shell.confine true false
assert_one_error
ctl_expect 0 policy proj --json
assert_not_contains "$OUT" "shell.confine" "policy after refused sets"
ctl_expect 2 policy proj show --confine-shell
assert_contains "$ERR" "only goes with enter"

START='
cd "$1"
eval "$(blastctl shell-init bash)"
blast start proj 2>"$2/start.err"
echo "start=$?"
echo "outer-venv=${VIRTUAL_ENV-unset}"
echo "outer-write=$( (echo hi >"$2/outer.txt") 2>/dev/null && echo ok || echo refused)"
'
# read by the confined shell from its stdin
INNER='
echo "inner-venv=${VIRTUAL_ENV-unset}"
echo "host-write=$( (echo hi >"'$O'/inner.txt") 2>/dev/null && echo ok || echo refused)"
echo "proj-write=$( (echo hi >inner-proj.txt) 2>/dev/null && echo ok || echo refused)"
echo "pid1=$(cat /proc/1/comm)"
exit 5
'

note "shell.confine unset, then false: the calling shell, unconfined"
for v in unset false; do
	[ "$v" = unset ] || ctl_expect 0 policy proj set shell.confine "$v"
	rm -f "$O/outer.txt"
	out=$(SHELL=/bin/bash bash -c "$START" bash "$P" "$O" <<<"$INNER" 2>&1) ||
		die "bash ($v): $out"
	assert_contains "$out" "start=0" "start ($v)"
	assert_contains "$out" "outer-venv=$M" "the calling shell is activated ($v)"
	assert_contains "$out" "outer-write=ok" "the host is writable ($v)"
	assert_not_contains "$out" "inner-venv" "no confined shell ($v)"
done

note "shell.confine true: bash gets a confined bash"
ctl_expect 0 policy proj set shell.confine true
ctl_expect 0 policy proj --json
assert_contains "$OUT" '"shell.confine": true' "show --json"
rm -f "$O/outer.txt" "$O/inner.txt"
out=$(SHELL=/bin/bash bash -c "$START" bash "$P" "$O" <<<"$INNER" 2>&1) ||
	die "bash: $out"
assert_contains "$out" "inner-venv=$M" "the confined shell has the env"
assert_contains "$out" "host-write=refused" "a host path outside the project is read-only"
[ ! -e "$O/inner.txt" ] || die "the confined shell wrote $O/inner.txt"
assert_contains "$out" "proj-write=ok" "the project is writable"
[ -f "$P/inner-proj.txt" ] || die "the project file is not on the host"
assert_not_contains "$out" "pid1=$(cat /proc/1/comm)" "a PID namespace of its own"
assert_contains "$out" "start=5" "blast start returns the confined shell's status"
assert_contains "$out" "outer-venv=unset" "the calling shell is deactivated after it"
assert_contains "$(cat "$O/start.err")" "host read-only" "run said how it confines"

note "a shell function without --confine-shell is refused"
ctl_expect 1 policy proj enter $$
assert_one_error "shell.confine true"
grep -qs blast-env-proj /proc/$$/cgroup && die "enter placed the pid anyway"

if command -v fish >/dev/null; then
	note "fish gets a confined fish"
	rm -f "$O/inner.txt" "$O/outer.txt"
	FISH_START='
cd $argv[1]
blastctl shell-init fish | source
blast start proj 2>/dev/null
echo "start=$status"
set -q VIRTUAL_ENV; and echo "outer-venv=$VIRTUAL_ENV"; or echo "outer-venv=unset"
'
	FISH_INNER='
echo "inner-venv=$VIRTUAL_ENV"
echo hi >'"$O"'/inner.txt 2>/dev/null; and echo host-write=ok; or echo host-write=refused
exit 4
'
	out=$(SHELL=$(command -v fish) fish -c "$FISH_START" "$P" <<<"$FISH_INNER" 2>&1) ||
		die "fish: $out"
	assert_contains "$out" "inner-venv=$M" "fish: the confined shell has the env"
	assert_contains "$out" "host-write=refused" "fish: the host is read-only"
	[ ! -e "$O/inner.txt" ] || die "the confined fish wrote $O/inner.txt"
	assert_contains "$out" "start=4" "fish: the confined shell's status"
	assert_contains "$out" "outer-venv=unset" "fish: deactivated after it"
else
	note "fish not installed: its part skipped"
fi
ctl_expect 0 policy proj unset shell.confine
echo "PASS: $TEST_NAME"
