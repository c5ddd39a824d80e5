#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bin/activate in bash, zsh and dash, activate.fish in fish, activate.csh
# in tcsh and activate.nu in nushell, for an env mounted at a path with a space and
# quotes, with variables (blastctl vars) one of which overrides a set
# variable: python resolves into the env, VIRTUAL_ENV, VIRTUAL_ENV_PROMPT,
# PYTHONHOME unset, the prompt is '(blast:proj) ' once (a '(.venv) ' or
# '(blast:...) ' prefix is stripped, sourcing twice does not double it),
# VIRTUAL_ENV_DISABLE_PROMPT leaves it alone, and deactivate restores the
# whole environment (env before == env after, the prompt too, PS1 unset
# stays unset); `deactivate nondestructive` keeps the function.
set -euo pipefail
. "$(dirname "$0")/shell-lib.sh"
shell_setup

VAL="it's \"quoted\" \$HOME \\ and
a newline"
bctl vars proj set "FOO=$VAL" "OVER=new" "EMPTY=" 2>/dev/null
export OVER=old PYTHONHOME=/nowhere
unset FOO EMPTY VIRTUAL_ENV VIRTUAL_ENV_PROMPT VIRTUAL_ENV_DISABLE_PROMPT
# a value to compare with what the shells print
printf '%s' "$VAL" >"$W/val"

# --- sh family ---------------------------------------------------------------
SH_SCRIPT='
set -u
M=$1
if [ "$2" = unset ]; then unset PS1; else PS1=$2; fi
env >"$W/env.before"
before_ps1=${PS1-<unset>}
. "$M/bin/activate"
echo "python=$(command -v python)"
echo "prefix=$(python -c "import sys; print(sys.prefix)")"
echo "venv=$VIRTUAL_ENV"
echo "vprompt=$VIRTUAL_ENV_PROMPT"
echo "pythonhome=${PYTHONHOME-<unset>}"
echo "over=$OVER empty=[$EMPTY]"
printf "%s" "$FOO" >"$W/val.got"
echo "ps1=${PS1-<unset>}"
. "$M/bin/activate"
echo "ps1again=${PS1-<unset>}"
deactivate nondestructive
case $(command -V deactivate 2>&1) in *function*) echo "kept=yes" ;; *) echo "kept=no" ;; esac
. "$M/bin/activate"
deactivate
case $(command -V deactivate 2>&1) in *function*) echo "gone=no" ;; *) echo "gone=yes" ;; esac
env >"$W/env.after"
echo "ps1after=${PS1-<unset>}"
[ "$before_ps1" = "${PS1-<unset>}" ] && echo ps1restored=yes
'

# env_same LABEL: the environment before and after is the same.
env_same() {
	if ! diff <(sort "$W/env.before") <(sort "$W/env.after") >&2; then
		die "$1: deactivate did not restore the environment"
	fi
}

check_sh() { # SHELL PS1 EXPECTED_PS1
	local sh=$1 out
	rm -f "$W/val.got"
	out=$(W=$W "$sh" -c "$SH_SCRIPT" "$sh" "$M" "$2") || die "$sh: activate failed: $out"
	assert_contains "$out" "python=$M/bin/python" "$sh: python on PATH"
	assert_contains "$out" "prefix=$M" "$sh: sys.prefix"
	assert_contains "$out" "venv=$M" "$sh: VIRTUAL_ENV"
	assert_contains "$out" "vprompt=blast:proj" "$sh: VIRTUAL_ENV_PROMPT"
	assert_contains "$out" "pythonhome=<unset>" "$sh: PYTHONHOME"
	assert_contains "$out" "over=new empty=[]" "$sh: variables"
	cmp -s "$W/val" "$W/val.got" || die "$sh: FOO is [$(cat "$W/val.got")]"
	assert_contains "$out" "ps1=$3"$'\n' "$sh: prompt"
	assert_contains "$out" "ps1again=$3"$'\n' "$sh: prompt after sourcing twice"
	assert_contains "$out" "kept=yes" "$sh: deactivate nondestructive"
	assert_contains "$out" "gone=yes" "$sh: deactivate removes itself"
	assert_contains "$out" "ps1restored=yes" "$sh: prompt restored"
	env_same "$sh"
}

for sh in bash zsh dash; do
	command -v "$sh" >/dev/null || die "$sh not installed (.ci/install-deps)"
	check_sh "$sh" 'x> ' '(blast:proj) x> '
	check_sh "$sh" '(.venv) x> ' '(blast:proj) x> '
	check_sh "$sh" '(blast:other) x> ' '(blast:proj) x> '
	check_sh "$sh" unset '(blast:proj) '
	out=$(VIRTUAL_ENV_DISABLE_PROMPT=1 W=$W "$sh" -c "$SH_SCRIPT" "$sh" "$M" 'x> ')
	assert_contains "$out" "ps1=x> "$'\n' "$sh: VIRTUAL_ENV_DISABLE_PROMPT"
	env_same "$sh (prompt disabled)"
	note "$sh: ok"
