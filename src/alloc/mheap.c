/* mheap.c: the page heap.  See malloc.c, points 1, 2 and 6.
 *
 * Arenas are reserved 64 MiB at a time (more, in one piece, for an object
 * larger than that) and handed out front to back by a bump pointer.  Freed
 * spans coalesce with free neighbours at once, found through the page map,
 * and wait on free lists: one list per length for spans under 128 pages
 * (with a bitmap of the non-empty ones), one list for longer spans searched
 * best-fit.  This is the classic segregated-fit page heap (tcmalloc's
 * PageHeap, Go's before its radix tree); every operation is O(1) apart from
 * the best-fit scan of the few long free spans.
 *
 * A free span maps only its first and last page, which is all coalescing
 * needs; an in-use span maps all its pages, so interior pointers resolve.
 * Everything here runs under heap.lock, except the madvise calls of the
 * scavenger, made on spans taken off the lists (state BUSY).
 */
#include <string.h>

#include "alloc/internal.h"

#define NSMALL 128 /* free lists by length for spans of 1..NSMALL-1 pages */
#define SCAVENGE_BATCH 64

hpi_arena_t *_Atomic hpi_arena_map[HPI_ARENA_MAP_LEN];

static struct {
    hpi_lock_t lock;
    hpi_span_t *free_small[NSMALL]; /* lock */
    uint64_t nonempty[NSMALL / 64]; /* lock: bit n set iff free_small[n] */
    hpi_span_t *free_large;         /* lock: spans of NSMALL pages or more */
    uintptr_t bump, bump_end;       /* lock: never-used arena space */
    hpi_span_t *spare;              /* lock: recycled span structs */
    hpi_heap_stats_t st;            /* lock (read racily by memstats) */
} heap = {.lock = HPI_LOCK_INIT};

/* ---- span structs ---- */

HPI_CORE static hpi_span_t *span_new_locked(uintptr_t base, size_t npages)
{
    hpi_span_t *s = heap.spare;
    if (s != NULL) {
        heap.spare = s->next;
    } else {
        s = hpi_meta_alloc(sizeof *s);
        if (s == NULL) return NULL;
        heap.st.span_sys += sizeof *s;
    }
    memset(s, 0, sizeof *s);
    s->base = base;
    s->npages = npages;
    heap.st.span_inuse += sizeof *s;
    return s;
}

static void span_delete_locked(hpi_span_t *s)
{
    s->state = HPI_SPAN_BUSY;
    s->base = 0;
    s->next = heap.spare;
    heap.spare = s;
    heap.st.span_inuse -= sizeof *s;
}

/* ---- the page map ---- */

static hpi_span_t **map_slot(uintptr_t addr)
{
    hpi_arena_t *ar = hpi_arena_of(addr);
    return ar != NULL ? &ar->spans[hpi_arena_page(addr)] : NULL;
}

static hpi_span_t *map_get(uintptr_t addr)
{
    hpi_span_t **slot = map_slot(addr);
    return slot ? *slot : NULL;
}

HPI_CORE static void map_range_locked(hpi_span_t *s, size_t first, size_t n)
{
    for (size_t i = first; i < first + n; i++) *map_slot(s->base + (i << HPI_PAGE_SHIFT)) = s;
}

HPI_CORE static void map_ends_locked(hpi_span_t *s)
{
    map_range_locked(s, 0, 1);
    map_range_locked(s, s->npages - 1, 1);
}

/* ---- page info (hpi_arena_t.info) ---- */

/* addr lies in an arena. */
static _Atomic uint32_t *info_slot(uintptr_t addr)
{
    return &hpi_arena_of(addr)->info[hpi_arena_page(addr)];
}

/* Set (c != 0) or clear the page info of small span s's pages. */
HPI_CORE static void info_small(hpi_span_t *s, unsigned c)
{
    _Atomic uint32_t *slot = info_slot(s->base);
    for (size_t i = 0; i < s->npages; i++)
        atomic_store_explicit(&slot[i], c ? c | (uint32_t)i << 8 : 0, memory_order_relaxed);
}

