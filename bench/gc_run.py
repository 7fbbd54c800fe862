#!/usr/bin/python3
"""bench/gc_run.py: hotpath's garbage collector beside bdwgc and malloc/free, in one run.

bench/gc_bench.c is built into two programs: bench_gc_hotpath (backends
hotpath: concurrent marking with the write barrier; hotpath-stw: the same
heap, stop-the-world marking; malloc: hotpath's malloc with explicit frees)
and bench_gc_bdwgc, which never loads libhotpath (bdwgc: Debian's libgc;
glibc: malloc with explicit frees).  Every backend runs every workload --
gcbench (Boehm's GCBench), churn (a 500 MB live heap, 10x that allocated),
and, for hotpath alone, barrier (ns per HP_GC_STORE, idle and while
marking) -- each run its own process, so peak RSS is that backend's.
Repetitions are interleaved (rep 1 of every backend, then rep 2, ...) and
the tables give medians; ratios are against bdwgc.  Each run checks its own
results (gc_bench.c exits non-zero when an object was corrupted); speed is
never asserted.  The raw result lines go to --out for benchstat:

    hotpath benchstat -col /impl -filter '-.name:Barrier' build/bench_gc.txt

Usage: bench/gc_run.py [--build DIR] [--reps N] [--quick] [--only REGEX]
                       [--impls a,b,...] [--out FILE] [--markdown FILE] [--check] [--list]
"""
import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run  # noqa: E402  (bench/run.py: the shared report ending)
ROOT = os.path.dirname(HERE)

# Backend -> the program that has it, in table order (bdwgc first: the base).
IMPLS = {
    "bdwgc": "bench_gc_bdwgc",
    "hotpath": "bench_gc_hotpath",
    "hotpath-stw": "bench_gc_hotpath",
    "glibc": "bench_gc_bdwgc",
    "malloc": "bench_gc_hotpath",
}
COLLECTED = ("bdwgc", "hotpath", "hotpath-stw")


class Workload:
    """One workload: its flags, the flags --quick adds, the backends it runs on."""

    def __init__(self, name, args, quick, impls, note):
        self.name, self.args, self.quick, self.impls, self.note = name, args, quick, impls, note


WORKLOADS = [
    Workload("gcbench", ["-w", "gcbench"], ["-stretch", "14", "-long", "12", "-maxdepth", "12"],
             list(IMPLS), "Boehm's GCBench: short-lived trees of depth 4-16 built top-down and "
             "bottom-up beside a long-lived tree of depth 16 and 500k doubles (--quick: 4-12, 12)"),
    Workload("churn", ["-w", "churn", "-live", "500", "-alloc", "10"], ["-live", "32"],
             list(IMPLS), "500 MB live (--quick: 32 MB) of 16 B-128 KiB objects, half pointing "
             "to a child; random entries replaced until 10x the live size is allocated"),
    Workload("barrier", ["-w", "barrier", "-live", "500"], ["-live", "32", "-mintime", "100"],
             ["hotpath"], "ns per store into a GC object: plain, HP_GC_STORE idle, HP_GC_STORE "
             "while another thread runs hp_gc_collect() in a loop on a 500 MB heap "
             "(--quick: 32 MB)"),
]

LINE = re.compile(r"^Benchmark(\S+)\s+(\d+)\s+(.+)$")


def parse(out):
    """Result lines of a run -> [(name, {unit: value})]."""
    results = []
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        f = m.group(3).split()
        metrics = {f[i + 1]: float(f[i]) for i in range(0, len(f) - 1, 2)}
        for unit in ("peak-RSS", "live"):  # bytes -> MiB, as the tables show them
            if unit + "-bytes" in metrics:
                metrics[unit + "-MB"] = metrics[unit + "-bytes"] / 1048576
        results.append((m.group(1), metrics))
    return results


def flags(w, quick):
    """The workload's flags, with --quick's values in place of the defaults."""
    out, over = list(w.args), w.quick if quick else []
    for i in range(0, len(over), 2):
        if over[i] in out:
            out[out.index(over[i]) + 1] = over[i + 1]
        else:
            out += over[i:i + 2]
    return out


