#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run, no way out of the limits: echo $$ into any cgroup.procs
# fails (/sys/fs/cgroup read-only, its own cgroup namespace), after which
# a memory hog under --memory 50M is still killed and a fork bomb still
# stops under --pids 20 (old code: moved to the root cgroup, 200 MB
# allocated).
set -euo pipefail
. "$(dirname "$0")/run-lib.sh"
[ -e /sys/fs/cgroup/cgroup.controllers ] ||
	{ [ -w /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/pids ]; } ||
	skip "no writable cgroup v2 or v1 memory/pids here"
run_setup
note "leaving the cgroup fails; the memory hog still dies"
# every place a cgroup.procs could move CMD out of its limits
leave='for f in /sys/fs/cgroup/cgroup.procs /sys/fs/cgroup/*/cgroup.procs /sys/fs/cgroup/*/*/cgroup.procs; do
	echo $$ 2>/dev/null >"$f" && echo "moved to $f"
done'
run_expect 137 run --memory 50M -- sh -c "$leave"'
	exec python -c "b = b\"x\" * (200 << 20); print(\"allocated\")"'
assert_not_contains "$OUT" "moved to"
assert_not_contains "$OUT" "allocated"
note "a fork bomb stays under the pids limit after trying to leave"
run_expect 0 run --pids 20 -- sh -c "$leave"'
	exec python -c "
import os, time
n = 0
for _ in range(200):
    try:
        if os.fork() == 0:
            time.sleep(5); os._exit(0)
        n += 1
    except BlockingIOError:
        break
print(n)"'
assert_not_contains "$OUT" "moved to"
[ "$(tail -n1 <<<"$OUT")" -lt 20 ] || die "--pids 20 let $OUT processes fork"
