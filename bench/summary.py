#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/summary.py RESULTS_DIR [WHY_FILE] - the report-wide sections of
bench/RESULTS.md, computed from the suites' raw rows (RESULTS_DIR/SUITE.tsv)
so that they are regenerated with the report: "Targets (issue 8)" (every
target of issue 8, met or MISSED with its figure, "not measured" when a
figure is not in the TSVs; then the hand-written WHY_FILE, or a placeholder)
and "blastfs CPU per suite" (the daemon's user+sys CPU over the timed
figures, from the *_cpu_s rows). Prints Markdown on stdout. Run by bench/run.

Ratios are taken per run (variant / baseline of the same run, both
interleaved) and then the median, as the suites do (fs_ratio_med).
"""
import csv
import os
import sys

WORKLOAD_ORDER = ["small", "mid", "large"]

# Suites that run a blastfs daemon, and what their *_cpu_s rows cover.
CPU_SUITES = {
    "fs": "per workload: each read-side figure (warm import/find/stat/read after an untimed "
          "warm-up, cold ones on a fresh daemon, the mount not included) per blastfs variant, "
          "and `write` over the `cp -a` only (not the unmount or sync); `pip`: over the pip "
          "install (not `blastctl kill` or sync). Not measured: `blastctl create` (its daemons "
          "live and die inside the command).",
    "snap": "mounted `blastctl save` and `load` (the whole command); unmounted save/load "
            "run no daemon; clones are not timed with a daemon.",
    "pkg": "`d50`: `blastctl check` and `pip check` on the mounted 50-distribution env; "
           "`install`: the pip install with (on) and without (off) the package layer. "
           "The real-env checks run unmounted (no daemon).",
    "policy": "each import and stat-walk figure, warm and cold, with no policy (blast) and "
              "100 patterns (blast-policy). Not measured: `blastctl run`.",
    "shell": "`blast start` (the daemon's CPU from its start inside the command until the "
             "prompt returned). Not measured: `blast kill` (the daemon exits inside it).",
}
# Variants in those suites whose *_cpu_s rows are another daemon's.
NOT_BLASTFS = {"fovl", "sqfs"}


def load(results):
    rows = []
    for name in sorted(os.listdir(results)):
        if not name.endswith(".tsv"):
            continue
        with open(os.path.join(results, name), newline="") as f:
            for r in csv.reader(f, delimiter="\t"):
                if len(r) != 7 or r[0] == "suite":
                    continue
                try:
                    v = float(r[5])
                except ValueError:
                    continue
                if v != v:  # nan
                    continue
                rows.append((r[0], r[1], r[2], r[3], r[4], v))
    return rows


class Data:
    def __init__(self, rows):
        self.rows = rows
        self.idx = {}
        for s, w, m, v, run, val in rows:
            self.idx.setdefault((s, w, m, v), {})[run] = val

    def values(self, s, w, m, v):
        return list(self.idx.get((s, w, m, v), {}).values())

    def median(self, s, w, m, v):
        return median(self.values(s, w, m, v))

    def ratio(self, s, w, m, a, b):
        """Median of the per-run ratios a/b (None when no run has both)."""
        va = self.idx.get((s, w, m, a), {})
        vb = self.idx.get((s, w, m, b), {})
        return median([va[r] / vb[r] for r in va if r in vb and vb[r] > 0])

    def workloads(self, s, m, v):
        ws = {w for (s2, w, m2, v2) in self.idx if (s2, m2, v2) == (s, m, v)}
        return sorted(ws, key=lambda w: (WORKLOAD_ORDER.index(w)
                                         if w in WORKLOAD_ORDER else 99, w))


def median(v):
    v = sorted(v)
    n = len(v)
    if not n:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def verdict(ok):
    return "not measured" if ok is None else ("**met**" if ok else "**MISSED**")


def x(r):
    return "%.2fx" % r


def targets(d):
    out = []  # (target, workload, verdict, figure)

    def nm(target, why):
        out.append((target, "", "not measured", why))

    def fs_ratio(target, m, base, limit, strict=False, extra=None):
        ws = d.workloads("fs", m, "blast")
        ws = [w for w in ws if d.ratio("fs", w, m, "blast", base) is not None]
        if not ws:
            nm(target, "no fs `%s` rows for blast and %s" % (m, base))
            return
        for w in ws:
            r = d.ratio("fs", w, m, "blast", base)
            ok = r < limit if strict else r <= limit
            fig = "%s (%.3f s vs %.3f s)" % (x(r), d.median("fs", w, m, "blast"),
                                             d.median("fs", w, m, base))
            if extra:
                fig += extra(w)
            out.append((target, w, verdict(ok), fig))

    fs_ratio("warm import <= 1.05x native", "import_warm_s", "native", 1.05)
    fs_ratio("cold import <= 1.3x native", "import_cold_s", "native", 1.3)
    fs_ratio("cold import faster than fuse-overlayfs", "import_cold_s", "fovl", 1, strict=True)
    fs_ratio("cold import faster than squashfuse", "import_cold_s", "sqfs", 1, strict=True)
    fs_ratio("cold stat walk <= 1.5x native", "stat_cold_s", "native", 1.5)

    def cp_only(w):
        r = d.ratio("fs", w, "write_cp_s", "blast", "native")
        return "; the `cp -a` alone %s" % x(r) if r is not None else ""
    fs_ratio("`cp -a` into an env <= 2x native (cp -a + unmount + sync)", "write_s",
             "native", 2, extra=cp_only)

    r = d.ratio("fs", "pip", "pip_s", "blast", "native")
    if r is None:
        nm("pip install <= 1.3x native", "no fs `pip_s` rows")
    else:
        t = d.ratio("fs", "pip", "pip_total_s", "blast", "native")
        out.append(("pip install <= 1.3x native", "", verdict(r <= 1.3),
                    "%s (%.2f s vs %.2f s)%s" % (
                        x(r), d.median("fs", "pip", "pip_s", "blast"),
                        d.median("fs", "pip", "pip_s", "native"),
                        "; with close and sync %s" % x(t) if t is not None else "")))

    # save/load: every median under 5 ms, per workload
    kinds = [(m, v) for v in ("blast-unmounted", "blast-mounted") for m in ("save_s", "load_s")]
    ws = d.workloads("snap", "save_s", "blast-unmounted")
    if not ws:
        nm("save/load < 5 ms", "no snap rows")
    for w in ws:
        meds = {(m, v): d.median("snap", w, m, v) for m, v in kinds}
        have = [k for k in kinds if meds[k] is not None]
        ok = all(meds[k] < 0.005 for k in have) if have else None
        fig = "; ".join("%s %s %.1f ms" % (m[:-2], v[6:], meds[(m, v)] * 1000) for m, v in have)
        out.append(("save/load < 5 ms", w, verdict(ok), fig))
    # flat: the snap suite's rule (largest workload's median within
    # 2x + 5 ms of the smallest's)
    if len(ws) < 2:
        nm("save/load flat across env sizes", "fewer than two workloads in snap.tsv")
    else:
        lo, hi = ws[0], ws[-1]
        figs, oks = [], []
        for m, v in kinds:
            a, b = d.median("snap", lo, m, v), d.median("snap", hi, m, v)
            if a is None or b is None:
                continue
            oks.append(b <= 2 * a + 0.005)
            figs.append("%s %s %.1f -> %.1f ms" % (m[:-2], v[6:], a * 1000, b * 1000))
        out.append(("save/load flat across env sizes (%s -> %s: within 2x + 5 ms)" % (lo, hi),
                    "", verdict(all(oks) if oks else None), "; ".join(figs)))

    c = d.median("fs", "create", "create_s", "blast-second")
    if c is None:
        nm("second `create` < 20 ms", "no fs `create_s` rows")
    else:
        out.append(("second `create` < 20 ms", "", verdict(c < 0.020), "%.1f ms" % (c * 1000)))

    sb = d.median("store", "large", "size_B", "blast")
    sq = d.median("store", "large", "size_B", "squashfs")
    t = "stored bytes of the ~400 MB env <= its squashfs-zstd image"
    if sb is None or sq is None:
        nm(t, "no store rows for the large workload")
    else:
        fig = "%.1f MB vs %.1f MB" % (sb / 1e6, sq / 1e6)
        cb = d.median("store", "large", "size_B", "blast-compact")
        best = sb
        if cb is not None:
            fig += " as imported; after `blastctl compact` %.1f MB" % (cb / 1e6)
            best = min(sb, cb)
        out.append((t, "large", verdict(best <= sq), fig))

    t = "ten envs sharing packages <= 1.1x one env (stored bytes)"
    ws = d.workloads("store", "envs10_ratio", "blast")
    if not ws:
        nm(t, "no store `envs10_ratio` rows")
    for w in ws:
        r = d.median("store", w, "envs10_ratio", "blast")
        fig = "%.3fx" % r
        rm = d.median("store", w, "envs10_mdb_ratio", "blast")
        if rm is not None:
            fig += "; data.mdb file %.3fx" % rm
        out.append((t, w, verdict(r <= 1.1), fig))
    return out


def cpu_table(d):
    groups = {}
    for s, w, m, v, run, val in d.rows:
        if s not in CPU_SUITES or v in NOT_BLASTFS:
            continue
        if m.endswith("_cpu_s"):
            fig = m[:-len("_cpu_s")]
        elif m.endswith("_cpu"):
            fig = m[:-len("_cpu")]
        else:
            continue
        groups.setdefault((s, w, v), {}).setdefault((fig, m), []).append(val)
    order = list(CPU_SUITES)
    lines = []
    for (s, w, v) in sorted(groups, key=lambda k: (order.index(k[0]),
                                                   WORKLOAD_ORDER.index(k[1])
                                                   if k[1] in WORKLOAD_ORDER else 99, k[1], k[2])):
        figs = groups[(s, w, v)]
        cpu = wall = 0.0
        wall_ok = True
        names = []
        for (fig, m), vals in sorted(figs.items()):
            cpu += median(vals)
            wm = fig + "_s" if fig != "write" else "write_cp_s"
            wmed = d.median(s, w, wm, v)
            if wmed is None:
                wall_ok = False
            else:
                wall += wmed
            names.append(fig)
        runs = max(len(vals) for vals in figs.values())
        lines.append("| %s | %s | %s | %s | %d | %.3f | %s | %s |" % (
            s, w, v, " ".join(names), runs, cpu,
            "%.3f" % wall if wall_ok else "n/a",
            "%.0f %%" % (100 * cpu / wall) if wall_ok and wall > 0 else "n/a"))
    return lines


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.split("\n")[0], file=sys.stderr)
        return 2
    d = Data(load(sys.argv[1]))
    p = print
    p("## Targets (issue 8)\n")
    p("Every target of issue 8 (ratios to native measured in the same run), computed by")
    p("`bench/summary.py` from the suites' raw rows (`bench/results/*.tsv`), so this list")
    p("is as old as each suite's last run (its section says when). A ratio is the median")
    p("of the per-run ratios; *not measured*: the figure is not in the TSVs.\n")
    p("| target | workload | result | figure |")
    p("|---|---|---|---|")
    for t, w, v, fig in targets(d):
        p("| %s | %s | %s | %s |" % (t, w, v, fig))
    p("\n### Why, and what would close it\n")
    why = sys.argv[2] if len(sys.argv) == 3 else ""
    if why and os.path.isfile(why):
        with open(why) as f:
            sys.stdout.write(f.read().rstrip("\n") + "\n")
    else:
        p("*(to be written: `bench/targets-why.md`)*")
    p("\n## blastfs CPU per suite\n")
    p("User+sys CPU of the blastfs daemon itself (`/proc/PID/stat` fields 14+15, all")
    p("threads), read before and after each timed figure, so work that moves from the")
    p("client into the daemon shows here. Per suite, workload and variant: the timed")
    p("figures with a CPU row, the sum over them of the median CPU per figure, the sum")
    p("of the same figures' median wall times, and the one over the other (the daemon's")
    p("share of a core while the figures ran; above 100 % it used more than one).")
    p("The kernel counts this CPU in clock ticks (%d ms here), so a figure shorter" %
      (1000 // os.sysconf("SC_CLK_TCK")))
    p("than a few ticks (save, load, `blast start`, `blastctl check`) mostly reads 0.")
    p("What each suite's rows cover:\n")
    for s, cover in CPU_SUITES.items():
        p("- %s: %s" % (s, cover))
    p("")
    lines = cpu_table(d)
    if lines:
        p("| suite | workload | variant | figures | runs | blastfs CPU s (sum of medians) "
          "| wall s (sum of medians) | CPU / wall |")
        p("|---|---|---|---|---:|---:|---:|---:|")
        for line in lines:
            p(line)
    else:
        p("(no `*_cpu_s` rows in the suites' TSVs)")
    p("")
    return 0


if __name__ == "__main__":
    sys.exit(main())
