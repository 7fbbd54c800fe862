/* bench/large.c: large blocks, 64 KiB - 4 MiB.
 *
 * A working set of --slots blocks.  Each op picks a random slot, checks and
 * frees its block, mallocs a new one of a log-uniform size in [--min, --max]
 * and writes 8 bytes into each of its pages, so the kernel has to back every
 * page.  An allocator that hands each free back to the OS (munmap, or
 * madvise(DONTNEED)) pays a page fault per page on the next malloc; one that
 * keeps a few blocks around does not, at the price of RSS.
 *
 * Reports ns_per_op, one op = free + malloc + touching the new block.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long slots = 8, ops = 40000, min_size = 64 << 10, max_size = 4 << 20, seed = 3;
static size_t page;

typedef struct block {
    unsigned char *p;
    size_t size;
    uint64_t tag;
} block_t;

/* The word written at the start of page k of a block with this tag. */
static inline uint64_t page_word(uint64_t tag, size_t k)
{
    return tag ^ (k * 0x9E3779B97F4A7C15ULL);
}

static void touch(block_t *b)
{
    for (size_t off = 0, k = 0; off < b->size; off += page, k++) {
        uint64_t w = page_word(b->tag, k);
        size_t at = off + 8 <= b->size ? off : b->size - 8;
        memcpy(b->p + at, &w, 8);
    }
}

static int intact(const block_t *b)
{
    for (size_t off = 0, k = 0; off < b->size; off += page, k++) {
        uint64_t w;
        size_t at = off + 8 <= b->size ? off : b->size - 8;
        memcpy(&w, b->p + at, 8);
        if (w != page_word(b->tag, k))
            return 0;
    }
    return 1;
}

static void put(block_t *b, uint64_t *rng)
{
    b->size = hpb_rand_size(rng, (size_t)min_size, (size_t)max_size);
    b->p = hpb_malloc(b->size);
    b->tag = hpb_rand(rng);
    touch(b);
}

static void drop(block_t *b)
{
    if (!intact(b))
        hpb_corrupt("large block", b->p, b->size, b->tag);
    free(b->p);
}

int main(int argc, char **argv)
{
    const hpb_opt_t opts[] = {
        {"slots", &slots, "blocks in the working set"},
        {"ops", &ops, "replacements"},
        {"min", &min_size, "smallest block (bytes, >= 8)"},
        {"max", &max_size, "largest block"},
        {"seed", &seed, "random seed"},
    };
    hpb_parse_args(argc, argv, "large-block churn with page touching; reports ns_per_op.", opts,
                   sizeof(opts) / sizeof(opts[0]));
    if (slots < 1 || ops < 0 || min_size < 8 || max_size < min_size)
        hpb_die(HPB_EXIT_USAGE, "need slots >= 1, ops >= 0, min >= 8, max >= min");
    page = (size_t)sysconf(_SC_PAGESIZE);

    uint64_t rng = hpb_seed((uint64_t)seed, 0);
    block_t *ws = hpb_malloc((size_t)slots * sizeof(block_t));
    uint64_t t0 = hpb_now_ns();
    for (long i = 0; i < slots; i++)
        put(&ws[i], &rng);
    for (long n = 0; n < ops; n++) {
        block_t *b = &ws[hpb_rand(&rng) % (uint64_t)slots];
        drop(b);
        put(b, &rng);
    }
    for (long i = 0; i < slots; i++)
        drop(&ws[i]);
    double secs = (double)(hpb_now_ns() - t0) / 1e9;

    free(ws);
    hpb_report("ns_per_op", ops ? secs * 1e9 / (double)ops : 0, secs, (uint64_t)ops);
    return 0;
}
