#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Pull and push fail with one clear line (exit 1, 2 for usage) and leave
# the store unchanged: an unknown tag, an unknown env, a manifest of
# another artifact type, a name taken, a bad reference, a registry that
# is down.
set -euo pipefail
. "$(dirname "$0")/reg-lib.sh"
reg_setup
reg_start

reg_tree "$W/src" alpha
ctl_expect 0 import e1 "$W/src"
ctl_expect 0 push e1 "$REG/team/e1:v1"
bh2 init >/dev/null
before=$(store_summary "$H2")

ctl_run bh2 pull "$REG/team/e1:nope"
assert_eq "$RC" 1 "unknown tag exit"
assert_one_error "cannot pull '$REG/team/e1:nope': no manifest 'nope' in '$REG/team/e1'"

ctl_expect 1 push nosuch "$REG/team/x:v1"
assert_one_error "cannot push 'nosuch': no such env or snapshot"

# an image of another kind: an OCI image manifest without Blast's type
cfg='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
cdig=sha256:$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
loc=$(curl -sf -D - -o /dev/null -X POST "http://$REG/v2/other/img/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
case $loc in /*) loc=http://$REG$loc ;; esac
sep='?'
[[ "$loc" == *\?* ]] && sep='&'
curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "$cfg" "$loc${sep}digest=$cdig" >/dev/null
man="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$cdig\",\"size\":${#cfg}},\"layers\":[]}"
curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "$man" "http://$REG/v2/other/img/manifests/v1" >/dev/null
ctl_run bh2 pull "$REG/other/img:v1"
assert_eq "$RC" 1 "other artifact exit"
assert_one_error "cannot pull '$REG/other/img:v1': not a Blast env (artifact type 'application/vnd.oci.image.config.v1+json')"

ctl_run bh2 pull "$REG/team/e1:v1" e1
assert_eq "$RC" 0 "pull: $ERR"
after=$(store_summary "$H2")
ctl_run bh2 pull "$REG/team/e1:v1" e1
assert_eq "$RC" 1 "name taken exit"
assert_one_error "cannot pull '$REG/team/e1:v1': env 'e1' exists"
assert_eq "$(store_summary "$H2")" "$after" "store unchanged by a taken name"
ctl_run bh2 destroy e1
ctl_run bh2 gc

ctl_run bh2 pull "not a ref"
assert_eq "$RC" 2 "bad reference exit"
assert_usage_error
ctl_run bh2 pull "$REG/team/e1:v1" ".bad"
assert_eq "$RC" 2 "bad name exit"

reg_stop
ctl_run bh2 pull "$REG/team/e1:v1"
assert_eq "$RC" 1 "registry down exit"
assert_one_error "cannot pull '$REG/team/e1:v1': cannot reach registry '$REG'"
ctl_expect 1 push e1 "$REG/team/e1:v2"
assert_one_error "cannot push 'e1' to '$REG/team/e1:v2': cannot reach registry '$REG'"
assert_eq "$(store_summary "$H2")" "$before" "store unchanged"
store_clean "$H2"
