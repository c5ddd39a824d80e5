#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The control socket of a mounted env carries requests of any valid size
# and content: snapshot names of 55 and 64 characters and a 500-byte
# message with spaces, tabs, quotes, '%' and backslashes are saved, listed
# and loaded as they are. Straight on the socket: a request over 64 KiB
# and a malformed escape get a clear error, and a client of another uid
# (euid 65534; its fsuid stays 0 so it can reach the 0600 socket) is
# refused.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_mount_setup
require_root
PY=$BLAST_TEST_PYTHON

mkdir "$W/p"
env_start e "$W/p"

s55=$(printf 'n%.0s' {1..55})
s64=$(printf 'm%.0s' {1..64})
msg=$'spaces and\ttabs, 100% "quoted" \\back\\slashes\\ %41 +=: '$(printf 'x%.0s' {1..440})
[ "${#msg}" -gt 490 ] && [ "${#msg}" -lt 512 ] || die "message is ${#msg} bytes"
ctl_expect 0 save e "$s55"
assert_contains "$ERR" "saved 'e@$s55' (mounted)"
ctl_expect 0 save e "$s64" -m "$msg"
assert_contains "$ERR" "saved 'e@$s64' (mounted)"
ctl_expect 0 snapshots e --json
assert_eq "$s64 $s55" "$(json_get '" ".join(sorted(s["name"] for s in j["snapshots"] if not s["automatic"]))')" "snapshot names"
got=$(json_get "next(s['message'] for s in j['snapshots'] if s['name'] == '$s64')")
assert_eq "$msg" "$got" "message read back"
ctl_expect 0 load e "$s55"
assert_contains "$ERR" "loaded 'e@$s55' (mounted)"

# ask UID REQUEST: send REQUEST (python bytes literal) to the socket as
# UID, print the reply.
ask() {
	"$PY" - "$H/run/e.sock" "$1" "$2" <<'PY'
import ctypes, os, socket, sys
path, uid, req = sys.argv[1], int(sys.argv[2]), eval(sys.argv[3])
if uid:
    os.setresuid(uid, uid, 0)
    ctypes.CDLL(None, use_errno=True).setfsuid(0)  # allowed: 0 is the saved uid
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
try:
    s.sendall(req)
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass  # the daemon answered and closed before reading it all
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
PY
}
assert_contains "$(ask 0 'b"status\n"')" '"ok":true' "status as root"
assert_contains "$(ask 0 'b"a" * 70000')" "request longer than 65536 bytes" "oversize request"
assert_contains "$(ask 0 'b"save x 0 a%4\n"')" "malformed request" "bad escape"
assert_contains "$(ask 0 'b"save x 0 a%00b\n"')" "malformed request" "encoded NUL"
assert_contains "$(ask 0 'b"save y 0 " + b"x" * 600 + b"\n"')" "message longer than 511 bytes" "long message"
got=$(ask 65534 'b"status\n"')
assert_contains "$got" '"ok":false' "status as uid 65534"
assert_contains "$got" "permission denied" "status as uid 65534"
ctl_expect 0 snapshots e --json
assert_eq "$s64 $s55" "$(json_get '" ".join(sorted(s["name"] for s in j["snapshots"] if not s["automatic"]))')" "no snapshot from refused requests"
ctl_expect 0 kill e
exit 0
