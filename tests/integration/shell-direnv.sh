#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# direnv: with shell/direnv/blast.sh in direnv's lib directory, a
# project's `.envrc` saying `use blast` mounts the project's env on
# entering (direnv export, direnv exec, the bash hook) and activates it:
# VIRTUAL_ENV, PATH, the env's variables; leaving the directory restores
# the shell's variables. A failing start shows blastctl's error and
# activates nothing.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_fuse
require_python
require_blast
require_cmd direnv
ctl_setup
export BLAST_HOME=$H
mkdir -p "$HOME/.config/direnv/lib" "$W/bin"
ln -s "$BLAST_REPO/shell/direnv/blast.sh" "$HOME/.config/direnv/lib/blast.sh"
ln -s "$BLASTCTL" "$W/bin/blastctl"
export PATH=$W/bin:$PATH
unset VIRTUAL_ENV DIRENV_DIR DIRENV_FILE DIRENV_DIFF DIRENV_WATCHES

P=$W/proj
M=$P/.blast
mkdir -p "$P"
on_exit cleanup_mount "$M"
ctl_expect 0 create proj --python "$BLAST_TEST_PYTHON"
ctl_expect 0 vars proj set GREETING=hello
echo 'use blast' >"$P/.envrc"
direnv allow "$P"

# direnv exec: the command runs in the activated env
out=$(direnv exec "$P" sh -c 'echo "venv=$VIRTUAL_ENV greeting=$GREETING path=${PATH%%:*}"; command -v python' 2>"$W/err") ||
	die "direnv exec: $out $(cat "$W/err")"
is_mounted "$M" || die "use blast did not mount $M: $(cat "$W/err")"
ctl_expect 0 list --json
pid=$(json_get "next(str(e['pid']) for e in j['envs'] if e['name'] == 'proj')")
on_exit kill_pid "$pid"
assert_contains "$out" "venv=$M greeting=hello path=$M/bin" "direnv exec"
assert_contains "$out" "$M/bin/python" "python in direnv exec"

# the bash hook: entering activates (the mount is attached to), leaving
# restores
out=$(cd "$W" && PATH0=$PATH bash --norc --noprofile -c '
eval "$(direnv hook bash)"
cd "$1" && _direnv_hook 2>/dev/null
echo "in: venv=$VIRTUAL_ENV greeting=$GREETING path=${PATH%%:*}"
python -c "import sys; print(\"prefix=\" + sys.prefix)"
cd .. && _direnv_hook 2>/dev/null
echo "out: venv=${VIRTUAL_ENV-<unset>} greeting=${GREETING-<unset>} samepath=$([ "$PATH" = "$PATH0" ] && echo yes)"
' _ "$P" 2>"$W/err") || die "bash hook: $out $(cat "$W/err")"
assert_contains "$out" "in: venv=$M greeting=hello path=$M/bin" "entering the project"
assert_contains "$out" "prefix=$M" "the env's python"
assert_contains "$out" "out: venv=<unset> greeting=<unset> samepath=yes" "leaving the project"
ctl_expect 0 list --json
assert_eq "$pid" "$(json_get "next(str(e['pid']) for e in j['envs'] if e['name'] == 'proj')")" "one daemon"

# a start that fails activates nothing
mkdir -p "$W/bad"
echo 'use blast no/such' >"$W/bad/.envrc"
direnv allow "$W/bad"
out=$(direnv exec "$W/bad" sh -c 'echo "venv=${VIRTUAL_ENV-<unset>}"' 2>&1) || true
assert_contains "$out" "blastctl: invalid env name 'no/such'" "direnv shows blastctl's error"
assert_contains "$out" "venv=<unset>" "a failed start activates nothing"
