#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2015 # `A && B || die` is intended: die exits
# The fixture wheels from tests/fixtures/mkwheels.py are valid: built twice
# they are byte-identical, every RECORD matches its zip, and real pip in a
# plain `python3 -m venv` (no Blast involved) installs them offline, resolves
# their dependencies and extras, runs their scripts, passes `pip check`,
# upgrades/downgrades blast-beta and uninstalls them without leftovers.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

require_python
"$BLAST_TEST_PYTHON" -c 'import ensurepip, venv' 2>/dev/null ||
	skip "$BLAST_TEST_PYTHON lacks ensurepip (apt-get install python3-venv)"

mkworkdir W
MK=$BLAST_REPO/tests/fixtures/mkwheels.py

note "building wheels twice"
"$BLAST_TEST_PYTHON" "$MK" "$W/wheels" >"$W/list"
"$BLAST_TEST_PYTHON" "$MK" "$W/wheels2" >/dev/null
(cd "$W/wheels" && sha256sum -- *.whl) >"$W/sums1"
(cd "$W/wheels2" && sha256sum -- *.whl) >"$W/sums2"
assert_file_eq "$W/sums1" "$W/sums2" "mkwheels output is not deterministic"
for w in blast_alpha-1.0-py3-none-any blast_beta-2.1-py3-none-any \
	blast_beta-1.5-py3-none-any blast_gamma-0.3-py3-none-any \
	blast_delta-1.0-py3-none-any blast_epsilon-1.0-py3-none-any \
	blast_many-1.0-py3-none-any blast_pth-1.0-py3-none-any; do
	[ -f "$W/wheels/$w.whl" ] || die "missing $w.whl"
	assert_contains "$(cat "$W/list")" "$W/wheels/$w.whl" "printed wheel list"
done
have_cext=0
if compgen -G "$W/wheels/blast_cext-1.0-cp*.whl" >/dev/null; then
	have_cext=1
else
	note "no blast-cext wheel (no compiler or Python headers); testing the rest"
fi

