#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# init creates the store (0700) and prints its absolute path: --home DIR
# (relative paths resolved against the cwd), else $BLAST_HOME, else
# ${XDG_DATA_HOME:-$HOME/.local/share}/blast; a second init is a no-op.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_setup

ctl_expect 0 init
assert_eq "$H" "$OUT" "path printed by init"
[ -d "$H" ] || die "init did not create $H"
assert_eq "700" "$(stat -c %a "$H")" "store directory mode"
ctl_expect 0 init
assert_eq "$H" "$OUT" "second init"

ctl_expect 0 init --json
assert_eq "$H" "$(json_get 'j["path"]')" "init --json"

(cd "$W" && "$BLASTCTL" --home rel/store init) >"$W/.o"
assert_eq "$W/rel/store" "$(cat "$W/.o")" "relative --home"

ctl_run env BLAST_HOME="$W/bh" "$BLASTCTL" init
assert_eq "0 $W/bh" "$RC $OUT" "BLAST_HOME"
ctl_run env XDG_DATA_HOME="$W/xdg" "$BLASTCTL" init
assert_eq "0 $W/xdg/blast" "$RC $OUT" "XDG_DATA_HOME"
ctl_run env -u XDG_DATA_HOME HOME="$W/u" "$BLASTCTL" init
assert_eq "0 $W/u/.local/share/blast" "$RC $OUT" "HOME"
ctl_run env -u XDG_DATA_HOME -u HOME "$BLASTCTL" init
assert_eq 1 "$RC" "no HOME at all"
assert_one_error "set BLAST_HOME or HOME, or pass --home DIR"
exit 0
