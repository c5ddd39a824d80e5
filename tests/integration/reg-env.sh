#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An env with pip-installed packages, pushed and pulled into another
# store, is an ordinary env there: same tree and package state, its files
# match their RECORDs, and mounted elsewhere its interpreter imports the
# packages, its pip runs (scripts follow the mount), save and load work.
set -euo pipefail
. "$(dirname "$0")/reg-lib.sh"
. "$(dirname "$0")/pkg-lib.sh"
require_cmd docker-registry curl
pkg_setup
H2=$W/home2
reg_start
WHEELS=$(wheels_dir)
pipq install --no-index --find-links "$WHEELS" blast-gamma
cd "$W"
ctl_expect 0 kill proj

ctl_expect 0 push proj "$REG/team/proj:v1"
ctl_run bh2 pull "$REG/team/proj:v1" copy
assert_eq 0 "$RC" "pull: $ERR"
bctl export proj "$W/a" 2>/dev/null
bh2 export copy "$W/b" 2>/dev/null
assert_same_tree "$W/a" "$W/b"
dists() { "$BLAST_TEST_PYTHON" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["distributions"], sort_keys=True))'; }
assert_eq "$(bctl --json deps proj | dists)" "$(bh2 --json deps copy | dists)" "same package state"
ctl_run bh2 check copy --files
assert_eq 0 "$RC" "pulled files match their RECORDs: $OUT $ERR"

mkdir "$W/elsewhere"
on_exit cleanup_mount "$W/elsewhere/.blast"
ctl_run bh2 start copy --dir "$W/elsewhere"
assert_eq 0 "$RC" "start: $ERR"
pid=$(bh2 --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]=="copy"][0])')
on_exit kill_pid "$pid"
E=$W/elsewhere/.blast
"$E/bin/python" -c 'import blast_gamma' || die "the pulled env cannot import its package"
"$E/bin/pip" --version >/dev/null || die "pip's script does not follow the mount"
ctl_run bh2 save copy s1
assert_eq 0 "$RC" "save: $ERR"
rm -rf -- "$E/lib/python"*/site-packages/blast_gamma
ctl_run bh2 load copy s1
assert_eq 0 "$RC" "load: $ERR"
"$E/bin/python" -c 'import blast_gamma' || die "load did not bring the package back"
ctl_run bh2 kill copy
assert_eq 0 "$RC" "kill: $ERR"
store_clean "$H2"
