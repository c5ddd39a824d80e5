#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A registry demanding bearer tokens (reg-proxy.py in front of
# docker-registry: 401 with a Bearer challenge, tokens from its realm for
# basic credentials): push and pull go through the WWW-Authenticate
# dance with the credentials login recorded; without them, or with wrong
# ones, one clear line.
set -euo pipefail
. "$(dirname "$0")/reg-lib.sh"
reg_setup
reg_start
mkdir -p "$HOME"

"$BLAST_TEST_PYTHON" "$BLAST_REPO/tests/integration/reg-proxy.py" "$W/proxy.port" "$REG" bearer bob:pw &
proxy=$!
on_exit kill_pid "$proxy"
proxy_ready() {
	[ -s "$W/proxy.port" ] && return 0
	alive_or_die "$proxy" "proxy exited"
	return 1
}
wait_until 120 "the proxy's port" proxy_ready
via=127.0.0.1:$(cat "$W/proxy.port")

reg_tree "$W/src" alpha beta
ctl_expect 0 import e1 "$W/src"

ctl_run bctl push e1 "$via/team/e1:v1"
assert_eq 1 "$RC" "push without credentials"
assert_one_error "cannot push 'e1' to '$via/team/e1:v1': registry '$via' refused the credentials (none stored: blastctl login)"

ctl_run bctl login "$via" -u bob <<<"nope"
assert_eq 1 "$RC" "login with a wrong password"
assert_one_error "cannot log in to '$via': registry '$via' refused the credentials"

ctl_run bctl login "$via" -u bob <<<"pw"
assert_eq 0 "$RC" "login: $ERR"
ctl_run bctl --json push e1 "$via/team/e1:v1"
assert_eq 0 "$RC" "push with a token: $ERR"
assert_eq "$(json_field blobs <<<"$OUT")" "$(json_field uploaded <<<"$OUT")" "every blob uploaded"

ctl_run bh2 pull "$via/team/e1:v1"
assert_eq 0 "$RC" "pull with a token: $ERR"
bh2 export e1 "$W/out" 2>/dev/null
assert_same_tree "$W/src" "$W/out"
