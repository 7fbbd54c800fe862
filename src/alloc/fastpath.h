/* fastpath.h: the malloc and free fast paths, inlined into every entry point.
 * See malloc.c for the design.
 *
 * Neither path takes a lock or does an atomic read-modify-write: malloc pops
 * the head of the current span's free list; free pushes onto the free list of
 * a span the thread owns.  Everything else is a call into mcache.c.
 * Neither touches the alloc span's `used` count: the whole span counts as
 * used while it is the alloc span, so the tight malloc/free loop carries no
 * read-modify-write chain through the span.  Objects freed into the
 * thread's other spans go first to a short per-class `hot` list (they still
 * count as used in their span), and malloc takes from it first: like
 * tcmalloc's thread cache, recently freed memory is reused while it is still
 * in the CPU cache, which a span's free list alone would not do.
 */
#ifndef HPI_ALLOC_FASTPATH_H
#define HPI_ALLOC_FASTPATH_H

#include "alloc/internal.h"

HPI_INTERNAL void *hpi_malloc_large(size_t size, size_t align, bool zero);
/* A large object straight from the page heap, never sampled. */
HPI_INTERNAL void *hpi_heap_object(size_t size, size_t align, bool zero);
/* free() off the fast path; s is hpi_span_of(p), not yet checked. */
HPI_INTERNAL void hpi_free_slow(void *p, hpi_span_t *s);

/* Put b back on its span s, which this thread owns; is_alloc says whether s
 * is the thread's alloc span for its class.  The alloc span's objects all
 * count as used (mcache.c): a free into it touches no counter of the span.
 * Shared by the fast path and mcache.c's slow paths. */
static inline void hpi_owned_push(hpi_mcache_t *mc, hpi_span_t *s, hpi_block_t *b, bool is_alloc)
{
    b->next = s->free;
    s->free = b;
    if (!is_alloc && HPI_UNLIKELY(--s->used == 0)) hpi_mcache_span_empty(mc, s);
}

/* A small object from this thread's cache, never sampled. */
static inline void *hpi_malloc_unsampled(hpi_mcache_t *mc, size_t size)
{
    unsigned c = hpi_size_class(size);
    hpi_block_t *b = mc->hot[c];
    if (b != NULL) { /* most recently freed first: still in cache */
        mc->hot[c] = b->next;
        mc->hot_room[c]++;
        hpi_counter_add(&mc->stats.nmalloc[c], 1);
        return b;
    }
    hpi_span_t *s = mc->alloc[c];
    b = s->free;
    if (HPI_LIKELY(b != NULL)) {
        hpi_block_t *next = b->next;
        s->free = next;
        /* The next malloc of this class reads next->next: start fetching it
         * now, while the caller works (objects come back cold). */
        __builtin_prefetch(next);
        hpi_counter_add(&mc->stats.nmalloc[c], 1);
        return b;
    }
    return hpi_mcache_refill(mc, c);
}

static inline void *hpi_malloc_small(size_t size)
{
    hpi_mcache_t *mc = hpi_tls_mcache;
    /* The one profiling branch: count down to the next heap sample (a
     * thread without a cache has sample_left < 0 and gets one there). */
    if (HPI_UNLIKELY((mc->sample_left -= (int64_t)size) < 0))
        return hpi_malloc_sampled(size, 0, false, false);
    return hpi_malloc_unsampled(mc, size);
}

static inline void *hpi_malloc_inline(size_t size)
{
    if (HPI_LIKELY(size <= HPI_MAX_SMALL)) return hpi_malloc_small(size);
    return hpi_malloc_large(size, 0, false);
}

static inline void hpi_free_inline(void *p)
{
    hpi_span_t *s = hpi_span_of(p);
    hpi_mcache_t *mc = hpi_tls_mcache;
    if (HPI_LIKELY(s != NULL &&
                   atomic_load_explicit(&s->xowner, memory_order_relaxed) == (uintptr_t)mc)) {
        hpi_block_t *b = p;
        unsigned c = s->sizeclass;
        hpi_counter_add(&mc->stats.nfree[c], 1);
        bool is_alloc = s == mc->alloc[c];
        if (!is_alloc && mc->hot_room[c] != 0) { /* reused first by the next malloc */
            b->next = mc->hot[c];
            mc->hot[c] = b;
            mc->hot_room[c]--;
            return;
        }
        hpi_owned_push(mc, s, b, is_alloc);
        return;
    }
    hpi_free_slow(p, s);
}

#endif /* HPI_ALLOC_FASTPATH_H */
