#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# undo on a mounted env: after a pip install, and after a pip uninstall,
# `blastctl undo` restores exactly the tree before it (from the daemon's
# automatic snapshot taken before the first change of each).
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
pip_env_start

piplist() { "$PY" -m pip list --format=freeze 2>/dev/null; }
# quiet: the daemon's next change takes an automatic snapshot (its status
# says how long the env has been quiet, and how long counts)
quiet() {
	bctl status --json | "$BLAST_TEST_PYTHON" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["quiet_ms"] < d["auto_quiet_ms"])'
}
# manifest: the mounted tree, without directory mtimes of the root (the
# mountpoint) and atime-free as tree_manifest is.
manifest() { tree_manifest "$M"; }

note "set A, save s1"
pip install --no-index --find-links "$WHEELS" blast-alpha blast-gamma
want 0 save s1
bctl watch >"$W/watch.out" 2>"$W/watch.err" &
WPID=$!
on_exit kill_pid "$WPID"
wait_line "$W/watch.err" "watching env 'proj' (Ctrl-C stops)"
note "undo a pip install, then a pip uninstall (watch hears both undos)"
before=$(manifest)
wait_until 60 "the daemon's quiet period before an automatic snapshot" quiet
pip install --no-index --find-links "$WHEELS" blast-pth
assert_contains "$(piplist)" "blast-pth" "installed"
wait_line "$W/watch.out" "installed blast-pth 1.0"
want 0 undo
assert_eq "$before" "$(manifest)" "undo after pip install"
wait_line "$W/watch.out" "removed blast-pth 1.0"
wait_until 60 "the daemon's quiet period before an automatic snapshot" quiet
pip uninstall -y blast-gamma
wait_line "$W/watch.out" "removed blast-gamma 0.3"
want 0 undo
assert_eq "$before" "$(manifest)" "undo after pip uninstall"
wait_line "$W/watch.out" "installed blast-gamma 0.3"

want 0 kill
want 0 check --store --deep
echo "PASS: $TEST_NAME"
