#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# blastctl run as a user without root (nobody, through setpriv): the same
# confinement through an unprivileged user namespace (no capabilities,
# seccomp, host read-only, private /tmp, no way into the host's
# namespaces, --net none, --unshare), cgroup limits refused with a clear
# reason or replaced by setrlimit (said so); and root under sudo runs CMD
# as SUDO_UID, refused clearly when the env's mount would not let it in.
# The env is mounted by root with allow_other (this machine's /dev/fuse
# may be root's only) and its store handed to nobody.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
require_run_sees "$BLAST_REPO" "$BLASTCTL" "$PWD"
require_fuse
require_python
require_blast
require_root
require_cmd setpriv
ctl_setup
chmod 755 "$W"
asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
why=$(asnobody unshare -U true 2>&1) ||
	skip "no unprivileged user namespaces here ($why): nothing to test as a user"
asnobody test -x "$BLASTCTL" || skip "nobody cannot run $BLASTCTL (a private build dir)"

P=$W/proj
M=$P/.blast
mkdir -p "$P" "$W/p2"
chown nobody:nogroup "$P"
cat >"$W/blastfs-allow-other" <<EOF
#!/bin/sh
exec "$BLASTFS" --allow-other "\$@"
EOF
chmod 755 "$W/blastfs-allow-other"

expect() {
	local want=$1
	shift
	ctl_run "$@"
	[ "$RC" -eq "$want" ] || die "$*: expected exit $want, got $RC: $OUT $ERR"
}
envpid() {
	bctl --json list | "$BLAST_TEST_PYTHON" -c 'import json,sys; print([e["pid"] for e in json.load(sys.stdin)["envs"] if e["name"]==sys.argv[1]][0])' "$1"
}

on_exit cleanup_mount "$M"
on_exit cleanup_mount "$W/p2/.blast"
expect 0 env BLASTFS="$W/blastfs-allow-other" "$BLASTCTL" --home "$H" start --dir "$P" proj --python "$BLAST_TEST_PYTHON"
on_exit kill_pid "$(envpid proj)"
note "root under sudo, an env mounted without allow_other: refused clearly"
expect 0 bctl start --dir "$W/p2" plain --python "$BLAST_TEST_PYTHON"
on_exit kill_pid "$(envpid plain)"
expect 1 env SUDO_UID=65534 SUDO_GID=65534 "$BLASTCTL" --home "$H" run plain -- true
assert_one_error "does not let SUDO_UID 65534 in"
expect 1 env SUDO_UID=x SUDO_GID=65534 "$BLASTCTL" --home "$H" run plain -- true
assert_one_error "invalid SUDO_UID 'x'"

note "root under sudo: CMD runs as SUDO_UID, without capabilities"
cd "$P"
expect 0 env SUDO_UID=65534 SUDO_GID=65534 "$BLASTCTL" --home "$H" run proj -- sh -c 'id -u; id -g; grep CapEff /proc/self/status'
assert_eq "65534
65534
CapEff:	0000000000000000" "$OUT"
assert_contains "$ERR" "as uid 65534"
assert_contains "$ERR" "new pid"
# a process of that user outside: its /proc/PID/root would be the host,
# writable as that user, were CMD to see its pid
OUTSIDE_SH=/tmp/blast-user-root-$$
on_exit rm -f "$OUTSIDE_SH"
setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 300 &
SL=$!
on_exit kill_pid "$SL"
wait_until 60 "sleep $SL to run as nobody" grep -qs "^Uid:.65534" "/proc/$SL/status"
ctl_run env SUDO_UID=65534 SUDO_GID=65534 "$BLASTCTL" --home "$H" run proj -- sh -c "touch /proc/$SL/root$OUTSIDE_SH && echo REACHED"
assert_not_contains "$OUT" "REACHED"
[ ! -e "$OUTSIDE_SH" ] || die "CMD under sudo wrote the host through /proc/$SL/root"

