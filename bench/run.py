#!/usr/bin/python3
"""bench/run.py: hotpath's allocator against the anchors, in one run.

Every workload runs under each allocator -- glibc (no preload), jemalloc,
mimalloc, tcmalloc (Debian packages, by LD_PRELOAD) and hotpath -- the same
binary each time.  Repetitions are interleaved (rep 1 of every allocator, then
rep 2, ...) so that a slow patch of a noisy machine hits them all alike, and the
table reports medians.  Time is the workload's own measure (ns/op, or ops/s
turned into time per op) or the wall time of a real program; peak RSS is the
workload process's (wait4's ru_maxrss; for redis, redis-server's).

Ratios are hotpath's time (and RSS) over the best anchor's for that workload,
so below 1 means hotpath wins.  The targets of issue 2 are checked at the end.

Usage: bench/run.py [--build DIR] [--reps N] [--quick] [--only REGEX]
                    [--allocators a,b,...] [--markdown FILE] [--check] [--list]
"""
import argparse
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIBDIR = "/usr/lib/x86_64-linux-gnu"
ANCHORS = {
    "glibc": None,
    "jemalloc": LIBDIR + "/libjemalloc.so.2",
    "mimalloc": LIBDIR + "/libmimalloc.so.2",
    "tcmalloc": LIBDIR + "/libtcmalloc_minimal.so.4",
}
SQL = os.path.join(ROOT, "tests", "integration", "data", "sort.sql")


class Workload:
    """One benchmark: argv (or a runner function), how to read its time."""

    def __init__(self, name, argv, quick=None, small=False, kind="c", note=""):
        self.name, self.argv, self.quick = name, argv, quick or []
        self.small = small  # small-object workload: RSS compared with glibc
        self.kind, self.note = kind, note


def workloads(build):
    b = lambda w: os.path.join(build, "bin", "bench_" + w)
    return [
        Workload("pair-tight", [b("pairloop"), "--batch=1"], ["--ops=2m"], True,
                 note="32 B malloc+free pair, tight loop (ns/pair)"),
        Workload("pair-batch", [b("pairloop"), "--batch=1000", "--ops=30m"], ["--ops=2m"], True,
                 note="32 B pairs in batches of 1000 (ns/pair)"),
        Workload("xthread", [b("xthread")], ["--ops=1m"], True,
                 note="producer/consumer, 32 B objects freed by the other thread (ns/free)"),
        Workload("larson", [b("larson")], ["--ops=20000", "--gens=4"], True,
                 note="Larson server churn, 2 threads, 8-1000 B, threads replaced (ns/op)"),
        Workload("churn", [b("churn")], ["--ops=300k"], True,
                 note="random-size churn 8 B-4 KiB, 10k live (ns/op)"),
        Workload("churn-2t", [b("churn"), "--threads=2"], ["--ops=300k"], True,
                 note="the same on 2 threads (ns/op)"),
        Workload("large", [b("large")], ["--ops=2000"], False,
                 note="blocks 64 KiB-4 MiB, pages touched (ns/op)"),
        Workload("realloc", [b("realloc")], ["--ops=200k"], False,
                 note="buffers grown by realloc 1-32 B at a time to 64 KiB (ns/realloc)"),
        Workload("sqlite3", ["/usr/bin/sqlite3", ":memory:"], None, True, kind="sqlite",
                 note="tests/integration/data/sort.sql: 200k rows inserted, sorted, indexed (s)"),
        Workload("redis", ["/usr/bin/redis-server"], None, True, kind="redis",
                 note="redis-server, redis-benchmark -P 16 SET/GET/LPUSH/LPOP/... on 127.0.0.1 (s)"),
    ]


