#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run says why CMD ended when a limit ended it: an allocation
# past --memory 50M is killed (exit 137) and run says "out of memory"
# with the limit; forks refused by --pids are counted with the limit. A
# run within its limits says neither. (Before: a bare exit 137.)
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"
require_fuse
require_python
require_blast
require_root
ctl_setup
P=$W/proj
mkdir "$P"
env_start proj "$P"
cd "$P"

ctl_expect 137 run --memory 50M -- python -c 'a = bytearray(300 << 20); print(len(a))'
assert_contains "$ERR" "run: killed: out of memory (limit 50.0 MiB)"

# sh gives up at the first fork refused (its exit status is its own)
ctl_run bctl run --pids 8 -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait'
assert_contains "$ERR" "the pids limit (8) refused"

ctl_expect 0 run --memory 200M --pids 64 -- python -c 'a = bytearray(10 << 20)'
assert_not_contains "$ERR" "out of memory"
assert_not_contains "$ERR" "pids limit"
