#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check --files holds every installed file against its RECORD (sha256 and
# size): clean after pip install; a changed file, a removed one and a new
# one in a package directory are each reported (modified, missing,
# unlisted), the same mounted and unmounted (read from the store).
set -euo pipefail
. "$(dirname "$0")/pkg-lib.sh"
pkg_files_setup

echo "# changed" >>"$SITE/blast_alpha/__init__.py"
rm "$SITE/blast_beta/new.py"
echo "x = 1" >"$SITE/blast_beta/stray.py"
printf 'same size\n' >"$W/x" && truncate -s "$(stat -c %s "$SITE/blast_delta/__init__.py")" "$W/x"
cp "$W/x" "$SITE/blast_delta/__init__.py"
want="files: missing lib/${SITE#*/lib/}/blast_beta/new.py (blast-beta 2.1)
files: modified lib/${SITE#*/lib/}/blast_alpha/__init__.py (blast-alpha 1.0)
files: modified lib/${SITE#*/lib/}/blast_delta/__init__.py (blast-delta 1.0)
files: unlisted lib/${SITE#*/lib/}/blast_beta/stray.py"
ctl_expect 1 check --files
assert_eq "$(printf '%s\n' "$OUT" | sort)" "$(printf '%s\n' "$want" | sort)" "mounted"

cd "$W"
ctl_expect 0 kill proj
ctl_expect 1 check proj --files
assert_eq "$(printf '%s\n' "$OUT" | sort)" "$(printf '%s\n' "$want" | sort)" "unmounted"
bctl --json check proj --files >"$W/files.json" || true
"$BLAST_TEST_PYTHON" - "$W/files.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
f = j["files"]
assert not f["ok"] and len(f["problems"]) == 4 and f["files"] > 10, f
PY
exit 0
