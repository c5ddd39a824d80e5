#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl shell-init: the `blast` function in bash, zsh, sh (dash), fish
# and nushell. `blast start NAME` mounts and activates in the calling shell,
# `blast kill` deactivates and unmounts; anything else goes to blastctl
# (the program, even when a function of that name exists) with its exit
# status; `blast start` in a second shell attaches to the running mount;
# a nested shell (bash, zsh, fish) takes the active env up again, prompt
# and deactivate included; status lines stay on stderr and nothing blastctl prints is
# evaluated, also with colour forced on a terminal. Unknown shells are a
# usage error.
set -euo pipefail
. "$(dirname "$0")/shell-lib.sh"
shell_setup
nu_path
ctl_expect 0 kill proj
PATH=$(dirname "$BLASTCTL"):$PATH
export PATH
ctl_expect 2 shell-init ksh
assert_contains "$ERR" "unknown shell 'ksh'" "unknown shell"
ctl_expect 2 shell-init

SH_TEST='
cd "$1"
PS1="x> "
eval "$(blastctl shell-init $0)"
blastctl () { echo RECURSED; return 99; }
blast start proj
echo "start=$? venv=${VIRTUAL_ENV-} ps1=$PS1"
echo "python=$(command -v python)"
# another shell of the same project: attaches to the running mount
"$0" -c "eval \"\$(blastctl shell-init $0)\"; blast start proj 2>/dev/null; echo attach=\$? venv=\$VIRTUAL_ENV"
# a nested shell takes the env up again (its PATH has the env once)
"$0" -c "PS1=\"n> \"; eval \"\$(blastctl shell-init $0)\"; echo \"nested=\$PS1|\${PATH%%:*}\"; deactivate; echo \"nestedafter=\${VIRTUAL_ENV-<unset>}|\${PATH%%:*}\""
blast --version
echo "version=$?"
blast vars proj set PATH=x 2>/dev/null
echo "usage=$?"
blast nosuchcommand 2>/dev/null
echo "unknown=$?"
blast kill
echo "kill=$? venv=${VIRTUAL_ENV-<unset>} ps1=$PS1"
blast start no/such 2>/dev/null
echo "badstart=$? venv=${VIRTUAL_ENV-<unset>}"
'
for sh in bash zsh sh dash; do
	out=$("$sh" -c "$SH_TEST" "$sh" "$P" 2>"$W/err") || die "$sh: $out $(cat "$W/err")"
	assert_contains "$out" "start=0 venv=$M ps1=(blast:proj) x> " "$sh: blast start activates"
	assert_contains "$out" "python=$M/bin/python" "$sh: python after blast start"
	assert_contains "$out" "attach=0 venv=$M" "$sh: blast start in a second shell"
	assert_contains "$(cat "$W/err")" "mounted env 'proj'" "$sh: status on stderr"
	assert_contains "$out" "blastctl " "$sh: pass-through"
	assert_not_contains "$out" "RECURSED" "$sh: blast calls the program"
	assert_contains "$out" "nested=(blast:proj) n> |$M/bin" "$sh: nested shell"
	assert_contains "$out" "nestedafter=<unset>|$(dirname "$BLASTCTL")" "$sh: nested deactivate"
	assert_contains "$out" "version=0" "$sh: exit status 0"
	assert_contains "$out" "usage=2" "$sh: exit status 2 kept"
	assert_contains "$out" "unknown=2" "$sh: unknown command's status"
	assert_contains "$out" "kill=0 venv=<unset> ps1=x> " "$sh: blast kill deactivates"
	assert_contains "$out" "badstart=2 venv=<unset>" "$sh: failed start activates nothing"
	! is_mounted "$M" || die "$sh: still mounted after blast kill"
	note "$sh: ok"
done

out=$(cd "$P" && fish -c '
blastctl shell-init fish | source
function blastctl; echo RECURSED; return 99; end
function fish_prompt; printf "x> "; end
blast start proj
echo "start=$status venv=$VIRTUAL_ENV prompt="(fish_prompt)
# a nested fish takes the env up again: prompt and deactivate
fish -c "blastctl shell-init fish | source
string match -q \"(blast:proj) *\" (fish_prompt | string collect); and echo nested-prompt=yes
functions -q deactivate; and echo nested-deactivate=yes
deactivate; set -q VIRTUAL_ENV; or echo nested-after=unset"
blast vars proj set PATH=x 2>/dev/null
echo "usage=$status"
blast kill
set rc $status
echo "kill=$rc venv="(set -q VIRTUAL_ENV; and echo set; or echo "<unset>")" prompt="(fish_prompt)
' 2>"$W/err") || die "fish: $out $(cat "$W/err")"
assert_contains "$out" "start=0 venv=$M prompt=(blast:proj) x> " "fish: blast start"
assert_not_contains "$out" "RECURSED" "fish: blast calls the program"
assert_contains "$out" "usage=2" "fish: exit status kept"
assert_contains "$out" "nested-prompt=yes" "fish: nested shell's prompt"
assert_contains "$out" "nested-deactivate=yes" "fish: nested shell's deactivate"
assert_contains "$out" "nested-after=unset" "fish: nested deactivate"
assert_contains "$out" "kill=0 venv=<unset> prompt=x> " "fish: blast kill"
! is_mounted "$M" || die "fish: still mounted after blast kill"
note "fish: ok"

"$BLASTCTL" shell-init nu >"$W/blast.nu"
out=$(cd "$P" && "$NU" -n -c "
source $(nu_str "$W/blast.nu")
blast start proj
print \$\"venv=(\$env.VIRTUAL_ENV) prompt=(do \$env.PROMPT_COMMAND)|\"
blast kill
print \$\"venv=(\$env.VIRTUAL_ENV? | default '<unset>')\"
" 2>"$W/err") || die "nu: $out $(cat "$W/err")"
assert_contains "$out" "venv=$M prompt=(blast:proj) |" "nu: blast start"
assert_contains "$out" "venv=<unset>" "nu: blast kill"
! is_mounted "$M" || die "nu: still mounted after blast kill"
note "nu: ok"

# Colour forced on a terminal: stderr may be coloured, what is read from
# stdout never is.
if command -v script >/dev/null; then
	esc=$'\033'
	(cd "$P" && CLICOLOR_FORCE=1 TERM=xterm script -qec "bash -c 'eval \"\$(blastctl shell-init bash)\"; blast start proj; printf \"venv=[%s]\\n\" \"\$VIRTUAL_ENV\"; blast kill'" /dev/null) >"$W/tty" 2>&1 </dev/null || true
	grep -qF "venv=[$M]" "$W/tty" || die "blast start with CLICOLOR_FORCE on a tty: $(cat -v "$W/tty")"
	assert_not_contains "$(grep -F 'venv=[' "$W/tty")" "$esc" "escape in the activated path"
	! is_mounted "$M" || die "still mounted after the tty run"
fi
exit 0
