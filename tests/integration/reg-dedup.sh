#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Layers are per package and content only: a second env sharing most
# packages with a pushed one uploads only the layers of what differs
# (the registry's storage grows by about that), and a pull into a store
# that holds most of the content fetches only the rest.
set -euo pipefail
. "$(dirname "$0")/reg-lib.sh"
reg_setup
reg_start

# storage: bytes of blob data in the registry
storage() { du -sb "$REGDIR" | cut -f1; }

reg_tree "$W/a" alpha beta gamma delta
reg_tree "$W/b" alpha beta gamma delta=2.0 epsilon
# the other env's files were written at other times: layers ignore that
touch -d '2001-01-01' "$W/b/lib/python3.11/site-packages/alpha/sub/data.bin"
ctl_expect 0 import a "$W/a"
ctl_expect 0 import b "$W/b"

ctl_expect 0 --json push a "$REG/team/a:1"
before=$(storage)
ctl_expect 0 --json push b "$REG/team/b:1"
# b: delta 2.0 and epsilon (package + bytecode layers each) and the config;
# alpha, beta and gamma's package layers are in team/a already: mounted
# from there (their bytecode differs: random here, as install times make
# it)
assert_eq "$(json_field uploaded <<<"$OUT")" 8 "uploads of the second env"
assert_eq "$(json_field mounted <<<"$OUT")" 3 "layers mounted from team/a"
grew=$(($(storage) - before))
[ "$grew" -lt $((3 * 210 * 1024)) ] || die "registry grew by $grew bytes for two new packages"

# a store holding a pulls b: only the layers of what a lacks
ctl_run bh2 pull "$REG/team/a:1"
[ "$RC" -eq 0 ] || die "pull a: $ERR"
ctl_run bh2 --json pull "$REG/team/b:1"
[ "$RC" -eq 0 ] || die "pull b: $ERR"
assert_eq "$(json_field fetched <<<"$OUT")" 7 "layers fetched for b"
[ "$(json_field received_bytes <<<"$OUT")" -lt $((3 * 210 * 1024)) ] || die "pull moved too much: $OUT"
bh2 export b "$W/out" 2>/dev/null
assert_same_tree "$W/b" "$W/out"
store_clean "$H2"
