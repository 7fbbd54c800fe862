/* mcache.c: per-thread caches.  See malloc.c, points 3 to 5.
 *
 * A thread owns spans: the one it allocates from per class (alloc[]), others
 * it has allocated from (partial[], doubly linked, oldest at the tail), and a
 * few with every object free (empty[], singly linked).  A span the thread
 * owns has xowner == the mcache; all its owner fields are then the thread's
 * alone.  When the alloc span runs out it joins the partial list, where the
 * thread's own frees refill it on the fast path.  A refill takes the oldest
 * partial span; one that got nothing back in a few rounds is detached
 * (xowner == mcache | FULL): on no list, costing nothing, until one of its
 * objects is freed (see mcentral.c for the protocol).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "alloc/fastpath.h"

/* At most this many empty spans per class, and bytes in all, stay cached. */
#define EMPTY_PER_CLASS 4
#define EMPTY_BYTES_MAX ((size_t)1 << 20)

hpi_span_t hpi_span_none;
/* sample_left < 0: a thread's first malloc goes to hpi_malloc_sampled,
 * which gives it a cache. */
hpi_mcache_t hpi_mcache_none = {.sample_left = -1,
                                .alloc = {[0 ... HPI_NUM_CLASSES - 1] = &hpi_span_none}};
__thread hpi_mcache_t *hpi_tls_mcache __attribute__((tls_model("initial-exec"))) = &hpi_mcache_none;

/* Every mcache ever made, and the released ones waiting for a new thread. */
static struct {
    hpi_lock_t lock;
    hpi_mcache_t *all;  /* lock */
    hpi_mcache_t *pool; /* lock */
} registry = {HPI_LOCK_INIT, NULL, NULL};

/* Counters of threads that have no mcache (before their first small
 * allocation, or after their cache was released at exit); atomic adds. */
static hpi_thread_stats_t orphan_stats;

static hpi_thread_stats_t *stats_of(hpi_mcache_t *mc, bool *atomic_add)
{
    *atomic_add = (mc == &hpi_mcache_none);
    return *atomic_add ? &orphan_stats : &mc->stats;
}

static void stat_add(hpi_mcache_t *mc, hpi_counter_t *own, size_t offset, uint64_t v)
{
    bool shared;
    hpi_thread_stats_t *st = stats_of(mc, &shared);
    if (!shared) {
        hpi_counter_add(own, v);
        return;
    }
    atomic_fetch_add_explicit((hpi_counter_t *)((char *)st + offset), v, memory_order_relaxed);
}

#define STAT_ADD(mc, field, v)                                                                     \
    stat_add((mc), &(mc)->stats.field, offsetof(hpi_thread_stats_t, field), (v))

HPI_CORE void hpi_mcache_count_small(unsigned c, int is_free)
{
    hpi_mcache_t *mc = hpi_tls_mcache;
    if (is_free)
        STAT_ADD(mc, nfree[c], 1);
    else
        STAT_ADD(mc, nmalloc[c], 1);
}

HPI_CORE void hpi_mcache_count_large(size_t bytes, int is_free, unsigned nobj)
{
    hpi_mcache_t *mc = hpi_tls_mcache;
    if (is_free) {
        if (nobj) STAT_ADD(mc, nfree[0], nobj);
        STAT_ADD(mc, large_free_bytes, bytes);
    } else {
        if (nobj) STAT_ADD(mc, nmalloc[0], nobj);
        STAT_ADD(mc, large_alloc_bytes, bytes);
    }
}

/* Objects of other spans than the alloc span that a class's list may hold.
 * Each can keep its span from going back, so a new cache starts at 16 KiB
 * worth, at least 2 and at most 64 objects.  A thread whose frees found the
 * room used up since its last refill of the class, and which then needed a
 * refill (it frees a batch of objects and allocates a batch again, as a
 * request loop does), has the limit doubled at that refill, up to 32 KiB
 * worth and 1024 objects: with 64, most of a batch of a thousand went back
 * to its spans one by one, and the spans were taken and given up again each
 * round.  The limit stays grown for the thread's life (its cache's): the
 * objects it lets the list hold keep at most 32 KiB of objects, but up to
 * 1024 spans, from going back until the thread allocates again or exits.
 * Frees that no refill follows, as when a big structure is torn down, never
 * grow it: 1M objects freed in shuffled order would keep 1024 spans. */
