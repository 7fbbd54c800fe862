/* bench/churn.c: random-size churn over a working set, one or more threads.
 *
 * Each thread owns an array of --slots objects.  It fills the array, then
 * --ops times picks a random slot, checks and frees its object and puts a new
 * object of a random size in its place, and at the end frees them all.  Sizes are log-uniform in
 * [--min, --max] (8 B - 4 KiB by default): as many 8-15 byte objects as
 * 2048-4095 byte ones.  Threads never touch each other's objects.
 *
 * Reports ns_per_op: wall time of the threads divided by the replacements of
 * all threads (so two threads that scale perfectly halve it).
 */
#include "common.h"

#include <stdlib.h>

static long threads = 1, slots = 10000, ops = 10000000, min_size = 8, max_size = 4096,
            seed = 42;

/* Cache-line aligned: each is written on every op by its own thread. */
typedef struct worker {
    _Alignas(64) pthread_t tid;
    uint64_t rng;
    void **obj;
    size_t *size;
    uint64_t *tag;
} worker_t;

static void put(worker_t *w, size_t i)
{
    size_t n = hpb_rand_size(&w->rng, (size_t)min_size, (size_t)max_size);
    w->obj[i] = hpb_malloc(n);
    w->size[i] = n;
    w->tag[i] = hpb_rand(&w->rng);
    hpb_stamp(w->obj[i], n, w->tag[i]);
}

static void drop(worker_t *w, size_t i)
{
    if (!hpb_check_stamp(w->obj[i], w->size[i], w->tag[i]))
        hpb_corrupt("churn", w->obj[i], w->size[i], w->tag[i]);
    free(w->obj[i]);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    for (size_t i = 0; i < (size_t)slots; i++)
        put(w, i);
    for (long n = 0; n < ops; n++) {
        size_t i = (size_t)(hpb_rand(&w->rng) % (uint64_t)slots);
        drop(w, i);
        put(w, i);
    }
    for (size_t i = 0; i < (size_t)slots; i++)
        drop(w, i);
    return NULL;
}

static void worker_init(worker_t *w, long id)
{
    w->rng = hpb_seed((uint64_t)seed, (uint64_t)id);
    w->obj = hpb_malloc((size_t)slots * sizeof(void *));
    w->size = hpb_malloc((size_t)slots * sizeof(size_t));
    w->tag = hpb_malloc((size_t)slots * sizeof(uint64_t));
}

static void worker_fini(worker_t *w)
{
    free(w->obj);
    free(w->size);
    free(w->tag);
}

int main(int argc, char **argv)
{
    const hpb_opt_t opts[] = {
        {"threads", &threads, "threads, each with its own working set"},
        {"slots", &slots, "objects in each thread's working set"},
        {"ops", &ops, "replacements per thread"},
        {"min", &min_size, "smallest object size"},
        {"max", &max_size, "largest object size"},
        {"seed", &seed, "random seed"},
    };
    hpb_parse_args(argc, argv, "random-size churn over a working set; reports ns_per_op.", opts,
                   sizeof(opts) / sizeof(opts[0]));
    if (threads < 1 || slots < 1 || ops < 0 || min_size < 1 || max_size < min_size)
        hpb_die(HPB_EXIT_USAGE, "need threads, slots, min >= 1, ops >= 0 and max >= min");

    worker_t *w = hpb_malloc_lines((size_t)threads * sizeof(worker_t));
    for (long t = 0; t < threads; t++)
        worker_init(&w[t], t);

    uint64_t t0 = hpb_now_ns();
    for (long t = 0; t < threads; t++)
        hpb_thread_start(&w[t].tid, worker_main, &w[t]);
    for (long t = 0; t < threads; t++)
        hpb_thread_join(w[t].tid);
    double secs = (double)(hpb_now_ns() - t0) / 1e9;

    for (long t = 0; t < threads; t++)
        worker_fini(&w[t]);
    free(w);
    uint64_t total = (uint64_t)threads * (uint64_t)ops;
    hpb_report("ns_per_op", total ? secs * 1e9 / (double)total : 0, secs, total);
    return 0;
}
