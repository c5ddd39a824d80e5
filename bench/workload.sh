#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/workload.sh [small|mid|large|all]... - builds the benchmark workloads:
# venv-shaped trees (python3 -m venv --without-pip) whose site-packages holds
# copies of Debian's python3-* packages and their python3-* dependencies,
# mtimes preserved, with .pyc files, under ${BLAST_BENCH_DIR:-/var/tmp/blast-bench}/workloads.
# Installs what the benchmarks need with apt first. Idempotent: a workload
# whose stamp matches this script's spec is not rebuilt.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Bump when what goes into a workload changes: stale trees are rebuilt.
WORKLOAD_SPEC=2

APT_TOOLS=(squashfs-tools squashfuse fuse-overlayfs hyperfine zstd fuse3 python3-venv)

# Root packages per workload; their installed python3-* Depends (and
# Pre-Depends) come along, recursively.
roots() {
	case $1 in
	small) echo python3-requests python3-jinja2 python3-yaml python3-dateutil python3-tz python3-packaging python3-mpmath ;;
	mid) echo python3-numpy python3-pandas ;;
	large) echo python3-numpy python3-scipy python3-pandas python3-matplotlib python3-sympy python3-requests python3-jinja2 python3-yaml ;;
	*) return 1 ;;
	esac
}

usage() {
	echo "usage: bench/workload.sh [small|mid|large|all]..." >&2
	exit 2
}

# ensure_packages WORKLOAD...: the tools and the root packages of the
# workloads asked for (the harness test builds only `small`).
ensure_packages() {
	local p w missing=() py=()
	for w in "$@"; do
		for p in $(roots "$w"); do py+=("$p"); done
	done
	for p in "${APT_TOOLS[@]}" "${py[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	[[ $(id -u) -eq 0 ]] ||
		bench_die "missing packages (run as root, or: sudo apt-get install ${missing[*]})"
	bench_log "installing with apt: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# closure ROOT...: prints the top-level entries of /usr/lib/python3/dist-packages
# that belong to the given packages and their installed python3-* dependencies
# (one per line: package dirs, modules, .dist-info/.egg-info, .pth, .so).
closure() {
	"$BENCH_PY" - "$@" <<'EOF'
import subprocess, sys

DP = "/usr/lib/python3/dist-packages/"

def installed(p):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p],
                       capture_output=True, text=True)
    return "install ok installed" in r.stdout

seen, todo = set(), list(sys.argv[1:])
while todo:
    p = todo.pop()
    if p in seen:
        continue
    if not installed(p):
        sys.exit("bench: package %s is not installed" % p)
    seen.add(p)
    deps = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", p],
                          capture_output=True, text=True, check=True).stdout
    for group in deps.split(","):
        # First installed python3-* alternative of an "a | b" group.
        for alt in group.split("|"):
            name = alt.strip().split(" ")[0].split(":")[0]
            if name.startswith("python3-") and installed(name):
                todo.append(name)
                break

tops = set()
for p in sorted(seen):
    files = subprocess.run(["dpkg", "-L", p], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    for f in files:
        if f.startswith(DP) and len(f) > len(DP):
            top = f[len(DP):].split("/")[0]
            if top != "__pycache__":
                tops.add(top)
print("\n".join(sorted(tops)))
print("packages: " + " ".join(sorted(seen)), file=sys.stderr)
EOF
}

tree_report() {
	local name=$1 dir=$2 files bytes pyc so
	read -r files bytes < <(bench_tree_stats "$dir")
	pyc=$(find "$dir" -type f -name '*.pyc' | wc -l)
	so=$(find "$dir" -type f -name '*.so*' | wc -l)
	printf '%s\t%s\t%d files\t%d bytes (%.1f MB)\t%d .pyc\t%d .so\n' \
		"$name" "$dir" "$files" "$bytes" "$(bench_calc "$bytes / 1e6")" "$pyc" "$so"
}

check_imports() {
	local name=$1 env=$2 mods
	mods=$(bench_workload_imports "$name")
	# The venv's interpreter sees the copy only (no system site-packages);
	# each module must come from it.
	# shellcheck disable=SC2086 # one argument per module
	MPLCONFIGDIR=$BENCH_WORK/mplconfig "$env/bin/python3" - "$env" $mods <<'EOF'
import importlib, os, sys
env = os.path.realpath(sys.argv[1])
for m in sys.argv[2:]:
    mod = importlib.import_module(m)
    f = os.path.realpath(mod.__file__)
    if not f.startswith(env + os.sep):
        sys.exit("bench: %s imported from %s, not from the workload" % (m, f))
EOF
}

spec_of() {
	local name=$1
	printf 'spec %s\nroots %s\n' "$WORKLOAD_SPEC" "$(roots "$name")"
	# shellcheck disable=SC2046 # word splitting of the package list is intended
	dpkg-query -W -f='${Package} ${Version}\n' $(roots "$name") | sort
}

build() {
	local name=$1 final=$BENCH_WORKLOADS/$1 stamp=$BENCH_WORKLOADS/$1.stamp
	local spec sp pyver top dp=/usr/lib/python3/dist-packages
	spec=$(spec_of "$name")
	if [[ -f $stamp && -d $final && $(cat "$stamp") == "$spec" ]]; then
		tree_report "$name" "$final/env"
		return 0
	fi
	bench_log "building workload '$name' (roots: $(roots "$name"))"
	# Built in place (venv writes its own path into pyvenv.cfg and the
	# activate scripts); the stamp, written last, marks it complete.
	rm -rf "$stamp" "$final"
	mkdir -p "$final"
	"$BENCH_PY" -m venv --without-pip "$final/env"
	pyver=$("$BENCH_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	sp=$final/env/lib/python$pyver/site-packages
	[[ -d $sp ]] || bench_die "venv has no $sp"
	local tops
	# shellcheck disable=SC2046 # the root list is meant to split
	tops=$(closure $(roots "$name"))
	while IFS= read -r top; do
		[[ -e $dp/$top || -L $dp/$top ]] || continue
		# Whole package dirs, with the __pycache__ Debian compiled at
		# install time (valid: cp -a keeps the sources' mtimes).
		cp -a "$dp/$top" "$sp/"
		# A top-level module's .pyc sits in dist-packages/__pycache__.
		if [[ $top == *.py ]]; then
			local pyc
			for pyc in "$dp/__pycache__/${top%.py}".cpython-*.pyc; do
				[[ -e $pyc ]] || continue
				mkdir -p "$sp/__pycache__"
				cp -a "$pyc" "$sp/__pycache__/"
			done
		fi
	done <<<"$tops"
	# Fill in what Debian did not compile; files that are not valid
	# Python 3 (test data) are skipped by compileall, so its status is
	# not an error here.
	"$BENCH_PY" -m compileall -q -j 0 "$sp" >/dev/null 2>&1 || true
	mkdir -p "$BENCH_WORK/mplconfig"
	check_imports "$name" "$final/env" ||
		bench_die "workload '$name' does not import ($(bench_workload_imports "$name"))"
	printf '%s\n' "$spec" >"$stamp"
	tree_report "$name" "$final/env"
}

main() {
	local names=() a
	[[ $# -eq 0 ]] && set -- all
	for a in "$@"; do
		case $a in
		small | mid | large) names+=("$a") ;;
		all) names+=(small mid large) ;;
		-h | --help) usage ;;
		*) usage ;;
		esac
	done
	ensure_packages "${names[@]}"
	mkdir -p "$BENCH_WORKLOADS" "$BENCH_WORK"
	for a in "${names[@]}"; do build "$a"; done
}

main "$@"
