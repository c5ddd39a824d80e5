#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# undo on a mounted env: after a pip install, and after a pip uninstall,
# `blastctl undo` restores exactly the tree before it (from the daemon's
# automatic snapshot taken before the first change of each).
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
pip_env_start

piplist() { "$PY" -m pip list --format=freeze 2>/dev/null; }
# manifest: the mounted tree, without directory mtimes of the root (the
# mountpoint) and atime-free as tree_manifest is.
manifest() { tree_manifest "$M"; }

note "set A, save s1"
pip install --no-index --find-links "$WHEELS" blast-alpha blast-gamma
want 0 save s1
note "undo a pip install, then a pip uninstall"
before=$(manifest)
sleep 2.2 # the daemon's quiet period before an automatic snapshot
pip install --no-index --find-links "$WHEELS" blast-pth
assert_contains "$(piplist)" "blast-pth" "installed"
want 0 undo
assert_eq "$before" "$(manifest)" "undo after pip install"
sleep 2.2
pip uninstall -y blast-gamma
want 0 undo
assert_eq "$before" "$(manifest)" "undo after pip uninstall"

want 0 kill
want 0 check --store --deep
echo "PASS: $TEST_NAME"