def run_one(prog, w, impl, quick):
    """Run one workload on one backend; return (result lines, [(name, metrics)])."""
    argv = [prog, "-impl", impl] + flags(w, quick)
    # The program's RUNPATH names the build it was linked in: a copied build
    # (--build) must load its own libhotpath, not that one.
    env = dict(os.environ)
    lib = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(prog))), "lib")
    env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=60 if quick else 300)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    results = parse(out)
    if p.returncode != 0 or not results:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), p.returncode,
                                                 (out + err).strip()[-600:]))
    return [l for l in out.splitlines() if l.startswith("Benchmark")], results


def header():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    lines = ["goos: linux", "goarch: " + arch, "pkg: hotpath/bench/gc"]
    return lines + (["cpu: " + cpu] if cpu else [])


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def ratio(a, b):
    return a / b if b and b == b and a == a else float("nan")


def fmt_ns(ns):
    if ns != ns:
        return "-"
    return "%.2f s" % (ns / 1e9) if ns >= 1e8 else "%.1f ms" % (ns / 1e6)


def fmt_ms(ms):
    return "-" if ms != ms else ("%.3f ms" % ms if ms < 10 else "%.0f ms" % ms)


def fmt_mb(mb):
    return "-" if mb != mb else ("%.1f MB" % mb if mb < 100 else "%.0f MB" % mb)


def fmt_x(x):
    return "-" if x != x else "%.2fx" % x


def heap_table(w, impls, res):
    """The table of gcbench or churn: one row per backend."""
    m = {a: {u: med([r[u] for r in res.get((w.name, a), []) if u in r])
             for u in ("ns/op", "max-pause-ms", "pause-total-ms", "GCs", "peak-RSS-MB", "live-MB")}
         for a in impls}
    base = m.get("bdwgc", {})
    lines = ["%s: %s" % (w.name, w.note), "",
             "| backend | time | max pause | pause total | GCs | peak RSS | RSS/live "
             "| time vs bdwgc | max pause vs bdwgc | RSS vs bdwgc |",
             "|---" * 10 + "|"]
    for a in impls:
        r, gc = m[a], a in COLLECTED
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            a, fmt_ns(r["ns/op"]), fmt_ms(r["max-pause-ms"]) if gc else "-",
            fmt_ms(r["pause-total-ms"]) if gc else "-", "%.0f" % r["GCs"] if gc else "-",
            fmt_mb(r["peak-RSS-MB"]), fmt_x(ratio(r["peak-RSS-MB"], r["live-MB"])),
            fmt_x(ratio(r["ns/op"], base.get("ns/op"))),
            fmt_x(ratio(r["max-pause-ms"], base.get("max-pause-ms"))) if gc else "-",
            fmt_x(ratio(r["peak-RSS-MB"], base.get("peak-RSS-MB")))))
    return lines, m


def barrier_table(w, res):
    """The barrier table: one row per phase, hotpath only."""
    phases = {}
    for (wname, impl, phase), rs in res.items():
        if wname == w.name and phase:
            phases[phase] = {u: med([r[u] for r in rs if u in r])
                             for u in ("ns/op", "mean-ns/op", "p99-ns/op", "GCs",
                                       "in-collection-frac")}
    if not phases:
        return [], {}
    plain = phases.get("plain", {}).get("ns/op", float("nan"))
    lines = ["%s: %s" % (w.name, w.note), "",
             "| phase | ns/store (median of batches) | mean | p99 | over a plain store "
             "| collections | batches inside one |",
             "|---" * 7 + "|"]
    for ph in ("plain", "idle", "marking"):
        r = phases.get(ph)
        if r:
            frac = r["in-collection-frac"]
            lines.append("| %s | %.2f | %.2f | %.2f | %+.2f ns | %s | %s |" % (
                ph, r["ns/op"], r["mean-ns/op"], r["p99-ns/op"], r["ns/op"] - plain,
                "%.0f" % r["GCs"] if r["GCs"] else "-",
                "-" if frac != frac else "%.0f%%" % (frac * 100)))
    return lines, phases


