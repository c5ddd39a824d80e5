# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the package-layer tests (pkg-*.sh), on top of ctl-lib.sh:
#
#     pkg_setup                  # a mounted env 'proj' at $P/.blast, cwd $P
#     pkg_wheels                 # $PW: the crafted wheels (mkpkgwheels.py)
#     pipq install ...           # the env's pip, quiet, fails the test on error
#     agree "what"               # blastctl check says what pip check says
#
# shellcheck source=tests/integration/ctl-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/ctl-lib.sh"

pkg_setup() {
	require_fuse
	require_python
	require_blast
	"$BLAST_TEST_PYTHON" -c 'import ensurepip' 2>/dev/null ||
		skip "$BLAST_TEST_PYTHON lacks ensurepip"
	ctl_setup
	P=$W/proj
	M=$P/.blast
	PY=$M/bin/python
	mkdir "$P"
	export PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
	on_exit cleanup_mount "$M"
	ctl_expect 0 start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
	PID=$(bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]=="proj"][0])')
	on_exit kill_pid "$PID"
	SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
	cd "$P"
}

# pkg_files_setup: pkg_setup with the fixture wheels ($WHEELS) and
# blast-gamma installed; check --files finds nothing.
pkg_files_setup() {
	pkg_setup
	WHEELS=$(wheels_dir)
	pipq install --no-index --find-links "$WHEELS" blast-gamma
	ctl_expect 0 check --files
	assert_eq "" "$OUT" "check --files after install"
}

# pkg_wheels: build (or reuse) the crafted wheels into $PW.
pkg_wheels() {
	local script=$BLAST_REPO/tests/fixtures/mkpkgwheels.py key tmp
	key=$(cat -- "$script" "$BLAST_REPO/tests/fixtures/mkwheels.py" | sha256sum)
	PW=$BLAST_TEST_CACHE/pkgwheels/${key:0:16}
	if [ ! -d "$PW" ]; then
		mkdir -p -- "$BLAST_TEST_CACHE/pkgwheels"
		tmp=$(mktemp -d "$BLAST_TEST_CACHE/pkgwheels/.build.XXXXXX")
		"$BLAST_TEST_PYTHON" "$script" "$tmp" >/dev/null ||
			die "mkpkgwheels.py failed"
		chmod 755 -- "$tmp"
		mv -T -- "$tmp" "$PW" 2>/dev/null || rm -rf -- "$tmp"
	fi
}

pipq() {
	"$PY" -m pip "$@" >"$W/pip.out" 2>&1 || die "pip $*: $(cat "$W/pip.out")"
}

# agree WHAT: `pip check` and `blastctl check --packages` in the env print
# the same lines (sorted: pip's order follows the directory listing) and
# exit alike (0 clean, 1 broken). Sets PIPOUT.
agree() {
	local prc=0
	PIPOUT=$("$PY" -m pip check 2>/dev/null) || prc=$?
	ctl_run bctl check --packages
	if [ "$(printf '%s\n' "$PIPOUT" | sort)" != "$(printf '%s\n' "$OUT" | sort)" ]; then
		diff <(printf '%s\n' "$PIPOUT" | sort) <(printf '%s\n' "$OUT" | sort) >&2 || true
		die "$1: blastctl check differs from pip check (< pip, > blastctl)"
	fi
	[ "$RC" -eq "$prc" ] || die "$1: blastctl check exits $RC, pip check $prc"
	note "$1: agree ($(printf '%s\n' "$OUT" | wc -l) lines, exit $RC)"
}
