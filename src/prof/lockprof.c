/* lockprof.c: the mutex and block profiles.  See prof.h; the events come
 * from interpose_locks.c.
 *
 * Block (Go's SetBlockProfileRate, in nanoseconds here): every wait on a
 * contended lock, a condition variable, a semaphore or a join is an event
 * with its delay, charged to the waiter's stack.  An event of at least
 * `rate` ns is always recorded; a shorter one with probability delay/rate,
 * and then counts rate/delay events and `rate` ns, so sums stay unbiased
 * (Go's saveblockevent).
 *
 * Mutex (Go's SetMutexProfileFraction): the delay is charged to the stack
 * that UNLOCKED, as in Go, because the holder caused the wait.  For each
 * contended lock address a slot integrates the waiting time: with n waiters,
 * every nanosecond adds n.  A waiter entering or leaving updates the
 * integral; an unlock takes what has accrued since the last unlock and
 * charges it to the unlocker, in 1 of `rate` events, scaled by rate when
 * written.  The slots are a fixed open-addressed table keyed by address,
 * each with its own small lock; a lock whose slot cannot be found (table
 * full of live contention) goes unrecorded.
 */
#define _GNU_SOURCE
#include "prof/lockprof.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc/internal.h"
#include "hotpath/prof.h"
#include "prof/buckets.h"
#include "prof/pprof.h"
#include "prof/prof.h"
#include "prof/stack.h"
#include "prof/symbolize.h"

_Atomic int hpi_mutex_rate;
_Atomic int64_t hpi_block_rate;

#define SLOTS 1024
#define PROBES 8

/* Waiting time on one lock address. */
typedef struct slot {
    hpi_lock_t lock;
    _Atomic(const void *) addr; /* set and cleared under lock; read without it
                                   to skip slots of other locks; NULL: free */
    int64_t waiters;            /* lock */
    uint64_t since;             /* lock: time up to which `pending` is integrated */
    int64_t pending;            /* lock: waiter-ns not yet charged to an unlocker */
} slot_t;

enum { COUNT, DELAY };

static struct {
    hpi_buckets_t stores[2]; /* [kind] */
    slot_t slots[SLOTS];
    _Atomic uint64_t seed; /* random state for sampling (relaxed races are fine) */
} lp;

