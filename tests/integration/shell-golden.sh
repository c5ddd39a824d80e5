#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every generated script matches its golden file in tests/golden/shell/:
# bin/activate, activate.fish, activate.ps1, activate.nu, activate.csh,
# activate.json
# of an env with variables that need quoting, and the output of
# `blastctl shell-init` for each shell. The workdir is replaced by
# @WORK@. Regenerate after an intended change with
#     BLAST_GOLDEN_UPDATE=1 tests/integration/shell-golden.sh
# and review the diff.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_fuse
require_python
require_blast
ctl_setup
GOLDEN=$BLAST_REPO/tests/golden/shell
P=$W/proj
M=$P/.blast
mkdir -p "$P"
bctl create proj --python "$BLAST_TEST_PYTHON" 2>/dev/null
bctl vars proj set "QUOTED=it's \"both\" \\ \$x" "EMPTY=" "NL=a
b" 2>/dev/null
on_exit cleanup_mount "$M"
ctl_run bctl start --dir "$P" proj
[ "$RC" -eq 0 ] || die "start: $ERR"
ctl_expect 0 list --json
pid=$(json_get "next(str(e['pid']) for e in j['envs'] if e['name'] == 'proj')")
on_exit kill_pid "$pid"

failed=0
golden() { # NAME FILE
	local got
	got=$(sed -e "s|$W|@WORK@|g" "$2")
	if [ "${BLAST_GOLDEN_UPDATE:-0}" == 1 ]; then
		mkdir -p "$GOLDEN"
		printf '%s\n' "$got" >"$GOLDEN/$1"
		note "updated $1"
		return 0
	fi
	[ -f "$GOLDEN/$1" ] || die "missing golden file $GOLDEN/$1 (BLAST_GOLDEN_UPDATE=1 creates it)"
	diff -u --label "$1 (golden)" --label "$1 (now)" "$GOLDEN/$1" <(printf '%s\n' "$got") >&2 || failed=1
}

for f in activate activate.fish activate.ps1 activate.nu activate.csh activate.json; do
	golden "$f" "$M/bin/$f"
done
for sh in bash zsh fish pwsh nu tcsh; do
	bctl shell-init "$sh" >"$W/init"
	golden "init-$sh" "$W/init"
done
[ "$failed" == 0 ] || die "generated scripts differ from tests/golden/shell (BLAST_GOLDEN_UPDATE=1 to accept)"
exit 0
