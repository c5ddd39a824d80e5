#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""50 small wheels for the pkg benchmark: pkgb-00 .. pkgb-49, each
requiring up to four earlier ones with a mix of specifiers and markers (a
few of them unsatisfied, so check has lines to print), built with the
Wheel class of tests/fixtures/mkwheels.py. Usage: mkbenchwheels.py OUTDIR"""
import importlib.util
import os
import random
import sys

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location(
    "mkwheels", os.path.join(repo, "tests", "fixtures", "mkwheels.py"))
mk = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mk)

rng = random.Random(50)
os.makedirs(sys.argv[1], exist_ok=True)
specs = [">=1.0", "~=1.0", "!=0.9", "==1.*", "<3", ">=2.0",
         ">=1.0 ; python_version >= '3.8'", " ; sys_platform == 'win32'"]
for i in range(50):
    reqs = []
    for j in rng.sample(range(i), min(i, rng.randint(0, 4))):
        reqs.append("pkgb-%02d%s" % (j, rng.choice(specs)))
    if i % 17 == 5:
        reqs.append("pkgb-absent-%d" % i)
    w = mk.Wheel("pkgb-%02d" % i, "1.%d" % (i % 3), "pkg bench", reqs,
                 ["extra%d" % i])
    for k in range(5):
        w.add("pkgb_%02d/m%d.py" % (i, k), "X = %d\n" % k)
    print(w.build(sys.argv[1]))
