#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# import then export gives back the same tree: contents, sizes, types,
# modes, symlink targets, empty dirs, a fifo and mtimes to the ns (the
# exported root included); a second export to an existing empty dir too.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup

"$BLAST_TEST_PYTHON" "$(dirname "$0")/ctl-mktree.py" "$W/src"

ctl_expect 0 import env1 "$W/src"
assert_contains "$ERR" "imported 'env1'" "import status"

ctl_expect 0 export env1 "$W/out-new"
assert_contains "$ERR" "exported 'env1'" "export status"
assert_eq "" "$OUT" "export stdout"
assert_same_tree "$W/src" "$W/out-new"

mkdir "$W/out-empty"
ctl_expect 0 export env1 "$W/out-empty"
assert_same_tree "$W/src" "$W/out-empty"

# The store itself is consistent after all that.
ctl_expect 0 check --store --deep
exit 0
