#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A `blastctl start` that fails after blastfs mounted the env (its tree
# has no bin/, so the activate scripts cannot be written) exits 1 with one
# error line and leaves nothing behind: no mount, no blastfs process, no
# mountpoint directory it made; the env then starts once it is usable.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
ctl_mount_setup

mkdir -p "$W/src/lib" "$W/p"
echo data >"$W/src/lib/file"
bctl import nobin "$W/src" 2>/dev/null
M=$W/p/.blast
on_exit cleanup_mount "$M"
# whatever the failed start left running is killed at exit too
on_exit eval 'p=$(sed -n "s/^pid=//p" "$H/run/nobin.info" 2>/dev/null); [ -z "$p" ] || kill_pid "$p"'

ctl_expect 1 start nobin --dir "$W/p"
assert_one_error "bin/activate"
is_mounted "$M" && die "failed start left '$M' mounted"
[ -e "$M" ] && die "failed start left the mountpoint '$M' it made"
pid=$(sed -n 's/^pid=//p' "$H/run/nobin.info" 2>/dev/null || true)
if [ -n "$pid" ] && _lib_pid_alive "$pid"; then
	die "failed start left blastfs (pid $pid) running"
fi
assert_eq "" "$(env_pid nobin)" "daemon listed after the failed start"

# An existing, empty mountpoint directory is kept.
mkdir "$M"
ctl_expect 1 start nobin --dir "$W/p"
assert_one_error "bin/activate"
is_mounted "$M" && die "second failed start left '$M' mounted"
[ -d "$M" ] || die "failed start removed the directory '$M' it did not make"
exit 0
