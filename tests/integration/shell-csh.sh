#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl shell-init csh|tcsh: the `blast` alias, driven in real tcsh
# (and csh, which is tcsh on Debian when installed). `blast start NAME`
# mounts and activates in the calling shell (VIRTUAL_ENV, the prompt,
# PATH), `blast kill` deactivates and unmounts; anything else goes to
# blastctl (the program, even when an alias of that name exists) with its
# exit status; a failed start activates nothing; a kill that fails (a busy
# mount) leaves the env active; killing another env keeps the active one;
# `blast start` in a second shell attaches to the mount; a nested shell
# takes the active env up again, prompt and deactivate included.
set -euo pipefail
. "$(dirname "$0")/shell-lib.sh"
require_cmd tcsh
shell_setup
ctl_expect 0 kill proj
PATH=$(dirname "$BLASTCTL"):$PATH
export PATH P

cat >"$W/test.csh" <<'CSH'
cd $P:q
set prompt = "x> "
eval "`blastctl shell-init $argv[1]`"
alias blastctl 'echo RECURSED; (exit 99)'
blast start proj
echo "start=$status venv=$VIRTUAL_ENV prompt=$prompt name=$VIRTUAL_ENV_PROMPT"
echo "python=`sh -c 'command -v python'`"
# another shell of the same project: attaches to the running mount; a
# nested shell takes the env up again (its PATH has the env once)
$argv[1] -f $argv[2]/attach.csh $argv[1]
$argv[1] -f $argv[2]/nested.csh $argv[1]
blast --version
echo "version=$status"
blast
echo "noargs=$status"
# words keep their blanks and quotes on the way to blastctl
blast vars proj set "G=it's  a b"
blast vars proj list
blast vars proj unset G
blast vars proj set PATH=x
echo "usage=$status"
blast nosuchcommand
echo "unknown=$status"
blast kill nosuchenv
echo "killother=$status venv=$VIRTUAL_ENV"
# a busy mount: kill fails, the env is active again
sh -c 'cd "$VIRTUAL_ENV" && exec sleep 60' &
set busy = $!
while (! { test -e /proc/$busy/cwd } || "`readlink /proc/$busy/cwd`" != "$VIRTUAL_ENV")
	sleep 0.1
end
blast kill
echo "busykill=$status venv=$VIRTUAL_ENV prompt=$prompt"
kill $busy
wait
blast kill
echo "kill=$status venv=`printenv VIRTUAL_ENV` prompt=$prompt"
blast start no/such
echo "badstart=$status venv=`printenv VIRTUAL_ENV`"
exit 0
CSH
cat >"$W/attach.csh" <<'CSH'
eval "`blastctl shell-init $argv[1]`"
blast start proj
echo "attach=$status venv=$VIRTUAL_ENV"
CSH
cat >"$W/nested.csh" <<'CSH'
set prompt = "n> "
eval "`blastctl shell-init $argv[1]`"
echo "nested=$prompt|$PATH:s/:/ /"
deactivate
echo "nestedafter=`printenv VIRTUAL_ENV`|$PATH:s/:/ /"
CSH

for sh in tcsh csh; do
	command -v "$sh" >/dev/null || continue
	out=$("$sh" -f "$W/test.csh" "$sh" "$W" 2>"$W/err") || die "$sh: $out $(cat "$W/err")"
	assert_contains "$out" "start=0 venv=$M prompt=(blast:proj) x>  name=blast:proj" "$sh: blast start activates"
	assert_contains "$out" "python=$M/bin/python" "$sh: python after blast start"
	assert_contains "$(cat "$W/err")" "mounted env 'proj'" "$sh: status on stderr"
	# nothing truncated stderr (a file here) on the way
	assert_contains "$(cat "$W/err")" "unmounted env 'proj'" "$sh: kill's status on stderr"
	! grep -qaP '\x00' "$W/err" || die "$sh: stderr was truncated under its writers (NUL bytes)"
	assert_contains "$out" "attach=0 venv=$M" "$sh: blast start in a second shell"
	assert_contains "$out" "nested=(blast:proj) n> |$M/bin $(dirname "$BLASTCTL"):" "$sh: nested shell"
	assert_contains "$out" "nestedafter=|$(dirname "$BLASTCTL") " "$sh: nested deactivate"
	assert_contains "$out" "blastctl " "$sh: pass-through"
	assert_not_contains "$out" "RECURSED" "$sh: blast calls the program"
	assert_contains "$out" "version=0" "$sh: exit status 0"
	assert_contains "$out" "noargs=2" "$sh: blast alone is blastctl alone"
	assert_contains "$out" "G=it's  a b" "$sh: arguments as typed"
	assert_contains "$out" "usage=2" "$sh: exit status 2 kept"
	assert_contains "$out" "unknown=2" "$sh: unknown command's status"
	assert_contains "$out" "killother=1 venv=$M" "$sh: killing another env keeps this one"
	assert_contains "$out" "busykill=1 venv=$M prompt=(blast:proj) x> " "$sh: a failed kill reactivates"
	assert_contains "$out" "kill=0 venv= prompt=x> " "$sh: blast kill deactivates"
	assert_contains "$out" "badstart=2 venv=" "$sh: failed start activates nothing"
	! is_mounted "$M" || die "$sh: still mounted after blast kill"
	note "$sh: ok"
done
