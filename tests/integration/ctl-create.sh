#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `blastctl create` builds what `python -m venv` builds (pyvenv.cfg keys,
# bin/ symlinks to the base interpreter, lib/pythonX.Y/site-packages,
# lib64 -> lib, include/) with pip from the real ensurepip. The second
# create for the same interpreter clones the pip seed: same tree, the
# store barely grows (its time is printed, not asserted: timings belong
# in bench/). A bad interpreter or a taken name is one clear error and
# changes nothing.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_fuse
require_python
require_blast
ctl_setup
PY=$BLAST_TEST_PYTHON

# stored_bytes and blob count of the whole store.
store_totals() {
	ctl_expect 0 list --json
	json_get '"%d %d" % (j["store"]["stored_bytes"], j["store"]["blobs"])'
}

ms_since() {
	local now=${EPOCHREALTIME//[!0-9]/}
	echo $(((10#$now - 10#$1) / 1000))
}

# The reference: a real venv with pip, from the same interpreter.
"$PY" -m venv "$W/real"

t0=${EPOCHREALTIME//[!0-9]/}
ctl_expect 0 create first --python "$PY"
note "first create (seeds pip): $(ms_since "$t0") ms"
assert_contains "$ERR" "created env 'first'" "create's status line"
assert_eq "" "$OUT" "create prints nothing on stdout"
read -r stored1 blobs1 < <(store_totals)

bctl export first "$W/first"
E=$W/first R=$W/real

# pyvenv.cfg: the keys venv writes, with the same values (venv adds
# `command`, which says how it was made).
cfg() { grep -v '^command = ' "$1/pyvenv.cfg" | sort; }
assert_eq "$(cfg "$R")" "$(cfg "$E")" "pyvenv.cfg"

# bin/python*: symlinks to the same base interpreter.
xy=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
for f in python python3 "python$xy"; do
	[ -L "$E/bin/$f" ] || die "bin/$f is not a symlink"
	assert_eq "$(readlink -f "$R/bin/$f")" "$(readlink -f "$E/bin/$f")" "bin/$f target"
done
assert_eq "lib" "$(readlink "$E/lib64")" "lib64 -> lib"
[ -d "$E/include" ] || die "include/ missing"
[ -d "$E/lib/python$xy/site-packages" ] || die "site-packages missing"

# pip from ensurepip: the same distributions and console scripts as venv.
sp() { find "$1/lib/python$xy/site-packages" -mindepth 1 -maxdepth 1 ! -name __pycache__ -printf '%f\n' | sort; }
assert_eq "$(sp "$R")" "$(sp "$E")" "site-packages contents"
scripts() { find "$1/bin" -name 'pip*' -printf '%f\n' | sort; }
assert_eq "$(scripts "$R")" "$(scripts "$E")" "pip console scripts"
for f in $(scripts "$E"); do
	[ -x "$E/bin/$f" ] || die "bin/$f not executable"
done
# pip's own files are identical (only shebangs and RECORD paths differ).
diff -r -x __pycache__ "$R/lib/python$xy/site-packages/pip" \
	"$E/lib/python$xy/site-packages/pip" >/dev/null || die "pip package differs from venv's"

# The second create clones the seed: the same tree, nearly no new data.
t0=${EPOCHREALTIME//[!0-9]/}
ctl_expect 0 create second --python "$PY"
note "second create (clone of the seed): $(ms_since "$t0") ms"
read -r stored2 blobs2 < <(store_totals)
note "stored bytes: $stored1 after the first create, $stored2 after the second"
assert_eq "$blobs1" "$blobs2" "blobs after the second create"
[ $((stored2 - stored1)) -lt 65536 ] || die "second create stored $((stored2 - stored1)) more bytes"
bctl export second "$W/second"
assert_same_tree "$W/first" "$W/second"
ctl_expect 0 list --json
assert_eq "$(readlink -f "$PY") $xy" \
	"$(json_get 'next(e["python"] + " " + e["python_version"] for e in j["envs"] if e["name"] == "second")')" \
	"second's python in its record"

# Errors: one line, exit 1, and the store is as it was.
before=$(bctl list --json)
ctl_expect 1 create first --python "$PY"
assert_one_error "env 'first' already exists"
ctl_expect 1 create third --python "$W/no-such-python"
assert_one_error "interpreter '$W/no-such-python' not found"
ctl_expect 1 create third --python /bin/true
assert_one_error "'/bin/true' is not a Python interpreter"
printf '#!/bin/sh\necho broken >&2\nexit 3\n' >"$W/broken-python"
chmod +x "$W/broken-python"
ctl_expect 1 create third --python "$W/broken-python"
assert_one_error "'$W/broken-python' is not a working Python interpreter: broken"
ctl_expect 1 create third --python 3.99
assert_one_error "no working python3.99 found"
ctl_expect 2 create .bad --python "$PY"
assert_usage_error
assert_eq "$before" "$(bctl list --json)" "store after failed creates"
left=$(find "$H/run" -mindepth 1 ! -name '*.lock' ! -name '*.log')
[ -z "$left" ] || die "leftovers in $H/run: $left"

ctl_expect 0 check --store
exit 0
