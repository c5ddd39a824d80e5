#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Long commands show a progress line on stderr when it is a terminal (a
# real pseudo-terminal here): import, gc, compact and check --store --deep
# draw "what done/total ..." lines with \r, at most every BLAST_PROGRESS_MS,
# never wider than the terminal, and erase the line before their summary.
# push and pull likewise (when docker-registry is installed). Piped
# stderr gets no \r at all, and -q/--quiet silences the line (and the
# status lines) on a terminal too, also before the command's name.
set -euo pipefail
. "$(dirname "$0")/reg-lib.sh" # ctl-lib.sh, and a registry for push/pull
require_python
ctl_setup

# pty_run COLS OUT ERR CMD...: CMD with stderr on a new pseudo-terminal of
# COLS columns (raw: no \n -> \r\n), stdout into OUT (-: the terminal too), what the terminal
# got into ERR (and into ERR.lines, one line per \r or \n); prints CMD's
# exit status and its run time in ms.
pty_run() {
	"$BLAST_TEST_PYTHON" - "$@" <<'PY'
import fcntl, os, pty, select, struct, subprocess, sys, termios, time, tty
cols, out, err, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
m, s = pty.openpty()
tty.setraw(s)
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
t0 = time.monotonic()
with open(os.devnull if out == "-" else out, "wb") as fo:
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=s if out == "-" else fo, stderr=s)
# s stays open here: the master never sees EIO, which could come before
# the last bytes were read; after the exit, what is buffered is drained
got = bytearray()
while True:
    if select.select([m], [], [], 0.05)[0]:
        got += os.read(m, 65536)
    elif p.poll() is not None:
        while select.select([m], [], [], 0)[0]:
            got += os.read(m, 65536)
        break
rc = p.wait()
open(err, "wb").write(got)
open(err + ".lines", "wb").write(got.replace(b"\r", b"\n"))
print(rc, int((time.monotonic() - t0) * 1000))
PY
}

# A tree of 600 incompressible-ish files (22.9 MiB) in 12 dirs.
"$BLAST_TEST_PYTHON" - "$W/src" <<'PY'
import os, random, sys
r = random.Random(7)
for d in range(12):
    os.makedirs(f"{sys.argv[1]}/d{d}")
    for f in range(50):
        with open(f"{sys.argv[1]}/d{d}/f{f}", "wb") as fh:
            fh.write(r.randbytes(20000) + bytes(20000))
PY

export BLAST_PROGRESS_MS=0 # every update redraws: deterministic
read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" import one "$W/src")
assert_eq 0 "$rc" "import on a terminal"
grep -Eq '^scanning [0-9]+ files' "$W/err.lines" ||
	die "import: no 'scanning N files' line in: $(sed -n 1,5p "$W/err.lines")"
grep -Eq '^importing [0-9.]+ (B|KiB|MiB)/22\.9 MiB [0-9]+%' "$W/err.lines" ||
	die "import: no 'importing DONE/TOTAL N%' line in: $(tail -n 5 "$W/err.lines")"
grep -Eq '^importing .*, [0-9.]+ (B|KiB|MiB)/s, ETA [0-9]+:[0-9]{2}$' "$W/err.lines" ||
	die "import: no rate and ETA in: $(tail -n 5 "$W/err.lines")"
# the line is erased (blanks, then \r) before the summary starts
"$BLAST_TEST_PYTHON" - "$W/err" <<'PY' || die "import: progress not erased before the summary"
import re, sys
segs = open(sys.argv[1], "rb").read().split(b"\r")
i = next(i for i, s in enumerate(segs) if s.startswith(b"imported 'one'"))
assert i > 0 and re.fullmatch(rb" +", segs[i - 1]), segs[i - 2 : i + 1]
PY
[ -z "$(cat "$W/out")" ] || die "import: progress on stdout: $(cat "$W/out")"

