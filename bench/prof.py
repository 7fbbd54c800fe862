#!/usr/bin/python3
"""bench/prof.py: what hotpath's profiling costs, beside gperftools and heaptrack.

Three tables, each from interleaved repetitions (medians):

1. CPU profiling at 100 Hz on a CPU-bound workload (bench_cpuburn, 2 threads,
   frame pointers): no profiler; hotpath (HOTPATH_CPUPROFILE); gperftools'
   libprofiler (CPUPROFILE, CPUPROFILE_FREQUENCY=100).  Overhead = time with
   the profiler / time without - 1.  Target (issue 3): hotpath <= 1%.
2. Heap sampling at the default rate (512 KiB) on the allocator workloads of
   run.py (sqlite3 and redis-server too): hotpath with HOTPATH_MEMPROFILERATE=0 against the default, runs
   paired with their order alternating, and an A/A pair for the noise floor.
   Target: <= 2%.  Then the pair loops once more, with sampling switched on
   and off in chunks of one process (bench_pairloop --toggle).
3. Recording every allocation, for the record, on the churn workload:
   hotpath at rate 1; gperftools' heap profiler (libtcmalloc with
   HEAPPROFILE); heaptrack; and the plain allocators for scale.

Usage: bench/prof.py [--build DIR] [--reps N] [--quick] [--only cpu,heap,rate1]
"""
import argparse
import os
import random
import re
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (bench/run.py: workloads and the process runner)

LIBDIR = run.LIBDIR
PROFILER = LIBDIR + "/libprofiler.so.0"
TCMALLOC_FULL = LIBDIR + "/libtcmalloc.so.4"
HEAPTRACK = "/usr/bin/heaptrack"


def run_match(argv, env, pattern):
    """Run argv; the match of pattern in its output, or RuntimeError when it
    fails or prints no such line."""
    out, err, wall, rss, rc = run.wait4_run(argv, env)
    m = pattern.search(out)
    if rc != 0 or not m:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), rc, (out + err)[-400:]))
    return m


def measure(argv, env):
    m = run_match(argv, env, run.RESULT)
    value = float(m.group(2))
    return 1e9 / value if m.group(1).endswith("_per_sec") else value  # ns per op


def environ(preload=None, **extra):
    env = run.env_for(preload)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def interleave(configs, reps):
    """configs: name -> (argv, env).  Returns name -> median value."""
    vals = {name: [] for name in configs}
    for _ in range(reps):
        for name, (argv, env) in configs.items():
            vals[name].append(measure(argv, env))
    return {name: statistics.median(v) for name, v in vals.items()}


def cpu_table(args, hp, tmp):
    burn = [os.path.join(args.build, "bin", "bench_cpuburn")] + (["--ops=200k"] if args.quick else [])
    configs = {
        "off": (burn, environ()),
        "hotpath": (burn, environ(hp, HOTPATH_CPUPROFILE=tmp + "/hp.cpu.pb")),
        "gperftools": (burn, environ(PROFILER, CPUPROFILE=tmp + "/gp.cpu",
                                     CPUPROFILE_FREQUENCY=100)),
    }
    med = interleave(configs, args.reps)
    print("\n## CPU profiling at 100 Hz (bench_cpuburn, 2 threads; ns per round)\n")
    print("| profiler | time | overhead |\n|---|---|---|")
    for name in configs:
        print("| %s | %.1f ns | %+.2f%% |" % (name, med[name], 100 * (med[name] / med["off"] - 1)))
    return 100 * (med["hotpath"] / med["off"] - 1)


def paired(run_at, reps):
    """Runs in pairs, run_at(0) (off) and run_at(524288) (on), their order
    alternating (ABBA) so that drift and order effects cancel, and a third
    run with sampling off for an A/A ratio, the noise floor.  The three runs
    of a repetition get environments of one size, and each repetition a
    different size (BENCH_ENV_PAD): the environment sits at the top of the
    stack, so its size moves every stack address, and a comparison should
    not depend on where they happen to fall (Mytkowicz et al., "Producing
    wrong data without doing anything obviously wrong", ASPLOS 2009).  Returns
    (median off, median on, median of on/off, median of A/A)."""
    a, b, ratio, aa = [], [], [], []
    rng = random.Random(1)
    for i in range(reps):
        order = [("a", 0), ("b", 524288), ("a2", 0)]
        if i % 2:
            order.reverse()
        pad = "x" * rng.randrange(4096)
        got = {k: run_at(rate, pad) for k, rate in order}
        a.append(got["a"])
        b.append(got["b"])
        ratio.append(got["b"] / got["a"])
        aa.append(got["a2"] / got["a"])
    med = statistics.median
    return med(a), med(b), med(ratio), med(aa)


