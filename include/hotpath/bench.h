/* hotpath/bench.h: benchmarks like Go's testing.B.
 *
 *   #include <hotpath/bench.h>
 *
 *   HP_BENCHMARK(Concat) {
 *       hp_b_report_allocs(b);
 *       for (int64_t i = 0; i < b->n; i++)
 *           hp_keep(concat("a", "b"));
 *   }
 *
 *   HP_BENCHMARK(Builder) {
 *       char *buf = setup();               // not timed
 *       while (hp_b_loop(b))               // Go 1.24's b.Loop
 *           hp_keep(build(buf));
 *   }
 *
 *   cc -O2 x.c -lhotpath_bench -lhotpath -o x_bench && ./x_bench -benchmem
 *
 * libhotpath_bench.a supplies main(): it parses the flags (-bench,
 * -benchtime, -count, -cpu, -benchmem, -cpuprofile, -memprofile,
 * -memprofilerate, -timeout; see docs/BENCH.md), runs the matching
 * benchmarks, and prints Go's benchmark format, which `hotpath benchstat`
 * and golang/perf's tools read:
 *
 *   BenchmarkConcat-2   	 9795498	       121.4 ns/op	      16 B/op	       1 allocs/op
 *
 * B/op and allocs/op are exact: they come from the allocator's counters
 * (bytes as size-class bytes, as Go counts them), not from sampling.
 */
#ifndef HOTPATH_BENCH_H
#define HOTPATH_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The state of one benchmark run.  Only the fields above the line are
 * the benchmark's to read. */
typedef struct hp_b {
    int64_t n; /* iterations to run: for (i = 0; i < b->n; i++) */
    void *arg; /* the argument of hp_b_run_with, else NULL */
    /* ---- */
    int64_t loop_left; /* hp_b_loop's iterations still to run */
    struct hp_b_priv *priv;
} hp_b_t;

/* One thread of hp_b_run_parallel. */
typedef struct hp_pb {
    void *arg; /* the benchmark's arg */
    int id;    /* 0 .. threads-1 */
    /* ---- */
    uint64_t cache, grain, limit;
    uint64_t *next; /* shared by the threads; atomic */
} hp_pb_t;

typedef void hp_bench_fn(hp_b_t *b);

/* Define and register a benchmark named "Benchmark" #name. */
#define HP_BENCHMARK(name)                                                                         \
    static void hp_bench_##name(hp_b_t *b);                                                        \
    __attribute__((constructor)) static void hp_bench_register_##name(void)                        \
    {                                                                                              \
        hp_bench_register("Benchmark" #name, hp_bench_##name);                                     \
    }                                                                                              \
    static void hp_bench_##name(hp_b_t *b)

void hp_bench_register(const char *name, hp_bench_fn *fn);

/* Go 1.24's b.Loop: while (hp_b_loop(b)) { ... }.  The first call resets
 * the timer, so setup before the loop is not counted; the last stops it.
 * The benchmark function then runs once, however many iterations it takes;
 * b->n is 0 inside the loop (do not mix the two forms). */
bool hp_b_loop_slow(hp_b_t *b);
static inline bool hp_b_loop(hp_b_t *b)
{
    if (b->loop_left > 0) {
        b->loop_left--;
        return true;
    }
    return hp_b_loop_slow(b);
}

/* Keep the compiler from deleting the computation of v. */
#define hp_keep(v)                                                                                 \
    do {                                                                                           \
        __typeof__(v) hp_keep_v_ = (v);                                                            \
        __asm__ volatile("" : : "r"(&hp_keep_v_) : "memory");                                      \
    } while (0)

/* The timer: zero the time and allocation counts; stop; start again. */
void hp_b_reset_timer(hp_b_t *b);
void hp_b_stop_timer(hp_b_t *b);
void hp_b_start_timer(hp_b_t *b);
/* The time measured so far in this run, in nanoseconds. */
int64_t hp_b_elapsed(hp_b_t *b);

/* Print B/op and allocs/op for this benchmark (as -benchmem does for all). */
void hp_b_report_allocs(hp_b_t *b);
/* Bytes processed per iteration: adds MB/s. */
void hp_b_set_bytes(hp_b_t *b, int64_t n);
/* Report value in unit (by convention ending in "/op": divide by b->n
 * yourself).  Replaces a built-in metric of the same unit ("ns/op"). */
void hp_b_report_metric(hp_b_t *b, double value, const char *unit);

/* A sub-benchmark "parent/name", run like a top-level one.  Returns false
 * when it failed.  hp_b_run_with passes arg as the sub-benchmark's b->arg. */
bool hp_b_run(hp_b_t *b, const char *name, hp_bench_fn *fn);
bool hp_b_run_with(hp_b_t *b, const char *name, hp_bench_fn *fn, void *arg);

/* Run fn on parallelism x cpu threads (-cpu; parallelism 1 unless set);
 * each loops while (hp_pb_next(pb)) and together they run b->n iterations. */
void hp_b_run_parallel(hp_b_t *b, void (*fn)(hp_pb_t *pb));
void hp_b_set_parallelism(hp_b_t *b, int p);
bool hp_pb_next_slow(hp_pb_t *pb);
static inline bool hp_pb_next(hp_pb_t *pb)
{
    if (pb->cache > 0) {
        pb->cache--;
        return true;
    }
    return hp_pb_next_slow(pb);
}

/* Mark the benchmark failed and print the message; fatalf also ends the
 * program with status 1. */
void hp_b_errorf(hp_b_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hp_b_fatalf(hp_b_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Go's testing.AllocsPerRun: the mean number of allocations of one call of
 * fn over runs calls, after one warm-up call (an integer, as Go's). */
double hp_allocs_per_run(int runs, void (*fn)(void));

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_BENCH_H */
