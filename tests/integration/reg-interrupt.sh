#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A pull killed halfway (SIGKILL in the middle of a layer download)
# leaves the store as it was and checking clean; a second pull resumes:
# it reuses the layers the first one completed and fetches the rest.
set -euo pipefail
. "$(dirname "$0")/reg-lib.sh"
reg_setup
reg_start

reg_tree "$W/src" alpha beta gamma delta
ctl_expect 0 import e1 "$W/src"
ctl_expect 0 --json push e1 "$REG/team/e1:v1"
bh2 init >/dev/null
before=$(store_summary "$H2")

# the proxy serves the config and two layers, then half of the third
"$BLAST_TEST_PYTHON" "$BLAST_REPO/tests/integration/reg-proxy.py" "$W/proxy.port" "$REG" 3 "$W/stalled" &
proxy=$!
on_exit kill_pid "$proxy"
proxy_ready() {
	[ -s "$W/proxy.port" ] && return 0
	alive_or_die "$proxy" "proxy exited"
	return 1
}
wait_until 120 "the proxy's port" proxy_ready
via=127.0.0.1:$(cat "$W/proxy.port")

bh2 pull "$via/team/e1:v1" e1 >"$W/pull.out" 2>&1 &
pull=$!
on_exit kill_pid "$pull"
stalled() {
	[ -e "$W/stalled" ] && return 0
	alive_or_die "$pull" "pull ended before the stall: $(cat "$W/pull.out")"
	return 1
}
wait_until 240 "the pull to stall at the proxy" stalled
kill -KILL "$pull"
wait "$pull" 2>/dev/null || true

assert_eq "$(store_summary "$H2")" "$before" "store unchanged by the killed pull"
store_clean "$H2"
assert_eq "$(find "$H2/oci-cache" -type f ! -name '*.part' | wc -l)" 2 "completed layers kept"

ctl_run bh2 --json pull "$REG/team/e1:v1" e1
assert_eq "$RC" 0 "rerun: $ERR"
assert_eq "$(json_field cached <<<"$OUT")" 2 "layers reused from the first pull"
fetched=$(json_field fetched <<<"$OUT")
assert_eq "$fetched" 8 "layers the env needs"
bh2 export e1 "$W/out" 2>/dev/null
assert_same_tree "$W/src" "$W/out"
store_clean "$H2"
