/* sample.c: the allocator's side of the heap profile.  See malloc.c for the
 * allocator and prof/prof.h for profiling.
 *
 * Every thread counts down the bytes it allocates (mcache.sample_left, one
 * subtraction and one branch on the malloc fast path, as in Go's mallocgc).
 * When the count runs out, the allocation that crossed zero is sampled: it
 * is served here, the count restarts from a new exponentially distributed
 * distance with mean HOTPATH_MEMPROFILERATE bytes, and prof/memprof.c
 * records the object with its stack.
 *
 * A sampled small object comes from a span kept here for sampled objects of
 * its class; such a span has xowner == HPI_OWNER_SAMPLED, which no mcache
 * matches, so a free of a sampled object always leaves the free fast path
 * and is seen here, at no cost to the frees of other objects.  (A span bit
 * checked by the fast path would cost every free a load and a branch.)  A
 * sampled large object is an ordinary large span marked the same way.
 */
#include <errno.h>
#include <string.h>

#include "alloc/fastpath.h"
#include "prof/memprof.h"
#include "prof/prof.h"

/* Spans for sampled small objects, one pool per class, each with its own
 * lock, so that threads sampling objects of different classes do not meet:
 * spans with a free object (on their free list, or fresh: they are carved a
 * page at a time, as an mcache's are) are on `nonfull` (linked by
 * next/prev); full ones are on no list.  A span whose objects are all free
 * stays on the list while it is the class's only empty one (`nempty`), so
 * that a class sampled now and then does not make and unmake a span each
 * time. */
typedef struct {
    _Alignas(HPI_CACHE_LINE) hpi_lock_t lock;
    hpi_span_t *nonfull; /* lock */
    unsigned nempty;     /* lock: spans on nonfull with used == 0 */
} sample_pool_t;
static sample_pool_t pools[HPI_NUM_CLASSES];

HPI_CORE void hpi_sample_reset(hpi_mcache_t *mc)
{
    if (mc->sample_seed == 0)
        mc->sample_seed = (hpi_nanotime() ^ ((uint64_t)hpi_gettid() << 32)) | 1;
    mc->sample_left = hpi_memprof_next_sample(hpi_options.memprofile_rate, &mc->sample_seed);
}

static void nonfull_push_locked(sample_pool_t *pl, hpi_span_t *s)
{
    s->prev = NULL;
    s->next = pl->nonfull;
    if (s->next) s->next->prev = s;
    pl->nonfull = s;
}

static void nonfull_unlink_locked(sample_pool_t *pl, hpi_span_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        pl->nonfull = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void *small_sampled(unsigned c)
{
    sample_pool_t *pl = &pools[c];
    hpi_lock(&pl->lock);
    hpi_span_t *s = pl->nonfull;
    if (s == NULL) {
        s = hpi_heap_alloc_small_fresh(c);
        if (s == NULL) {
            hpi_unlock(&pl->lock);
            return NULL;
        }
        atomic_store_explicit(&s->xowner, HPI_OWNER_SAMPLED, memory_order_release);
        nonfull_push_locked(pl, s);
        pl->nempty++;
    }
    if (s->free == NULL) hpi_span_carve(s, false); /* it has fresh objects */
    hpi_block_t *b = s->free;
    s->free = b->next;
    if (s->used++ == 0) pl->nempty--;
    if (s->free == NULL && s->fresh == s->nelems) nonfull_unlink_locked(pl, s);
    hpi_unlock(&pl->lock);
    hpi_mcache_count_small(c, 0);
    return b;
}

static void small_free(hpi_span_t *s, void *p)
{
    unsigned c = s->sizeclass;
    sample_pool_t *pl = &pools[c];
    hpi_block_t *b = p;
    hpi_lock(&pl->lock);
    if (s->free == NULL && s->fresh == s->nelems) nonfull_push_locked(pl, s); /* was full */
    b->next = s->free;
    s->free = b;
    bool release = false;
    if (--s->used == 0) {
        release = pl->nempty > 0; /* keep one empty span per class */
        if (release)
            nonfull_unlink_locked(pl, s);
        else
            pl->nempty++;
    }
    hpi_unlock(&pl->lock);
    hpi_mcache_count_small(c, 1);
    if (release) {
        hpi_span_disown(s);
        hpi_heap_free(s);
    }
}

HPI_CORE void *hpi_malloc_sampled(size_t size, size_t align, bool zero, bool large)
{
    bool had_cache = hpi_tls_mcache != &hpi_mcache_none;
    hpi_mcache_t *mc = hpi_mcache_get(); /* a new thread's cache is reset */
    if (had_cache) hpi_sample_reset(mc);
    if (!had_cache || hpi_options.memprofile_rate == 0 || hpi_prof_internal) {
        if (large) return hpi_heap_object(size, align, zero);
        void *p = hpi_malloc_unsampled(mc, size);
        if (p != NULL && zero) memset(p, 0, size);
        return p;
    }
    void *p;
    if (large) {
        p = hpi_heap_object(size, align, zero);
        if (p != NULL)
            atomic_store_explicit(&hpi_span_of(p)->xowner, HPI_OWNER_SAMPLED, memory_order_release);
    } else {
        p = small_sampled(hpi_size_class(size));
        if (p == NULL) errno = ENOMEM;
        if (p != NULL && zero) memset(p, 0, size);
    }
    if (p != NULL) hpi_memprof_alloc(p, size);
    return p;
}

HPI_CORE void hpi_free_sampled(hpi_span_t *s, void *p)
{
    hpi_memprof_free(p);
    if (s->sizeclass != 0) {
        small_free(s, p);
        return;
    }
    hpi_span_disown(s);
    hpi_mcache_count_large(s->npages << HPI_PAGE_SHIFT, 1, 1);
    hpi_heap_free(s);
}

void hpi_sample_fork_prepare(void)
{
    for (unsigned c = 0; c < HPI_NUM_CLASSES; c++)
        hpi_lock(&pools[c].lock);
}
void hpi_sample_fork_parent(void)
{
    for (unsigned c = HPI_NUM_CLASSES; c-- > 0;)
        hpi_unlock(&pools[c].lock);
}
void hpi_sample_fork_child(void)
{
    for (unsigned c = 0; c < HPI_NUM_CLASSES; c++)
        hpi_lock_reinit(&pools[c].lock);
}
