#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# import --json reports what was read (files, symlinks, bytes) and what was
# stored; importing the same tree again stores no new bytes (every blob is
# deduplicated) and pyvenv.cfg fills the env's python and version.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup

"$BLAST_TEST_PYTHON" "$(dirname "$0")/ctl-mktree.py" "$W/src"
read -r files symlinks bytes < <("$BLAST_TEST_PYTHON" - "$W/src" <<'PY'
import os, stat, sys
f = l = b = 0
for dp, dns, fns in os.walk(sys.argv[1]):
    for n in dns + fns:
        st = os.lstat(os.path.join(dp, n))
        if stat.S_ISREG(st.st_mode):
            f += 1
            b += st.st_size
        elif stat.S_ISLNK(st.st_mode):
            l += 1
print(f, l, b)
PY
)

ctl_expect 0 import --json one "$W/src"
assert_eq "one" "$(json_get 'j["name"]')" "name"
assert_eq "$files" "$(json_get 'j["files"]')" "files"
assert_eq "$symlinks" "$(json_get 'j["symlinks"]')" "symlinks"
assert_eq "$bytes" "$(json_get 'j["bytes"]')" "bytes"
assert_eq "/usr/bin/python3" "$(json_get 'j["python"]')" "python from pyvenv.cfg"
assert_eq "3.11" "$(json_get 'j["python_version"]')" "version from pyvenv.cfg"
assert_eq "True" "$(json_get 'j["stored_added"] > 0')" "stored_added > 0"
assert_eq "True" "$(json_get 'j["deduped"] >= 1')" "the duplicate file deduped"
assert_eq "True" "$(json_get 'all(type(j[k]) is float for k in ("seconds", "mb_per_s"))')" "timing fields"
[ -z "$ERR" ] || die "--json import wrote status to stderr: $ERR"

ctl_expect 0 import --json --threads 1 two "$W/src"
assert_eq "0" "$(json_get 'j["stored_added"]')" "stored_added of an identical tree"
assert_eq "True" "$(json_get 'j["deduped"] >= 5')" "deduped of an identical tree"

# --python overrides pyvenv.cfg; the version comes from its name.
ctl_expect 0 import three "$W/src" --python /opt/py/bin/python3.12 --json
assert_eq "/opt/py/bin/python3.12" "$(json_get 'j["python"]')" "--python"
assert_eq "3.12" "$(json_get 'j["python_version"]')" "version of --python"

# Human mode: one status line on stderr, nothing on stdout.
ctl_expect 0 import four "$W/src"
assert_eq "" "$OUT" "stdout of human import"
assert_contains "$ERR" "imported 'four': $files files" "status line"
assert_contains "$ERR" "MB/s" "status line"
exit 0
