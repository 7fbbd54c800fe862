/* bench/realloc.c: many buffers growing by small steps, like strings being
 * appended to.
 *
 * --bufs buffers grow at once.  Each op picks a random buffer and appends
 * 1..--step bytes to it with realloc() to the exact new length (the naive
 * string builder, with no capacity doubling: the allocator's in-place growth
 * and size classes are what save it).  A buffer that reaches --max bytes is
 * checked in full and freed, and starts again from realloc(NULL, ...).
 * After every realloc the first and the last old byte are checked, so a
 * wrong copy is caught where it happens.
 *
 * Reports ns_per_op, one op = one realloc plus writing the appended bytes.
 */
#include "common.h"

#include <stdlib.h>

static long bufs = 1000, ops = 5000000, step = 32, max_len = 64 << 10, seed = 5;

typedef struct buf {
    unsigned char *p;
    size_t len;
    uint32_t id;
    uint32_t life; /* how many times this buffer has been restarted */
} buf_t;

static inline unsigned char content(const buf_t *b, size_t i)
{
    return (unsigned char)((i * 131u) ^ (i >> 8) ^ (b->id * 7u) ^ b->life);
}

static void check_full(const buf_t *b)
{
    for (size_t i = 0; i < b->len; i++) {
        if (b->p[i] != content(b, i))
            hpb_corrupt("buffer content", b->p, b->len, i);
    }
}

static void grow(buf_t *b, size_t add)
{
    size_t old = b->len, len = old + add;
    unsigned char *p = realloc(b->p, len);
    if (p == NULL)
        hpb_die(HPB_EXIT_NOMEM, "realloc(%zu) returned NULL", len);
    if (old > 0 && (p[0] != content(b, 0) || p[old - 1] != content(b, old - 1)))
        hpb_corrupt("realloc copy", p, len, old);
    for (size_t i = old; i < len; i++)
        p[i] = content(b, i);
    b->p = p;
    b->len = len;
}

static void restart(buf_t *b)
{
    check_full(b);
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->life++;
}

int main(int argc, char **argv)
{
    const hpb_opt_t opts[] = {
        {"bufs", &bufs, "buffers growing at once"},
        {"ops", &ops, "reallocs in total"},
        {"step", &step, "largest append, bytes (each append is 1..step)"},
        {"max", &max_len, "length at which a buffer is freed and restarted"},
        {"seed", &seed, "random seed"},
    };
    hpb_parse_args(argc, argv, "realloc growth by small steps; reports ns_per_op.", opts,
                   sizeof(opts) / sizeof(opts[0]));
    if (bufs < 1 || ops < 0 || step < 1 || max_len < step)
        hpb_die(HPB_EXIT_USAGE, "need bufs, step >= 1, ops >= 0 and max >= step");

    uint64_t rng = hpb_seed((uint64_t)seed, 0);
    buf_t *b = hpb_malloc((size_t)bufs * sizeof(buf_t));
    for (long i = 0; i < bufs; i++)
        b[i] = (buf_t){.p = NULL, .len = 0, .id = (uint32_t)i, .life = 0};

    uint64_t t0 = hpb_now_ns();
    for (long n = 0; n < ops; n++) {
        buf_t *x = &b[hpb_rand(&rng) % (uint64_t)bufs];
        grow(x, hpb_rand_range(&rng, 1, (size_t)step));
        if (x->len >= (size_t)max_len)
            restart(x);
    }
    for (long i = 0; i < bufs; i++)
        restart(&b[i]);
    double secs = (double)(hpb_now_ns() - t0) / 1e9;

    free(b);
    hpb_report("ns_per_op", ops ? secs * 1e9 / (double)ops : 0, secs, (uint64_t)ops);
    return 0;
}
