#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package: dpkg-buildpackage builds it from debian/ (a release
# build, no sanitizers), lintian finds nothing, apt can install it with
# its dependencies, and installed (for real, with dpkg, into a private
# root: the machine is shared) it gives a working blastctl and blastfs, the
# man pages and the completions; purging it removes them all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for c in dpkg-buildpackage dh lintian apt-get man; do
	require_cmd "$c"
done
mkworkdir W

# The source as it is in the checkout, tracked and new files alike.
S=$W/blast
mkdir -p "$S"
(
	cd "$BLAST_REPO"
	if git rev-parse --show-toplevel >/dev/null 2>&1; then
		git ls-files -z -co --exclude-standard | grep -zv '^build' |
			xargs -0 tar -cf - --no-recursion
	else
		tar -cf - --exclude='./build*' --exclude=./debian/blast --exclude=./obj-* .
	fi
) | tar -xf - -C "$S"
note "dpkg-buildpackage (log: $W/build.log)"
(cd "$S" && dpkg-buildpackage -us -uc -b >"$W/build.log" 2>&1) ||
	die "dpkg-buildpackage failed: $(tail -n 30 "$W/build.log")"
deb=$(echo "$W"/blast_*_*.deb)
[ -f "$deb" ] || die "no .deb in $W: $(ls "$W")"

lintian --fail-on error,warning,info "$W"/blast_*.changes >"$W/lintian.log" 2>&1 ||
	die "lintian: $(cat "$W/lintian.log")"
tags=$(grep -v 'running with root privileges' "$W/lintian.log" || true)
assert_eq "" "$tags" "lintian's tags"

# apt resolves the package's dependencies from the archive (a dry run: the
# real install below must not race other tests for the dpkg lock).
out=$(apt-get install -s "$deb" 2>&1) || die "apt-get install -s $deb: $out"
assert_contains "$out" "Inst blast " "apt-get install -s"

R=$W/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: >"$R/var/lib/dpkg/status"
dpkg --root="$R" --force-depends --force-script-chrootless -i "$deb" >"$W/dpkg.log" 2>&1 ||
	die "dpkg -i: $(cat "$W/dpkg.log")"
assert_eq "blastctl $(dpkg-deb -f "$deb" Version)" "$("$R/usr/bin/blastctl" --version)" "blastctl --version"
"$R/usr/bin/blastfs" --help >/dev/null || die "blastfs --help failed"
for page in blastctl blastfs; do
	got=$(MANPATH=$R/usr/share/man man -w "$page") || die "man -w $page: no page"
	assert_eq "$R/usr/share/man/man1/$page.1.gz" "$got" "man -w $page"
	MANPATH=$R/usr/share/man MANWIDTH=80 MANPAGER=cat man "$page" >"$W/$page.txt" 2>&1 || true
	grep -q "^NAME" "$W/$page.txt" || die "man $page does not render: $(head "$W/$page.txt")"
done
for f in usr/share/bash-completion/completions/blastctl usr/share/zsh/vendor-completions/_blastctl \
	usr/share/fish/vendor_completions.d/blastctl.fish usr/share/blast/complete.bash \
	usr/share/blast/direnv/blast.sh; do
	[ -s "$R/$f" ] || die "not installed: /$f"
done
grep -q "/usr/share/blast/complete.bash" "$R/usr/share/bash-completion/completions/blastctl" ||
	die "the bash completion does not point at the installed helper"

dpkg --root="$R" --force-script-chrootless --purge blast >>"$W/dpkg.log" 2>&1 ||
	die "dpkg --purge: $(cat "$W/dpkg.log")"
left=$(cd "$R" && find . ! -type d ! -path './var/*')
assert_eq "" "$left" "files left after purge"
