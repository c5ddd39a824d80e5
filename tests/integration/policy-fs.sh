#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The filesystem policy through the mount, with real tools and real
# Python, applied at once to the running daemon: fs.readonly (EROFS on
# write (at the first write: the kernel opens files itself), create, rename into and out of (and RENAME_EXCHANGE), unlink, chmod, utime, truncate,
# a hard link to it and a write through an older hard link; pip install
# into a read-only site-packages fails cleanly), fs.hidden (ENOENT by
# lookup, stat, open, create; absent from listings and from copytree;
# renaming its parent is refused; unhiding shows it again at once),
# fs.max-file-size (EFBIG), and every denial in `blastctl audit`.
set -euo pipefail
. "$(dirname "$0")/ctl-lib.sh"
pip_env_start

SP=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
SPREL=${SP#"$M"/}

note "a tree to police (made before the policy: hard links included)"
mkdir -p "$M/vendored/pkg" "$M/conf/secrets" "$M/data"
echo 'v = 1' >"$M/vendored/pkg/mod.py"
echo 'token' >"$M/conf/secrets/key"
echo 'public' >"$M/conf/app.ini"
echo 'frozen' >"$M/data/frozen.txt"
ln "$M/data/frozen.txt" "$M/frozen-link"
echo 'hid' >"$M/data/hidden.txt"
ln "$M/data/hidden.txt" "$M/hidden-link"
"$PY" -m pip install -q --no-index --find-links "$WHEELS" blast-alpha
before_pip=$("$PY" -m pip list --format=freeze 2>/dev/null)

want 0 policy set fs.readonly pyvenv.cfg 'bin/py*' vendored data/frozen.txt "$SPREL"
assert_contains "$ERR" "(applied to the mount)"
want 0 policy set fs.hidden 'conf/secrets' '**/hidden.txt'

note "fs.readonly: every write route is EROFS, reads still work"
"$PY" - "$M" <<'PY'
import errno, os, shutil, sys
M = sys.argv[1]
def refused(what, fn, *args, code=errno.EROFS):
    try:
        fn(*args)
    except OSError as e:
        assert e.errno == code, f"{what}: {e}"
        return
    raise AssertionError(f"{what}: allowed")
def exchange(a, b):  # renameat2(RENAME_EXCHANGE)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), a)
def write(p, mode="a"):
    with open(p, mode) as f:
        f.write("x")
j = lambda *a: os.path.join(M, *a)
assert open(j("pyvenv.cfg")).read().startswith("home")
refused("append", write, j("pyvenv.cfg"))
refused("truncate by open", write, j("pyvenv.cfg"), "w")
refused("os.truncate", os.truncate, j("vendored/pkg/mod.py"), 0)
refused("chmod", os.chmod, j("pyvenv.cfg"), 0o600)
refused("utime", os.utime, j("pyvenv.cfg"), (0, 0))
refused("unlink", os.unlink, j("vendored/pkg/mod.py"))
refused("rmdir", os.rmdir, j("vendored/pkg"))
refused("create under", write, j("vendored/new.py"), "w")
refused("mkdir under", os.mkdir, j("vendored/sub"))
refused("symlink under", os.symlink, "x", j("vendored/link"))
refused("rename out of", os.rename, j("vendored/pkg/mod.py"), j("mod.py"))
refused("rename the dir", os.rename, j("vendored"), j("vendored2"))
write(j("loose.txt"), "w")
refused("rename into", os.rename, j("loose.txt"), j("vendored/loose.txt"))
refused("replace", os.replace, j("loose.txt"), j("pyvenv.cfg"))
refused("exchange with", exchange, j("loose.txt"), j("pyvenv.cfg"))
refused("exchange into", exchange, j("vendored/pkg/mod.py"), j("loose.txt"))
refused("link to", os.link, j("pyvenv.cfg"), j("cfg-link"))
refused("copytree into", shutil.copytree, j("data"), j("vendored/copy"))
# a hard link made before the policy: the inode is read-only by any name
refused("write through a link", write, j("frozen-link"))
assert open(j("frozen-link")).read() == "frozen\n"
# a symlink the kernel resolves inside the mount reaches the same node
os.symlink("data/frozen.txt", j("frozen-sym"))
refused("write through a symlink", write, j("frozen-sym"))
os.unlink(j("frozen-sym"))
os.unlink(j("loose.txt"))
write(j("bin/activate.extra"), "w")  # bin/ itself is not read-only
os.unlink(j("bin/activate.extra"))
PY

note "pip install into a read-only site-packages fails cleanly"
rc=0
"$PY" -m pip install --no-index --find-links "$WHEELS" blast-epsilon >"$W/pip.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || die "pip install into a read-only site-packages succeeded"
assert_contains "$(cat "$W/pip.out")" "Read-only file system"
assert_eq "$before_pip" "$("$PY" -m pip list --format=freeze 2>/dev/null)" "pip list after the refused install"
[ ! -e "$SP/blast_epsilon" ] || die "partial install left behind"

note "fs.hidden: ENOENT by every route, absent from listings"
"$PY" - "$M" <<'PY'
import errno, os, shutil, sys
M = sys.argv[1]
j = lambda *a: os.path.join(M, *a)
def exchange(a, b):  # renameat2(RENAME_EXCHANGE)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2):
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), a)
def gone(what, fn, *args, code=errno.ENOENT):
    try:
        fn(*args)
    except OSError as e:
        assert e.errno == code, f"{what}: {e}"
        return
    raise AssertionError(f"{what}: allowed")
