#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# export refuses, with exit 1 and one line naming the reason, a target that
# is not empty or not a directory and a ref that does not exist; the
# target is left untouched.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup

mkdir -p "$W/src/d"
echo content >"$W/src/d/f"
bctl import env1 "$W/src" 2>/dev/null

mkdir "$W/full"
echo keep >"$W/full/mine"
ctl_expect 1 export env1 "$W/full"
assert_one_error "cannot export to '$W/full': directory not empty"
assert_eq "mine" "$(ls -A "$W/full")" "non-empty target after refusal"
assert_eq "keep" "$(cat "$W/full/mine")" "file in the target"

echo x >"$W/file"
ctl_expect 1 export env1 "$W/file"
assert_one_error "cannot export to '$W/file': Not a directory"

ctl_expect 1 export nosuch "$W/out1"
assert_one_error "no env named 'nosuch'"
[ ! -e "$W/out1" ] || die "export of a missing env created its target"

ctl_expect 1 export nosuch@snap "$W/out2"
assert_one_error "no env named 'nosuch'"

ctl_expect 1 export env1@nosnap "$W/out3"
assert_one_error "env 'env1' has no snapshot 'nosnap'"
[ ! -e "$W/out3" ] || die "export of a missing snapshot created its target"
exit 0
