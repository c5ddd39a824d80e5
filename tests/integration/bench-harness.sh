#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmark harness itself (issue 8), without timing assertions: on the
# small workload with one run per figure, `bench/run --out DIR` runs every
# suite, writes a report with a section per suite and no failure, and raw
# rows for each, the report-wide sections (issue 8's targets, blastfs CPU per
# suite) and squashfuse in the fs suite; a suite that errors (blastctl
# missing) makes bench/run exit 1 and its section say FAILED. bench/'s committed results are not touched.
# Set BLAST_TEST_SKIP_BENCH=1 to skip (it builds the small workload with
# apt the first time, and takes a few minutes).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# the policy suite runs the workload under blastctl run
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"
[ "${BLAST_TEST_SKIP_BENCH:-0}" = 1 ] && skip "BLAST_TEST_SKIP_BENCH=1"
require_root
require_fuse
require_blast
mkworkdir W
REPO=${BLAST_REPO:?}
before=$(cd "$REPO" && git status --porcelain -- bench 2>/dev/null | md5sum)

note "every suite on the small workload, one run each"
rc=0
BLAST_BENCH_DIR=$W/bench BLASTCTL=$BLASTCTL BLASTFS=$BLASTFS "$REPO/bench/run" --runs 1 --workload small \
	--out "$W/out" >"$W/run.out" 2>"$W/run.err" || rc=$?
[ "$rc" -eq 0 ] || die "bench/run failed ($rc): $(tail -n 30 "$W/run.err")"
[ -s "$W/out/RESULTS.md" ] || die "no report"
suites=$(sed -n 's/^ALL_SUITES=(\(.*\))$/\1/p' "$REPO/bench/run")
n=0
for s in $suites; do
	[ -f "$REPO/bench/suite-$s.sh" ] || continue
	n=$((n + 1))
	grep -q "^## $s\$" "$W/out/RESULTS.md" || die "report has no '## $s' section"
	awk -v s="$s" -F'\t' '$1 == s { found = 1 } END { exit !found }' "$W/out/results.tsv" ||
		die "results.tsv has no rows for suite $s"
done
[ "$n" -ge 4 ] || die "only $n suites found"
assert_not_contains "$(cat "$W/out/RESULTS.md")" "**FAILED**"
# The report-wide sections (bench/summary.py) and what feeds them: issue 8's
# targets, blastfs's CPU rows of every suite that runs it, squashfuse in fs.
for h in '## Targets (issue 8)' '### Why, and what would close it' '## blastfs CPU per suite'; do
	grep -qxF "$h" "$W/out/RESULTS.md" || die "report has no '$h' section"
done
grep -q '^| cold import faster than squashfuse | small | \*\*\(met\|MISSED\)\*\* |' "$W/out/RESULTS.md" ||
	die "targets: no squashfuse verdict for small"
for s in fs snap pkg policy shell; do
	[ -f "$REPO/bench/suite-$s.sh" ] || continue
	awk -v s="$s" -F'\t' '$1 == s && $3 ~ /_cpu_s$/ && $4 != "fovl" && $4 != "sqfs" && $6 != "nan" { f = 1 }
		END { exit !f }' "$W/out/results.tsv" || die "results.tsv: no blastfs CPU rows for suite $s"
	grep -q "^| $s | " "$W/out/RESULTS.md" || die "blastfs CPU table: no row for suite $s"
done
for m in import_warm_s import_cold_s find_cold_s stat_cold_s read_cold_s import_cold_cpu_s; do
	awk -v m="$m" -F'\t' '$1 == "fs" && $2 == "small" && $3 == m && $4 == "sqfs" && $6 != "nan" { f = 1 }
		END { exit !f }' "$W/out/results.tsv" || die "results.tsv: no squashfuse $m row"
done
# (one awk: `sed | grep -q` under pipefail fails when grep exits first)
awk '/^## / { fs = ($0 == "## fs") }
	fs && index($0, "| workload | measure | native | kernel overlayfs | fuse-overlayfs | squashfuse |") == 1 { f = 1 }
	END { exit !f }' "$W/out/RESULTS.md" || die "fs section: no squashfuse column"

note "--assemble rebuilds the same report from results/, running nothing"
cp "$W/out/RESULTS.md" "$W/RESULTS.first"
BLAST_BENCH_DIR=$W/bench "$REPO/bench/run" --assemble --out "$W/out" 2>"$W/asm.err" ||
	die "bench/run --assemble failed: $(cat "$W/asm.err")"
cmp -s "$W/RESULTS.first" "$W/out/RESULTS.md" || die "--assemble changed the report"

note "a suite that errors fails the run, loudly"
rc=0
BLAST_BENCH_DIR=$W/bench BLASTCTL=$W/no-such-blastctl "$REPO/bench/run" --runs 1 --workload small \
	--out "$W/out2" store >"$W/run2.out" 2>"$W/run2.err" || rc=$?
assert_eq 1 "$rc" "bench/run exit code with a failing suite"
assert_contains "$(cat "$W/out2/RESULTS.md")" "**FAILED**"
assert_contains "$(cat "$W/run2.err")" "suites failed: store"

after=$(cd "$REPO" && git status --porcelain -- bench 2>/dev/null | md5sum)
assert_eq "$before" "$after" "bench/ changed by a run with --out"
echo "PASS: $TEST_NAME"
