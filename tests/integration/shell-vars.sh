#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl vars: set, unset and list (--json) an env's variables, mounted
# or not; bad names and operands are refused with one clear line and
# change nothing; a mounted env's activate scripts follow at once, and
# after load/undo of a snapshot with other variables; an unmounted
# change reaches the scripts at the next start.
set -euo pipefail
. "$(dirname "$0")/shell-lib.sh"
shell_setup
cd "$P"

ctl_expect 0 vars
assert_eq "" "$OUT" "no variables at first"
ctl_expect 0 vars set A=1 "B=two words"
assert_contains "$ERR" "env 'proj': 2 variables set" "status line"
ctl_expect 0 vars list
assert_eq $'A=1\nB=two words' "$OUT" "list"
ctl_expect 0 vars proj list --json
assert_eq "two words" "$(json_get "j['vars']['B']")" "list --json"
ctl_expect 0 vars proj set A=1
assert_contains "$ERR" "nothing changed" "same value again"

# activate sees them; deactivate restores
out=$(A=before bash -c '. "$1/bin/activate"; echo "A=$A B=$B"; deactivate; echo "A=$A B=${B-<unset>}"' bash "$M")
assert_eq $'A=1 B=two words\nA=before B=<unset>' "$out" "activate exports, deactivate restores"

# bad input: usage error, nothing changes
for bad in PATH VIRTUAL_ENV PYTHONHOME PS1 _BLAST_X _OLD_VIRTUAL_PATH 1X "A-B" ""; do
	ctl_expect 2 vars set "$bad=x"
	assert_contains "$ERR" "invalid variable name '$bad'" "vars set $bad"
done
ctl_expect 2 vars set "BIN=$(printf 'a\377b')"
assert_contains "$ERR" "value of 'BIN' is not UTF-8" "a value that is not text"
ctl_expect 2 vars set NOEQUALS
assert_contains "$ERR" "expected KEY=VALUE, got 'NOEQUALS'" "set without ="
ctl_expect 2 vars set
ctl_expect 2 vars unset
ctl_expect 2 vars proj frobnicate
assert_contains "$ERR" "unknown operation 'frobnicate'" "unknown operation"
ctl_expect 2 vars set OK=1 PATH=/x
ctl_expect 1 vars nosuchenv list
ctl_expect 0 vars list
assert_eq $'A=1\nB=two words' "$OUT" "nothing changed by refused commands"

# snapshots carry them, and load rewrites the mounted scripts
ctl_expect 0 save proj two
ctl_expect 0 vars unset B
ctl_expect 0 vars set C=3
grep -q "_blast_var C '3'" "$M/bin/activate" || die "activate not rewritten after vars set"
! grep -q "_blast_var B" "$M/bin/activate" || die "activate still sets B after unset"
grep -q "_blast_var C '3'" "$M/bin/activate.fish" || die "activate.fish not rewritten"
ctl_expect 0 load proj two
ctl_expect 0 vars list
assert_eq $'A=1\nB=two words' "$OUT" "load brings the snapshot's variables"
out=$(bash -c '. "$1/bin/activate"; echo "B=${B-<unset>} C=${C-<unset>}"' bash "$M")
assert_eq "B=two words C=<unset>" "$out" "scripts follow load"
# undo: whatever state it reaches, the scripts export exactly its variables
ctl_expect 0 undo proj
ctl_expect 0 vars list
want=$OUT
got=$(env -i PATH=/usr/bin:/bin bash -c '. "$1/bin/activate"; env | grep -v "^\(PATH\|PWD\|SHLVL\|_\|VIRTUAL_ENV\|VIRTUAL_ENV_PROMPT\)=" | sort' bash "$M")
assert_eq "$want" "$got" "scripts follow undo"

# unmounted: stored now, in the scripts at the next start
ctl_expect 0 kill proj
ctl_expect 0 vars proj set D=4
ctl_expect 0 start proj
grep -q "_blast_var D '4'" "$M/bin/activate" || die "start does not write the variables"
ctl_expect 0 list --json
pid=$(json_get "next(str(e['pid']) for e in j['envs'] if e['name'] == 'proj')")
on_exit kill_pid "$pid"
exit 0
