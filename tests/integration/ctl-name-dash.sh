#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An env or snapshot name never starts with '-' (blastfs, exec'd with it,
# would read it as an option): `create -- --allow-other` is refused
# (exit 2, saying what a valid name is) and nothing is created; a project
# directory named '-proj' gives the env name 'proj', which starts, mounts
# and is listed.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_mount_setup
PY=$BLAST_TEST_PYTHON

names() {
	bctl list --json | "$PY" -c 'import json, sys
print(sorted(e["name"] for e in json.load(sys.stdin)["envs"]))'
}
assert_eq "[]" "$(names)" "envs at first"

for name in --allow-other -x -; do
	ctl_expect 2 create --python "$PY" -- "$name"
	assert_usage_error
	assert_contains "$ERR" "invalid env name '$name'"
	assert_contains "$ERR" "not starting with '.' or '-'"
done
assert_eq "[]" "$(names)" "envs after refused creates"

mkdir "$W/-proj"
on_exit cleanup_mount "$W/-proj/.blast"
ctl_expect 0 start --dir "$W/-proj" --python "$PY"
assert_eq "['proj']" "$(names)" "env derived from '-proj'"
PID=$(env_pid proj)
[ -n "$PID" ] || die "env 'proj' has no daemon"
on_exit kill_pid "$PID"
is_mounted "$W/-proj/.blast" || die "'$W/-proj/.blast' is not mounted"
ctl_expect 2 save proj -- -snap
assert_contains "$ERR" "invalid snapshot name '-snap'"
ctl_expect 0 kill proj
exit 0
