#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fs.quota on a mounted env: df shows the quota as the filesystem's size;
# a write past it fails with EDQUOT and freeing space lets writes in
# again; pip install of a wheel larger than what is left fails with a
# disk quota error, and loading the snapshot taken before returns the env to exactly where it was.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_cmd df
pip_env_start

note "df shows the quota"
want 0 policy set fs.quota 1G
assert_eq 1073741824 "$(df -B1 --output=size "$M" | tail -n1 | tr -d ' ')" "df size"
used=$(df -B1 --output=used "$M" | tail -n1 | tr -d ' ')
[ "$used" -gt 1000000 ] || die "df used $used: the env (pip) is larger"
quota=$((used + 512 * 1024))
want 0 policy set fs.quota "$quota"
size=$(df -B1 --output=size "$M" | tail -n1 | tr -d ' ')
bs=$(stat -f -c %S "$M")
assert_eq $((quota / bs * bs)) "$size" "df size after a new quota"

note "pip install of a wheel larger than what is left fails, load restores"
want 0 save before-pip
before=$(tree_manifest "$M")
pips=$("$PY" -m pip list --format=freeze 2>/dev/null)
rc=0
"$PY" -m pip install --no-index --find-links "$WHEELS" blast-many >"$W/pip.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || die "pip install past the quota succeeded"
assert_contains "$(cat "$W/pip.out")" "Disk quota exceeded"
want 0 load before-pip
assert_eq "$before" "$(tree_manifest "$M")" "tree after load"
assert_eq "$pips" "$("$PY" -m pip list --format=freeze 2>/dev/null)" "pip list after load"
used2=$(df -B1 --output=used "$M" | tail -n1 | tr -d ' ')
assert_eq "$used" "$used2" "df used after load"
note "writes past the quota: EDQUOT; freeing space lets them in again"
"$PY" - "$M" <<'PY'
import errno, os, sys
p = os.path.join(sys.argv[1], "fill.bin")
with open(p, "wb") as f:
    f.write(b"x" * (256 << 10))
try:
    with open(p, "ab") as f:
        f.write(b"y" * (512 << 10))
    raise AssertionError("write past the quota allowed")
except OSError as e:
    assert e.errno == errno.EDQUOT, e
os.unlink(p)
with open(p, "wb") as f:  # the space is back
    f.write(b"z" * (400 << 10))
os.unlink(p)
PY

want 0 --json audit
assert_eq True "$(json_get 'any(d["rule"] == "fs.quota" for d in j["denials"])')" "quota denial audited"
