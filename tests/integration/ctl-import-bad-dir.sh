#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# import of a missing directory, or of a file instead of a directory, fails
# with exit 1 and one line naming the path and the reason; no env appears.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup

bctl init >/dev/null
echo data >"$W/file"

ctl_expect 1 import e1 "$W/missing"
assert_one_error "cannot import '$W/missing': No such file or directory"

ctl_expect 1 import e2 "$W/file"
assert_one_error "cannot import '$W/file': Not a directory"

ctl_expect 1 import e3 "$W/file/sub"
assert_one_error "cannot import '$W/file/sub': Not a directory"

ctl_expect 0 list --json
assert_eq "[]" "$(json_get 'j["envs"]')" "envs after failed imports"
exit 0
