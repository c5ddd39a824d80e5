#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Env names: anything but 1-64 of [A-Za-z0-9._-] not starting with '.' or '-' is
# refused (exit 2) with a message that says what a valid name is, and the
# store is left exactly as it was; a taken name is refused too (exit 1).
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup

mkdir -p "$W/src/sub"
echo hello >"$W/src/sub/file"
bctl init >/dev/null
bctl import taken "$W/src" 2>/dev/null

state() {
	ctl_run bctl list --json
	assert_eq 0 "$RC" "list --json"
	echo "$OUT"
	sha256sum <"$H/data.mdb"
}
before=$(state)

long65=$(printf 'a%.0s' {1..65})
for name in "" ".hidden" "." ".." "a/b" "a b" "a@b" "naïve" "tab	x" "$long65" \
	"-"$'\n'"x" "-dash" "-" "--allow-other"; do
	ctl_expect 2 import -- "$name" "$W/src"
	assert_contains "$ERR" "invalid env name '$name'" "message for [$name]"
	assert_contains "$ERR" "1-64 of A-Z a-z 0-9 . _ -, not starting with '.'" \
		"valid-name hint for [$name]"
	assert_eq "" "$OUT" "stdout for [$name]"
done

ctl_expect 1 import taken "$W/src"
assert_one_error "env 'taken' already exists"

assert_eq "$before" "$(state)" "store after refused imports"

# The edges of the rule are accepted.
long64=$(printf 'b%.0s' {1..64})
for name in "$long64" "a" "A.b_c-9" "d-" "_x"; do
	ctl_expect 0 import -- "$name" "$W/src"
done
ctl_expect 0 list --json
assert_eq "6" "$(json_get 'len(j["envs"])')" "envs after valid imports"
exit 0
