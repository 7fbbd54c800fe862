/* pool.c: object pools, after Go's sync.Pool.  API: hotpath/pool.h.
 *
 * Design
 *
 * 1. Shards.  A pool has SHARDS shards, one cache line apart.  A thread is
 *    given a shard index the first time it uses any pool (round robin), so
 *    up to SHARDS threads each have a shard of their own in every pool; more
 *    threads share.  A shard holds a private slot (tried first, as Go's
 *    per-P private) and a stack of up to SHARD_CAP idle objects.
 * 2. get: the thread's own shard (private slot, then the stack's top: the
 *    object put last, still in the CPU cache); else steal from the other
 *    shards; else the victims (own shard's first); else new_fn().  The
 *    other shards are looked at without their lock first (a relaxed read of
 *    their count) so that an empty pool costs a scan of cache lines, not of
 *    locks.
 * 3. put: reset, then the private slot if empty, else the stack; a full
 *    stack means the pool already holds plenty: the object is destroyed.
 * 4. Cycles (hp_pool_trim; each GC cycle once the GC heap is in use; before
 *    that, the timer thread every HOTPATH_POOL_TRIM_MS):
 *    in each shard, the victims left from the previous cycle are destroyed
 *    and the idle objects become the victims.  An object idle for two
 *    cycles is gone; one put back in between is kept.  The objects are
 *    destroyed after the shard's lock is released.
 *
 * Locks: the private slot is taken with one atomic exchange and filled with
 * one compare-and-swap, without the lock, so a thread that gets and puts
 * one object at a time pays two atomic operations.  The rest of a shard is
 * protected by its lock (uncontended while threads keep to their own
 * shards); `n` and `vn` are also read without it (relaxed) as hints.  The list of
 * pools is protected by pools.lock.  A forked child reinitializes every
 * lock (the parent's other threads, which may have held them, are gone)
 * and starts its own timer at its next put.
 */
#define _GNU_SOURCE
#include "gc/internal.h"
#include "hotpath/pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc/internal.h"

#define SHARDS 64
#define SHARD_CAP 32

typedef struct shard {
    hpi_lock_t lock;
    _Atomic int n;          /* lock (relaxed reads without it): objects in obj[] */
    _Atomic(void *) priv;   /* atomic, no lock: the private slot */
    void *obj[SHARD_CAP];   /* lock: idle objects, the last put on top */
    _Atomic int vn;         /* lock (relaxed reads without it): victims in vobj[] */
    void *vobj[SHARD_CAP + 1]; /* lock: victims (the private slot's too) */
} __attribute__((aligned(64))) shard_t;

struct hp_pool {
    void *(*new_fn)(void);
    void (*reset)(void *);
    void (*destroy)(void *);
    hp_pool_t *next; /* pools.lock */
    shard_t shard[SHARDS];
};

static struct {
    hpi_lock_t lock;
    hp_pool_t *list;     /* lock: every pool */
    _Atomic int next_shard;
    _Atomic bool timer;  /* the timer thread runs (in this process) */
} pools = {HPI_LOCK_INIT, NULL, 0, false};

static _Thread_local int tl_shard = -1;

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

static int my_shard(void)
{
    if (HPI_UNLIKELY(tl_shard < 0))
        tl_shard = atomic_fetch_add_explicit(&pools.next_shard, 1, memory_order_relaxed) % SHARDS;
    return tl_shard;
}

/* ---- get and put ---- */

/* The shard's private object or top of stack (victims when victim), or NULL.
 * Takes the lock only when the unlocked hint says there is something. */
static void *shard_take(shard_t *s, bool victim)
{
    void *o = NULL;
    if (!victim && LOAD(s->priv) != NULL &&
        (o = atomic_exchange_explicit(&s->priv, NULL, memory_order_acquire)) != NULL)
        return o;
    if ((victim ? LOAD(s->vn) : LOAD(s->n)) == 0) return NULL;
    hpi_lock(&s->lock);
    int vn = LOAD(s->vn), n = LOAD(s->n);
    if (victim && vn > 0) {
        o = s->vobj[vn - 1];
        STORE(s->vn, vn - 1);
    } else if (!victim && n > 0) {
        o = s->obj[n - 1];
        STORE(s->n, n - 1);
    }
    hpi_unlock(&s->lock);
    return o;
}

/* Own shard first, then the others, in the order of a ring. */
static void *take_any(hp_pool_t *p, int me, bool victim)
{
    for (int i = 0; i < SHARDS; i++) {
        void *o = shard_take(&p->shard[(me + i) % SHARDS], victim);
        if (o != NULL) return o;
    }
    return NULL;
}

