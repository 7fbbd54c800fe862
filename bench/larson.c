/* bench/larson.c: server-style churn where threads come and go, after the
 * benchmark of Larson and Krishnan ("Memory allocation for long-running
 * server applications", ISMM 1998).  Written from that description.
 *
 * There are --threads lineages.  A lineage is an array of --slots objects of
 * random size in [--min, --max] (uniform), filled by the main thread before
 * the clock starts.  A lineage is worked by one thread at a time: the thread
 * does --ops replacements (pick a random slot, check and free its object,
 * malloc a new one and stamp it), then exits, and the main thread hands the
 * array to a newly created thread, which goes on freeing the objects its
 * predecessor allocated.  After --gens threads a lineage is finished.
 *
 * So most frees are of objects malloc'ed by a thread that has since exited,
 * which is what a server with a thread per connection does to an allocator.
 *
 * Reports ops_per_sec: replacements of all lineages per wall second.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>

static long threads = 2, slots = 5000, ops = 200000, gens = 40, min_size = 8, max_size = 1000,
            seed = 7;

/* Cache-line aligned: each is written on every op by its own thread. */
typedef struct lineage {
    _Alignas(64) pthread_t tid;
    long gens_left;
    uint64_t rng;
    void **obj;
    size_t *size;
    uint64_t *tag;
    struct lineage *next_done; /* link in done_list; guarded by done_mu */
} lineage_t;

/* Lineages whose current thread has finished, waiting for the main thread
 * to join it and start the next one. */
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static lineage_t *done_list; /* guarded by done_mu */

static void put(lineage_t *l, size_t i)
{
    size_t n = hpb_rand_range(&l->rng, (size_t)min_size, (size_t)max_size);
    l->obj[i] = hpb_malloc(n);
    l->size[i] = n;
    l->tag[i] = hpb_rand(&l->rng);
    hpb_stamp(l->obj[i], n, l->tag[i]);
}

static void drop(lineage_t *l, size_t i)
{
    if (!hpb_check_stamp(l->obj[i], l->size[i], l->tag[i]))
        hpb_corrupt("larson", l->obj[i], l->size[i], l->tag[i]);
    free(l->obj[i]);
}

static void *generation_main(void *arg)
{
    lineage_t *l = arg;
    for (long n = 0; n < ops; n++) {
        size_t i = (size_t)(hpb_rand(&l->rng) % (uint64_t)slots);
        drop(l, i);
        put(l, i);
    }
    pthread_mutex_lock(&done_mu);
    l->next_done = done_list;
    done_list = l;
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&done_mu);
    return NULL;
}

static lineage_t *wait_done(void)
{
    pthread_mutex_lock(&done_mu);
    while (done_list == NULL)
        pthread_cond_wait(&done_cv, &done_mu);
    lineage_t *l = done_list;
    done_list = l->next_done;
    pthread_mutex_unlock(&done_mu);
    return l;
}

/* Run every lineage to its last generation. */
static void run_lineages(lineage_t *ls)
{
    long active = threads;
    for (long t = 0; t < threads; t++)
        hpb_thread_start(&ls[t].tid, generation_main, &ls[t]);
    while (active > 0) {
        lineage_t *l = wait_done();
        hpb_thread_join(l->tid);
        if (--l->gens_left > 0)
            hpb_thread_start(&l->tid, generation_main, l);
        else
            active--;
    }
}

static void lineage_init(lineage_t *l, long id)
{
    l->gens_left = gens;
    l->rng = hpb_seed((uint64_t)seed, (uint64_t)id);
    l->obj = hpb_malloc((size_t)slots * sizeof(void *));
    l->size = hpb_malloc((size_t)slots * sizeof(size_t));
    l->tag = hpb_malloc((size_t)slots * sizeof(uint64_t));
    for (size_t i = 0; i < (size_t)slots; i++)
        put(l, i);
}

static void lineage_fini(lineage_t *l)
{
    for (size_t i = 0; i < (size_t)slots; i++)
        drop(l, i);
    free(l->obj);
    free(l->size);
    free(l->tag);
}

int main(int argc, char **argv)
{
    const hpb_opt_t opts[] = {
        {"threads", &threads, "lineages (threads running at once)"},
        {"slots", &slots, "objects per lineage"},
        {"ops", &ops, "replacements each thread does before handing over"},
        {"gens", &gens, "threads per lineage, one after another"},
        {"min", &min_size, "smallest object size"},
        {"max", &max_size, "largest object size"},
        {"seed", &seed, "random seed"},
    };
    hpb_parse_args(argc, argv, "Larson-style server churn; reports ops_per_sec.", opts,
                   sizeof(opts) / sizeof(opts[0]));
    if (threads < 1 || slots < 1 || ops < 0 || gens < 1 || min_size < 1 || max_size < min_size)
        hpb_die(HPB_EXIT_USAGE, "need threads, slots, gens, min >= 1, ops >= 0, max >= min");

    lineage_t *ls = hpb_malloc_lines((size_t)threads * sizeof(lineage_t));
    for (long t = 0; t < threads; t++)
        lineage_init(&ls[t], t);

    uint64_t t0 = hpb_now_ns();
    run_lineages(ls);
    double secs = (double)(hpb_now_ns() - t0) / 1e9;

    for (long t = 0; t < threads; t++)
        lineage_fini(&ls[t]);
    free(ls);
    uint64_t total = (uint64_t)threads * (uint64_t)gens * (uint64_t)ops;
    fprintf(stderr, "larson: %ld lineages x %ld threads x %ld ops in %.3f s\n", threads, gens,
            ops, secs);
    hpb_report("ops_per_sec", secs > 0 ? (double)total / secs : 0, secs, total);
    return 0;
}