/* Large span s's first page: its size, unless that does not fit. */
HPI_CORE void hpi_heap_info_large(hpi_span_t *s)
{
    uint32_t v = s->npages < HPI_INFO_LARGE ? HPI_INFO_LARGE | (uint32_t)s->npages : 0;
    atomic_store_explicit(info_slot(s->base), v, memory_order_relaxed);
}

HPI_CORE hpi_span_t *hpi_span_of_checked(const void *p)
{
    return hpi_span_check(hpi_span_of(p), p);
}

HPI_CORE hpi_span_t *hpi_span_check(hpi_span_t *s, const void *p)
{
    if (s == NULL) return NULL;
    if (s->state != HPI_SPAN_SMALL && s->state != HPI_SPAN_LARGE) return NULL;
    uintptr_t a = (uintptr_t)p;
    if (a < s->base || a >= s->base + (s->npages << HPI_PAGE_SHIFT)) return NULL;
    return s;
}

/* ---- free lists ---- */

static hpi_span_t **list_for(size_t npages)
{
    return npages < NSMALL ? &heap.free_small[npages] : &heap.free_large;
}

HPI_CORE static void list_insert_locked(hpi_span_t *s)
{
    hpi_span_t **head = list_for(s->npages);
    s->state = HPI_SPAN_FREE;
    s->prev = NULL;
    s->next = *head;
    if (*head) (*head)->prev = s;
    *head = s;
    if (s->npages < NSMALL) heap.nonempty[s->npages / 64] |= (uint64_t)1 << (s->npages % 64);
}

HPI_CORE static void list_remove_locked(hpi_span_t *s)
{
    hpi_span_t **head = list_for(s->npages);
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next) s->next->prev = s->prev;
    s->next = s->prev = NULL;
    if (s->npages < NSMALL && *head == NULL)
        heap.nonempty[s->npages / 64] &= ~((uint64_t)1 << (s->npages % 64));
}

static hpi_span_t *find_small_locked(size_t npages)
{
    for (size_t w = npages / 64; w < NSMALL / 64; w++) {
        uint64_t bits = heap.nonempty[w];
        if (w == npages / 64) bits &= ~(uint64_t)0 << (npages % 64);
        if (bits) return heap.free_small[w * 64 + (size_t)__builtin_ctzll(bits)];
    }
    return NULL;
}

static hpi_span_t *find_large_locked(size_t npages)
{
    hpi_span_t *best = NULL;
    for (hpi_span_t *s = heap.free_large; s != NULL; s = s->next) {
        if (s->npages < npages) continue;
        if (best == NULL || s->npages < best->npages ||
            (s->npages == best->npages && s->base < best->base))
            best = s;
    }
    return best;
}

/* ---- growing ---- */

static bool arena_add_locked(size_t npages)
{
    size_t size = ((npages << HPI_PAGE_SHIFT) + HPI_ARENA_SIZE - 1) & ~(HPI_ARENA_SIZE - 1);
    if (size < HPI_ARENA_SIZE) size = HPI_ARENA_SIZE;
    void *mem;
    if (hpi_os_reserve(size, HPI_ARENA_SIZE, &mem) != 0) return false;
    uintptr_t base = (uintptr_t)mem;
    for (uintptr_t a = base; a < base + size; a += HPI_ARENA_SIZE) {
        hpi_arena_t *ar = hpi_meta_alloc(sizeof *ar);
        if (ar == NULL) return false; /* the reservation leaks; we are out of memory */
        ar->base = a;
        heap.st.other_sys += sizeof *ar;
        heap.st.arenas++;
        atomic_store_explicit(&hpi_arena_map[a >> HPI_ARENA_SHIFT], ar, memory_order_release);
    }
    if (heap.bump_end != base && heap.bump < heap.bump_end) {
        /* The old arena's tail becomes an ordinary free span. */
        size_t n = (heap.bump_end - heap.bump) >> HPI_PAGE_SHIFT;
        hpi_span_t *s = span_new_locked(heap.bump, n);
        if (s != NULL) {
            heap.st.heap_sys += n << HPI_PAGE_SHIFT;
            map_ends_locked(s);
            list_insert_locked(s);
        }
    }
    if (heap.bump_end != base) heap.bump = base;
    heap.bump_end = base + size;
    return true;
}

