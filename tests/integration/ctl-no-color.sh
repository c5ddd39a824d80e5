#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No ANSI escape reaches piped output: not on stdout ever, not on stderr
# when it is not a terminal or NO_COLOR is set. CLICOLOR_FORCE colours a
# piped stderr (never stdout) unless NO_COLOR is set; on a terminal
# stderr is coloured unless NO_COLOR or CLICOLOR=0.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup
esc=$'\033'

mkdir -p "$W/src"
echo x >"$W/src/f"

no_esc() { # LABEL: neither $OUT nor $ERR holds an ESC byte
	assert_not_contains "$OUT" "$esc" "ESC on stdout ($1)"
	assert_not_contains "$ERR" "$esc" "ESC on stderr ($1)"
}

for env in "" "NO_COLOR=1" "CLICOLOR=0" "NO_COLOR=1 CLICOLOR_FORCE=1"; do
	# shellcheck disable=SC2086 # split on purpose
	ctl_run env $env "$BLASTCTL" --home "$H" import e1 "$W/src"
	no_esc "$env import"
	ctl_run env $env "$BLASTCTL" --home "$H" import e1 "$W/src"
	assert_eq 1 "$RC" "second import of e1"
	no_esc "$env import error"
	ctl_run env $env "$BLASTCTL" --home "$H" list
	no_esc "$env list"
	ctl_run env $env "$BLASTCTL" --home "$H" list --json
	no_esc "$env list --json"
	ctl_run env $env "$BLASTCTL" --bogus
	no_esc "$env usage error"
	ctl_run env $env "$BLASTCTL" help
	no_esc "$env help"
	ctl_run env $env "$BLASTCTL" --home "$H" export e1 "$W/out"
	no_esc "$env export"
	rm -rf "$W/out"
	ctl_run env $env "$BLASTCTL" --home "$H" gc
	no_esc "$env gc"
done

# Forced colour: stderr only.
ctl_run env CLICOLOR_FORCE=1 "$BLASTCTL" --home "$H" export nosuch "$W/out"
assert_contains "$ERR" "$esc" "CLICOLOR_FORCE=1 error"
assert_contains "$ERR" "no env named 'nosuch'" "CLICOLOR_FORCE=1 error text"
ctl_run env CLICOLOR_FORCE=1 "$BLASTCTL" --home "$H" list --json
assert_not_contains "$OUT" "$esc" "ESC on stdout with CLICOLOR_FORCE=1"
ctl_run env CLICOLOR_FORCE=1 "$BLASTCTL" --home "$H" list
assert_not_contains "$OUT" "$esc" "ESC on stdout with CLICOLOR_FORCE=1"

# On a terminal (script(1) gives stderr a pty): coloured unless told not.
if command -v script >/dev/null; then
	tty_err() { # ENV...: stderr of a failing blastctl run on a pty
		env "$@" script -qec "'$BLASTCTL' --home '$H' export nosuch '$W/out'" /dev/null </dev/null || true
	}
	assert_contains "$(tty_err TERM=xterm)" "$esc" "stderr on a terminal"
	assert_not_contains "$(tty_err TERM=xterm NO_COLOR=1)" "$esc" "NO_COLOR on a terminal"
	assert_not_contains "$(tty_err TERM=xterm CLICOLOR=0)" "$esc" "CLICOLOR=0 on a terminal"
	assert_not_contains "$(tty_err TERM=dumb)" "$esc" "TERM=dumb on a terminal"
fi
exit 0
