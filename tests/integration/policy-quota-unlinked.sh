#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fs.quota and a file unlinked while open: its bytes count until its last
# user lets go, and a truncate of it meanwhile is not subtracted twice
# (30 rounds of write, unlink, ftruncate(0) used to take 30 MiB off the
# env's size: it could grow past its quota while df said full). Both
# open modes (policy-lib.sh).
set -euo pipefail
. "$(dirname "$0")/policy-lib.sh"
require_cmd df

df_used() { df -B1 --output=used "$M" | tail -n1 | tr -d ' '; }
# shellcheck disable=SC2034 # wait_until reads WAIT_WHY
df_used_is() { # BYTES: df counts BYTES used (else says how many in WAIT_WHY)
	after=$(df_used) && [ "$after" == "$1" ] && return 0
	WAIT_WHY="df used $after"
	return 1
}

route() {
	local mode=$1 before after
	echo 'x' >"$SRC/keep.txt"
	pol_mount "$mode" "unl-$mode" "$SRC"
	bpol set fs.quota 32M
	before=$(df_used)
	"$BLAST_TEST_PYTHON" - "$M" <<'PY'
import os, sys
p = os.path.join(sys.argv[1], "tmp.bin")
for _ in range(30):
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"z" * (1 << 20))
    os.unlink(p)
    os.ftruncate(fd, 0)
    os.close(fd)
PY
	# the kernel forgets the unlinked files soon after their close
	wait_until 120 "$mode: df used back to $before" df_used_is "$before"
	note "$mode: df used $after, as before"
	# the quota still holds: 33 MiB do not fit in 32
	"$BLAST_TEST_PYTHON" - "$M" <<'PY'
import errno, os, sys
p = os.path.join(sys.argv[1], "big.bin")
try:
    with open(p, "wb") as f:
        for _ in range(33):
            f.write(b"y" * (1 << 20))
    sys.exit("33 MiB written under a 32 MiB quota")
except OSError as e:
    assert e.errno == errno.EDQUOT, e
os.unlink(p)
PY
	pol_umount
}
pol_both_modes route
