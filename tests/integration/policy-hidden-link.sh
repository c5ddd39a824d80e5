#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fs.hidden on a file reaches every name of its inode: a hard link made
# before the policy is not readable once `policy set` returns, not after
# a listing either (readdirplus hands the kernel entries: they pass the
# lookup's check; the name itself is listed, as readdir lists it), and
# the refused open is audited with the reader's pid. Both open modes
# (policy-lib.sh).
set -euo pipefail
. "$(dirname "$0")/policy-lib.sh"

route() {
	local mode=$1
	mkdir -p "$SRC/sp"
	echo 'the secret' >"$SRC/sp/secret_a.txt"
	echo 'public' >"$SRC/sp/public.txt"
	pol_mount "$mode" "link-$mode" "$SRC"

	ln "$M/sp/secret_a.txt" "$M/prelink"
	assert_eq 'the secret' "$(cat "$M/prelink")" "the link before the policy"
	bpol set fs.hidden sp/secret_a.txt

	ls -la "$M" >/dev/null 2>&1 || true # readdirplus: entries, attributes
	if out=$(cat "$M/prelink" 2>&1); then
		die "$mode: read a hidden file through a hard link: $out"
	fi
	assert_not_contains "$out" "secret" "$mode: cat of the link"
	[ ! -e "$M/prelink" ] || die "$mode: a hidden inode's other name exists"
	[ ! -e "$M/sp/secret_a.txt" ] || die "$mode: hidden file exists"
	assert_eq public "$(cat "$M/sp/public.txt")" "$mode: a file beside it"

	# a reader that forks no more: its pid is in the audit
	"$BLAST_TEST_PYTHON" - "$M/prelink" >"$W/reader.pid" <<'PY'
import os, sys
print(os.getpid(), flush=True)
try:
    open(sys.argv[1]).read()
    sys.exit("read")
except OSError:
    pass
PY
	rpid=$(cat "$W/reader.pid")
	pol_audit_json
	assert_eq True "$(pol_json "any(d['pid'] == $rpid and d['rule'] == 'fs.hidden' for d in j['denials'])")" \
		"$mode: the refused read audited with pid $rpid"

	bpol unset fs.hidden
	assert_eq 'the secret' "$(cat "$M/prelink")" "$mode: unhidden, the link reads again"
	pol_umount
}
pol_both_modes route
