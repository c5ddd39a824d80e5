#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad metadata in a mounted env: binary garbage, invalid UTF-8, a METADATA
# over 16 MiB, a marker nested 20000 deep, a requirement that is no
# requirement. Each gets one clear line from check (exit 1); the daemon
# keeps serving, nothing hangs, other distributions are still judged, and
# removing the bad ones makes check clean again.
set -euo pipefail
. "$(dirname "$0")/pkg-lib.sh"
pkg_setup

mkdist() { mkdir "$SITE/$1" && cat >"$SITE/$1/METADATA"; }

head -c 65536 /dev/urandom | mkdist garbage-1.0.dist-info
printf 'Metadata-Version: 2.1\nName: badutf\nVersion: 1.0\nSummary: \xff\xfe\n' | mkdist badutf-1.0.dist-info
{
	printf 'Metadata-Version: 2.1\nName: huge\nVersion: 1.0\n'
	head -c $((17 << 20)) /dev/zero | tr '\0' 'x'
} | mkdist huge-1.0.dist-info
{
	printf 'Metadata-Version: 2.1\nName: deep\nVersion: 1.0\nRequires-Dist: x ; '
	"$BLAST_TEST_PYTHON" -c 'print("(" * 20000 + "os_name == \"a\"" + ")" * 20000)'
} | mkdist deep-1.0.dist-info
printf 'Metadata-Version: 2.1\nName: notreq\nVersion: 1.0\nRequires-Dist: not a requirement!\nRequires-Dist: blast-nothere\n' |
	mkdist notreq-1.0.dist-info
printf 'Metadata-Version: 2.1\nName: fine\nVersion: 1.0\nRequires-Dist: blast-missing\n' | mkdist fine-1.0.dist-info

ctl_run timeout 60 "$BLASTCTL" --home "$H" check
[ "$RC" -eq 1 ] || die "check should fail (exit $RC): $ERR"
for want in "Error parsing requirements for garbage: " \
	"Error parsing requirements for badutf: invalid UTF-8 in metadata" \
	"Error parsing requirements for huge: metadata larger than 16 MiB" \
	"Error parsing requirements for deep: invalid marker: nested too deeply" \
	"Error parsing requirements for notreq: invalid requirement 'not a requirement!'" \
	"fine 1.0 requires blast-missing, which is not installed."; do
	assert_contains "$OUT" "$want" "check output"
done
assert_eq "$(printf '%s\n' "$OUT" | wc -l)" 6 "one line each"
ctl_expect 0 deps
ctl_expect 0 status
ctl_expect 0 check --files

rm -r "$SITE"/{garbage,badutf,huge,deep,notreq,fine}-1.0.dist-info
ctl_expect 0 check
assert_eq "$OUT" "No broken requirements found." "clean again"
exit 0
