#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The man pages and --help agree: every command of `blastctl help` has a
section in doc/blastctl.1.scd, in the same order, headed by the same
synopsis, with its summary and exactly the options its --help names; the
global options and blastfs's likewise; the built pages render."""
import os
import re
import subprocess
import sys

REPO = os.environ.get("BLAST_REPO") or os.path.join(os.path.dirname(__file__), "../..")
BLASTCTL = os.environ.get("BLASTCTL") or os.path.join(REPO, "build/ctl/blastctl")
BLASTFS = os.environ.get("BLASTFS") or os.path.join(REPO, "build/fs/blastfs")
OPT = re.compile(r"(?<![\w./-])--?[A-Za-z][\w-]*")
fails = []


def fail(msg):
    fails.append(msg)
    print("FAIL: man-help.py: " + msg, file=sys.stderr)


def run(*argv):
    p = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, HOME="/nonexistent"))
    if p.returncode != 0:
        fail(f"{' '.join(argv)} exited {p.returncode}: {p.stderr}")
    return p.stdout


def plain(scd):
    """scdoc source to the text it shows: no comments, markup or escapes."""
    scd = "\n".join(l for l in scd.split("\n") if not l.startswith(";"))
    scd = re.sub(r"(?<!\\)[*_]", "", scd)
    return scd.replace("\\*", "*").replace("\\_", "_")


def norm(s):
    return " ".join(s.split())


def options(text):
    return set(OPT.findall(text))


def usage_split(help_text):
    """--help's text to (synopsis, rest): the usage line and its
    continuation lines, then everything after them."""
    lines = help_text.split("\n")
    n = 1
    while n < len(lines) and lines[n].startswith("      "):
        n += 1
    return norm(" ".join(lines[:n])).removeprefix("usage: "), "\n".join(lines[n:])


def sections(text, level):
    """Headings of the given level ('#' or '##') to their bodies, in order."""
    parts = re.split(rf"^{level} (.*)$", text, flags=re.M)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts), 2)]


scd = plain(open(os.path.join(REPO, "doc/blastctl.1.scd")).read())
top = dict(sections(scd, "#"))

overview = run(BLASTCTL, "help")
cmds = re.findall(r"^  ([a-z-]+) ", overview.split("\ncommands:\n")[1].split("\n\n")[0], re.M)
man_cmds = sections(top["COMMANDS"], "##")
man_names = [h.split()[1] for h, _ in man_cmds]
if man_names != cmds:
    fail(f"commands: blastctl help lists {cmds}, the man page {man_names}")

for cmd, (head, body) in zip(cmds, man_cmds):
    if cmd != head.split()[1]:
        break
    synopsis, rest = usage_split(run(BLASTCTL, cmd, "--help"))
    if norm(head) != synopsis:
        fail(f"{cmd}: synopsis differs:\n  --help: {synopsis}\n  man:    {norm(head)}")
    summary = rest.strip().split("\n")[0]
    if norm(summary).lower() not in norm(body).lower():
        fail(f"{cmd}: the summary '{summary}' is not in its man section")
    want, got = options(synopsis + rest), options(head + body)
    if want != got:
        fail(f"{cmd}: options only in --help: {sorted(want - got)}, only in the man page: {sorted(got - want)}")

glob_help = overview.split("\noptions:\n")[1]
want, got = options(glob_help), options(top["OPTIONS"])
if want != got:
    fail(f"global options only in --help: {sorted(want - got)}, only in the man page: {sorted(got - want)}")

if os.access(BLASTFS, os.X_OK):
    fsman = dict(sections(plain(open(os.path.join(REPO, "doc/blastfs.1.scd")).read()), "#"))
    fshelp = run(BLASTFS, "--help")
    usage = fshelp.split("\n\n")[0]
    man_syn = [norm(l) for l in fsman["SYNOPSIS"].split("\n") if l.strip()]
    help_syn = [norm(l).removeprefix("usage: ") for l in usage.split("\n")]
    if man_syn != help_syn:
        fail(f"blastfs synopsis differs:\n  --help: {help_syn}\n  man:    {man_syn}")
    want, got = options(fshelp), options(fsman["SYNOPSIS"] + fsman["OPTIONS"])
    if want != got:
        fail(f"blastfs options only in --help: {sorted(want - got)}, only in the man page: {sorted(got - want)}")

# The pages meson built render without warnings.
build = os.path.dirname(os.path.dirname(os.path.abspath(BLASTCTL)))
for page in ("blastctl.1", "blastfs.1"):
    path = os.path.join(build, "doc", page)
    if not os.path.exists(path):
        fail(f"{path} was not built (is scdoc installed?)")
        continue
    p = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
    if p.returncode != 0 or p.stderr or page.split(".")[0] not in p.stdout:
        fail(f"man -l {path}: rc {p.returncode}: {p.stderr}")

sys.exit(1 if fails else 0)
