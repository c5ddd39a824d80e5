#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# undo on a mounted env: after a pip install, and after a pip uninstall,
# `blastctl undo` restores exactly the tree before it (from the daemon's
# automatic snapshot taken before the first change of each).
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_fuse
require_python
require_blast
"$BLAST_TEST_PYTHON" -c 'import ensurepip' 2>/dev/null ||
	skip "$BLAST_TEST_PYTHON lacks ensurepip"
ctl_setup
WHEELS=$(wheels_dir)
P=$W/proj
M=$P/.blast
PY=$M/bin/python
mkdir "$P"
export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1

run() {
	local want=$1
	shift
	ctl_run bctl "$@"
	[ "$RC" -eq "$want" ] || die "blastctl $*: expected exit $want, got $RC: $ERR"
}
pip() { "$PY" -m pip "$@" >/dev/null 2>"$W/pip.err" || die "pip $*: $(cat "$W/pip.err")"; }
piplist() { "$PY" -m pip list --format=freeze 2>/dev/null; }
# manifest: the mounted tree, without directory mtimes of the root (the
# mountpoint) and atime-free as tree_manifest is.
manifest() { tree_manifest "$M"; }

on_exit cleanup_mount "$M"
run 0 start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
PID=$(bctl --json list | python3 -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]=="proj"][0])')
on_exit kill_pid "$PID"
cd "$P"

note "set A, save s1"
pip install --no-index --find-links "$WHEELS" blast-alpha blast-gamma
run 0 save s1
note "undo a pip install, then a pip uninstall"
before=$(manifest)
sleep 2.2 # the daemon's quiet period before an automatic snapshot
pip install --no-index --find-links "$WHEELS" blast-pth
assert_contains "$(piplist)" "blast-pth" "installed"
run 0 undo
assert_eq "$before" "$(manifest)" "undo after pip install"
sleep 2.2
pip uninstall -y blast-gamma
run 0 undo
assert_eq "$before" "$(manifest)" "undo after pip uninstall"

run 0 kill
run 0 check --store --deep
echo "PASS: $TEST_NAME"