static uint64_t cheaprand(void)
{
    uint64_t x = atomic_load_explicit(&lp.seed, memory_order_relaxed) + 0x9E3779B97F4A7C15ULL;
    atomic_store_explicit(&lp.seed, x, memory_order_relaxed);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

void hpi_block_event(int64_t ns, int skip)
{
    int64_t rate = atomic_load_explicit(&hpi_block_rate, memory_order_relaxed);
    if (rate <= 0) return;
    if (ns <= 0) ns = 1;
    if (rate > ns && (int64_t)(cheaprand() % (uint64_t)rate) > ns) return;
    uintptr_t pcs[HPI_STACK_MAX];
    int n = hpi_stack_here(pcs, HPI_STACK_MAX, skip + 1);
    double v[2];
    if (ns < rate) {
        v[COUNT] = (double)rate / (double)ns;
        v[DELAY] = (double)rate;
    } else {
        v[COUNT] = 1;
        v[DELAY] = (double)ns;
    }
    hpi_buckets_add(&lp.stores[HPI_LOCKPROF_BLOCK], pcs, n, 0, v, 2);
}

static size_t slot_hash(const void *addr)
{
    return (size_t)(((uintptr_t)addr >> 3) * 0x9E3779B97F4A7C15ULL >> 32) % SLOTS;
}

/* The slot of addr, locked; with create, a free one is claimed.  NULL if
 * none.  Without create, slots of other addresses are passed over without
 * locking: an unlock of an uncontended lock costs a few loads. */
static slot_t *slot_get(const void *addr, int create)
{
    size_t h = slot_hash(addr);
    for (int i = 0; i < PROBES; i++) {
        slot_t *s = &lp.slots[(h + i) % SLOTS];
        const void *a = atomic_load_explicit(&s->addr, memory_order_relaxed);
        if (a != addr && !(create && a == NULL)) continue;
        hpi_lock(&s->lock);
        a = atomic_load_explicit(&s->addr, memory_order_relaxed);
        if (a == addr) return s;
        if (create && a == NULL) {
            atomic_store_explicit(&s->addr, addr, memory_order_relaxed);
            s->waiters = 0;
            s->pending = 0;
            s->since = hpi_nanotime();
            return s;
        }
        hpi_unlock(&s->lock);
    }
    return NULL;
}

static void slot_integrate(slot_t *s, uint64_t now)
{
    s->pending += s->waiters * (int64_t)(now - s->since);
    s->since = now;
}

void hpi_mutex_waiters(const void *addr, int delta)
{
    slot_t *s = slot_get(addr, delta > 0);
    if (s == NULL) return;
    slot_integrate(s, hpi_nanotime());
    s->waiters += delta;
    hpi_unlock(&s->lock);
}

int64_t hpi_mutex_take_delay(const void *addr)
{
    slot_t *s = slot_get(addr, 0);
    if (s == NULL) return 0;
    slot_integrate(s, hpi_nanotime());
    int64_t delay = s->pending;
    s->pending = 0;
    if (s->waiters == 0) /* nobody waits: free the slot */
        atomic_store_explicit(&s->addr, NULL, memory_order_relaxed);
    hpi_unlock(&s->lock);
    return delay;
}

void hpi_mutex_event(int64_t delay, int skip)
{
    int rate = atomic_load_explicit(&hpi_mutex_rate, memory_order_relaxed);
    if (delay <= 0 || rate <= 0 || cheaprand() % (uint64_t)rate != 0) return;
    uintptr_t pcs[HPI_STACK_MAX];
    int n = hpi_stack_here(pcs, HPI_STACK_MAX, skip + 1);
    double v[2] = {1, (double)delay};
    hpi_buckets_add(&lp.stores[HPI_LOCKPROF_MUTEX], pcs, n, 0, v, 2);
}

int64_t hpi_lockprof_count(int kind)
{
    return hpi_buckets_count(&lp.stores[kind]);
}

/* ---- writing ---- */

static int write_pprof(int fd, const hpi_bucket_copy_t *r, size_t n, double scale)
{
    static const hpi_pprof_vtype_t types[] = {{"contentions", "count"}, {"delay", "nanoseconds"}};
    hpi_pprof_t *p = hpi_pprof_new(types, 2, NULL);
    if (p == NULL) return ENOMEM;
    hpi_pprof_set_period(p, types[0], 1);
    hpi_pprof_set_time(p, hpi_unix_nanos(), 0);
    int err = 0;
    for (size_t i = 0; i < n && err == 0; i++) {
        int64_t v[2] = {(int64_t)(r[i].v[COUNT] * scale), (int64_t)(r[i].v[DELAY] * scale)};
        err = hpi_pprof_add(p, r[i].b->pcs, r[i].b->npcs, false, v, NULL, 0);
    }
    if (err == 0) err = hpi_pprof_write(p, fd);
    hpi_pprof_free(p);
    return err;
}

/* Go's legacy text: "--- contention:\ncycles/second=1000000000" (delays in
 * ns), then "delay count @ pcs" and "#" frame lines. */
static int write_text(int kind, int fd, const hpi_bucket_copy_t *r, size_t n, double scale)
{
    int err =
        kind == HPI_LOCKPROF_MUTEX
            ? dprintf(fd, "--- mutex:\ncycles/second=1000000000\nsampling period=%.0f\n", scale)
            : dprintf(fd, "--- contention:\ncycles/second=1000000000\n");
    if (err < 0) return errno;
    hpi_symtab_t *t = hpi_symtab_open();
    hpi_frame_t fr[8];
    for (size_t i = 0; i < n; i++) {
        const hpi_bucket_t *b = r[i].b;
        dprintf(fd, "%.0f %.0f @", r[i].v[DELAY] * scale, r[i].v[COUNT] * scale);
        for (int k = 0; k < b->npcs; k++)
            dprintf(fd, " %#" PRIxPTR, b->pcs[k] - 1);
        dprintf(fd, "\n");
        for (int k = 0; k < b->npcs && t != NULL; k++) {
            int nf = hpi_symtab_lookup(t, b->pcs[k] - 1, fr, 8);
            for (int j = 0; j < nf; j++)
                dprintf(fd, "#\t%#" PRIxPTR "\t%s\t%s:%" PRId64 "\n", b->pcs[k] - 1, fr[j].func,
                        fr[j].file, fr[j].line);
        }
    }
    if (t != NULL) hpi_symtab_close(t);
    return 0;
}

int hpi_lockprof_write(int kind, int fd, int debug)
{
    hpi_prof_internal_enter();
    hpi_bucket_copy_t *r;
    size_t n;
    int err = hpi_buckets_copy(&lp.stores[kind], &r, &n);
    if (err == 0) {
        /* Mutex events were sampled 1 in rate: scale up (Go does the same). */
        int rate = atomic_load_explicit(&hpi_mutex_rate, memory_order_relaxed);
        double scale = kind == HPI_LOCKPROF_MUTEX && rate > 1 ? rate : 1;
        err = debug == 0 ? write_pprof(fd, r, n, scale) : write_text(kind, fd, r, n, scale);
        free(r);
    }
    hpi_prof_internal_leave();
    return err;
}

HP_API int hp_set_mutex_profile_fraction(int rate)
{
    if (rate < 0) return atomic_load(&hpi_mutex_rate);
    return atomic_exchange(&hpi_mutex_rate, rate);
}

HP_API void hp_set_block_profile_rate(int64_t ns)
{
    atomic_store(&hpi_block_rate, ns < 0 ? 0 : ns);
}

/* HOTPATH_MUTEXPROFILEFRACTION and HOTPATH_BLOCKPROFILERATE: the profiles
 * from start-up, for programs run unmodified. */
HPI_CORE __attribute__((constructor(105))) static void lockprof_init(void)
{
    hpi_options_init();
    if (hpi_options.mutexprofile_fraction > 0)
        atomic_store(&hpi_mutex_rate, (int)hpi_options.mutexprofile_fraction);
    if (hpi_options.blockprofile_rate > 0)
        atomic_store(&hpi_block_rate, hpi_options.blockprofile_rate);
}
