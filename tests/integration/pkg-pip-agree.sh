#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl check agrees with pip check, line for line, on a mounted env
# with crafted metadata: a consistent set (both clean), then version
# conflicts, missing requirements, true and false markers, extras asked
# for and not, ~=, !=, .*, ===, pre-releases, local and post versions,
# names needing normalization, an upgrade breaking a ~= pin, an egg-info
# distribution with requires.txt sections, and an uninstall. No rescan in
# between: the daemon keeps the state current. Then `clean` rebuilds the
# same state the live updates made.
set -euo pipefail
. "$(dirname "$0")/pkg-lib.sh"
pkg_setup
pkg_wheels

note "a fresh env"
agree "fresh env"
assert_eq "$OUT" "No broken requirements found." "clean output"

note "a consistent set, dependencies resolved by pip"
pipq install --no-index --find-links "$PW" pkgt-app
agree "consistent set"
assert_eq "$OUT" "No broken requirements found." "consistent set output"

note "the broken set, with --no-deps"
pipq install --no-index --no-deps "$PW"/pkgt_root-1.0-*.whl "$PW"/dep_*.whl "$PW"/upper_case_name-*.whl
agree "broken set"
for want in "pkgt-root 1.0 requires not-installed-x, which is not installed." \
	"pkgt-root 1.0 requires not-installed-z, which is not installed." \
	"pkgt-root 1.0 has requirement dep-g<2.0, but you have dep-g 2.0b1." \
	"pkgt-root 1.0 has requirement UPPER_Case.Name>=3, but you have upper-case-name 2.0."; do
	assert_contains "$OUT" "$want" "broken set"
done
assert_not_contains "$OUT" "dep-m" "extras are not followed"
assert_not_contains "$OUT" "opt-dep" "extra marker"
assert_not_contains "$OUT" "not-installed-y" "false marker"

note "an upgrade that breaks a ~= pin"
pipq install --no-index --no-deps "$PW"/pkgt_lib-2.0-*.whl
agree "upgrade"
assert_contains "$OUT" "pkgt-app 1.0 has requirement pkgt-lib~=1.4, but you have pkgt-lib 2.0." "upgrade"

note "an egg-info distribution"
mkdir "$SITE/Egg.Style-0.5-py3.egg-info"
printf 'Metadata-Version: 1.2\nName: Egg.Style\nVersion: 0.5\n' >"$SITE/Egg.Style-0.5-py3.egg-info/PKG-INFO"
printf 'dep-a>=3\n\n[Test Suite]\npytest\n\n[:python_version >= "3"]\negg-missing\n[:python_version < "3"]\negg-never\n' \
	>"$SITE/Egg.Style-0.5-py3.egg-info/requires.txt"
agree "egg-info"
assert_contains "$OUT" "egg-style 0.5 requires egg-missing, which is not installed." "egg-info"

note "uninstalls, live"
pipq uninstall -y dep-c pkgt-lib
agree "after uninstall"
assert_contains "$OUT" "pkgt-root 1.0 requires dep-c, which is not installed." "uninstalled dep"
pipq install --no-index --no-deps "$PW"/pkgt_lib-1.4.7-*.whl
agree "after reinstall"
assert_not_contains "$OUT" "pkgt-lib" "reinstalled"

note "clean rebuilds the state the live updates made"
bctl deps --json >"$W/live.json"
ctl_expect 0 clean
bctl deps --json >"$W/clean.json"
diff -u "$W/live.json" "$W/clean.json" >&2 || die "clean state differs from the live state"
agree "after clean"

exit 0