# unix sockets: the supervisor connects with CMD's uid (a root-only
# socket in the project is refused as the kernel would refuse CMD) and
# only where CMD may write (/var/tmp is not)
VT=$(mktemp -d /var/tmp/blast-user-sock.XXXXXX)
on_exit rm -rf "$VT"
chmod 755 "$VT"
"$BLAST_TEST_PYTHON" -c '
import os, select, socket, sys
ss = []
for path, mode in zip(sys.argv[1::2], sys.argv[2::2]):
    s = socket.socket(socket.AF_UNIX); s.bind(path); s.listen(8); os.chmod(path, int(mode, 8)); ss.append(s)
open(sys.argv[1] + ".ready", "w").close()
while True:
    for s in select.select(ss, [], [])[0]:
        c, _ = s.accept(); c.sendall(b"hi"); c.close()' \
	"$P/open.s" 666 "$P/root.s" 600 "$VT/host.s" 666 &
on_exit kill_pid $!
poll_until "the socket servers" test -e "$P/open.s.ready"
uconnect='import socket, sys
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(p); print("connected", s.recv(2).decode())
    except OSError as e:
        print("refused", e.errno)'
expect 0 env SUDO_UID=65534 SUDO_GID=65534 "$BLASTCTL" --home "$H" run proj -- python -c "$uconnect" "$P/open.s" "$P/root.s" "$VT/host.s"
assert_eq "connected hi
refused 13
refused 111" "$OUT" "under sudo: open, root-only and host sockets"

chown -R nobody:nogroup "$H"
chmod -R go-w "$H"
nb() { asnobody env HOME="$W" "$BLASTCTL" --home "$H" "$@"; }

note "as nobody: a user namespace, no capabilities, seccomp"
expect 0 nb run -- sh -c 'id -u; grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'
assert_eq "65534
CapEff:	0000000000000000
CapBnd:	0000000000000000
NoNewPrivs:	1
Seccomp:	2" "$OUT"
assert_contains "$ERR" "(user namespace)"

note "as nobody: unix sockets through the supervisor"
expect 0 nb run -- python -c "$uconnect" "$P/open.s" "$P/root.s" "$VT/host.s"
assert_eq "connected hi
refused 13
refused 111" "$OUT" "as nobody: open, root-only and host sockets"

note "as nobody: the host read-only, /tmp private, the project writable"
OUTSIDE=/tmp/blast-user-outside.$$
on_exit rm -f "$OUTSIDE"
expect 0 nb run -- sh -c "echo pwned > $OUTSIDE; echo ok > '$P/in-project'"
[ ! -e "$OUTSIDE" ] || die "nobody's run wrote the host's /tmp"
assert_eq ok "$(cat "$P/in-project")"
expect 1 nb run -- touch "/var/tmp/blast-user-pwned.$$"
assert_contains "$ERR" "Read-only file system"

note "as nobody: no way into the host's namespaces, no new ones"
expect 1 nb run -- nsenter "--mount=/proc/1/ns/mnt" true
expect 1 nb run -- unshare -U true
expect 1 nb run --net none -- python -c 'import socket; socket.create_connection(("127.0.0.1", 22), timeout=5)'
assert_contains "$ERR" "Network is unreachable"
expect 0 nb run --net none --unshare pid,mount,ipc -- sh -c 'echo $$'
assert_eq 2 "$OUT" "CMD's pid in its namespace"

note "as nobody: cgroup limits need root here: setrlimit, said so, or an error"
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
	note "cgroup v2 here: the fallbacks are not reached"
else
	expect 1 nb run --memory 50M -- python -c 'b = b"x" * (200 << 20); print("allocated")'
	assert_not_contains "$OUT" "allocated"
	assert_contains "$ERR" "via setrlimit"
	assert_contains "$ERR" "no writable cgroup (root is needed here)"
	expect 1 nb run --cpu 0.5 -- true
	assert_one_error "cgroup v1 cpu: not writable (its cgroups need root here), and setrlimit cannot limit cpu"
fi

note "as nobody: blastctl's root through /proc/PID/root is out of reach"
ctl_run nb run -- sh -c "ls /proc/\$PPID/root/ >/dev/null && echo LISTED"
assert_not_contains "$OUT" "LISTED"