def wait4_run(argv, env, stdin_path=None, timeout=600):
    """Run argv; return (stdout, stderr, wall s, peak RSS KiB, status).

    Peak RSS comes from GNU time, a small C program: the kernel carries the
    largest RSS of a process across fork and exec, so a child forked from this
    Python process would report at least Python's own RSS."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    with tempfile.NamedTemporaryFile("r") as rf:
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-q", "-o", rf.name, "-f", "%M"] + argv, env=env,
                           stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        wall = time.monotonic() - t0
        lines = rf.read().split()
    if stdin_path:
        stdin.close()
    rss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), wall, rss, p.returncode


def env_for(lib):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if lib:
        env["LD_PRELOAD"] = lib
    return env


RESULT = re.compile(r"^result (\w+)=([0-9.eE+-]+) secs=([0-9.eE+-]+) ops=(\d+) check=ok$", re.M)


def run_c(w, lib, quick):
    argv = w.argv + (w.quick if quick else [])
    out, err, wall, rss, rc = wait4_run(argv, env_for(lib))
    m = RESULT.search(out)
    if rc != 0 or not m:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), rc, (out + err).strip()[-400:]))
    metric, value = m.group(1), float(m.group(2))
    if metric.endswith("_per_sec"):
        value = 1e9 / value  # time per op, ns
    return value, rss


def run_sqlite(w, lib, quick):
    out, err, wall, rss, rc = wait4_run(w.argv, env_for(lib), stdin_path=SQL)
    if rc != 0 or "200000|" not in out:
        raise RuntimeError("sqlite3 exited %d: %s" % (rc, (out + err)[-400:]))
    return wall, rss


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_redis(w, lib, quick):
    port = free_port()
    argv = [w.argv[0], "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
    srv = subprocess.Popen(argv, env=env_for(lib), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.01)
        n = "20000" if quick else "300000"
        bench = ["/usr/bin/redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q",
                 "-n", n, "-P", "16", "-d", "64", "-r", "100000",
                 "-t", "set,get,incr,lpush,lpop,sadd,hset,lrange_100"]
        t0 = time.monotonic()
        r = subprocess.run(bench, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env_for(None), timeout=600)
        wall = time.monotonic() - t0
        if r.returncode != 0 or b"requests per second" not in r.stdout:
            raise RuntimeError("redis-benchmark failed: %s" % r.stdout[-400:])
        rss = peak_rss_kib(srv.pid)
    finally:
        srv.terminate()
        srv.wait(timeout=30)
    return wall, rss


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


RUNNERS = {"c": run_c, "sqlite": run_sqlite, "redis": run_redis}


def geomean(xs):
    xs = [x for x in xs if x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def fmt_time(v, kind):
    if kind == "c":
        return "%.1f ns" % v if v < 1e4 else "%.1f us" % (v / 1e3)
    return "%.2f s" % v


def common_args(ap, reps, check_help):
    """The options run.py and gc_run.py share."""
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--reps", type=int, default=reps)
    ap.add_argument("--quick", action="store_true", help="small sizes (for the smoke test)")
    ap.add_argument("--only", default="", help="regex of workload names")
    ap.add_argument("--markdown", help="also write the table(s) to this file")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    ap.add_argument("--check", action="store_true", help=check_help)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_args(ap, 5, "exit 1 if any run fails (speed is never asserted)")
    ap.add_argument("--allocators", default="glibc,jemalloc,mimalloc,tcmalloc,hotpath")
    args = ap.parse_args()

    if args.list:
        for w in workloads(args.build):
            print("%-10s %s" % (w.name, w.note))
        return
    allocs = {}
    for a in args.allocators.split(","):
        lib = os.path.join(args.build, "lib", "libhotpath.so") if a == "hotpath" else ANCHORS.get(a, "?")
        if lib == "?":
            sys.exit("run.py: unknown allocator %r" % a)
        if lib and not os.path.exists(lib):
            sys.exit("run.py: %s not found (make bench installs it): %s" % (a, lib))
        allocs[a] = lib
    ws = [w for w in workloads(args.build) if re.search(args.only, w.name)]
    if not ws:
        sys.exit("run.py: no workload matches %r" % args.only)

    times = {(w.name, a): [] for w in ws for a in allocs}
    rsss = {(w.name, a): [] for w in ws for a in allocs}
    failures = []
    for rep in range(args.reps):
        for w in ws:
            for a, lib in allocs.items():
                try:
                    t, rss = RUNNERS[w.kind](w, lib, args.quick)
                except Exception as e:  # a failed run is reported, not fatal
                    failures.append("%s/%s: %s" % (w.name, a, e))
                    continue
                times[(w.name, a)].append(t)
                rsss[(w.name, a)].append(rss)
            print("rep %d/%d %-10s done" % (rep + 1, args.reps, w.name), file=sys.stderr)

    finish(table(ws, allocs, times, rsss, args), args, failures)


def finish(report, args, failures):
    """Print the report (and write it as markdown if asked), then the
    failures; with --check, exit 1 if there were any.  Shared with gc_run.py."""
    print(report)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report + "\n")
    for f in failures:
        print("FAILED:", f)
    if args.check and failures:
        sys.exit(1)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def table(ws, allocs, times, rsss, args):
    names = list(allocs)
    anchors = [a for a in names if a != "hotpath"]
    lines = ["| workload | " + " | ".join(names) + " | best anchor | time ratio | RSS hotpath | RSS ratio |",
             "|---" * (len(names) + 5) + "|"]
    ratios, per = [], {}
    for w in ws:
        t = {a: med(times[(w.name, a)]) for a in names}
        r = {a: med(rsss[(w.name, a)]) for a in names}
        cells = ["%s<br>%.1f MiB" % (fmt_time(t[a], w.kind), r[a] / 1024) for a in names]
        best = min(anchors, key=lambda a: t[a] if not math.isnan(t[a]) else float("inf")) if anchors else None
        ratio = t.get("hotpath", float("nan")) / t[best] if best else float("nan")
        best_rss = min(anchors, key=lambda a: r[a]) if anchors else None
        rss_ratio = r.get("hotpath", float("nan")) / r[best_rss] if best_rss else float("nan")
        per[w.name] = (ratio, t, r, best)
        if not math.isnan(ratio):
            ratios.append(ratio)
        lines.append("| %s | %s | %s | %.2f | %.1f MiB | %.2f (vs %s) |" % (
            w.name, " | ".join(cells), best, ratio, r.get("hotpath", float("nan")) / 1024,
            rss_ratio, best_rss))
    lines.append("")
    lines.append("Median of %d interleaved runs; time per op (ns) or wall time (s), and peak RSS."
                 % args.reps)
    lines.append("time ratio = hotpath / best anchor of the workload (below 1: hotpath faster).")
    if "hotpath" in allocs and anchors:
        lines.append("geometric mean of time ratios: %.3f" % geomean(ratios))
        lines += targets(ws, per)
    return "\n".join(lines)


def targets(ws, per):
    out = ["", "Targets (issue 2):"]
    def say(ok, text):
        out.append("- [%s] %s" % ("x" if ok else " ", text))
    ratios = [per[w.name][0] for w in ws if not math.isnan(per[w.name][0])]
    for name in ("pair-tight", "pair-batch"):
        if name in per:
            ratio = per[name][0]
            say(ratio <= 1.0, "%s at least as fast as the fastest anchor: ratio %.2f" % (name, ratio))
    if "xthread" in per:
        t = per["xthread"][1]
        if "mimalloc" in t:
            ratio = t["hotpath"] / t["mimalloc"]
            say(ratio <= 1.0, "cross-thread frees at least mimalloc's throughput: time ratio %.2f" % ratio)
    g = geomean(ratios)
    say(g <= 0.95, "geometric mean <= 0.95x best anchor: %.3f" % g)
    worst = max(((per[w.name][0], w.name) for w in ws), default=(float("nan"), ""))
    say(worst[0] <= 1.3, "none slower than 1.3x: worst %s at %.2f" % (worst[1], worst[0]))
    for w in ws:
        r = per[w.name][2]
        if w.small and "glibc" in r:
            ratio = r["hotpath"] / r["glibc"]
            say(ratio <= 1.10, "%s peak RSS within 10%% of glibc: %.2f" % (w.name, ratio))
    return out


if __name__ == "__main__":
    main()