static hpi_span_t *grow_locked(size_t npages)
{
    size_t bytes = npages << HPI_PAGE_SHIFT;
    if (heap.bump_end - heap.bump < bytes && !arena_add_locked(npages)) return NULL;
    hpi_span_t *s = span_new_locked(heap.bump, npages);
    if (s == NULL) return NULL;
    heap.bump += bytes;
    heap.st.heap_sys += bytes;
    return s;
}

/* ---- allocating and freeing spans ---- */

/* Cut the first npages pages off free span s (off the lists); the rest goes
 * back on a list.  Returns s, now npages long. */
HPI_CORE static hpi_span_t *split_locked(hpi_span_t *s, size_t npages)
{
    if (s->npages == npages) return s;
    hpi_span_t *r = span_new_locked(s->base + (npages << HPI_PAGE_SHIFT), s->npages - npages);
    if (r == NULL) return s; /* keep the whole span: wasteful, not wrong */
    r->needzero = s->needzero;
    r->released = s->released;
    r->free_since = s->free_since;
    s->npages = npages;
    map_ends_locked(r);
    list_insert_locked(r);
    return s;
}

static void account_use_locked(hpi_span_t *s)
{
    size_t bytes = s->npages << HPI_PAGE_SHIFT;
    if (s->released) {
        heap.st.heap_released -= bytes;
        s->released = 0;
        s->needzero = 0;
    }
    heap.st.heap_inuse += bytes;
    map_range_locked(s, 0, s->npages);
}

HPI_CORE static hpi_span_t *take_free_locked(size_t npages)
{
    hpi_span_t *s = npages < NSMALL ? find_small_locked(npages) : NULL;
    if (s == NULL) s = find_large_locked(npages);
    if (s == NULL) return grow_locked(npages);
    list_remove_locked(s);
    return s;
}

static hpi_span_t *alloc_locked(size_t npages)
{
    hpi_span_t *s = take_free_locked(npages);
    if (s == NULL) return NULL;
    s = split_locked(s, npages);
    account_use_locked(s);
    return s;
}

/* Allocate npages starting at a multiple of align (> page size). */
static hpi_span_t *alloc_aligned_locked(size_t npages, size_t align)
{
    size_t extra = (align >> HPI_PAGE_SHIFT) - 1;
    hpi_span_t *s = take_free_locked(npages + extra);
    if (s == NULL) return NULL;
    uintptr_t start = (s->base + align - 1) & ~(uintptr_t)(align - 1);
    size_t lead = (start - s->base) >> HPI_PAGE_SHIFT;
    if (lead > 0) {
        hpi_span_t *head = span_new_locked(s->base, lead);
        if (head == NULL) {
            list_insert_locked(s);
            return NULL;
        }
        head->needzero = s->needzero;
        head->released = s->released;
        head->free_since = s->free_since;
        s->base = start;
        s->npages -= lead;
        map_ends_locked(head);
        list_insert_locked(head);
    }
    s = split_locked(s, npages);
    account_use_locked(s);
    return s;
}

/* Merge free span o (off the lists) into its neighbour s. */
HPI_CORE static void absorb_locked(hpi_span_t *s, hpi_span_t *o)
{
    if (s->released != o->released) {
        hpi_span_t *rel = s->released ? s : o; /* counts as dirty from now on */
        heap.st.heap_released -= rel->npages << HPI_PAGE_SHIFT;
        s->released = 0;
    }
    s->needzero |= o->needzero;
    if (o->free_since > s->free_since) s->free_since = o->free_since;
    if (o->base < s->base) s->base = o->base;
    s->npages += o->npages;
    span_delete_locked(o);
}

