#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `create --python X.Y` finds interpreters where people keep them: a
# pyenv shim on PATH for a version that is not selected fails (as real
# pyenv's does), so pyenv's versions directory is asked (newest patch
# first), then the system's and uv's. No such version: one line listing
# the versions it did find, and the store unchanged. (Before: the shim's
# error, truncated to its last line.)
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_fuse
require_python
require_blast
ctl_setup

# A stand-in interpreter: it reports itself as Python 3.42.N, whatever
# it is asked (ensurepip then "succeeds" with nothing to install).
fake_python() { # DIR VERSION
	mkdir -p "$1"
	printf '#!/bin/sh\necho "$0"; echo 3.42; echo %s\n' "$2" >"$1/python3.42"
	chmod +x "$1/python3.42"
}
fake_python "$W/pyenv/versions/3.42.1/bin" 3.42.1
fake_python "$W/pyenv/versions/3.42.10/bin" 3.42.10
fake_python "$W/uv/cpython-3.43.2-linux-x86_64-gnu/bin" 3.42.2
mv "$W/uv/cpython-3.43.2-linux-x86_64-gnu/bin/python3.42" \
	"$W/uv/cpython-3.43.2-linux-x86_64-gnu/bin/python3.43"
mkdir -p "$W/shims"
cat >"$W/shims/python3.42" <<'SH'
#!/bin/sh
echo "pyenv: python3.42: command not found" >&2
echo "" >&2
echo "The \`python3.42' command exists in these Python versions:" >&2
echo "  3.42.1" >&2
exit 127
SH
cp "$W/shims/python3.42" "$W/shims/python3.77"
chmod +x "$W/shims/"*
export PATH="$W/shims:$PATH" PYENV_ROOT="$W/pyenv" UV_PYTHON_INSTALL_DIR="$W/uv"

ctl_expect 0 create picked --python 3.42
assert_contains "$ERR" "$W/pyenv/versions/3.42.10/bin/python3.42" \
	"the newest pyenv version, past the failing shim"
ctl_expect 0 list --json
assert_eq "$W/pyenv/versions/3.42.10/bin/python3.42 3.42" \
	"$(json_get 'next(e["python"] + " " + e["python_version"] for e in j["envs"] if e["name"] == "picked")')" \
	"picked's interpreter in its record"

# uv's directory names carry the full version; the 3.43 one reports
# 3.42.2, which does not match 3.43: not taken.
before=$(bctl list --json)
ctl_expect 1 create other --python 3.43
assert_one_error "no working python3.43 found"
assert_contains "$ERR" "3.42" "the error lists the versions found"
assert_contains "$ERR" "3.43" "uv's version is listed too"
ctl_expect 1 create other --python 3.77
assert_one_error "no working python3.77 found"
case $ERR in
*"found: "*3.77*) die "the shim's version was listed as found: $ERR" ;;
esac
assert_eq "$before" "$(bctl list --json)" "store after failed creates"
exit 0
