#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl policy on an unmounted env: set, show (text and --json),
# unset; bad input (unknown keys, malformed sizes, patterns escaping the
# env or not valid globs, wrong value counts) is refused with one clear
# line and leaves the policy unchanged; snapshots and clones carry the
# policy, and load brings the saved one back.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup
mkdir -p "$W/tree/bin"
echo 'home = /usr/bin' >"$W/tree/pyvenv.cfg"
ctl_expect 0 import e "$W/tree" --python "$BLAST_TEST_PYTHON"

ctl_expect 0 policy e show
assert_eq "" "$OUT" "no policy yet"
assert_contains "$ERR" "env 'e' has no policy"
ctl_expect 0 policy e set fs.readonly pyvenv.cfg 'bin/py*' 'lib/**/site-packages/'
ctl_expect 0 policy e set fs.hidden secret
ctl_expect 0 policy e set fs.quota 1.5M
ctl_expect 0 policy e set fs.max-file-size 64K
ctl_expect 0 policy e set res.memory 1G
ctl_expect 0 policy e set res.cpu 0.5
ctl_expect 0 policy e set res.pids 100
ctl_expect 0 policy e set net.mode loopback
ctl_expect 0 policy e show
good=$OUT
assert_contains "$OUT" "fs.readonly       pyvenv.cfg bin/py* lib/**/site-packages"
assert_contains "$OUT" "fs.quota          1572864 (1.5 MiB)"
assert_contains "$OUT" "res.cpu           0.5"
assert_contains "$OUT" "net.mode          loopback"
ctl_expect 0 --json policy e
assert_eq "pyvenv.cfg|bin/py*|lib/**/site-packages 1572864 65536 0.5 100 loopback" \
	"$(json_get '" ".join(["|".join(j["policy"]["fs.readonly"])] + [str(j["policy"][k]) for k in ("fs.quota", "fs.max-file-size", "res.cpu", "res.pids", "net.mode")])')"

note "bad input changes nothing"
bad() {
	local want=$1 msg=$2
	shift 2
	ctl_expect "$want" policy e "$@"
	[ "$want" -eq 2 ] && assert_usage_error
	[ "$want" -eq 1 ] && assert_one_error
	assert_contains "$ERR" "$msg"
	ctl_expect 0 policy e show
	assert_eq "$good" "$OUT" "policy after: $*"
}
bad 2 "unknown policy key 'fs.nope'" set fs.nope 1
bad 2 "unknown action 'frobnicate'" frobnicate
bad 2 "expected a value for fs.quota" set fs.quota
bad 1 "invalid size '12Q' for fs.quota" set fs.quota 12Q
bad 1 "invalid size '-1' for res.memory" set res.memory -- -1
bad 1 "invalid size '0' for fs.max-file-size" set fs.max-file-size 0
bad 1 "fs.quota takes one value" set fs.quota 1M 2M
bad 1 "invalid value 'lots' for res.cpu" set res.cpu lots
bad 1 "invalid value '0' for res.pids" set res.pids 0
bad 1 "invalid value 'bridge' for net.mode" set net.mode bridge
bad 1 "pattern '/etc' is absolute" set fs.hidden /etc
bad 1 "pattern '../x' has an empty, '.' or '..' component" set fs.hidden ../x
bad 1 "pattern 'a/../../b'" set fs.readonly a/../../b
bad 1 "pattern 'a[b' is not a valid glob" set fs.readonly 'a[b'
bad 1 "'**' must be a whole path component" set fs.readonly 'lib/**x'
bad 2 "too many arguments" unset fs.quota extra
ctl_expect 1 policy nosuch show
assert_one_error "no env named 'nosuch'"
ctl_expect 2 policy 'bad/name' show
assert_usage_error

note "snapshots and clones carry the policy"
ctl_expect 0 save e withpolicy
ctl_expect 0 create c --from e@withpolicy
ctl_expect 0 policy c show
assert_eq "$good" "$OUT" "clone's policy"
ctl_expect 0 policy e unset fs.hidden
ctl_expect 0 policy e unset fs.hidden
assert_contains "$ERR" "fs.hidden was not set for env 'e'"
ctl_expect 0 policy e show
assert_not_contains "$OUT" "fs.hidden"
ctl_expect 0 load e withpolicy
ctl_expect 0 policy e show
assert_eq "$good" "$OUT" "policy after load"
