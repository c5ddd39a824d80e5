#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A tree 10,000 levels deep (paths far over PATH_MAX) goes through import,
# export, check --store --deep, a second import of the export, destroy
# (freeing the tables) and gc, all on a 1 MiB stack: no walk recurses per
# level. Each export equals its source (deeptree.py compares through dir
# fds).
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup
depth=${DEEP_TREE_LEVELS:-10000}
deeptree() { "$BLAST_TEST_PYTHON" "$BLAST_REPO/tests/integration/deeptree.py" "$@"; }
# small: bctl ARGS on a 1 MiB stack (the default is 8 MiB)
small() { (ulimit -s 1024 && bctl "$@"); }

[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -gt $((depth + 200)) ] ||
	skip "open files hard limit $(ulimit -Hn) is below one per level"
deeptree make "$W/src" "$depth"
small init >/dev/null
small import deep "$W/src" 2>/dev/null || die "import of a $depth-level tree failed"
small export deep "$W/out" 2>/dev/null || die "export of a $depth-level tree failed"
deeptree compare "$W/src" "$W/out" || die "export differs from its source"
small check --store --deep >/dev/null || die "check after import"

small import again "$W/out" 2>/dev/null || die "import of the export failed"
small export again "$W/out2" 2>/dev/null || die "second export failed"
deeptree compare "$W/src" "$W/out2" || die "second export differs"

small destroy deep >/dev/null 2>&1 || die "destroy of a $depth-level env failed"
small destroy again >/dev/null 2>&1 || die "destroy of the second env failed"
small gc >/dev/null 2>&1 || die "gc failed"
small check --store --deep >/dev/null || die "check after destroy and gc"
exit 0