#define OTHER_START_BYTES 16384u
#define OTHER_START_MAX 64u
#define OTHER_BYTES 32768u
#define OTHER_MAX 1024u

static uint32_t other_bound(unsigned c, uint32_t bytes, uint32_t most)
{
    uint32_t n = bytes / hpi_class_size[c];
    return n < 2 ? 2 : n > most ? most : n;
}

static void other_reset(hpi_mcache_t *mc)
{
    for (unsigned c = 1; c < HPI_NUM_CLASSES; c++) {
        mc->other_limit[c] = mc->other_room[c] = other_bound(c, OTHER_START_BYTES, OTHER_START_MAX);
        mc->other_full[c] = 0;
    }
}

HPI_CORE void hpi_mcache_other_full(void *p, hpi_span_t *s)
{
    hpi_mcache_t *mc = hpi_tls_mcache;
    mc->other_full[s->sizeclass] = 1;
    hpi_owned_push(mc, s, p);
}

/* At a refill of class c: double its limit if the room ran out since the
 * last one.  The list is empty at a refill, so the room is the whole limit.
 * (Halving it at a refill with no such frees before it undid the growth:
 * a round of pair-batch has several refills.) */
static void other_grow(hpi_mcache_t *mc, unsigned c)
{
    if (HPI_LIKELY(!mc->other_full[c])) return;
    mc->other_full[c] = 0;
    uint32_t lim = mc->other_limit[c], most = other_bound(c, OTHER_BYTES, OTHER_MAX);
    uint32_t grown = lim < most / 2 ? lim * 2 : most;
    if (grown <= lim) return;
    mc->other_room[c] += grown - lim;
    mc->other_limit[c] = grown;
}

static hpi_mcache_t *mcache_new_locked(void)
{
    hpi_mcache_t *mc = registry.pool;
    if (mc != NULL) {
        registry.pool = mc->pool_next;
        other_reset(mc); /* its lists were given back at release */
        return mc;
    }
    mc = hpi_meta_alloc(sizeof *mc);
    if (mc == NULL) return NULL;
    for (unsigned c = 0; c < HPI_NUM_CLASSES; c++)
        mc->alloc[c] = &hpi_span_none;
    other_reset(mc);
    mc->all_next = registry.all;
    registry.all = mc;
    return mc;
}

HPI_CORE hpi_mcache_t *hpi_mcache_get(void)
{
    hpi_mcache_t *mc = hpi_tls_mcache;
    if (mc != &hpi_mcache_none) return mc;
    hpi_options_init();
    hpi_lock(&registry.lock);
    mc = mcache_new_locked();
    if (mc != NULL) {
        mc->live = 1;
        mc->tid = hpi_gettid();
    }
    hpi_unlock(&registry.lock);
    if (mc == NULL) return &hpi_mcache_none;
    hpi_sample_reset(mc);
    hpi_tls_mcache = mc;
    hpi_init_thread_hooks(); /* may allocate: the cache is in place */
    return mc;
}

/* ---- owned span lists ---- */

static void partial_push(hpi_mcache_t *mc, hpi_span_t *s)
{
    hpi_span_t **head = &mc->partial[s->sizeclass];
    s->queue = HPI_Q_PARTIAL;
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    else
        mc->partial_tail[s->sizeclass] = s;
    *head = s;
}

static void partial_unlink(hpi_mcache_t *mc, hpi_span_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        mc->partial[s->sizeclass] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        mc->partial_tail[s->sizeclass] = s->prev;
    s->next = s->prev = NULL;
    s->queue = HPI_Q_NONE;
}

static void span_to_heap(hpi_span_t *s)
{
    hpi_span_disown(s);
    hpi_heap_free(s);
}

