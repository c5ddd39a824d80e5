#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl top: while a run (net.mode filtered, --memory 200M) holds a
# TCP connection to an echo server and has sent and received 100000
# bytes on it, `top --json` lists the run with its memory (current,
# peak, the 200 MiB limit), CPU time, pids and that connection (remote
# address and port, ESTABLISHED, the bytes each way); the text form says
# the same; a run that ended is gone from the list. (Before: "unknown
# command 'top'".)
set -euo pipefail
. "$(dirname "$0")/net-lib.sh"
net_setup
C=$NET_DIR/net-client.py
serve echo 192.0.2.1 7001
nwant 0 policy set net.allow-port 7001

nsenter --net="/run/netns/$NS" "$BLASTCTL" --home "$H" run --memory 200M -- \
	python "$C" hold 192.0.2.1 7001 100000 "$P/held" 2>"$W/run.err" &
RP=$!
on_exit kill_pid "$RP"
poll_until "the connection" test -e "$P/held"

nwant 0 top --json
printf '%s\n' "$OUT" >"$W/top.json"
"$BLAST_TEST_PYTHON" - "$W/top.json" "$RP" <<'PY' || die "top --json: $OUT"
import json, sys
j = json.load(open(sys.argv[1]))
runs = [s for s in j["sandboxes"] if s["pid"] == int(sys.argv[2])]
assert len(runs) == 1, runs
r = runs[0]
assert r["env"] == "proj" and r["net"] == "filtered", r
assert r["memory_limit"] == 200 << 20, r["memory_limit"]
assert r["memory_current"] > 0 and r["memory_peak"] >= r["memory_current"], r
assert r["cpu_ns"] > 0 and r["pids"] >= 1, r
c = [c for c in r["connections"] if c["remote"] == "192.0.2.1"
     and c["remote_port"] == 7001]
assert len(c) == 1, r["connections"]
c = c[0]
assert c["proto"] == "tcp" and c["state"] == "ESTABLISHED", c
assert c["bytes_sent"] >= 100000 and c["bytes_received"] >= 100000, c
PY

note "text form, one sample when piped"
nwant 0 top proj
assert_contains "$OUT" "env proj  pid $RP  net filtered"
assert_contains "$OUT" "limit 200.0 MiB"
assert_contains "$OUT" "-> 192.0.2.1:7001 ESTABLISHED"
nwant 0 top other
assert_contains "$OUT" "no running sandbox of env other"
nwant 2 top -bad
nwant 2 top a b

note "the run ends: gone from top"
rm "$P/held"
wait "$RP"
nwant 0 top --json
assert_eq "[]" "$(json_get 'j["sandboxes"]')"
