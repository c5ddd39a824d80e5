#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A burst of denials cannot blind the audit: past the daemon's buffer
# the oldest records go, so the denial right after the burst is in
# `blastctl audit`, which says how many records were dropped and when
# (table and --json). Both open modes (policy-lib.sh).
set -euo pipefail
. "$(dirname "$0")/policy-lib.sh"

route() {
	local mode=$1 lpid out
	echo 'x' >"$SRC/hidden.txt"
	echo 'y' >"$SRC/last.txt"
	pol_mount "$mode" "burst-$mode" "$SRC"
	bpol set fs.hidden hidden.txt last.txt

	# 5000 refused lookups, far more than one flush interval buffers
	"$BLAST_TEST_PYTHON" - "$M/hidden.txt" <<'PY'
import os, sys
for _ in range(5000):
    try:
        os.stat(sys.argv[1])
        sys.exit("a hidden file stat'ed")
    except FileNotFoundError:
        pass
PY
	"$BLAST_TEST_PYTHON" -c 'import os, sys
print(os.getpid(), flush=True)
assert not os.path.exists(sys.argv[1])' "$M/last.txt" >"$W/last.pid"
	lpid=$(cat "$W/last.pid")
	pol_audit_json
	assert_eq True "$(pol_json "any(d['pid'] == $lpid and d['path'] == 'last.txt' for d in j['denials'])")" \
		"$mode: the denial after the burst is recorded"
	assert_eq True "$(pol_json "j['dropped']['count'] > 0")" \
		"$mode: dropped records counted: $(pol_json "j['dropped']")"
	assert_eq True "$(pol_json "j['dropped']['first'] <= j['dropped']['last']")" "$mode: when"
	out=$(bctl audit "$POL_ENV")
	assert_contains "$out" "denials not recorded" "$mode: the table says records were dropped"
	pol_umount
}
pol_both_modes route