/* Put free span s on a list, merged with free neighbours. */
HPI_CORE static void free_coalesce_locked(hpi_span_t *s)
{
    hpi_span_t *left = map_get(s->base - 1);
    if (left && left->state == HPI_SPAN_FREE &&
        left->base + (left->npages << HPI_PAGE_SHIFT) == s->base) {
        list_remove_locked(left);
        absorb_locked(s, left);
    }
    uintptr_t end = s->base + (s->npages << HPI_PAGE_SHIFT);
    hpi_span_t *right = map_get(end);
    if (right && right->state == HPI_SPAN_FREE && right->base == end) {
        list_remove_locked(right);
        absorb_locked(s, right);
    }
    map_ends_locked(s);
    list_insert_locked(s);
}

HPI_CORE hpi_span_t *hpi_heap_alloc_small_nolist(unsigned c)
{
    hpi_lock(&heap.lock);
    hpi_span_t *s = alloc_locked(hpi_class_npages[c]);
    if (s != NULL) s->state = HPI_SPAN_SMALL;
    hpi_unlock(&heap.lock);
    if (s == NULL) return NULL;
    s->sizeclass = (uint8_t)c;
    s->elemsize = hpi_class_size[c];
    s->nelems = hpi_class_nobjs[c];
    s->divmagic = hpi_class_divmagic[c];
    s->used = 0;
    s->free = NULL;
    s->fresh = s->nelems;
    atomic_store_explicit(&s->remote, 0, memory_order_relaxed);
    atomic_store_explicit(&s->xowner, 0, memory_order_relaxed);
    return s;
}

/* The OS page size that carving goes by: the kernel's, not HPI_PAGE_SIZE. */
#define CARVE_PAGE 4096u

HPI_CORE size_t hpi_span_carve(hpi_span_t *s, bool all)
{
    size_t first = s->fresh, end = s->nelems;
    if (first >= end) return 0;
    if (!all) {
        uintptr_t first_end = s->base + (first + 1) * s->elemsize;
        uintptr_t limit = (first_end + CARVE_PAGE - 1) & ~(uintptr_t)(CARVE_PAGE - 1);
        size_t n = (limit - s->base + s->elemsize - 1) / s->elemsize; /* objects starting below */
        if (n < end) end = n;
    }
    hpi_block_t *prev = s->free;
    for (size_t i = end; i-- > first;) {
        hpi_block_t *b = (hpi_block_t *)(s->base + i * s->elemsize);
        b->next = prev;
        prev = b;
    }
    s->free = prev;
    s->fresh = (uint16_t)end;
    return end - first;
}

HPI_CORE hpi_span_t *hpi_heap_alloc_small_fresh(unsigned c)
{
    hpi_span_t *s = hpi_heap_alloc_small_nolist(c);
    if (s == NULL) return NULL;
    s->fresh = 0;
    info_small(s, c);
    return s;
}

HPI_CORE hpi_span_t *hpi_heap_alloc_large(size_t npages, size_t align)
{
    hpi_lock(&heap.lock);
    hpi_span_t *s = align > HPI_PAGE_SIZE ? alloc_aligned_locked(npages, align)
                                          : alloc_locked(npages);
    if (s != NULL) s->state = HPI_SPAN_LARGE;
    hpi_unlock(&heap.lock);
    if (s == NULL) return NULL;
    s->sizeclass = 0;
    s->elemsize = 0;
    s->nelems = 1;
    s->used = 1;
    atomic_store_explicit(&s->xowner, 0, memory_order_relaxed);
    return s;
}

HPI_CORE void hpi_heap_free(hpi_span_t *s)
{
    uint64_t now = hpi_nanotime();
    hpi_lock(&heap.lock);
    heap.st.heap_inuse -= s->npages << HPI_PAGE_SHIFT;
    if (s->sizeclass != 0)
        info_small(s, 0);
    else
        atomic_store_explicit(info_slot(s->base), 0, memory_order_relaxed);
    s->needzero = 1;
    s->released = 0;
    s->free_since = now;
    s->sizeclass = 0;
    s->free = NULL;
    atomic_store_explicit(&s->xowner, 0, memory_order_relaxed);
    free_coalesce_locked(s);
    hpi_unlock(&heap.lock);
    hpi_scavenger_note_free();
}

