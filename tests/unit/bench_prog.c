/* bench_prog: benchmarks with known answers, for bench_test.sh.
 *
 * Each benchmark's expected figures are exact (allocations) or far apart
 * from what a broken harness would give (timers: 1 ms measured beside
 * 20 ms excluded).  BenchmarkNSeq appends each b->n it is called with to
 * the file named by $BENCH_NSEQ, so the test can check the prediction.
 * BENCH_ALLOCS_PER_RUN=1 makes main-less checks of hp_allocs_per_run
 * through a benchmark that reports them as a metric. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotpath/bench.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Three 64-byte objects per op: 3 allocs/op, 192 B/op. */
static void three(void)
{
    void *p[3];
    for (int k = 0; k < 3; k++) {
        p[k] = malloc(64);
        hp_keep(p[k]);
    }
    for (int k = 0; k < 3; k++)
        free(p[k]);
}

HP_BENCHMARK(ThreeAllocs)
{
    hp_b_report_allocs(b);
    for (int64_t i = 0; i < b->n; i++)
        three();
}

/* The same with b.Loop, and setup (a big allocation) before the loop,
 * which must not be counted. */
HP_BENCHMARK(LoopThreeAllocs)
{
    void *setup = malloc(1 << 20);
    hp_keep(setup);
    while (hp_b_loop(b))
        three();
    free(setup);
}

/* 1 ms measured per op, 20 ms excluded by stopping the timer. */
HP_BENCHMARK(Timer)
{
    for (int64_t i = 0; i < b->n; i++) {
        hp_b_stop_timer(b);
        sleep_ms(20);
        hp_b_start_timer(b);
        sleep_ms(1);
    }
}

/* 30 ms of setup, then reset: only the 1 ms ops count. */
HP_BENCHMARK(Reset)
{
    sleep_ms(30);
    hp_b_reset_timer(b);
    for (int64_t i = 0; i < b->n; i++)
        sleep_ms(1);
}

HP_BENCHMARK(NSeq)
{
    const char *path = getenv("BENCH_NSEQ");
    FILE *f = path ? fopen(path, "a") : NULL;
    if (f != NULL) {
        fprintf(f, "%lld\n", (long long)b->n);
        fclose(f);
    }
    volatile int64_t s = 0;
    for (int64_t i = 0; i < b->n; i++)
        s += i;
}

static void sized(hp_b_t *b)
{
    size_t size = (size_t)(uintptr_t)b->arg;
    for (int64_t i = 0; i < b->n; i++) {
        void *p = malloc(size);
        hp_keep(p);
        free(p);
    }
    hp_b_report_allocs(b);
}

/* Sub-benchmarks: sizes as arguments, a name with a space, a duplicate. */
HP_BENCHMARK(Sub)
{
    hp_b_run_with(b, "size=100", sized, (void *)(uintptr_t)100);
    hp_b_run_with(b, "size=1000", sized, (void *)(uintptr_t)1000);
    hp_b_run_with(b, "with space", sized, (void *)(uintptr_t)8);
    hp_b_run_with(b, "with space", sized, (void *)(uintptr_t)8);
}

static void par_body(hp_pb_t *pb)
{
    while (hp_pb_next(pb)) {
        void *p = malloc(48);
        hp_keep(p);
        free(p);
    }
}

/* Parallel: one 48-byte allocation per op, whatever the threads. */
HP_BENCHMARK(Parallel)
{
    hp_b_report_allocs(b);
    hp_b_run_parallel(b, par_body);
}

HP_BENCHMARK(Bytes)
{
    static char src[4096], dst[4096];
    hp_b_set_bytes(b, sizeof src);
    for (int64_t i = 0; i < b->n; i++) {
        memcpy(dst, src, sizeof src);
        hp_keep(dst[i & 4095]);
    }
}

static void two_allocs(void)
{
    void *a = malloc(10), *c = malloc(5000);
    hp_keep(a);
    hp_keep(c);
    free(a);
    free(c);
}

/* hp_allocs_per_run reported as a metric, and a custom unit. */
HP_BENCHMARK(Metric)
{
    for (int64_t i = 0; i < b->n; i++)
        hp_keep(i);
    hp_b_report_metric(b, hp_allocs_per_run(100, two_allocs), "allocsperrun");
    hp_b_report_metric(b, 42.5, "widgets/op");
}

/* Fails when $BENCH_FAIL is set. */
HP_BENCHMARK(MayFail)
{
    if (getenv("BENCH_FAIL") != NULL) hp_b_errorf(b, "failing on purpose: %d", 7);
    for (int64_t i = 0; i < b->n; i++)
        hp_keep(i);
}
