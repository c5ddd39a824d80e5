#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hooks in the env's hooks/{pre,post}-{activate,deactivate}.d/ run in name
# order in bash, zsh, dash, fish, tcsh and nushell: executables
# everywhere, *.sh sourced by the sh family, *.fish by fish, *.csh by
# tcsh, *.nu in a child nu; a
# file for another shell is skipped. A failing pre-activate or
# post-activate hook is reported and leaves the shell exactly as it was;
# a failing deactivate hook is reported and the env is left anyway.
# Hooks are files of the env: a snapshot carries them.
set -euo pipefail
. "$(dirname "$0")/shell-lib.sh"
shell_setup
nu_path
export HOOKLOG=$W/hooks.log
PHASES="pre-activate post-activate pre-deactivate post-deactivate"

for p in $PHASES; do
	d=$M/hooks/$p.d
	mkdir -p "$d"
	printf '#!/bin/sh\necho "$BLAST_HOOK run $(basename "$BLAST_ENV_DIR")" >>"$HOOKLOG"\n' >"$d/10-run"
	printf '#!/bin/sh\necho "$BLAST_HOOK run2" >>"$HOOKLOG"\n' >"$d/30-run"
	chmod +x "$d/10-run" "$d/30-run"
	echo "echo '$p sh' >>\"\$HOOKLOG\"" >"$d/20-src.sh"
	echo "echo '$p fish' >>\$HOOKLOG" >"$d/20-src.fish"
	echo "echo '$p csh' >>\$HOOKLOG" >"$d/20-src.csh"
	echo "'$p nu' | save --append \$env.HOOKLOG; \"\\n\" | save --append \$env.HOOKLOG" >"$d/20-src.nu"
	echo "not executable" >"$d/25-plain"
done

# expected KIND: the log of activate + deactivate in a shell of KIND.
expected() {
	local p
	for p in $PHASES; do
		printf '%s run .blast\n%s %s\n%s run2\n' "$p" "$p" "$1" "$p"
	done
}

SH_RUN='. "$1/bin/activate" && deactivate'
FISH_RUN='source $argv[1]/bin/activate.fish; and deactivate'
CSH_RUN='source "$argv[1]/bin/activate.csh"
deactivate'
NU_RUN="source $(nu_str "$M/bin/activate.nu"); deactivate"

run_in() { # SHELL: activate and deactivate there
	case $1 in
	fish) fish -c "$FISH_RUN" "$M" ;;
	tcsh) tcsh -f -c "$CSH_RUN" "$M" ;;
	nu) "$NU" -n -c "$NU_RUN" ;;
	*) "$1" -c "$SH_RUN" "$1" "$M" ;;
	esac
}

for sh in bash zsh dash fish tcsh nu; do
	: >"$HOOKLOG"
	run_in "$sh" || die "$sh: activate + deactivate with hooks failed"
	kind=sh
	case $sh in fish | nu) kind=$sh ;; tcsh) kind=csh ;; esac
	assert_eq "$(expected $kind)" "$(cat "$HOOKLOG")" "$sh: hooks and their order"
	note "$sh: hooks in order"
done

# A failing hook: reported, and the shell is as it was.
printf '#!/bin/sh\nexit 3\n' >"$W/fail"
chmod +x "$W/fail"

SH_FAIL='
env >"$W/env.before"
. "$1/bin/activate"
echo "rc=$?"
env >"$W/env.after"
case $(command -V deactivate 2>&1) in *function*) echo "deactivate=defined" ;; esac
'
FISH_FAIL='
env >$W/env.before
source $argv[1]/bin/activate.fish
echo "rc=$status"
env >$W/env.after
functions -q deactivate; and echo deactivate=defined
'
CSH_FAIL='
env >"$W/env.before"
source "$argv[1]/bin/activate.csh"
env >"$W/env.after"
alias deactivate | grep -q . && echo deactivate=defined
'
NU_FAIL="
\$env | reject -o PWD FILE_PWD CURRENT_FILE | to nuon | save -f $(nu_str "$W/env.before")
source $(nu_str "$M/bin/activate.nu")
\$env | reject -o PWD FILE_PWD CURRENT_FILE | to nuon | save -f $(nu_str "$W/env.after")
"
fail_in() { # SHELL: source activate, print what happened
	case $1 in
	fish) W=$W fish -c "$FISH_FAIL" "$M" 2>&1 ;;
	tcsh) W=$W tcsh -f -c "$CSH_FAIL" "$M" 2>&1 ;;
	nu) "$NU" -n -c "$NU_FAIL" 2>&1 ;;
	*) W=$W "$1" -c "$SH_FAIL" "$1" "$M" 2>&1 ;;
	esac
}

for phase in pre-activate post-activate; do
	cp "$W/fail" "$M/hooks/$phase.d/15-fail"
	for sh in bash zsh dash fish tcsh nu; do
		: >"$HOOKLOG"
		out=$(fail_in "$sh") || true
		assert_contains "$out" "blast: $phase hook '$M/hooks/$phase.d/15-fail' failed (exit 3)" \
			"$sh: failing $phase hook reported"
		assert_contains "$out" "blast: env 'proj' not activated" "$sh: $phase failure"
		case $sh in nu | tcsh) ;; *) assert_contains "$out" "rc=1" "$sh: activate's status" ;; esac
		assert_not_contains "$out" "deactivate=defined" "$sh: functions left"
		if ! diff <(sort "$W/env.before") <(sort "$W/env.after") >&2; then
			die "$sh: a failing $phase hook changed the environment"
		fi
		# the hooks before the failing one ran, none after it
		assert_not_contains "$(cat "$HOOKLOG")" "$phase run2" "$sh: hooks after the failure"
	done
	rm "$M/hooks/$phase.d/15-fail"
	note "failing $phase hook: reported, nothing changed"
done

# A failing deactivate hook: reported, the env is left all the same.
cp "$W/fail" "$M/hooks/pre-deactivate.d/15-fail"
out=$(bash -c '. "$1/bin/activate"; deactivate; echo "rc=$? venv=${VIRTUAL_ENV-<unset>}"' bash "$M" 2>&1)
assert_contains "$out" "blast: pre-deactivate hook '$M/hooks/pre-deactivate.d/15-fail' failed (exit 3)" "bash: failing pre-deactivate"
assert_contains "$out" "rc=1 venv=<unset>" "bash: deactivated anyway"
out=$(fish -c 'source $argv[1]/bin/activate.fish; deactivate; set rc $status; echo "rc=$rc venv="(set -q VIRTUAL_ENV; and echo set; or echo "<unset>")' "$M" 2>&1)
assert_contains "$out" "blast: pre-deactivate hook '$M/hooks/pre-deactivate.d/15-fail' failed (exit 3)" "fish: failing pre-deactivate"
assert_contains "$out" "rc=1 venv=<unset>" "fish: deactivated anyway"
out=$("$NU" -n -c "source $(nu_str "$M/bin/activate.nu"); deactivate; print \$\"venv=(\$env.VIRTUAL_ENV? | default '<unset>')\"" 2>&1)
assert_contains "$out" "blast: pre-deactivate hook '$M/hooks/pre-deactivate.d/15-fail' failed (exit 3)" "nu: failing pre-deactivate"
assert_contains "$out" "venv=<unset>" "nu: deactivated anyway"
rm "$M/hooks/pre-deactivate.d/15-fail"

# Snapshots carry the hooks like any other file.
ctl_expect 0 save proj withhooks
rm -r "$M/hooks"
ctl_expect 0 load proj withhooks
[ -x "$M/hooks/pre-activate.d/10-run" ] || die "hooks not back after load"
exit 0
