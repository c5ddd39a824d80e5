#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# list --json has the stable shape scripts and benchmarks rely on: an
# "envs" array (empty for an empty store) of objects with name, python,
# python_version, mount, mounted, pid, logical_bytes, stored_bytes, files,
# snapshots, project (its directory, or null) and project_gone, and a
# "store" object of totals; the human table shows the same envs.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_python
ctl_setup

check_shape() {
	"$BLAST_TEST_PYTHON" -c "$SHAPE" <<<"$OUT" || die "list --json shape: $OUT"
}
SHAPE=$(cat <<'PY'
import json, sys
j = json.load(sys.stdin)
assert list(j) == ["envs", "store"], list(j)
assert list(j["store"]) == ["path", "disk_bytes", "compacting", "blobs", "blob_bytes",
                            "stored_bytes", "tables", "map_used_bytes"], \
    list(j["store"])
assert isinstance(j["store"]["path"], str)
for k in list(j["store"])[1:]:
    assert type(j["store"][k]) is int and j["store"][k] >= 0, k
keys = ["name", "python", "python_version", "mount", "mounted", "pid",
        "logical_bytes", "stored_bytes", "files", "snapshots", "project",
        "project_gone"]
for e in j["envs"]:
    assert list(e) == keys, list(e)
    assert isinstance(e["name"], str)
    for k in ("python", "python_version", "mount"):
        assert e[k] is None or isinstance(e[k], str), k
    assert type(e["mounted"]) is bool
    assert (e["pid"] is None) != e["mounted"], (e["pid"], e["mounted"])
    for k in keys[6:10]:
        assert type(e[k]) is int and e[k] >= 0, k
    assert e["project"] is None or isinstance(e["project"], str)
    assert type(e["project_gone"]) is bool
PY
)

# Empty store (created by list itself).
ctl_expect 0 list --json
check_shape
assert_eq "[]" "$(json_get 'j["envs"]')" "envs of an empty store"
assert_eq "$H" "$(json_get 'j["store"]["path"]')" "store path"
ctl_expect 0 --json list
check_shape
ctl_expect 0 list
assert_eq "" "$OUT" "human list of an empty store"

# Two envs: one venv-like (pyvenv.cfg), one plain tree.
"$BLAST_TEST_PYTHON" "$(dirname "$0")/ctl-mktree.py" "$W/venv"
"$BLAST_TEST_PYTHON" "$(dirname "$0")/ctl-mktree.py" "$W/plain" --plain
read -r pfiles pbytes < <("$BLAST_TEST_PYTHON" - "$W/plain" <<'PY'
import os, sys
n = b = 0
for dp, dns, fns in os.walk(sys.argv[1]):
    for f in fns:
        n += 1
        b += os.lstat(os.path.join(dp, f)).st_size
print(n, b)
PY
)
bctl import venv "$W/venv" 2>/dev/null
bctl import plain "$W/plain" 2>/dev/null

ctl_expect 0 list --json
check_shape
assert_eq "['plain', 'venv']" "$(json_get 'sorted(e["name"] for e in j["envs"])')" "env names"
e='next(e for e in j["envs"] if e["name"] == "plain")'
assert_eq "$pfiles" "$(json_get "$e[\"files\"]")" "files of plain"
assert_eq "$pbytes" "$(json_get "$e[\"logical_bytes\"]")" "logical_bytes of plain"
assert_eq "None None None 0" \
	"$(json_get "' '.join(str($e[k]) for k in ('python', 'python_version', 'mount', 'snapshots'))")" \
	"plain's python, version, mount, snapshots"
assert_eq "True" "$(json_get "0 < $e[\"stored_bytes\"] < $e[\"logical_bytes\"]")" "stored_bytes of plain"
v='next(e for e in j["envs"] if e["name"] == "venv")'
assert_eq "/usr/bin/python3 3.11" "$(json_get "$v[\"python\"] + ' ' + $v[\"python_version\"]")" "venv's python"
# Both trees share their big files: the store holds them once.
assert_eq "True" "$(json_get 'j["store"]["stored_bytes"] < sum(e["stored_bytes"] for e in j["envs"])')" \
	"store dedups across envs"
assert_eq "True" "$(json_get 'j["store"]["blobs"] > 0 and j["store"]["tables"] > 0')" "store totals"
# disk_bytes is what du says of the store directory (nothing writes now)
du_bytes=$(du -s --block-size=1 "$H" | cut -f1)
assert_eq "$du_bytes" "$(json_get 'j["store"]["disk_bytes"]')" "disk_bytes is du of the store"

# The human table lists the same envs, a header and a summary line.
ctl_expect 0 list
assert_contains "$(sed -n 1p <<<"$OUT")" "NAME" "table header"
assert_contains "$OUT" "plain " "plain row"
assert_contains "$OUT" "venv " "venv row"
assert_contains "$(tail -n 1 <<<"$OUT")" "2 envs" "summary line"
exit 0