HP_API void *hp_pool_get(hp_pool_t *p)
{
    int me = my_shard();
    void *o = take_any(p, me, false);
    if (o == NULL) o = take_any(p, me, true);
    if (o == NULL && p->new_fn != NULL) o = p->new_fn();
    return o;
}

static void start_timer(void);

HP_API void hp_pool_put(hp_pool_t *p, void *o)
{
    if (o == NULL) return;
    if (HPI_UNLIKELY(!atomic_load_explicit(&pools.timer, memory_order_relaxed))) start_timer();
    if (p->reset != NULL) p->reset(o);
    shard_t *s = &p->shard[my_shard()];
    void *none = NULL;
    if (LOAD(s->priv) == NULL &&
        atomic_compare_exchange_strong_explicit(&s->priv, &none, o, memory_order_release,
                                                memory_order_relaxed))
        return;
    hpi_lock(&s->lock);
    int n = LOAD(s->n);
    if (n < SHARD_CAP) {
        s->obj[n] = o;
        STORE(s->n, n + 1);
        o = NULL;
    }
    hpi_unlock(&s->lock);
    if (o != NULL) p->destroy(o); /* the shard is full */
}

/* ---- cycles ---- */

/* One cycle of one shard: the old victims go to out (returned: how many),
 * the idle objects become victims. */
static int shard_cycle(shard_t *s, void **out)
{
    hpi_lock(&s->lock);
    int k = LOAD(s->vn), n = LOAD(s->n);
    memcpy(out, s->vobj, (size_t)k * sizeof *out);
    memcpy(s->vobj, s->obj, (size_t)n * sizeof *s->obj);
    void *priv = atomic_exchange_explicit(&s->priv, NULL, memory_order_acquire);
    if (priv != NULL) s->vobj[n++] = priv;
    STORE(s->vn, n);
    STORE(s->n, 0);
    hpi_unlock(&s->lock);
    return k;
}

HP_API void hp_pool_trim(void)
{
    void *dead[SHARD_CAP + 1];
    hpi_lock(&pools.lock);
    for (hp_pool_t *p = pools.list; p != NULL; p = p->next) {
        for (int i = 0; i < SHARDS; i++) {
            int k = shard_cycle(&p->shard[i], dead);
            for (int j = 0; j < k; j++)
                p->destroy(dead[j]);
        }
    }
    hpi_unlock(&pools.lock);
}

static void sleep_period(void *period)
{
    struct timespec left = *(struct timespec *)period;
    while (nanosleep(&left, &left) != 0) {
    }
}

static void *timer_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "hp-pool-trim");
    int64_t ms = hpi_options.pool_trim_ms;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    for (;;) {
        hpi_gc_blocking(sleep_period, &ts); /* a GC stop need not wake it */
        if (!hpi_gc_in_use()) hp_pool_trim(); /* else each GC cycle trims */
    }
    return NULL;
}

/* The timer starts with the first put (the first moment a pool holds
 * anything), once per process. */
static void start_timer(void)
{
    bool expect = false;
    if (!atomic_compare_exchange_strong(&pools.timer, &expect, true)) return;
    hpi_options_init();
    if (hpi_options.pool_trim_ms <= 0) return;
    pthread_t t;
    if (pthread_create(&t, NULL, timer_main, NULL) == 0) pthread_detach(t);
}

/* ---- pools and fork ---- */

static void fork_child(void)
{
    hpi_lock_reinit(&pools.lock);
    for (hp_pool_t *p = pools.list; p != NULL; p = p->next)
        for (int i = 0; i < SHARDS; i++)
            hpi_lock_reinit(&p->shard[i].lock);
    atomic_store(&pools.timer, false);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void)
{
    hpi_atfork(NULL, NULL, fork_child);
}

HP_API hp_pool_t *hp_pool_new(void *(*new_fn)(void), void (*reset)(void *), void (*destroy)(void *))
{
    pthread_once(&atfork_once, register_atfork);
    hp_pool_t *p = aligned_alloc(64, sizeof *p);
    if (p == NULL) return NULL;
    memset(p, 0, sizeof *p);
    p->new_fn = new_fn;
    p->reset = reset;
    p->destroy = destroy != NULL ? destroy : free;
    hpi_lock(&pools.lock);
    p->next = pools.list;
    pools.list = p;
    hpi_unlock(&pools.lock);
    return p;
}
