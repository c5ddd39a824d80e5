#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""blastpkg against pip's own packaging (the 21.3 that pip 23 vendors),
query by query: version normalization and ordering, specifier membership
(pip check's and the default pre-release rule), requirement printing and
marker evaluation, over the PEP 440 examples and many generated cases.
Usage: pkg-packaging-diff.py PKGPROBE"""
import itertools
import os
import random
import subprocess
import sys
import tempfile

try:
    from pip._vendor.packaging.version import Version, InvalidVersion, parse
    from pip._vendor.packaging.specifiers import SpecifierSet, InvalidSpecifier
    from pip._vendor.packaging.requirements import Requirement, InvalidRequirement
    from pip._vendor.packaging.markers import Marker, InvalidMarker, default_environment
    import pip._vendor.packaging as pv
except ImportError:
    sys.exit(77)
if pv.__version__ != "21.3":
    print("skip: pip vendors packaging", pv.__version__)
    sys.exit(77)

rng = random.Random(440)
BASES = ["0", "1", "1.0", "1.0.0", "1.1", "1.2.3", "2", "2.0", "01.02", "1!1.0",
         "1.4.5", "2.2", "3.11", "3.11.2", "0.9", "10.0"]
SUFFIXES = ["", "a1", "b2", "rc1", "c1", ".alpha", "-beta.3", "pre4", "preview",
            ".post1", "-1", "post", "_rev2", "r", ".dev0", "dev", "a1.dev2",
            "rc1.post2", ".post1.dev1", "+local", "+ubuntu-1", "+1.2.abc",
            "a1+l", ".post2+x.1", "-dev", "_a_1", "RC2", ".Post3", ".DEV"]


def versions():
    out = ["1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
           "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345",
           "1.0rc1.dev456", "1.0rc1", "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5",
           "1.0.post456.dev34", "1.0.post456", "1.0.15", "1.1.dev1",
           "v1.0", " 1.0 ", "1.0-", "1..0", "1.0+", "1.0+a..b", "abc", "",
           "1.0.*", "1!", "!1", "1.0a", "1.0.a.1", "1.0_1", "1.0-r4_5",
           "99999999999999999", "1.0+01", "1.0+1", "1.0+a1"]
    for b in BASES:
        for s in SUFFIXES:
            out.append(b + s)
    return out


def specs(vs):
    ops = ["==", "!=", "<=", ">=", "<", ">", "~=", "==="]
    out = []
    for v in vs[:200]:
        for op in ops:
            out.append(op + v)
        out.append("==" + v + ".*")
        out.append("!=" + v + ".*")
    out += ["", ">=1.0,<2", ">=1.0, !=1.5.*, <2.0", "~=2.2.post3", "~=1.4.5a4",
            "~=1", "==1.0+local", ">=1.0+local", "== 1.0", ">= 1.0 ,< 2", ",", "==01.*"]
    return out


def main():
    probe = sys.argv[1]
    env = default_environment()
    fd, envfile = tempfile.mkstemp()
    with os.fdopen(fd, "w") as f:
        for k, v in env.items():
            f.write(f"{k}={v}\n")
    queries, expect = [], []

    vs = versions()
    for v in vs:
        queries.append("V " + v)
        try:
            expect.append(str(Version(v)))
        except InvalidVersion:
            expect.append("invalid")
    valid = []
    for v in vs:
        try:
            Version(v)
            valid.append(v)
        except InvalidVersion:
            pass
    for a, b in itertools.product(valid[:120], repeat=2):
        queries.append(f"C {a}\t{b}")
        x, y = Version(a), Version(b)
        expect.append(str((x > y) - (x < y)))

    sp = specs(valid)
    tested = valid[:60] + ["1.0-legacy", "foo"]
    for s in sp:
        try:
            ss = SpecifierSet(s)
            if any(type(x).__name__ == "LegacySpecifier" for x in ss._specs):
                continue
        except InvalidSpecifier:
            queries.append(f"S {s}\t1.0")
            expect.append("invalid")
            continue
        for v in rng.sample(tested, 12) + ["1.0", "1.0.0", "1.4.5", "2.2.post3"]:
            pv_ = parse(v)
            queries.append(f"S {s}\t{v}")
            expect.append(str(int(ss.contains(pv_, prereleases=True))))
            queries.append(f"P {s}\t{v}")
            expect.append(str(int(ss.contains(pv_))))

    reqs = ["A", "a.b-C_d", "name[foo,bar]", "name[ bar , foo ]", "name []",
            "name>=1.0", "name (>=1.0,<2)", "name>=1.0 ; python_version<'3.8'",
            "name @ https://example.com/x.whl", "name@ file:///tmp/x.whl",
            "name @ https://e.com/x.whl ; os_name=='posix'",
            "name[x] (==1.*) ; (extra == 'x') or ((os_name == \"nt\"))",
            "name; ((python_version >= '3'))", "name ; (a == 'b')",
            "name ; python_version >= '3' and (os_name == 'posix' or sys_platform == 'win32')",
            "name>=1.0,,<2", "name==1.0.*,!=1.0.1", "-name", "name-", "name[", "name (>=1.0",
            "name ; ", "name ; python_version", "name;os.name=='posix'",
            "name ; platform.machine in 'x86_64 aarch64'",
            "name ; 'linux' not in sys_platform", "name===abc",
            "name>=1.0-legacy-x", "näme", "name ; extra == 'a' and extra == \"b\"",
            "name >= 1.0 ; python_full_version ~= '3.11.0'"]
    for r in reqs:
        queries.append("R " + r)
        try:
            rr = Requirement(r)
            if any(type(x).__name__ == "LegacySpecifier" for x in rr.specifier._specs):
                queries.pop()
                continue
            expect.append(str(rr))
        except InvalidRequirement:
            expect.append("invalid")

    markers = ["python_version >= '3.8'", "python_version < '3.8'",
               "python_full_version >= '3.11.0'", "python_version == '3.*'",
               "python_version ~= '3.10'", "sys_platform == 'linux'",
               "sys_platform != 'win32' and os_name == 'posix'",
               "platform_machine in 'x86_64 aarch64'", "'x86' in platform_machine",
               "platform_system == 'Linux' or platform_system == 'Darwin'",
               "implementation_name == 'cpython'", "implementation_version >= '3.11'",
               "platform_python_implementation == 'CPython'",
               "extra == 'test'", "extra == 'test' or python_version > '3'",
               "(python_version < '3' or os_name == 'nt') and extra == ''",
               "platform_release >= '5.10'", "platform_release > 'a'",
               "python_version > '3.11'", "python_version > '3.10'",
               "python_version <= '3.11.0'", "python_version === '3.11'",
               "os.name == 'posix'", "python_implementation == 'CPython'",
               "python_version ~= 'abc'", "'3.8' <= python_version",
               "python_version == '3.11.*'", "python_version != '3.11.*'",
               "a == 'b'", "python_version >", "(((os_name == 'posix')))",
               "os_name == 'posix' and", "os_name == \"posix\" or (os_name == 'nt' and extra == 'x')"]
    for m in markers:
        for extra in ["", "test", "x"]:
            queries.append(f"M {m}\t{extra}")
            try:
                mm = Marker(m)
            except InvalidMarker:
                expect.append("invalid")
                continue
            try:
                expect.append(str(int(mm.evaluate({"extra": extra}))))
            except Exception:
                expect.append("error")

    out = subprocess.run([probe, envfile], input="\n".join(queries) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    os.unlink(envfile)
    bad = [(q, e, g) for q, e, g in zip(queries, expect, out) if e != g]
    if len(out) != len(queries):
        print(f"probe answered {len(out)} of {len(queries)} queries")
        return 1
    for q, e, g in bad[:40]:
        print(f"MISMATCH {q!r}: packaging {e!r}, blastpkg {g!r}")
    print(f"{len(queries) - len(bad)}/{len(queries)} agree")
    return 1 if bad else 0


sys.exit(main())