/* s is owned, not current, and every object is free: keep it or drop it. */
HPI_CORE static void keep_or_release_empty(hpi_mcache_t *mc, hpi_span_t *s)
{
    unsigned c = s->sizeclass;
    size_t bytes = s->npages << HPI_PAGE_SHIFT;
    if (mc->nempty[c] >= EMPTY_PER_CLASS || mc->empty_bytes + bytes > EMPTY_BYTES_MAX) {
        span_to_heap(s);
        return;
    }
    s->queue = HPI_Q_EMPTY;
    s->next = mc->empty[c];
    mc->empty[c] = s;
    mc->nempty[c]++;
    mc->empty_bytes += bytes;
}

HPI_CORE void hpi_mcache_span_empty(hpi_mcache_t *mc, hpi_span_t *s)
{
    partial_unlink(mc, s);
    keep_or_release_empty(mc, s);
}

/* Mark s full and detached.  False if remote frees arrived meanwhile; the
 * caller then still owns s and should collect them. */
static bool detach_full(hpi_span_t *s, uintptr_t owner)
{
    atomic_store_explicit(&s->xowner, owner | HPI_OWNER_FULL, memory_order_relaxed);
    uintptr_t expect = 0;
    if (atomic_compare_exchange_strong_explicit(&s->remote, &expect, HPI_REMOTE_NOTIFY,
                                                memory_order_acq_rel, memory_order_acquire))
        return true;
    atomic_store_explicit(&s->xowner, owner, memory_order_relaxed);
    return false;
}

/* ---- refill ---- */

/* How many partial spans a refill looks at, and how many times a span may
 * come round with nothing freed before it is detached. */
#define PARTIAL_PROBES 4
#define IDLE_ROUNDS 3

/* The oldest partial span that has free objects again.  An exhausted span
 * stays owned on the partial list, so the thread's frees into it take the
 * fast path.  One that has come round IDLE_ROUNDS times with nothing freed
 * holds long-lived objects: it is detached, and costs nothing until an
 * object comes back.  The probing stops at `stop`, the span that has just
 * run out: it has had no time to gather anything. */
static hpi_span_t *take_partial(hpi_mcache_t *mc, unsigned c, const hpi_span_t *stop)
{
    for (int n = 0; n < PARTIAL_PROBES; n++) {
        hpi_span_t *s = mc->partial_tail[c];
        if (s == NULL || s == stop) return NULL; /* stop: just exhausted, newest */
        partial_unlink(mc, s);
        if (s->free != NULL || hpi_span_collect_remote(s) > 0) {
            s->idle_rounds = 0;
            return s;
        }
        if (++s->idle_rounds < IDLE_ROUNDS) {
            partial_push(mc, s);
            continue;
        }
        s->idle_rounds = 0;
        if (!detach_full(s, (uintptr_t)mc)) {
            hpi_span_collect_remote(s);
            return s;
        }
    }
    return NULL;
}

static hpi_span_t *take_empty(hpi_mcache_t *mc, unsigned c)
{
    hpi_span_t *s = mc->empty[c];
    if (s != NULL) {
        mc->empty[c] = s->next;
        mc->nempty[c]--;
        mc->empty_bytes -= s->npages << HPI_PAGE_SHIFT;
        s->next = NULL;
        s->queue = HPI_Q_NONE;
    }
    return s;
}

/* The alloc span's free objects are reserved: they move to the thread's list
 * (mc->free), used == nelems, and malloc and free of its objects leave used
 * alone (fastpath.h).  The list is empty when the span stops being the alloc
 * span, so used is exact again, except at thread exit, where the list goes
 * back to the span and unreserve() recounts.  A new span's objects move in
 * an OS page's worth at a time (hpi_span_carve), so that the pages a thread
 * does not reach are never touched: a program that uses a few objects of a
 * class does not fault in the whole span to build its free list.  The span
 * stays the alloc span until every object has moved; its fresh objects
 * count as reserved. */
static void reserve(hpi_span_t *s)
{
    s->used = s->nelems;
}

static void unreserve(hpi_span_t *s)
{
    for (hpi_block_t *b = s->free; b != NULL; b = b->next)
        s->used--;
}

