#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl check sees the distributions pip sees outside site-packages:
# in the directories .pth files put on sys.path and those *.egg-link
# files name (pip reads them as pkg_resources did), as a legacy editable
# install (`setup.py develop`: PROJECT/NAME.egg-info, easy-install.pth,
# NAME.egg-link) leaves them. Absolute and relative lines, comments,
# import lines, missing paths, a name site-packages already has (the
# first on sys.path wins), a .dist-info in such a directory; each state
# compared with the real `pip check`. (Before: "No broken requirements
# found.", rc 0, where pip check said tinyproj's requirement is broken.)
set -euo pipefail
. "$(dirname "$0")/pkg-lib.sh"
pkg_setup

agree "fresh env"

note "a legacy editable install, outside the env"
T=$W/tinyproj
mkdir -p "$T/tinyproj.egg-info"
printf 'Metadata-Version: 2.1\nName: tinyproj\nVersion: 0.1\n' \
	>"$T/tinyproj.egg-info/PKG-INFO"
printf 'pip>=999\nblast-nothere\n\n[fast]\nblast-fast\n' \
	>"$T/tinyproj.egg-info/requires.txt"
printf '%s\n' "$T" >"$SITE/easy-install.pth"
printf '%s\n.' "$T" >"$SITE/tinyproj.egg-link"
agree "legacy editable"
assert_eq 1 "$RC" "check fails like pip check"
assert_contains "$OUT" "tinyproj 0.1 has requirement pip>=999" "tinyproj counted"

note "relative lines, comments, import lines, missing paths"
mkdir -p "$SITE/vendored/vend-1.0.dist-info"
printf 'Metadata-Version: 2.1\nName: Vend\nVersion: 1.0\nRequires-Dist: tinyproj>0.5\n' \
	>"$SITE/vendored/vend-1.0.dist-info/METADATA"
printf '# a comment\nimport os\n%s\nvendored\n/no/such/dir\n\n' "$W/none" \
	>"$SITE/aa-other.pth"
agree "relative .pth line"
assert_contains "$OUT" "vend 1.0 has requirement tinyproj>0.5, but you have tinyproj 0.1." \
	"a .dist-info found through a relative line"

note "a name site-packages has already: the first on sys.path wins"
mkdir -p "$T/pip-999.dist-info"
printf 'Metadata-Version: 2.1\nName: pip\nVersion: 999\n' >"$T/pip-999.dist-info/METADATA"
agree "shadowed pip"
assert_contains "$OUT" "tinyproj 0.1 has requirement pip>=999" "site-packages' pip wins"

note "the .pth files gone: the egg-link still names tinyproj (pip reads it)"
rm "$SITE/easy-install.pth" "$SITE/aa-other.pth"
agree "no .pth, an egg-link"
assert_contains "$OUT" "tinyproj 0.1 requires blast-nothere" "tinyproj through its egg-link"

note "the egg-link gone too: only site-packages"
rm "$SITE/tinyproj.egg-link"
agree "no .pth, no egg-link"
assert_not_contains "$OUT" "tinyproj" "tinyproj gone"

ctl_expect 0 kill proj
exit 0
