#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `blastctl check` of an env whose blastfs was killed (its mount is dead:
# ENOTCONN) reports the dead mount and the way out (kill --force, then
# start) and exits 1: run in the project directory, for the env by name,
# and in JSON. After that way out, check passes again.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_mount_setup

mkdir "$W/p"
env_start e "$W/p"
cd "$W/p"
ctl_expect 0 check

kill -KILL "$PID"
kill_pid "$PID"
is_mounted "$W/p/.blast" || die "the killed daemon's mount is gone"

ctl_expect 1 check
assert_contains "$OUT" "mount: '$W/p/.blast' is a dead mount" "check in the project"
assert_contains "$OUT" "blastctl kill --force e', then 'blastctl start'" "the way out"
assert_contains "$ERR" "mount: 1 problem found"
cd "$W"
ctl_expect 1 check e
assert_contains "$OUT" "is a dead mount" "check by name"
ctl_expect 1 check e --json
assert_eq False "$(json_get 'j["ok"] or j["mount"]["ok"]')" "JSON ok"
assert_contains "$(json_get 'j["mount"]["problems"][0]')" "is a dead mount" "JSON problem"

ctl_expect 0 kill --force e
is_mounted "$W/p/.blast" && die "kill --force left the dead mount"
env_start e "$W/p"
ctl_expect 0 check e
ctl_expect 0 kill e
exit 0
