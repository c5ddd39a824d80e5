#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Export never leaves its target by a symlink, whoever races it: while an
# unprivileged user (nobody) keeps swapping the target's names for symlinks
# to a root-owned 0600 file outside (names export made, and names it has
# not made yet: planted in advance), many exports of a tree of fifos,
# files, symlinks and dirs owned by nobody run as root. Each succeeds or
# fails with one clear error line; the outside file keeps its owner, mode
# and content.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (export sets owners; the racer is nobody)"
command -v setpriv >/dev/null || skip "needs setpriv"
id nobody >/dev/null 2>&1 || skip "needs the user nobody"
ctl_setup
runs=${EXPORT_RACE_RUNS:-25}

mkdir "$W/src"
names=()
for i in $(seq -w 0 59); do
	mkfifo -m 0666 "$W/src/p$i"
	echo "file $i" >"$W/src/f$i"
	chmod 0666 "$W/src/f$i"
	ln -s "f$i" "$W/src/l$i"
	mkdir "$W/src/d$i"
	mkfifo -m 0666 "$W/src/d$i/p"
	names+=("p$i" "f$i" "l$i" "d$i")
done
chown -hR nobody:nogroup "$W/src"
bctl import src "$W/src" 2>/dev/null

echo secret >"$W/secret"
chmod 0600 "$W/secret"
before=$(stat -c '%u:%g %a %s' "$W/secret")
chmod 0711 "$W"
mkdir -m 0755 "$W/race"

racer=
kill_racer() { [ -z "$racer" ] || kill_pid "$racer"; }
on_exit kill_racer
for run in $(seq "$runs"); do
	t=$W/race/t$run
	mkdir -m 0755 "$t"
	chown nobody:nogroup "$t"
	setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
		"$BLAST_TEST_PYTHON" "$BLAST_REPO/tests/integration/export-racer.py" \
		"$t" "$W/secret" "${names[@]}" &
	racer=$!
	ctl_run bctl export src "$t"
	kill_racer
	racer=
	case $RC in
	0) ;;
	1) # planted early: "cannot export to 'T': directory not empty"
		assert_one_error "cannot export"
		assert_contains "$ERR" "'$t': " "error names the target" ;;
	*) die "export run $run: exit $RC: $ERR" ;;
	esac
	assert_eq "$before" "$(stat -c '%u:%g %a %s' "$W/secret")" \
		"outside file after run $run"
	assert_eq secret "$(cat "$W/secret")" "outside content after run $run"
done
exit 0