# gc, compact, check --store --deep: done/total of blobs or bytes
ctl_expect 0 destroy one # a blob or two for gc, none of them referenced
ctl_expect 0 import two "$W/src"
read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" gc)
assert_eq 0 "$rc" "gc on a terminal"
grep -Eq '^scanning [0-9]+/[0-9]+ blobs' "$W/err.lines" ||
	die "gc: no 'scanning N/M blobs' line in: $(sed -n 1,5p "$W/err.lines")"
grep -q '^gc: freed' "$W/err.lines" || die "gc: no summary"
read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" compact --level 3)
assert_eq 0 "$rc" "compact on a terminal"
grep -Eq '^compacting [0-9.]+ (B|KiB|MiB)/[0-9.]+ (KiB|MiB) [0-9]+%' "$W/err.lines" ||
	die "compact: no 'compacting DONE/TOTAL' line in: $(sed -n 1,5p "$W/err.lines")"
read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" check --store --deep)
assert_eq 0 "$rc" "check --store --deep on a terminal"
grep -Eq '^verifying [0-9]+/[0-9]+ blobs [0-9]+%' "$W/err.lines" ||
	die "check: no 'verifying N/M blobs' line in: $(sed -n 1,5p "$W/err.lines")"
grep -Eq '^checking [0-9]+/[0-9]+ tables' "$W/err.lines" ||
	die "check: no 'checking N/M tables' line in: $(sed -n 1,5p "$W/err.lines")"
grep -qx "store ok" "$W/err.lines" || die "check: no 'store ok' line"

# a problem check prints on stdout, the same terminal, starts on a line
# of its own: the progress line is erased first (\r, blanks, \r)
"$BLAST_TEST_PYTHON" -c 'import os, sys; open(sys.argv[1], "wb").write(b"BLASTMARK-2f9c" + os.urandom(100000))' "$W/marked"
mkdir "$W/bad" && mv "$W/marked" "$W/bad/"
"$BLASTCTL" --home "$W/hbad" import --quiet many "$W/src"
"$BLASTCTL" --home "$W/hbad" import --quiet bad "$W/bad" # the last blob
"$BLAST_TEST_PYTHON" - "$W/hbad/packs" <<'PY' # stored raw: flip a byte
import glob, sys
for f in glob.glob(sys.argv[1] + "/*.pack"):
    d = bytearray(open(f, "rb").read())
    i = d.find(b"BLASTMARK-2f9c")
    if i >= 0:
        d[i] ^= 0xFF
        open(f, "r+b").write(d)
        break
else:
    sys.exit("the marked bytes are in no pack file")
PY
read -r rc ms < <(pty_run 100 - "$W/err" "$BLASTCTL" --home "$W/hbad" check --store --deep)
assert_eq 1 "$rc" "check of a damaged store"
"$BLAST_TEST_PYTHON" - "$W/err" <<'PY' || die "check: a problem printed into the progress line: $(tail -n 3 "$W/err.lines")"
import re, sys
got = open(sys.argv[1], "rb").read()
i = got.index(b"store: blob ")
assert re.search(rb"\rverifying [^\r\n]*\r +\r$", got[:i]), got[max(0, i - 200) : i + 40]
PY

# a narrow terminal: no drawn line reaches its last column (no wrap)
read -r rc ms < <(pty_run 30 "$W/out" "$W/err" "$BLASTCTL" --home "$H" import three "$W/src")
assert_eq 0 "$rc" "import on a 30-column terminal"
long=$(grep -E '^(scanning|importing)' "$W/err.lines" | awk 'length > 29' | sed -n 1p)
[ -z "$long" ] || die "a progress line wider than 29 columns: [$long]"

# -q, --quiet: nothing but errors on the terminal
for q in --quiet -q; do
	read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" import "q$q" "$W/src" "$q")
	assert_eq 0 "$rc" "import $q"
	[ ! -s "$W/err" ] || die "import $q wrote to the terminal: $(sed -n 1,3p "$W/err.lines")"
	read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" check --store --deep "$q")
	assert_eq 0 "$rc" "check $q"
	[ ! -s "$W/err" ] || die "check $q wrote to the terminal: $(sed -n 1,3p "$W/err.lines")"
