#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run, no way out: CMD has no capabilities (CapInh/Prm/Eff/Bnd/
# Amb 0), no_new_privs and a seccomp filter (old code: CapEff
# 000001fffeffffff, no filter); unshare -U/-m/-n and ptrace of blastctl
# are refused.
set -euo pipefail
. "$(dirname "$0")/run-lib.sh"
require_cmd unshare
run_setup
note "no capabilities, no_new_privs, seccomp"
run_expect 0 run -- grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status
for f in CapInh CapPrm CapEff CapBnd CapAmb; do
	assert_contains "$OUT" "$f:	0000000000000000"
done
assert_contains "$OUT" "NoNewPrivs:	1"
assert_contains "$OUT" "Seccomp:	2"

note "unshare and new namespaces fail"
run_expect 1 run -- unshare -U true
run_expect 1 run -- unshare -m true
run_expect 1 run -- unshare -n true

note "ptrace of blastctl fails"
run_expect 0 run -- python -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print(libc.ptrace(16, os.getppid(), 0, 0), os.strerror(ctypes.get_errno()))'
assert_eq "-1 Operation not permitted" "$OUT" "PTRACE_ATTACH"
