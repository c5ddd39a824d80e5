#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `blastctl status` asks a mounted env's daemon for its live metrics:
# --json prints the daemon's object (ok, env, mount, pid, request counts,
# bytes read and written...), the human form prints the same keys one a
# line; NAME defaults to the env mounted at ./.blast. An env that is not
# mounted is an error.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_fuse
require_python
require_blast
ctl_setup
P=$W/proj
mkdir "$P"

on_exit cleanup_mount "$P/.blast"
ctl_expect 0 start st --dir "$P" --python "$BLAST_TEST_PYTHON"
ctl_expect 0 list --json
PID=$(json_get 'next(e["pid"] for e in j["envs"] if e["name"] == "st")')
on_exit kill_pid "$PID"
[ "$PID" -gt 0 ] || die "no daemon pid: $PID"
cat "$P/.blast/pyvenv.cfg" >/dev/null
echo hello >"$P/.blast/hello.txt"

ctl_expect 0 status st --json
assert_eq "True st $P/.blast $PID" \
	"$(json_get '" ".join(str(j[k]) for k in ("ok", "env", "mount", "pid"))')" \
	"status --json: ok env mount pid"
assert_eq "True" "$(json_get 'isinstance(j["requests"], dict) and j["requests"]["lookup"] > 0')" \
	"status --json: lookups counted"
assert_eq "True" "$(json_get 'j["bytes_written"] >= 6 and j["bytes_read"] > 0')" \
	"status --json: bytes read and written"
ctl_expect 0 --json status st
assert_eq "$PID" "$(json_get 'j["pid"]')" "--json before the command"

# The human form, by default for ./.blast.
(cd "$P" && bctl status) >"$W/human" 2>&1 || die "status in $P: $(cat "$W/human")"
human=$(cat "$W/human")
assert_contains "$human" "pid: $PID" "human status: pid"
assert_contains "$human" "env: st" "human status: env"
assert_contains "$human" "requests:" "human status: nested object"
assert_contains "$human" "  lookup: " "human status: nested keys indented"
assert_not_contains "$human" "ok:" "human status hides ok"

# Not mounted: one error, exit 1.
ctl_expect 1 status
assert_one_error "no env is mounted at '$(pwd -P)/.blast'"
ctl_expect 0 kill st
ctl_expect 1 status st
assert_one_error "env 'st' is not mounted"
ctl_expect 1 status st --json
assert_one_error "env 'st' is not mounted"
assert_eq "" "$OUT" "no JSON when not mounted"
ctl_expect 2 status .bad
assert_usage_error
exit 0