done
# before the command's name too (like --json), where the command has it
read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" --quiet import qglobal "$W/src")
assert_eq 0 "$rc" "--quiet import"
[ ! -s "$W/err" ] || die "--quiet import wrote to the terminal: $(sed -n 1,3p "$W/err.lines")"
ctl_expect 2 --quiet list
assert_usage_error
assert_contains "$ERR" "--quiet is not supported by list" "--quiet before a command without it"
read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" compact -q)
assert_eq 0 "$rc" "compact -q"
[ ! -s "$W/err" ] || die "compact -q wrote to the terminal"
read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" gc --quiet)
assert_eq 0 "$rc" "gc --quiet"
[ ! -s "$W/err" ] || die "gc --quiet wrote to the terminal"

# piped stderr: the summary only, no \r
"$BLASTCTL" --home "$H" import piped "$W/src" 2>"$W/err" >/dev/null
! grep -q $'\r' "$W/err" || die "import with stderr piped drew progress: $(tr '\r' '\n' <"$W/err" | sed -n 1,3p)"
assert_contains "$(cat "$W/err")" "imported 'piped'" "summary when piped"
"$BLASTCTL" --home "$H" check --store --deep 2>"$W/err" >/dev/null
assert_eq "store ok" "$(cat "$W/err")" "check with stderr piped"

# push, pull: bytes of layers
if command -v docker-registry >/dev/null; then
	reg_start
	read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$H" push two "$REG/p/two:v1")
	assert_eq 0 "$rc" "push on a terminal: $(tail -n 3 "$W/err.lines")"
	grep -Eq '^pushing [0-9.]+ (B|KiB|MiB)/[0-9.]+ (KiB|MiB) [0-9]+%' "$W/err.lines" ||
		die "push: no 'pushing DONE/TOTAL' line in: $(sed -n 1,5p "$W/err.lines")"
	read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$W/h2" pull "$REG/p/two:v1")
	assert_eq 0 "$rc" "pull on a terminal: $(tail -n 3 "$W/err.lines")"
	grep -Eq '^pulling [0-9.]+ (B|KiB|MiB)/[0-9.]+ (KiB|MiB) [0-9]+%' "$W/err.lines" ||
		die "pull: no 'pulling DONE/TOTAL' line in: $(sed -n 1,5p "$W/err.lines")"
	read -r rc ms < <(pty_run 100 "$W/out" "$W/err" "$BLASTCTL" --home "$W/h3" pull -q "$REG/p/two:v1")
	assert_eq 0 "$rc" "pull -q"
	# (warnings stay; the env had no python, so there is none)
	! grep -q $'\r' "$W/err" || die "pull -q drew progress: $(sed -n 1,3p "$W/err.lines")"
else
	note "no docker-registry: push and pull not tried"
fi

# the default interval limits redraws; BLAST_PROGRESS_MS=100: at most
# one per 100 ms (and none before the first 100 ms)
BLAST_PROGRESS_MS=100 read -r rc ms < <(BLAST_PROGRESS_MS=100 pty_run 100 "$W/out" "$W/err" \
	"$BLASTCTL" --home "$H" import slow "$W/src")
assert_eq 0 "$rc" "import with BLAST_PROGRESS_MS=100"
n=$(grep -cE '^(scanning|importing)' "$W/err.lines" || true)
((n <= ms / 100 + 1)) || die "$n redraws in $ms ms with BLAST_PROGRESS_MS=100"
read -r rc ms < <(BLAST_PROGRESS_MS=bogus pty_run 100 "$W/out" "$W/err" \
	"$BLASTCTL" --home "$H" import bogus "$W/src")
assert_eq 0 "$rc" "import with BLAST_PROGRESS_MS=bogus"
n=$(grep -cE '^(scanning|importing)' "$W/err.lines" || true)
((n <= ms / 250 + 1)) || die "$n redraws in $ms ms with the default interval"
note "ok"
