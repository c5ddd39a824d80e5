#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl's help texts, usage errors and --json outputs match the golden
# files in tests/golden/ctl/. Values that depend on the machine, the clock
# or the compressor (paths, timings, stored bytes) are replaced by @...@
# before comparing. Regenerate after an intended change with
#     BLAST_GOLDEN_UPDATE=1 tests/integration/ctl-golden.sh
# and review the diff.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup
GOLDEN=$BLAST_REPO/tests/golden/ctl

# normalize: stdin JSON or text -> stable text (sed on $H and $W, then
# @VARIES@ for volatile JSON keys).
normalize() {
	sed -e "s|$H|@HOME@|g" -e "s|$W|@WORK@|g" | "$BLAST_TEST_PYTHON" -c '
import json, sys
text = sys.stdin.read()
VOLATILE = {"seconds", "mb_per_s", "stored_added", "stored_bytes",
            "blob_bytes", "map_used_bytes", "disk_bytes", "repacked_bytes",
            "pack_bytes_removed"}
def scrub(v):
    if isinstance(v, dict):
        return {k: "@VARIES@" if k in VOLATILE else scrub(x) for k, x in v.items()}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v
try:
    j = json.loads(text)
except ValueError:
    sys.stdout.write(text)
else:
    print(json.dumps(scrub(j), indent=2))
'
}

failed=0
# golden NAME STREAM ARGS...: compare the normalized STREAM (out|err) of
# blastctl ARGS with $GOLDEN/NAME.
golden() {
	local name=$1 stream=$2 got
	shift 2
	ctl_run "$BLASTCTL" "$@"
	if [ "$stream" == out ]; then got=$OUT; else got=$ERR; fi
	got=$(printf '%s\n' "$got" | normalize)
	if [ "${BLAST_GOLDEN_UPDATE:-0}" == 1 ]; then
		mkdir -p "$GOLDEN"
		printf '%s\n' "$got" >"$GOLDEN/$name"
		note "updated $name"
		return 0
	fi
	[ -f "$GOLDEN/$name" ] || die "missing golden file $GOLDEN/$name (BLAST_GOLDEN_UPDATE=1 creates it)"
	if ! diff -u --label "$name (golden)" --label "$name (now)" \
		"$GOLDEN/$name" <(printf '%s\n' "$got") >&2; then
		failed=1
	fi
}

golden help.txt out help
golden help-import.txt out import --help
golden help-check.txt out help check
golden help-vars.txt out vars --help
golden help-shell-init.txt out shell-init --help
golden usage-unknown-command.txt err --home "$H" frobnicate
golden usage-bad-name.txt err --home "$H" import .bad "$W"
golden list-empty.json out --home "$H" list --json
golden gc-empty.json out --home "$H" gc --json
golden check-empty.json out --home "$H" check --store --json

"$BLAST_TEST_PYTHON" "$(dirname "$0")/ctl-mktree.py" "$W/plain" --plain
"$BLAST_TEST_PYTHON" "$(dirname "$0")/ctl-mktree.py" "$W/venv"
golden import-plain.json out --home "$H" import plain "$W/plain" --json
golden import-venv.json out --home "$H" import venv "$W/venv" --json --threads 2
golden list-two.json out --home "$H" list --json
golden check-two.json out --home "$H" check --deep --json

[ "$failed" -eq 0 ] || die "output differs from tests/golden/ctl (see diff above)"
exit 0
