/* bench/pairloop.c: the cost of one malloc+free pair of a small object.
 *
 * --batch=1 (tight): malloc one object, write it, free it, repeat.  This is
 *   the allocator's fastest path: the same slot comes back every time.
 * --batch=N: malloc N objects, then free the N in the order they came, so the
 *   per-thread cache has to hold (and hand back) a whole batch.
 *
 * Every object gets an 8-byte stamp (or size bytes, if smaller) that is
 * checked before the free.  Reports ns_per_op, one op = one malloc + one free.
 *
 * --phases (with --batch > 1): also time the malloc half and the free half
 *   of each round apart, and print their mean ns per call on a line of its
 *   own ("phases malloc_ns=... free_ns=..."), to tell which side of the pair
 *   a difference is on.  Two clock reads per round of --batch objects.
 *
 * --toggle=R (hotpath only): the heap sampler's own cost, measured inside one
 *   process.  The run is cut into chunks of --chunk ops that alternate
 *   between hp_set_memprofile_rate(R) and 0; ns_per_op is the median chunk
 *   with sampling off, and a second line gives the median with it on.  Two
 *   processes (one with sampling, one without) differ by more than that on
 *   this machine, for reasons that are not work done (docs/PERFORMANCE.md).
 */
#include "common.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static long size = 32, ops = 50000000, batch = 1, seed = 1, toggle = 0, chunk = 200000,
            phases = 0;
static uint64_t malloc_ns, free_ns; /* --phases: time in each half of the rounds */

static void tight_loop(uint64_t n, size_t sz)
{
    for (uint64_t i = 0; i < n; i++) {
        void *p = hpb_malloc(sz);
        hpb_stamp(p, sz, i);
        hpb_escape(p);
        if (!hpb_check_stamp(p, sz, i))
            hpb_corrupt("tight loop", p, sz, i);
        free(p);
    }
}

static void batch_round(size_t sz, size_t nb, void **slot, uint64_t tag)
{
    uint64_t t0 = phases ? hpb_now_ns() : 0;
    for (size_t i = 0; i < nb; i++) {
        slot[i] = hpb_malloc(sz);
        hpb_stamp(slot[i], sz, tag + i);
    }
    uint64_t t1 = phases ? hpb_now_ns() : 0;
    for (size_t i = 0; i < nb; i++) {
        if (!hpb_check_stamp(slot[i], sz, tag + i))
            hpb_corrupt("batch", slot[i], sz, tag + i);
        free(slot[i]);
    }
    if (phases) {
        uint64_t t2 = hpb_now_ns();
        malloc_ns += t1 - t0;
        free_ns += t2 - t1;
    }
}

static void batch_loop(uint64_t rounds, size_t sz, size_t nb, void **slot)
{
    uint64_t tag = (uint64_t)seed;
    for (uint64_t r = 0; r < rounds; r++) {
        batch_round(sz, nb, slot, tag);
        tag += nb;
    }
}

static void run_ops(uint64_t rounds, size_t nb, void **slot)
{
    if (nb == 1)
        tight_loop(rounds, (size_t)size);
    else
        batch_loop(rounds, (size_t)size, nb, slot);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --toggle: chunks alternating sampling on and off in this process. */
static void toggled(void **slot)
{
    typedef long long (*set_rate_fn)(long long);
    set_rate_fn set_rate = (set_rate_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hp_set_memprofile_rate");
    if (set_rate == NULL)
        hpb_die(HPB_EXIT_USAGE, "--toggle needs hotpath (hp_set_memprofile_rate not found)");
    uint64_t per = (uint64_t)(chunk + batch - 1) / (uint64_t)batch;
    size_t n = (size_t)((ops + chunk - 1) / chunk);
    if (n < 4) n = 4;
    double *t[2] = {hpb_malloc(n * sizeof(double)), hpb_malloc(n * sizeof(double))};
    size_t k[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        int on = (int)(i & 1);
        set_rate(on ? toggle : 0);
        uint64_t t0 = hpb_now_ns();
        run_ops(per, (size_t)batch, slot);
        t[on][k[on]++] = (double)(hpb_now_ns() - t0) / (double)(per * (uint64_t)batch);
    }
    set_rate(0);
    double off = median(t[0], k[0]), on = median(t[1], k[1]);
    printf("toggle rate=%ld ns_per_op_off=%.4f ns_per_op_on=%.4f chunks=%zu\n", toggle, off, on, n);
    hpb_report("ns_per_op", off, off * (double)(n * per * (uint64_t)batch) / 1e9,
               n * per * (uint64_t)batch);
    free(t[0]);
    free(t[1]);
}

int main(int argc, char **argv)
{
    const hpb_opt_t opts[] = {
        {"size", &size, "object size in bytes"},
        {"ops", &ops, "malloc+free pairs in total"},
        {"batch", &batch, "objects allocated before they are freed (1 = tight loop)"},
        {"seed", &seed, "first stamp value"},
        {"toggle", &toggle, "hotpath: alternate chunks with heap sampling at this rate and off"},
        {"chunk", &chunk, "ops per chunk with --toggle"},
        {"phases", &phases, "1: also time the malloc and free halves of the rounds apart"},
    };
    hpb_parse_args(argc, argv, "malloc+free pair loop of small objects; reports ns_per_op.", opts,
                   sizeof(opts) / sizeof(opts[0]));
    if (size < 1 || ops < 1 || batch < 1 || toggle < 0 || chunk < 1)
        hpb_die(HPB_EXIT_USAGE, "size, ops, batch and chunk must be positive, toggle not negative");
    if (phases && (batch < 2 || toggle > 0))
        hpb_die(HPB_EXIT_USAGE, "--phases needs --batch of 2 or more, and no --toggle");

    uint64_t rounds = (uint64_t)(ops + batch - 1) / (uint64_t)batch;
    uint64_t total = rounds * (uint64_t)batch;
    void **slot = batch > 1 ? hpb_malloc((size_t)batch * sizeof(void *)) : NULL;

    if (toggle > 0) {
        toggled(slot);
        free(slot);
        return 0;
    }
    uint64_t t0 = hpb_now_ns();
    run_ops(rounds, (size_t)batch, slot);
    double secs = (double)(hpb_now_ns() - t0) / 1e9;

    free(slot);
    if (phases)
        printf("phases malloc_ns=%.4f free_ns=%.4f\n", (double)malloc_ns / (double)total,
               (double)free_ns / (double)total);
    hpb_report("ns_per_op", secs * 1e9 / (double)total, secs, total);
    return 0;
}