static hpi_span_t *refill_span(hpi_mcache_t *mc, unsigned c)
{
    hpi_span_t *s = mc->alloc[c];
    if (s != &hpi_span_none) {
        size_t n = hpi_span_collect_remote(s);
        if (n > 0) {
            s->used += (uint32_t)n; /* collected objects join the reserve */
            return s;
        }
        if (hpi_span_carve(s, false) > 0) return s; /* fresh objects: already reserved */
        partial_push(mc, s); /* exhausted: frees will come back to it */
        mc->alloc[c] = &hpi_span_none;
    }
    s = take_partial(mc, c, s);
    if (s == NULL) s = take_empty(mc, c);
    if (s == NULL) s = hpi_central_take(c, mc);
    if (s == NULL) {
        s = hpi_heap_alloc_small_fresh(c);
        if (s == NULL) return NULL;
        atomic_store_explicit(&s->xowner, (uintptr_t)mc, memory_order_relaxed);
        hpi_span_carve(s, false);
    }
    reserve(s);
    mc->alloc[c] = s;
    return s;
}

HPI_CORE void *hpi_mcache_refill(hpi_mcache_t *mc, unsigned c)
{
    if (mc == &hpi_mcache_none) {
        mc = hpi_mcache_get();
        if (mc == &hpi_mcache_none) {
            errno = ENOMEM;
            return NULL;
        }
    }
    other_grow(mc, c);
    hpi_span_t *s = refill_span(mc, c);
    if (s == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    hpi_block_t *b = s->free; /* the reserve moves to the thread's list */
    s->free = NULL;
    mc->free[c] = (uintptr_t)b->next;
    hpi_counter_add(&mc->stats.nmalloc[c], 1);
    return b;
}

/* ---- frees that miss the fast path ---- */

/* The owner frees into its own detached span: take it back unless a remote
 * free has already sent it to mcentral. */
static bool reclaim_detached(hpi_mcache_t *mc, hpi_span_t *s, void *p)
{
    uintptr_t notify = HPI_REMOTE_NOTIFY;
    if (!atomic_compare_exchange_strong_explicit(&s->remote, &notify, 0, memory_order_acquire,
                                                 memory_order_relaxed))
        return false;
    atomic_store_explicit(&s->xowner, (uintptr_t)mc, memory_order_relaxed);
    hpi_block_t *b = p;
    b->next = s->free;
    s->free = b;
    if (--s->used == 0)
        keep_or_release_empty(mc, s);
    else
        partial_push(mc, s);
    return true;
}

/* Remote frees into the same span are gathered (up to REMOTE_BATCH objects)
 * and pushed with one CAS when the thread frees into another span, or
 * exits: a consumer freeing a producer's objects in the order they came pays
 * one atomic per batch, and the owner's cache line bounces once per batch.
 * Batched objects still count as used in their span, so it cannot be freed
 * under them; at most one batch per thread waits. */
#define REMOTE_BATCH 64

static void flush_remote(hpi_mcache_t *mc)
{
    if (mc->rb_span == NULL) return;
    hpi_span_push_remote(mc->rb_span, mc->rb_first, mc->rb_last);
    mc->rb_span = NULL;
    mc->rb_count = 0;
}

static void remote_batch(hpi_mcache_t *mc, hpi_span_t *s, void *p)
{
    hpi_block_t *b = p;
    if (mc->rb_span != s || mc->rb_count >= REMOTE_BATCH) {
        flush_remote(mc);
        b->next = NULL;
        mc->rb_span = s;
        mc->rb_first = mc->rb_last = b;
        mc->rb_count = 1;
        return;
    }
    b->next = mc->rb_first;
    mc->rb_first = b;
    mc->rb_count++;
}

/* Put p back in its span s, whoever owns it; no counters.  True if it was a
 * remote free. */
HPI_CORE static bool span_free(hpi_mcache_t *mc, hpi_span_t *s, void *p)
{
    uintptr_t x = atomic_load_explicit(&s->xowner, memory_order_relaxed);
    if (mc != &hpi_mcache_none && x == (uintptr_t)mc) {
        if (s == mc->alloc[s->sizeclass])
            hpi_list_push(mc, s->sizeclass, p, 0);
        else
            hpi_owned_push(mc, s, p);
        return false;
    }
    if (mc != &hpi_mcache_none && x == ((uintptr_t)mc | HPI_OWNER_FULL) &&
        reclaim_detached(mc, s, p))
        return false;
    if (mc == &hpi_mcache_none)
        hpi_span_push_remote(s, p, p);
    else
        remote_batch(mc, s, p);
    return true;
}

HPI_CORE void hpi_mcache_free_slow(hpi_mcache_t *mc, hpi_span_t *s, void *p)
{
    unsigned c = s->sizeclass; /* s may be back in the page heap after span_free */
    bool remote = span_free(mc, s, p);
    STAT_ADD(mc, nfree[c], 1);
    if (remote) STAT_ADD(mc, remote_frees, 1);
}

/* Give the objects on the thread's lists back to their spans (thread exit):
 * the alloc span's (untagged links) to its free list, still reserved, the
 * others as frees. */
static void flush_lists(hpi_mcache_t *mc)
{
    for (unsigned c = 1; c < HPI_NUM_CLASSES; c++) {
        uintptr_t h = mc->free[c], next;
        mc->free[c] = 0;
        for (; h != 0; h = next) {
            hpi_block_t *b = (hpi_block_t *)(h & ~HPI_LIST_OTHER);
            next = (uintptr_t)b->next;
            if (h & HPI_LIST_OTHER) {
                mc->other_room[c]++;
                span_free(mc, hpi_span_of(b), b);
                continue;
            }
            b->next = mc->alloc[c]->free;
            mc->alloc[c]->free = b;
        }
    }
}

/* ---- thread exit ---- */

/* Give up a span the exiting thread owns. */
HPI_CORE static void release_owned(hpi_span_t *s)
{
    s->queue = HPI_Q_NONE;
    if (s->used == 0) {
        span_to_heap(s);
        return;
    }
    if (s->free == NULL && detach_full(s, 0)) return;
    hpi_span_disown(s);
    hpi_central_put(s->sizeclass, s);
}

HPI_CORE void hpi_mcache_release(hpi_mcache_t *mc)
{
    if (mc == &hpi_mcache_none) return;
    flush_lists(mc);
    flush_remote(mc);
    for (unsigned c = 1; c < HPI_NUM_CLASSES; c++) {
        hpi_span_t *s = mc->alloc[c];
        mc->alloc[c] = &hpi_span_none;
        if (s != &hpi_span_none) {
            hpi_span_carve(s, true); /* other owners know only free lists */
            unreserve(s);
            release_owned(s);
        }
        while ((s = mc->partial[c]) != NULL) {
            partial_unlink(mc, s);
            release_owned(s);
        }
        while ((s = take_empty(mc, c)) != NULL)
            span_to_heap(s);
    }
    if (hpi_tls_mcache == mc) hpi_tls_mcache = &hpi_mcache_none;
    hpi_lock(&registry.lock);
    mc->live = 0;
    mc->pool_next = registry.pool;
    registry.pool = mc;
    hpi_unlock(&registry.lock);
}

/* ---- registry walks and fork ---- */

void hpi_mcache_foreach(hpi_mcache_visit_fn fn, void *arg)
{
    hpi_lock(&registry.lock);
    for (hpi_mcache_t *mc = registry.all; mc != NULL; mc = mc->all_next)
        fn(mc, arg);
    hpi_unlock(&registry.lock);
}

hpi_thread_stats_t *hpi_mcache_orphan_stats(void)
{
    return &orphan_stats;
}

void hpi_mcache_fork_prepare(void)
{
    hpi_lock(&registry.lock);
}
void hpi_mcache_fork_parent(void)
{
    hpi_unlock(&registry.lock);
}

/* In the child only this thread exists.  The other threads' caches may have
 * been mid-update when fork() copied them, so their spans are not trusted:
 * the caches become zombies (counted, never reused) and keep their spans. */
void hpi_mcache_fork_child(void)
{
    hpi_lock_reinit(&registry.lock);
    for (hpi_mcache_t *mc = registry.all; mc != NULL; mc = mc->all_next) {
        if (mc == hpi_tls_mcache || !mc->live) continue;
        mc->live = 0;
        mc->zombie = 1;
    }
    if (hpi_tls_mcache != &hpi_mcache_none) hpi_tls_mcache->tid = hpi_gettid();
}