assert not os.path.exists(j("conf/secrets"))
assert sorted(os.listdir(j("conf"))) == ["app.ini"], os.listdir(j("conf"))
assert "hidden.txt" not in os.listdir(j("data"))
gone("stat", os.stat, j("conf/secrets/key"))
gone("open", open, j("conf/secrets/key"))
gone("open a hidden file", open, j("data/hidden.txt"))
gone("create over it", open, j("data/hidden.txt"), "w")
gone("mkdir it", os.mkdir, j("conf/secrets"))
gone("rename onto it", os.rename, j("conf/app.ini"), j("conf/secrets"))
gone("rename it", os.rename, j("conf/secrets"), j("conf/public"))
gone("exchange with it", exchange, j("conf/app.ini"), j("conf/secrets"))
gone("another name of its inode", open, j("hidden-link"))
os.symlink("conf/secrets/key", j("key-sym"))
gone("through a symlink", open, j("key-sym"))
os.unlink(j("key-sym"))
# renaming its parent would move it out from under the pattern
gone("rename the parent", os.rename, j("conf"), j("conf2"), code=errno.EACCES)
os.mkdir(j("plaind"))
gone("exchange the parent", exchange, j("plaind"), j("conf"), code=errno.EACCES)
os.rmdir(j("plaind"))
gone("rename the parent of **/hidden.txt", os.rename, j("data"), j("data2"),
     code=errno.EACCES)
shutil.copytree(j("conf"), j("conf-copy"))
assert sorted(os.listdir(j("conf-copy"))) == ["app.ini"]
shutil.rmtree(j("conf-copy"))
assert [e.name for e in os.scandir(j("conf"))] == ["app.ini"]
PY
[ "$(find "$M/conf" | sort)" == "$M/conf
$M/conf/app.ini" ] || die "find lists hidden paths: $(find "$M/conf")"
ls -la "$M/data" | grep -q hidden.txt && die "ls -la shows a hidden file"

note "applied at once: unhide, and the kernel's caches do not keep it away"
want 0 policy unset fs.hidden
assert_eq token "$(cat "$M/conf/secrets/key")" "unhidden file"
ls "$M/data" | grep -qx hidden.txt || die "unhidden file missing from its listing"
want 0 policy set fs.hidden 'conf/secrets' '**/hidden.txt'
[ ! -e "$M/conf/secrets/key" ] || die "hidden again, yet still reachable"
ls "$M/conf" | grep -q secrets && die "hidden again, yet listed"

note "fs.max-file-size: EFBIG past it"
want 0 policy set fs.max-file-size 1M
"$PY" - "$M" <<'PY'
import errno, os, sys
p = os.path.join(sys.argv[1], "big.bin")
with open(p, "wb") as f:
    f.write(b"x" * (1 << 20))  # exactly the limit: fine
try:
    with open(p, "ab") as f:
        f.write(b"y")
    raise AssertionError("write past the limit allowed")
except OSError as e:
    assert e.errno == errno.EFBIG, e
try:
    os.truncate(p, 2 << 20)
    raise AssertionError("truncate past the limit allowed")
except OSError as e:
    assert e.errno == errno.EFBIG, e
os.truncate(p, 10)  # shrinking is fine
os.unlink(p)
PY
want 0 policy unset fs.max-file-size

note "audit: each denial with pid, process, op, rule, path"
want 0 --json audit
n=$(json_get 'len(j["denials"])')
[ "$n" -ge 20 ] || die "audit has $n denials"
assert_eq True "$(json_get 'any(d["process"].startswith("python") and d["op"] in ("open-write", "write") and d["rule"] == "fs.readonly" and d["path"] == "pyvenv.cfg" for d in j["denials"])')" "audit of the pyvenv.cfg write"
assert_eq True "$(json_get 'any(d["rule"] == "fs.hidden" and d["path"] == "conf/secrets" and d["op"] == "lookup" for d in j["denials"])')" "audit of the hidden open"
assert_eq True "$(json_get 'any(d["rule"] == "fs.max-file-size" and d["path"] == "big.bin" and d["op"] == "write" for d in j["denials"])')" "audit of EFBIG"
assert_eq True "$(json_get 'all(d["pid"] > 0 for d in j["denials"])')" "pids"
want 0 audit
# without OPEN (fs/io.c) a write is refused at its first WRITE
printf '%s\n' "$OUT" | grep -Eq '(open-write|write) +fs\.readonly +pyvenv\.cfg' ||
	die "the audit table has no row for the pyvenv.cfg write: $OUT"

note "snapshots carry the policy; load applies the snapshot's"
want 0 save withpolicy
want 0 policy unset fs.readonly
echo 'x' >>"$M/pyvenv.cfg"
want 0 load withpolicy
if (echo 'y' >>"$M/pyvenv.cfg") 2>/dev/null; then die "read-only again after load, yet writable"; fi
