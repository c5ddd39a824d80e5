#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check --files reports what no distribution owns at the top of
# site-packages (what a pip install stopped half way, by the quota say,
# leaves): a package directory and a module no RECORD lists, a .pth file
# no RECORD lists, and pip's '~name' stash (as such); what pip leaves
# legitimately (dist-info, __pycache__, RECORD-listed .pth files) is not
# reported. Mounted and unmounted alike.
set -euo pipefail
. "$(dirname "$0")/pkg-lib.sh"
pkg_files_setup

mkdir "$SITE/half_pkg" "$SITE/~last_alpha" "$SITE/__pycache__"
echo "x = 1" >"$SITE/half_pkg/__init__.py"
echo "y = 2" >"$SITE/stray.py"
echo "/tmp" >"$SITE/stray.pth"
echo "" >"$SITE/__pycache__/stray.cpython-311.pyc"
rel=lib/${SITE#*/lib/}
want="files: pip-stash $rel/~last_alpha
files: unowned $rel/half_pkg
files: unowned $rel/stray.pth
files: unowned $rel/stray.py"
ctl_expect 1 check --files
assert_eq "$want" "$(printf '%s\n' "$OUT" | sort)" "mounted"
assert_contains "$ERR" "files: 4 problems found"

cd "$W"
ctl_expect 0 kill proj
ctl_expect 1 check proj --files
assert_eq "$want" "$(printf '%s\n' "$OUT" | sort)" "unmounted"
exit 0