done

# Over an active plain venv: blast's activate leaves the venv first (its
# _OLD_VIRTUAL_* names are venv's), and deactivate gets back to before both.
env -u PYTHONHOME "$BLAST_TEST_PYTHON" -m venv --without-pip "$W/plain venv"
out=$(W=$W bash -c '
PS1="x> "
env >"$W/env.before"
. "$2/bin/activate"
echo "venvps1=$PS1"
. "$1/bin/activate"
echo "ps1=$PS1 venv=$VIRTUAL_ENV python=$(command -v python)"
deactivate
env >"$W/env.after"
echo "after=$PS1"
' bash "$M" "$W/plain venv")
assert_contains "$out" "ps1=(blast:proj) x>  venv=$M python=$M/bin/python" "blast over a venv"
assert_contains "$out" "after=x> " "prompt after blast over a venv"
# venv's activate exports PS1 (its own deactivate leaves it exported too):
# the rest must be as before
sed -i '/^PS1=/d' "$W/env.before" "$W/env.after"
env_same "blast over a venv"
note "bash: blast over a plain venv: ok"

# --- fish --------------------------------------------------------------------
command -v fish >/dev/null || die "fish not installed (.ci/install-deps)"
FISH_SCRIPT='
set M $argv[1]
function fish_prompt; printf "%s" "$argv_prompt"; end
env >$W/env.before
source $M/bin/activate.fish
echo "python="(command -v python)
echo "prefix="(python -c "import sys; print(sys.prefix)")
echo "venv=$VIRTUAL_ENV"
echo "vprompt=$VIRTUAL_ENV_PROMPT"
echo "pythonhome="(set -q PYTHONHOME; and echo set; or echo "<unset>")
echo "over=$OVER empty=[$EMPTY]"
printf "%s" "$FOO" >$W/val.got
echo "prompt="(fish_prompt | string collect)"|"
source $M/bin/activate.fish
echo "promptagain="(fish_prompt | string collect)"|"
deactivate nondestructive
functions -q deactivate; and echo kept=yes
deactivate
functions -q deactivate; or echo gone=yes
env >$W/env.after
echo "promptafter="(fish_prompt | string collect)"|"
'
check_fish() { # OLD_PROMPT EXPECTED
	local out
	rm -f "$W/val.got"
	out=$(W=$W argv_prompt=$1 fish -c "$FISH_SCRIPT" "$M") || die "fish: activate failed: $out"
	assert_contains "$out" "python=$M/bin/python" "fish: python on PATH"
	assert_contains "$out" "prefix=$M" "fish: sys.prefix"
	assert_contains "$out" "venv=$M" "fish: VIRTUAL_ENV"
	assert_contains "$out" "vprompt=blast:proj" "fish: VIRTUAL_ENV_PROMPT"
	assert_contains "$out" "pythonhome=<unset>" "fish: PYTHONHOME"
	assert_contains "$out" "over=new empty=[]" "fish: variables"
	cmp -s "$W/val" "$W/val.got" || die "fish: FOO is [$(cat "$W/val.got")]"
	assert_contains "$out" "prompt=$2|" "fish: prompt"
	assert_contains "$out" "promptagain=$2|" "fish: prompt after sourcing twice"
	assert_contains "$out" "kept=yes" "fish: deactivate nondestructive"
	assert_contains "$out" "gone=yes" "fish: deactivate removes itself"
	assert_contains "$out" "promptafter=$1|" "fish: prompt restored"
	env_same fish
}
check_fish 'x> ' '(blast:proj) x> '
check_fish '(.venv) x> ' '(blast:proj) x> '
check_fish '(blast:other) x> ' '(blast:proj) x> '
out=$(VIRTUAL_ENV_DISABLE_PROMPT=1 W=$W argv_prompt='x> ' fish -c "$FISH_SCRIPT" "$M")
assert_contains "$out" "prompt=x> |" "fish: VIRTUAL_ENV_DISABLE_PROMPT"
note "fish: ok"

# --- csh (tcsh) --------------------------------------------------------------
command -v tcsh >/dev/null || die "tcsh not installed (.ci/install-deps)"
CSH_SCRIPT='
set M = "$argv[1]"
set prompt = "$argv[2]"
env >"$W/env.before"
source "$M/bin/activate.csh"
echo "python=`which python`"
echo "venv=$VIRTUAL_ENV"
echo "vprompt=$VIRTUAL_ENV_PROMPT"
echo "pythonhome=$?PYTHONHOME"
echo "over=$OVER empty=[$EMPTY]"
printenv FOO >"$W/val.got"
echo "prompt=$prompt|"
source "$M/bin/activate.csh"
echo "promptagain=$prompt|"
deactivate nondestructive
alias deactivate >/dev/null && echo kept=yes
deactivate
echo "gone=`alias deactivate`|"
env >"$W/env.after"
echo "promptafter=$prompt|"
'
check_csh() { # PROMPT EXPECTED
	local out
	rm -f "$W/val.got"
	out=$(W=$W tcsh -f -c "$CSH_SCRIPT" "$M" "$1" 2>&1) || die "tcsh: activate failed: $out"
	assert_not_contains "$out" "Unmatched" "tcsh: errors"
	assert_contains "$out" "python=$M/bin/python" "tcsh: python on PATH"
	assert_contains "$out" "venv=$M" "tcsh: VIRTUAL_ENV"
	assert_contains "$out" "vprompt=blast:proj" "tcsh: VIRTUAL_ENV_PROMPT"
	assert_contains "$out" "pythonhome=0" "tcsh: PYTHONHOME"
	assert_contains "$out" "over=new empty=[]" "tcsh: variables"
	cmp -s <(cat "$W/val"; echo) "$W/val.got" || die "tcsh: FOO is [$(cat "$W/val.got")]"
	assert_contains "$out" "prompt=$2|" "tcsh: prompt"
	assert_contains "$out" "promptagain=$2|" "tcsh: prompt after sourcing twice"
	assert_contains "$out" "kept=yes" "tcsh: deactivate nondestructive"
	assert_contains "$out" "gone=|" "tcsh: deactivate removes itself"
	assert_contains "$out" "promptafter=$1|" "tcsh: prompt restored"
	env_same tcsh
}
check_csh 'x> ' '(blast:proj) x> '
check_csh '(.venv) x> ' '(blast:proj) x> '
check_csh '(blast:proj) x> ' '(blast:proj) x> '
out=$(VIRTUAL_ENV_DISABLE_PROMPT=1 W=$W tcsh -f -c "$CSH_SCRIPT" "$M" 'x> ')
assert_contains "$out" "prompt=x> |" "tcsh: VIRTUAL_ENV_DISABLE_PROMPT"
note "tcsh: ok"

# --- nushell -----------------------------------------------------------------
nu_path
NU_SCRIPT="
let skip = [PWD FILE_PWD CURRENT_FILE PROMPT_COMMAND]
let before = (\$env | reject -o ...\$skip)
\$env.PROMPT_COMMAND = {|| '(.venv) x> ' }
source $(nu_str "$M/bin/activate.nu")
print \$\"python=(which python | get path.0)\"
print \$\"prefix=(^python -c 'import sys; print(sys.prefix)')\"
print \$\"venv=(\$env.VIRTUAL_ENV)\"
print \$\"vprompt=(\$env.VIRTUAL_ENV_PROMPT)\"
print \$\"pythonhome=(\$env.PYTHONHOME? | default '<unset>')\"
print \$\"over=(\$env.OVER) empty=[(\$env.EMPTY)]\"
\$env.FOO | save -f $(nu_str "$W/val.got")
print \$\"prompt=(do \$env.PROMPT_COMMAND)|\"
source $(nu_str "$M/bin/activate.nu")
print \$\"promptagain=(do \$env.PROMPT_COMMAND)|\"
deactivate
print \$\"promptafter=(do \$env.PROMPT_COMMAND)|\"
let after = (\$env | reject -o ...\$skip)
if \$after == \$before { print restored=yes } else { print (\$before | transpose k v | where {|r| (\$after | get -o \$r.k) != \$r.v }) ; print (\$after | columns | where {|c| \$c not-in \$before}) }
"
out=$("$NU" -n -c "$NU_SCRIPT" 2>&1) || die "nu: activate failed: $out"
assert_contains "$out" "python=$M/bin/python" "nu: python on PATH"
assert_contains "$out" "prefix=$M" "nu: sys.prefix"
assert_contains "$out" "venv=$M" "nu: VIRTUAL_ENV"
assert_contains "$out" "vprompt=blast:proj" "nu: VIRTUAL_ENV_PROMPT"
assert_contains "$out" "pythonhome=<unset>" "nu: PYTHONHOME"
assert_contains "$out" "over=new empty=[]" "nu: variables"
cmp -s "$W/val" "$W/val.got" || die "nu: FOO is [$(cat "$W/val.got")]"
assert_contains "$out" "prompt=(blast:proj) x> |" "nu: prompt"
assert_contains "$out" "promptagain=(blast:proj) x> |" "nu: prompt after sourcing twice"
assert_contains "$out" "promptafter=(.venv) x> |" "nu: prompt restored"
assert_contains "$out" "restored=yes" "nu: deactivate restores the environment: $out"
out=$(VIRTUAL_ENV_DISABLE_PROMPT=1 "$NU" -n -c "\$env.PROMPT_COMMAND = {|| 'x> ' }; source $(nu_str "$M/bin/activate.nu"); print \$\"prompt=(do \$env.PROMPT_COMMAND)|\"")
assert_contains "$out" "prompt=x> |" "nu: VIRTUAL_ENV_DISABLE_PROMPT"
note "nu: ok"
exit 0