def runner(w, hp, quick):
    """run_at(rate) for workload w: its time (ns per op, or s) with hotpath
    preloaded at that HOTPATH_MEMPROFILERATE."""
    if w.kind == "c":
        argv = w.argv + (w.quick if quick else [])
        return lambda rate, pad: measure(argv, environ(hp, **rate_env(rate, pad)))
    run_real = run.run_sqlite if w.kind == "sqlite" else run.run_redis

    def run_at(rate, pad):  # run.py builds the environment from ours
        extra = rate_env(rate, pad)
        os.environ.update(extra)
        try:
            return run_real(w, hp, quick)[0]
        finally:
            for k in extra:
                del os.environ[k]
    return run_at


def rate_env(rate, pad):
    """The sampling rate with as many digits whatever its value (hotpath
    reads it in base 10), and the repetition's padding."""
    return {"HOTPATH_MEMPROFILERATE": "%07d" % rate, "BENCH_ENV_PAD": pad}


def heap_table(args, hp):
    print("\n## Heap sampling at the default rate (hotpath; time per op, or per run)\n")
    print("Overhead: the median of per-pair ratios (runs paired, order alternating);")
    print("A/A: the same for two runs with sampling off, the noise floor.\n")
    print("| workload | rate 0 (off) | rate 524288 | overhead | A/A |\n|---|---|---|---|---|")
    worst = 0.0
    for w in run.workloads(args.build):
        off, on, ratio, aa = paired(runner(w, hp, args.quick), args.reps)
        over = 100 * (ratio - 1)
        worst = max(worst, over)
        print("| %s | %s | %s | %+.2f%% | %+.2f%% |" % (
            w.name, run.fmt_time(off, w.kind), run.fmt_time(on, w.kind), over, 100 * (aa - 1)),
            flush=True)
    return worst


TOGGLE = re.compile(r"^toggle rate=\d+ ns_per_op_off=([0-9.]+) ns_per_op_on=([0-9.]+)", re.M)


def toggle_table(args, hp):
    """The pair loops again, with sampling switched on and off in chunks of
    one process (bench_pairloop --toggle): the sampler's own cost, without
    the difference between two processes' steady states."""
    print("\n## Heap sampling in one process (chunks of 200k pairs, on and off in turn)\n")
    print("| workload | off | on (524288) | overhead |\n|---|---|---|---|")
    worst = 0.0
    for w in run.workloads(args.build):
        if w.name not in ("pair-tight", "pair-batch"):
            continue
        argv = w.argv + (w.quick if args.quick else []) + ["--toggle=524288"]
        off, on, ratio = [], [], []
        for _ in range(args.reps):
            m = run_match(argv, environ(hp), TOGGLE)
            off.append(float(m.group(1)))
            on.append(float(m.group(2)))
            ratio.append(on[-1] / off[-1])
        over = 100 * (statistics.median(ratio) - 1)
        worst = max(worst, over)
        print("| %s | %.2f ns | %.2f ns | %+.2f%% |" % (
            w.name, statistics.median(off), statistics.median(on), over), flush=True)
    return worst


def rate1_table(args, hp, tmp):
    churn = [os.path.join(args.build, "bin", "bench_churn"),
             "--ops=100k" if args.quick else "--ops=1m"]
    configs = {
        "glibc": (churn, environ()),
        "tcmalloc": (churn, environ(run.ANCHORS["tcmalloc"])),
        "hotpath, no profile": (churn, environ(hp, HOTPATH_MEMPROFILERATE=0)),
        "hotpath, rate 1": (churn, environ(hp, HOTPATH_MEMPROFILERATE=1,
                                           HOTPATH_MEMPROFILE=tmp + "/hp.heap.pb")),
        "gperftools HEAPPROFILE": (churn, environ(TCMALLOC_FULL, HEAPPROFILE=tmp + "/gp.heap")),
        "heaptrack": ([HEAPTRACK, "-o", tmp + "/ht"] + churn, environ()),
    }
    med = interleave(configs, max(1, args.reps // 2))
    print("\n## Every allocation recorded (bench_churn; ns per malloc+free)\n")
    print("| setup | time | vs tcmalloc |\n|---|---|---|")
    for name in configs:
        print("| %s | %s | %.1fx |" % (name, run.fmt_time(med[name], "c"),
                                       med[name] / med["tcmalloc"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(run.ROOT, "build"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="cpu,heap,rate1")
    args = ap.parse_args()
    hp = os.path.join(args.build, "lib", "libhotpath.so")
    parts = args.only.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        if "cpu" in parts:
            over = cpu_table(args, hp, tmp)
            print("\n- [%s] CPU profiling overhead <= 1%%: %+.2f%%" % ("x" if over <= 1 else " ", over))
        if "heap" in parts:
            worst = heap_table(args, hp)
            print("\n- [%s] heap sampling overhead <= 2%%: worst %+.2f%%" %
                  ("x" if worst <= 2 else " ", worst))
            inproc = toggle_table(args, hp)
            print("\n- [%s] the same, pair loops in one process: worst %+.2f%%" %
                  ("x" if inproc <= 2 else " ", inproc))
        if "rate1" in parts:
            rate1_table(args, hp, tmp)


if __name__ == "__main__":
    main()
