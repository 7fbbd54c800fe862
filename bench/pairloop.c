/* bench/pairloop.c: the cost of one malloc+free pair of a small object.
 *
 * --batch=1 (tight): malloc one object, write it, free it, repeat.  This is
 *   the allocator's fastest path: the same slot comes back every time.
 * --batch=N: malloc N objects, then free the N in the order they came, so the
 *   per-thread cache has to hold (and hand back) a whole batch.
 *
 * Every object gets an 8-byte stamp (or size bytes, if smaller) that is
 * checked before the free.  Reports ns_per_op, one op = one malloc + one free.
 */
#include "common.h"

#include <stdlib.h>

static long size = 32, ops = 50000000, batch = 1, seed = 1;

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

static void batch_loop(uint64_t rounds, size_t sz, size_t nb, void **slot)
{
    uint64_t tag = (uint64_t)seed;
    for (uint64_t r = 0; r < rounds; r++) {
        for (size_t i = 0; i < nb; i++) {
            slot[i] = hpb_malloc(sz);
            hpb_stamp(slot[i], sz, tag + i);
        }
        for (size_t i = 0; i < nb; i++) {
            if (!hpb_check_stamp(slot[i], sz, tag + i))
                hpb_corrupt("batch", slot[i], sz, tag + i);
            free(slot[i]);
        }
        tag += nb;
    }
}

int main(int argc, char **argv)
{
    const hpb_opt_t opts[] = {
        {"size", &size, "object size in bytes"},
        {"ops", &ops, "malloc+free pairs in total"},
        {"batch", &batch, "objects allocated before they are freed (1 = tight loop)"},
        {"seed", &seed, "first stamp value"},
    };
    hpb_parse_args(argc, argv, "malloc+free pair loop of small objects; reports ns_per_op.", opts,
                   sizeof(opts) / sizeof(opts[0]));
    if (size < 1 || ops < 1 || batch < 1)
        hpb_die(HPB_EXIT_USAGE, "size, ops and batch must be positive");

    uint64_t rounds = (uint64_t)(ops + batch - 1) / (uint64_t)batch;
    uint64_t total = rounds * (uint64_t)batch;
    void **slot = batch > 1 ? hpb_malloc((size_t)batch * sizeof(void *)) : NULL;

    uint64_t t0 = hpb_now_ns();
    if (batch == 1)
        tight_loop(total, (size_t)size);
    else
        batch_loop(rounds, (size_t)size, (size_t)batch, slot);
    double secs = (double)(hpb_now_ns() - t0) / 1e9;

    free(slot);
    hpb_report("ns_per_op", secs * 1e9 / (double)total, secs, total);
    return 0;
}
