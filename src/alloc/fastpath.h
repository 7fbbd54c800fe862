/* fastpath.h: the malloc and free fast paths, inlined into every entry point.
 * See malloc.c for the design.
 *
 * Neither path takes a lock or does an atomic read-modify-write.  malloc pops
 * the head of the thread's list for the class (mc->free): one list, no span
 * touched.  free pushes onto that list when the object's span is the
 * thread's alloc span, or is another span the thread owns while the list has
 * room for such objects (other_room); else onto the free list of its span,
 * which the thread owns, through mcache.c (which notes that the room ran
 * out).  Everything else is a call into mcache.c.
 * Neither touches the alloc span's `used` count: the whole span counts as
 * used while it is the alloc span, so the tight malloc/free loop carries no
 * read-modify-write chain through the span.  Objects of other spans on the
 * list still count as used in their span.  Like tcmalloc's thread cache, the
 * list hands back recently freed memory first, while it is still in the CPU
 * cache; unlike it, it holds a bounded number of objects of spans other
 * than the alloc span (up to 64, or 1024 in a thread that frees and
 * allocates in rounds, mcache.c), so a thread's frees still empty its
 * spans.  Their links are tagged (HPI_LIST_OTHER), so that malloc gives
 * their room back without a branch.
 */
#ifndef HPI_ALLOC_FASTPATH_H
#define HPI_ALLOC_FASTPATH_H

#include "alloc/internal.h"

HPI_INTERNAL void *hpi_malloc_large(size_t size, size_t align, bool zero);
/* A large object straight from the page heap, never sampled. */
HPI_INTERNAL void *hpi_heap_object(size_t size, size_t align, bool zero);
/* free() off the fast path; s is hpi_span_of(p), not yet checked. */
HPI_INTERNAL void hpi_free_slow(void *p, hpi_span_t *s);

/* Push b on the thread's list of class c; tag is HPI_LIST_OTHER for an
 * object of another span than the alloc span, else 0. */
static inline void hpi_list_push(hpi_mcache_t *mc, unsigned c, hpi_block_t *b, uintptr_t tag)
{
    b->next = (hpi_block_t *)mc->free[c];
    mc->free[c] = (uintptr_t)b | tag;
}

/* Put b back on its span s, which this thread owns and which is not its
 * alloc span (whose free objects are on the thread's list, mcache.c).
 * Shared by the fast path and mcache.c. */
static inline void hpi_owned_push(hpi_mcache_t *mc, hpi_span_t *s, hpi_block_t *b)
{
    b->next = s->free;
    s->free = b;
    if (HPI_UNLIKELY(--s->used == 0)) hpi_mcache_span_empty(mc, s);
}

/* A small object from this thread's cache, never sampled. */
static inline void *hpi_malloc_unsampled(hpi_mcache_t *mc, size_t size)
{
    unsigned c = hpi_size_class(size);
    uintptr_t h = mc->free[c];
    if (HPI_LIKELY(h != 0)) {
        hpi_block_t *b = (hpi_block_t *)(h & ~HPI_LIST_OTHER);
        mc->free[c] = (uintptr_t)b->next;
        mc->other_room[c] += (uint32_t)(h & HPI_LIST_OTHER);
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
        if (s != mc->alloc[c]) {
            if (mc->other_room[c] == 0) {
                hpi_mcache_other_full(p, s);
                return;
            }
            mc->other_room[c]--; /* reused first by the next malloc */
            hpi_list_push(mc, c, b, HPI_LIST_OTHER);
            return;
        }
        hpi_list_push(mc, c, b, 0);
        return;
    }
    hpi_free_slow(p, s);
}

#endif /* HPI_ALLOC_FASTPATH_H */
