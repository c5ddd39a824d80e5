#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CPython's own filesystem-heavy test modules (test_os, test_shutil,
# test_tempfile, test_posix, test_pathlib, test_io, test_mmap, test_zipfile,
# test_tarfile, test_zipimport, ...) run by the real
# /usr/bin/python3 with TMPDIR (their work dirs) on a blastfs mount; every
# test case that passes with TMPDIR on the native filesystem must pass on
# the mount too (a differential against the same machine, so environment
# quirks cancel out; the native run is only needed, and only made, when
# a module fails on the mount). Needs the interpreter's test suite (Debian:
# libpython3.X-testsuite); skipped without it.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
"$BLAST_TEST_PYTHON" -c 'import test.test_os' 2>/dev/null ||
	skip "$BLAST_TEST_PYTHON has no test suite (apt-get install libpython3.11-testsuite)"
fs_setup
# FS_CPYTHON_TESTS="test_os test_io" runs only those modules.
# (test_venv, test_importlib and test_compileall left out for CI time:
# mostly the interpreter's own work, a minute and a half of CPU between
# them; FS_CPYTHON_TESTS brings them back)
read -ra tests <<<"${FS_CPYTHON_TESTS:-test_os test_shutil test_tempfile test_posix \
test_stat test_fileio test_mmap test_glob test_pathlib test_io test_zipfile test_tarfile \
test_py_compile test_filecmp test_fcntl test_genericpath \
test_posixpath test_site test_dbm test_shelve test_zipimport}"

# regrtest DIR XML: run the tests with their temp dirs in DIR; regrtest's
# exit status in XML.rc (0: every module passed).
regrtest() {
	local rc=0
	(cd "$1" && TMPDIR=$1 timeout -k 10 900 "$BLAST_TEST_PYTHON" -m test -j2 \
		--junit-xml "$2" "${tests[@]}") >"$2.out" 2>&1 || rc=$?
	echo "$rc" >"$2.rc"
	[ -s "$2" ] || die "regrtest in $1 wrote no results: $(tail -n 20 "$2.out")"
}

note "TMPDIR on a blastfs mount"
fs_import cpython
fs_mount cpython "$W/mnt"
regrtest "$W/mnt" "$W/mnt.xml"
if [ "$(cat "$W/mnt.xml.rc")" = 0 ]; then
	# every module ran and passed on the mount: nothing that passes natively
	# can fail there, so the baseline (half this test's time) is not needed
	note "every module passed on the mount ($(grep -c '<testcase' "$W/mnt.xml") test cases)"
	fs_umount cpython "$W/mnt"
	fs_check_store
	fs_pass
	exit 0
fi

# the native baseline: only the modules that failed on the mount (a case
# of a module that passed there passes there); all of them when regrtest's
# list of failed modules cannot be read
read -ra failed <<<"$("$BLAST_TEST_PYTHON" - "$W/mnt.xml.out" <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
mods = []
for i, l in enumerate(lines):
    if re.fullmatch(r"\d+ tests? failed:", l.strip()):
        for m in lines[i + 1:]:
            if not m.startswith(" "):
                break
            mods += m.split()
print(" ".join(m for m in mods if re.fullmatch(r"test_\w+", m)))
PY
)"
if [ ${#failed[@]} -gt 0 ]; then
	tests=("${failed[@]}")
fi
note "baseline: TMPDIR on the native filesystem, for ${tests[*]}"
mkdir "$W/native"
regrtest "$W/native" "$W/native.xml"

"$BLAST_TEST_PYTHON" - "$W/native.xml" "$W/mnt.xml" <<'PY' || die "test cases that pass natively fail on the mount (above)"
import sys
import xml.etree.ElementTree as ET

def results(path):
    out = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        bad = tc.find("failure")
        if bad is None:
            bad = tc.find("error")
        out[tc.get("name")] = None if bad is None else (bad.get("message") or bad.text or "")
    return out

native, mount = results(sys.argv[1]), results(sys.argv[2])
ok_native = {n for n, r in native.items() if r is None}
broken = sorted(n for n in ok_native if mount.get(n, "did not run on the mount") is not None)
for n in broken:
    msg = (mount.get(n) or "did not run on the mount").strip().splitlines()
    print("FAIL %s: %s" % (n, msg[-1][:300] if msg else ""))
print("%d test cases pass natively; %d of them fail on the mount" % (len(ok_native), len(broken)))
sys.exit(1 if broken else 0)
PY

fs_umount cpython "$W/mnt"
fs_check_store
fs_pass