note "checking RECORD of every wheel"
"$BLAST_TEST_PYTHON" - "$W"/wheels/*.whl <<'PY'
import base64, csv, hashlib, io, sys, zipfile
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        assert len(names) == len(set(names)), path + ": duplicate entries"
        rec_name = [n for n in names if n.endswith(".dist-info/RECORD")]
        assert len(rec_name) == 1, path + ": need exactly one RECORD"
        rec_name = rec_name[0]
        assert names[-1] == rec_name, path + ": RECORD is not last"
        rows = list(csv.reader(io.StringIO(zf.read(rec_name).decode())))
        listed = {r[0] for r in rows}
        assert listed == set(names), (path, listed ^ set(names))
        for name, digest, size in rows:
            info = zf.getinfo(name)
            assert info.date_time == (2020, 1, 1, 0, 0, 0), (path, name)
            if name == rec_name:
                assert digest == "" and size == "", path
                continue
            data = zf.read(name)
            want = "sha256=" + base64.urlsafe_b64encode(
                hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert digest == want, (path, name, digest, want)
            assert int(size) == len(data), (path, name)
        meta = zf.read(rec_name.replace("RECORD", "METADATA")).decode()
        assert meta.startswith("Metadata-Version: 2.1\n"), path
        wheel = zf.read(rec_name.replace("RECORD", "WHEEL")).decode()
        assert "Wheel-Version: 1.0\n" in wheel, path
print("RECORD ok: %d wheels" % (len(sys.argv) - 1))
PY

note "creating a venv"
"$BLAST_TEST_PYTHON" -m venv "$W/venv"
PY=$W/venv/bin/python
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 \
	PIP_NO_INPUT=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PYTHONPATH PYTHONHOME VIRTUAL_ENV || true
pip() { "$PY" -m pip "$@"; }

pkgs=(blast-gamma blast-many blast-pth)
[ "$have_cext" -eq 0 ] || pkgs+=(blast-cext)
note "pip install ${pkgs[*]}"
pip install -q --no-index --find-links "$W/wheels" "${pkgs[@]}"

SP=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
freeze=$(pip list --format=freeze 2>/dev/null)
for want in blast-alpha==1.0 blast-beta==2.1 blast-gamma==0.3 blast-delta==1.0 \
	blast-epsilon==1.0 blast-many==1.0 blast-pth==1.0; do
	assert_contains "$freeze" "$want" "pip list"
done
assert_not_contains "$freeze" "blast-nonexistent" "false markers/extras ignored"

note "importing and running"
assert_eq "gamma-cli: gamma 0.3, alpha 1.0, beta 2.1, delta 1.0, fast backend epsilon 1.0" \
	"$("$W/venv/bin/gamma-cli")" "gamma-cli output"
rc=0
"$W/venv/bin/gamma-cli" --fail >/dev/null || rc=$?
assert_eq 3 "$rc" "gamma-cli exit code"
assert_eq 2000 "$("$PY" -c 'import blast_many; print(blast_many.check_all())')" "blast_many"
assert_eq "True found through blast_pth.pth" \
	"$("$PY" -c 'import sys, blast_pth_extra_mod as m; print(sys.modules["blast_pth._hook"].LOADED, m.WHERE)')" \
	".pth path and import lines"
assert_eq "hello from blast-pth package data" \
	"$("$PY" -c 'import blast_pth; print(blast_pth.greeting().strip())')" "package data"
[ -f "$SP/blast_pth/data/empty.txt" ] && [ ! -s "$SP/blast_pth/data/empty.txt" ] ||
	die "empty package data file"
assert_eq "hello from blast-pth data" "$(cat "$W/venv/share/blast-pth/hello.txt")" ".data/data"
PYV=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ -f "$W/venv/include/site/python$PYV/blast-pth/blast_pth.h" ] || die ".data/headers not installed"
out=$("$W/venv/bin/blast-pth-script")
assert_contains "$out" "blast-pth-script: hello from blast-pth package data"
assert_contains "$out" "prefix: $W/venv"
assert_eq "#!$W/venv/bin/python" "$(head -n1 "$W/venv/bin/blast-pth-script")" "#!python rewritten"
if [ "$have_cext" -eq 1 ]; then
	assert_eq "5 hello from blast_cext._speedups" \
		"$("$PY" -c 'import blast_cext as c; print(c.add(2, 3), c.hello())')" "C extension"
fi
"$PY" -m compileall -q "$SP/blast_gamma" >/dev/null

note "pip check"
out=$(pip check 2>&1) || die "pip check failed: $out"
assert_contains "$out" "No broken requirements found"

note "downgrade and upgrade blast-beta"
pip install -q --no-index --find-links "$W/wheels" blast-beta==1.5 2>/dev/null
[ -f "$SP/blast_beta/old.py" ] && [ ! -e "$SP/blast_beta/new.py" ] || die "beta 1.5 files"
assert_fails pip check
assert_contains "$ASSERT_FAILS_STDOUT" "blast-alpha 1.0 has requirement blast-beta>=2.0"
pip install -q --no-index --find-links "$W/wheels" --upgrade blast-beta
[ -f "$SP/blast_beta/new.py" ] && [ ! -e "$SP/blast_beta/old.py" ] || die "beta 2.1 files"
pip check >/dev/null

note "uninstall"
all=(blast-alpha blast-beta blast-gamma blast-delta blast-epsilon blast-many blast-pth)
[ "$have_cext" -eq 0 ] || all+=(blast-cext)
pip uninstall -q -y "${all[@]}"
left=$(cd "$W/venv" && find . -iname '*blast*' -o -name gamma-cli)
assert_eq "" "$left" "files left after uninstall"
assert_not_contains "$(pip list --format=freeze 2>/dev/null)" "blast-" "pip list after uninstall"
out=$(pip check 2>&1) || die "pip check after uninstall: $out"
echo "PASS: $TEST_NAME"
