#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pip through a real blastfs mount with the real /usr/bin/python3: a venv
# (made elsewhere with --without-pip, imported) mounted at a path has
# sys.prefix = the mountpoint and sys.base_prefix = /usr; ensurepip works;
# `pip install --no-index --find-links` of the fixture wheels (dependencies,
# extras, a C extension, console scripts, .pth, .data) installs, imports and
# runs; `pip check` is clean; compileall writes pycs that later imports
# accept (exact mtimes) also after a remount; uninstall leaves nothing. All
# pip and python output is checked; the store verifies at the end.
set -euo pipefail
# shellcheck source=tests/integration/fs-lib.sh
. "$(dirname "$0")/fs-lib.sh"
"$BLAST_TEST_PYTHON" -c 'import ensurepip, venv' 2>/dev/null ||
	skip "$BLAST_TEST_PYTHON lacks ensurepip (apt-get install python3-venv)"
fs_setup
WHEELS=$(wheels_dir)
MNT=$W/mnt
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
	PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=
unset PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS PIP_USER PYTHONNOUSERSITE || true

"$BLAST_TEST_PYTHON" -m venv --without-pip "$W/v"
fs_import pipenv "$W/v"
fs_mount pipenv "$MNT"
cd "$W"
PY=$MNT/bin/python
PYV=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
SP=$MNT/lib/python$PYV/site-packages

# run_ok LABEL CMD...: run CMD, fail (showing its output) unless it exits 0;
# stdout in $OUT, stderr in $ERR.
run_ok() {
	local label=$1 rc=0
	shift
	"$@" >"$W/out" 2>"$W/err" || rc=$?
	OUT=$(cat "$W/out")
	ERR=$(cat "$W/err")
	[ "$rc" -eq 0 ] || die "$label: exit $rc
stdout: $OUT
stderr: $ERR"
}

note "the venv on the mount"
run_ok "python -c sys.prefix" "$PY" -c 'import sys; print(sys.prefix); print(sys.base_prefix); print(sys.executable)'
assert_eq "$MNT
/usr
$MNT/bin/python" "$OUT" "sys.prefix, sys.base_prefix, sys.executable"
assert_eq "" "$ERR" "python stderr"

note "ensurepip through the mount"
run_ok ensurepip "$PY" -m ensurepip
assert_contains "$OUT" "Successfully installed pip" "ensurepip output"
assert_eq "" "$ERR" "ensurepip stderr"
run_ok "pip --version" "$PY" -m pip --version
assert_contains "$OUT" "from $SP/pip " "pip runs from the mount"

note "pip install the fixture wheels"
pkgs=(blast-gamma blast-many blast-pth)
have_cext=0
if compgen -G "$WHEELS/blast_cext-1.0-cp*.whl" >/dev/null; then
	have_cext=1
	pkgs+=(blast-cext)
else
	note "no blast-cext wheel here; the C extension part is left out"
fi
run_ok "pip install" "$PY" -m pip install --no-index --find-links "$WHEELS" "${pkgs[@]}"
assert_contains "$OUT" "Successfully installed" "pip install output"
for p in blast-alpha-1.0 blast-beta-2.1 blast-delta-1.0 blast-epsilon-1.0 blast-gamma-0.3 \
	blast-many-1.0 blast-pth-1.0; do
	assert_contains "$OUT" "$p" "pip install output lists $p"
done
assert_eq "" "$ERR" "pip install stderr"

check_installed() {
	run_ok gamma-cli "$MNT/bin/gamma-cli"
	assert_eq "gamma-cli: gamma 0.3, alpha 1.0, beta 2.1, delta 1.0, fast backend epsilon 1.0" \
		"$OUT" "gamma-cli output"
	assert_eq "#!$MNT/bin/python" "$(head -n1 "$MNT/bin/gamma-cli")" "console script shebang"
	run_ok "import blast_many" "$PY" -c 'import blast_many; print(blast_many.check_all())'
	assert_eq 2000 "$OUT" "blast_many.check_all()"
	run_ok ".pth file" "$PY" -c 'import sys, blast_pth_extra_mod as m; print(sys.modules["blast_pth._hook"].LOADED, m.WHERE)'
	assert_eq "True found through blast_pth.pth" "$OUT" ".pth path and import lines"
	run_ok "blast-pth-script" "$MNT/bin/blast-pth-script"
	assert_contains "$OUT" "prefix: $MNT" "script sees the mount as prefix"
	if [ "$have_cext" -eq 1 ]; then
		run_ok "C extension" "$PY" -c 'import blast_cext as c; print(c.add(2, 3), c.hello())'
		assert_eq "5 hello from blast_cext._speedups" "$OUT" "C extension"
	fi
	run_ok "pip check" "$PY" -m pip check
	assert_contains "$OUT" "No broken requirements found" "pip check"
	assert_eq "" "$ERR" "pip check stderr"
	run_ok "pip list" "$PY" -m pip list --format=freeze
	for want in blast-alpha==1.0 blast-beta==2.1 blast-gamma==0.3 blast-many==1.0 pip==; do
		assert_contains "$OUT" "$want" "pip list"
	done
}
check_installed

note "compileall, and the pycs are accepted by later imports"
run_ok compileall "$PY" -m compileall -q "$SP"
assert_eq "" "$OUT$ERR" "compileall output"
pycs() { find "$SP" -name '*.pyc' -printf '%P %s %T@\n' | sort; }
pycs >"$W/pycs.1"
[ "$(wc -l <"$W/pycs.1")" -gt 2000 ] || die "compileall wrote only $(wc -l <"$W/pycs.1") pycs"
run_ok "import all" "$PY" -c 'import blast_many, blast_gamma, blast_alpha, pip; print(blast_many.check_all())'
pycs >"$W/pycs.2"
assert_file_eq "$W/pycs.1" "$W/pycs.2" "pycs rewritten by an import: source mtimes not stable"

note "remount: still installed, pycs still valid"
fs_remount pipenv "$MNT"
check_installed
pycs >"$W/pycs.3"
assert_file_eq "$W/pycs.1" "$W/pycs.3" "pycs changed across remount (mtimes not kept?)"

note "pip uninstall"
all=(blast-alpha blast-beta blast-gamma blast-delta blast-epsilon blast-many blast-pth)
[ "$have_cext" -eq 0 ] || all+=(blast-cext)
run_ok "pip uninstall" "$PY" -m pip uninstall -y "${all[@]}"
for p in "${all[@]}"; do
	assert_contains "$OUT" "Successfully uninstalled $p" "uninstall output"
done
assert_eq "" "$ERR" "pip uninstall stderr"
left=$(cd "$MNT" && find . -iname '*blast*' -o -name gamma-cli)
assert_eq "" "$left" "files left after uninstall"
run_ok "pip check after uninstall" "$PY" -m pip check
run_ok "pip list after uninstall" "$PY" -m pip list --format=freeze
assert_not_contains "$OUT" "blast-" "pip list after uninstall"

fs_umount pipenv "$MNT"
fs_check_store
fs_pass
