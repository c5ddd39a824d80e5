#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A layer changed in the registry's storage is refused on pull, naming
# the blob, and the store is as before: no env, the bad layer not cached,
# clean.
set -euo pipefail
. "$(dirname "$0")/reg-lib.sh"
reg_setup
reg_start

reg_tree "$W/src" alpha beta
ctl_expect 0 import e1 "$W/src"
ctl_expect 0 --json push e1 "$REG/team/e1:v1"
layer=$(curl -sf "http://$REG/v2/team/e1/manifests/v1" -H 'Accept: application/vnd.oci.image.manifest.v1+json' |
	"$BLAST_TEST_PYTHON" -c 'import json,sys; print([l["digest"] for l in json.load(sys.stdin)["layers"] if l["annotations"]["org.opencontainers.image.title"] == "beta"][0])')
hex=${layer#sha256:}
data=$REGDIR/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
[ -f "$data" ] || die "no blob file $data"
# flip one byte in the middle
"$BLAST_TEST_PYTHON" - "$data" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100)
    b = f.read(1)
    f.seek(100)
    f.write(bytes([b[0] ^ 0xff]))
PY

bh2 init >/dev/null
before=$(store_summary "$H2")
ctl_run bh2 pull "$REG/team/e1:v1"
assert_eq "$RC" 1 "tampered pull exit"
assert_one_error "blob $layer from '$REG' has digest sha256:"
assert_contains "$ERR" "refused" "tampered pull message"
assert_eq "$(store_summary "$H2")" "$before" "store unchanged"
# layers that checked out may stay cached for a rerun; the bad one not
assert_eq "$(find "$H2/oci-cache" -name "$hex*" | wc -l)" 0 "bad layer not cached"
store_clean "$H2"

# the rest of the registry still serves: another env without beta pulls
reg_tree "$W/src2" alpha
ctl_expect 0 import e2 "$W/src2"
ctl_expect 0 push e2 "$REG/team/e2:v1"
ctl_run bh2 pull "$REG/team/e2:v1"
assert_eq "$RC" 0 "untampered pull: $ERR"
