/* loop.c: the two loops that are not b->n: hp_b_loop (Go 1.24's b.Loop)
 * and hp_b_run_parallel (Go's b.RunParallel); and hp_allocs_per_run.
 * See bench.c for the design. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench/internal.h"
#include "hotpath/memstats.h"

/* ---- hp_b_loop ---- */

/* The first call starts the loop (and resets the timer); later calls come
 * when the iterations handed out are done: stop, or hand out more. */
bool hp_b_loop_slow(hp_b_t *b)
{
    struct hp_b_priv *p = b->priv;
    if (p->loop_done) return false;
    if (p->loop_n == 0) {
        if (!p->timer_on) hp_b_fatalf(b, "hp_b_loop called with the timer stopped");
        p->loop_n = hpb_cfg.benchtime_n > 0 ? hpb_cfg.benchtime_n : 1;
        b->n = 0;
        hp_b_reset_timer(b);
        b->loop_left = p->loop_n - 1;
        return true;
    }
    int64_t t = hp_b_elapsed(b);
    bool more = hpb_cfg.benchtime_n == 0 && t < hpb_cfg.benchtime_ns && p->loop_n < 1000000000;
    if (!more) {
        hp_b_stop_timer(b);
        b->n = p->loop_n;
        p->loop_done = true;
        return false;
    }
    int64_t next = hpb_predict_n(hpb_cfg.benchtime_ns, p->loop_n, t, p->loop_n);
    b->loop_left = next - p->loop_n - 1;
    p->loop_n = next;
    return true;
}

/* ---- hp_b_run_parallel ---- */

typedef struct worker {
    hp_pb_t pb;
    void (*fn)(hp_pb_t *pb);
    pthread_t thread;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    w->fn(&w->pb);
    return NULL;
}

bool hp_pb_next_slow(hp_pb_t *pb)
{
    uint64_t n = __atomic_add_fetch(pb->next, pb->grain, __ATOMIC_RELAXED);
    if (n <= pb->limit)
        pb->cache = pb->grain;
    else if (n < pb->limit + pb->grain)
        pb->cache = pb->limit + pb->grain - n;
    else
        return false;
    pb->cache--;
    return true;
}

/* Iterations per grab: about 100 µs of work by the last run's speed,
 * between 1 and 1e4. */
static uint64_t grain_of(const struct hp_b_priv *p)
{
    uint64_t grain = 0;
    if (p->previous_n > 0 && p->previous_ns > 0)
        grain = (uint64_t)(100000.0 * (double)p->previous_n / (double)p->previous_ns);
    if (grain < 1) grain = 1;
    if (grain > 10000) grain = 10000;
    return grain;
}

void hp_b_set_parallelism(hp_b_t *b, int par)
{
    if (par >= 1) b->priv->parallelism = par;
}

void hp_b_run_parallel(hp_b_t *b, void (*fn)(hp_pb_t *pb))
{
    struct hp_b_priv *p = b->priv;
    if (b->n == 0) return;
    int nthreads = p->parallelism * p->procs;
    worker_t *w = calloc((size_t)nthreads, sizeof *w);
    if (w == NULL) hp_b_fatalf(b, "hp_b_run_parallel: out of memory for %d threads", nthreads);
    uint64_t next = 0, grain = grain_of(p);
    int started = 0;
    for (; started < nthreads; started++) {
        w[started].pb = (hp_pb_t){.arg = b->arg, .id = started, .grain = grain,
                                  .limit = (uint64_t)b->n, .next = &next};
        w[started].fn = fn;
        if (pthread_create(&w[started].thread, NULL, worker_main, &w[started]) != 0) break;
    }
    for (int i = 0; i < started; i++)
        pthread_join(w[i].thread, NULL);
    free(w);
    if (started < nthreads) hp_b_fatalf(b, "hp_b_run_parallel: cannot start %d threads", nthreads);
    if (__atomic_load_n(&next, __ATOMIC_RELAXED) <= (uint64_t)b->n)
        hp_b_fatalf(b, "hp_b_run_parallel: body returned before hp_pb_next was false");
}

/* ---- hp_allocs_per_run ---- */

double hp_allocs_per_run(int runs, void (*fn)(void))
{
    fn(); /* warm up: caches, lazy initialisation */
    uint64_t a0, b0, a1, b1;
    hp_read_alloc_totals(&a0, &b0);
    for (int i = 0; i < runs; i++)
        fn();
    hp_read_alloc_totals(&a1, &b1);
    return runs > 0 ? (double)((a1 - a0) / (uint64_t)runs) : 0.0;
}
