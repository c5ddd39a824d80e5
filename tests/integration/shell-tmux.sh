#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interactive bash, zsh and fish in tmux, as a person would use them:
# after `eval "$(blastctl shell-init SHELL)"` and `blast start proj` the
# visible prompt shows '(blast:proj) ', and after `blast kill` it does not
# (and the env is unmounted). Waits poll the pane with a deadline.
set -euo pipefail
. "$(dirname "$0")/shell-lib.sh"
require_cmd tmux
shell_setup
ctl_expect 0 kill proj
SOCK=$W/tmux.sock
tmux_stop() { tmux -S "$1" kill-server 2>/dev/null || true; }
on_exit tmux_stop "$SOCK"

# last_line: the pane's last non-empty line.
last_line() {
	tmux -S "$SOCK" capture-pane -p -t blast | sed '/^[[:space:]]*$/d' | tail -n 1
}

# wait_last PATTERN WHAT: poll until the last line matches PATTERN (grep -E).
wait_last() {
	wait_until 60 "$2" last_line_matches "$1"
}
# shellcheck disable=SC2317,SC2034 # run by wait_until, which reads WAIT_WHY
last_line_matches() {
	last_line | grep -qE -- "$1" && return 0
	WAIT_WHY="pane shows: $(tmux -S "$SOCK" capture-pane -p -t blast | sed '/^[[:space:]]*$/d' | tail -n 8)"
	return 1
}

type_line() {
	tmux -S "$SOCK" send-keys -t blast -l -- "$1"
	tmux -S "$SOCK" send-keys -t blast Enter
}

run_shell() { # NAME INIT_LINE PROMPT_SETUP CMD...
	local name=$1 init=$2 setup=$3
	shift 3
	tmux -S "$SOCK" -f /dev/null new-session -d -s blast -x 160 -y 40 -c "$P" \
		env PATH="$(dirname "$BLASTCTL"):$PATH" BLAST_HOME="$H" TERM=xterm "$@"
	type_line "$setup"
	wait_last '^x>$' "$name: plain prompt"
	type_line "$init"
	type_line "blast start proj"
	wait_last '^\(blast:proj\) x>$' "$name: prompt after blast start"
	is_mounted "$M" || die "$name: not mounted after blast start"
	type_line "blast kill"
	wait_last '^x>$' "$name: prompt after blast kill"
	assert_not_contains "$(last_line)" "(blast:" "$name: prompt after blast kill"
	wait_for_unmount "$M" 30
	tmux -S "$SOCK" kill-session -t blast
	note "$name: ok"
}

run_shell bash 'eval "$(blastctl shell-init bash)"' "PS1='x> '" bash --norc --noprofile -i
run_shell zsh 'eval "$(blastctl shell-init zsh)"' "PS1='x> '" zsh -f -i
run_shell fish 'blastctl shell-init fish | source' "function fish_prompt; printf 'x> '; end; function fish_greeting; end" fish --no-config -i
exit 0
