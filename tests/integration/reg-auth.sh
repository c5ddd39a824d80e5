#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A registry with htpasswd (basic) auth: without credentials, or with
# wrong ones, push, pull and login fail clearly; `login` checks and
# records them (0600, docker's format) and push and pull use them, as
# they use credentials docker wrote into ~/.docker/config.json.
set -euo pipefail
. "$(dirname "$0")/reg-lib.sh"
reg_setup
reg_start alice s3cret
mkdir -p "$HOME"

reg_tree "$W/src" alpha
ctl_expect 0 import e1 "$W/src"

ctl_run bctl push e1 "$REG/team/e1:v1"
assert_eq "$RC" 1 "push without credentials exit"
assert_one_error "cannot push 'e1' to '$REG/team/e1:v1': registry '$REG' refused access without credentials (blastctl login HOST)"

ctl_run bctl login "$REG" -u alice <<<"wrong"
assert_eq "$RC" 1 "login with a wrong password exit"
assert_one_error "cannot log in to '$REG': registry '$REG' refused the credentials"
[ ! -e "$HOME/.docker/config.json" ] || die "wrong credentials were recorded"

ctl_run bctl login "$REG" -u alice <<<"s3cret"
assert_eq "$RC" 0 "login: $ERR"
assert_eq "$(stat -c %a "$HOME/.docker/config.json")" 600 "credential file mode"
assert_eq "$("$BLAST_TEST_PYTHON" -c 'import base64,json,sys; print(base64.b64decode(json.load(open(sys.argv[1]))["auths"][sys.argv[2]]["auth"]).decode())' "$HOME/.docker/config.json" "$REG")" "alice:s3cret" "recorded as docker does"

ctl_expect 0 push e1 "$REG/team/e1:v1"
ctl_run bh2 pull "$REG/team/e1:v1"
assert_eq "$RC" 0 "pull with credentials: $ERR"

# credentials written by docker (or by hand), with a wrong password
mkdir -p "$W/dc"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG" "$(printf 'alice:nope' | base64)" >"$W/dc/config.json"
DOCKER_CONFIG=$W/dc ctl_run bh2 pull "$REG/team/e1:v1" e2
assert_eq "$RC" 1 "pull with wrong credentials exit"
assert_one_error "cannot pull '$REG/team/e1:v1': registry '$REG' refused the credentials"
printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REG" "$(printf 'alice:s3cret' | base64)" >"$W/dc/config.json"
DOCKER_CONFIG=$W/dc ctl_run bh2 pull "$REG/team/e1:v1" e2
assert_eq "$RC" 0 "pull with docker's credentials: $ERR"
bh2 export e2 "$W/out" 2>/dev/null
assert_same_tree "$W/src" "$W/out"