/* Shrink large span s to npages, or grow it into the free span after it. */
HPI_CORE bool hpi_heap_resize_large(hpi_span_t *s, size_t npages)
{
    bool ok = false;
    uint64_t now = hpi_nanotime();
    hpi_lock(&heap.lock);
    uintptr_t end = s->base + (s->npages << HPI_PAGE_SHIFT);
    if (npages < s->npages) {
        hpi_span_t *tail = span_new_locked(s->base + (npages << HPI_PAGE_SHIFT), s->npages - npages);
        if (tail != NULL) {
            heap.st.heap_inuse -= tail->npages << HPI_PAGE_SHIFT;
            s->npages = npages;
            tail->needzero = 1;
            tail->free_since = now;
            free_coalesce_locked(tail);
            ok = true;
        }
    } else {
        size_t extra = npages - s->npages;
        hpi_span_t *r = map_get(end);
        if (r && r->state == HPI_SPAN_FREE && r->base == end && r->npages >= extra) {
            list_remove_locked(r);
            r = split_locked(r, extra);
            account_use_locked(r); /* maps r's pages; re-pointed to s below */
            s->npages += extra;
            map_range_locked(s, npages - extra, extra);
            span_delete_locked(r);
            ok = true;
        }
    }
    if (ok && atomic_load_explicit(info_slot(s->base), memory_order_relaxed) != 0)
        hpi_heap_info_large(s);
    hpi_unlock(&heap.lock);
    return ok;
}

/* ---- the scavenger's side ---- */

static size_t scavenge_pick_locked(hpi_span_t **out, uint64_t cutoff)
{
    size_t n = 0;
    for (size_t i = 0; i <= NSMALL && n < SCAVENGE_BATCH; i++) {
        hpi_span_t *s = i < NSMALL ? heap.free_small[i] : heap.free_large;
        while (s != NULL && n < SCAVENGE_BATCH) {
            hpi_span_t *next = s->next;
            if (!s->released && s->free_since <= cutoff) {
                list_remove_locked(s);
                s->state = HPI_SPAN_BUSY;
                out[n++] = s;
            }
            s = next;
        }
    }
    return n;
}

/* Release free spans idle since before now - older_than_ns.  Returns bytes. */
uint64_t hpi_heap_scavenge(uint64_t older_than_ns, uint64_t now)
{
    uint64_t cutoff = now > older_than_ns ? now - older_than_ns : 0, total = 0;
    hpi_span_t *batch[SCAVENGE_BATCH];
    for (;;) {
        hpi_lock(&heap.lock);
        size_t n = scavenge_pick_locked(batch, cutoff);
        hpi_unlock(&heap.lock);
        if (n == 0) return total;
        for (size_t i = 0; i < n; i++)
            hpi_os_release((void *)batch[i]->base, batch[i]->npages << HPI_PAGE_SHIFT);
        hpi_lock(&heap.lock);
        for (size_t i = 0; i < n; i++) {
            hpi_span_t *s = batch[i];
            uint64_t bytes = s->npages << HPI_PAGE_SHIFT;
            s->released = 1;
            s->needzero = 0;
            heap.st.heap_released += bytes;
            heap.st.scavenged += bytes;
            total += bytes;
            free_coalesce_locked(s);
        }
        hpi_unlock(&heap.lock);
    }
}

void hpi_heap_read_stats(hpi_heap_stats_t *st)
{
    hpi_lock(&heap.lock);
    *st = heap.st;
    hpi_unlock(&heap.lock);
}

void hpi_heap_fork_prepare(void) { hpi_lock(&heap.lock); }
void hpi_heap_fork_parent(void) { hpi_unlock(&heap.lock); }
void hpi_heap_fork_child(void) { hpi_lock_reinit(&heap.lock); }