def targets(m, quick):
    """The issue's targets; speed is reported, never asserted."""
    out = ["", "Targets%s:" % (" (at --quick sizes)" if quick else "")]
    def say(ok, text):
        out.append("- [%s] %s" % ("x" if ok else " ", text))
    c, g = m.get("churn", {}), m.get("gcbench", {})
    b = c.get("bdwgc")
    for a in ("hotpath", "hotpath-stw") if b else ():
        r = c.get(a)
        if not r:
            continue
        t = ratio(r["ns/op"], b["ns/op"])
        say(t <= 1.0, "churn: %s time <= bdwgc's: %.2fx (%s vs %s)" % (
            a, t, fmt_ns(r["ns/op"]), fmt_ns(b["ns/op"])))
        if a == "hotpath":
            say(r["max-pause-ms"] <= 1.0, "churn: hotpath (barrier) max pause <= 1 ms: %s"
                % fmt_ms(r["max-pause-ms"]))
        else:
            p = ratio(r["max-pause-ms"], b["max-pause-ms"])
            say(p <= 1.0, "churn: hotpath-stw max pause <= bdwgc's: %s vs %s (%.2fx)" % (
                fmt_ms(r["max-pause-ms"]), fmt_ms(b["max-pause-ms"]), p))
        x = ratio(r["peak-RSS-MB"], r["live-MB"])
        say(x <= 2.0, "churn: %s peak RSS <= 2x live: %.2fx (%.0f MB for %.0f MB)" % (
            a, x, r["peak-RSS-MB"], r["live-MB"]))
    for a in ("hotpath", "hotpath-stw") if g.get("bdwgc") else ():
        if g.get(a):
            t = ratio(g[a]["ns/op"], g["bdwgc"]["ns/op"])
            say(t <= 1.0, "GCBench: %s time <= bdwgc's: %.2fx" % (a, t))
    return out if len(out) > 2 else []


def available_impls(build, wanted):
    impls = []
    for a in wanted:
        if a not in IMPLS:
            sys.exit("gc_run.py: unknown backend %r (known: %s)" % (a, ", ".join(IMPLS)))
        if os.path.exists(os.path.join(build, "bin", IMPLS[a])):
            impls.append(a)
        else:
            print("gc_run.py: %s not built: backend %s skipped" % (IMPLS[a], a), file=sys.stderr)
    return impls


def run_all(args, ws, impls):
    """Every (workload, backend) --reps times, interleaved; returns results, raw lines, failures."""
    res, raw, failures = {}, [], []
    for rep in range(args.reps):
        for w in ws:
            for a in [a for a in impls if a in w.impls]:
                prog = os.path.join(args.build, "bin", IMPLS[a])
                t0 = time.monotonic()
                try:
                    lines, results = run_one(prog, w, a, args.quick)
                except Exception as e:  # a failed run is reported, not fatal
                    failures.append("%s/%s: %s" % (w.name, a, e))
                    continue
                raw += lines
                for name, metrics in results:
                    ph = re.search(r"/phase=([^/]+)", name)
                    res.setdefault((w.name, a, ph.group(1) if ph else ""), []).append(metrics)
                print("rep %d/%d %-8s %-12s %.1f s" % (rep + 1, args.reps, w.name, a,
                                                        time.monotonic() - t0), file=sys.stderr)
    return res, raw, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    run.common_args(ap, 3, "exit 1 if any run fails or fails its checks (speed is never asserted)")
    ap.add_argument("--impls", default=",".join(IMPLS), help="backends, comma-separated")
    ap.add_argument("--out", help="raw result lines (default BUILD/bench_gc.txt)")
    args = ap.parse_args()

    ws = [w for w in WORKLOADS if re.search(args.only, w.name)]
    if args.list:
        for w in WORKLOADS:
            print("%-8s %s (%s)" % (w.name, w.note, ", ".join(w.impls)))
        return
    if not ws:
        sys.exit("gc_run.py: no workload matches %r" % args.only)
    impls = available_impls(args.build, args.impls.split(","))
    if not impls:
        sys.exit("gc_run.py: no benchmark program in %s/bin (build bench_gc_bdwgc, "
                 "bench_gc_hotpath)" % args.build)

    res, raw, failures = run_all(args, ws, impls)
    out = args.out or os.path.join(args.build, "bench_gc.txt")
    with open(out, "w") as f:
        f.write("\n".join(header() + raw) + "\n")

    lines, meds = [], {}
    for w in ws:
        if w.name == "barrier":
            t, _ = barrier_table(w, res)
        else:
            flat = {(wn, a): rs for (wn, a, ph), rs in res.items()}
            t, meds[w.name] = heap_table(w, [a for a in impls if a in w.impls], flat)
        lines += t + ([""] if t else [])
    lines.append("Median of %d interleaved runs, each its own process; time is wall time, "
                 "pauses stop-the-world, peak RSS VmHWM; MB = 2^20 bytes." % args.reps)
    lines += targets(meds, args.quick)
    print("raw results: %s" % out)
    run.finish("\n".join(lines), args, failures)


if __name__ == "__main__":
    main()
