#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh TARGET SEEDS SECONDS - a bounded libFuzzer run of TARGET from the
# seed corpus SEEDS (left untouched: new inputs go to a temporary
# directory). A crash fails the test and leaves its input under
# $MESON_BUILD_ROOT-like TMP for a new unit test.
set -eu
target=$1 seeds=$2 secs=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/blast-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
if ! "$target" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
	-max_len=65536 -artifact_prefix="$work/" -print_final_stats=1 \
	"$work/corpus" "$seeds" >"$work/log" 2>&1; then
	tail -40 "$work/log"
	for f in "$work"/crash-* "$work"/timeout-* "$work"/oom-*; do
		[ -e "$f" ] || continue
		mkdir -p /tmp/blast-fuzz-crashes
		cp "$f" /tmp/blast-fuzz-crashes/
		echo "input kept in /tmp/blast-fuzz-crashes/$(basename "$f")"
	done
	exit 1
fi
grep -E '^(Done|stat::number_of_executed_units)' "$work/log" || true
