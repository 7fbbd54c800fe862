/* heap.c: GC spans, allocation and sweeping.  See gc.c for the design.
 *
 * GC objects live in spans of their own, taken from the page heap like
 * malloc's, with an hpi_gcspan_t beside each (span->gc).  A span holds one
 * size class and one scan kind (scanned or noscan), so per class there are
 * two sets of lists: `partial` (swept, with free slots), `full` (swept, no
 * free slot) and `unswept` (marked, waiting for the sweeper); large
 * objects (class 0) have a span each and use only full and unswept.
 *
 * Allocation is Go's: a thread owns one span per class and kind (gcache)
 * and hands out its free slots in address order: the slots below
 * freeindex are taken, and alloc[] says which slots above it were alive at
 * the last sweep.  No free list is built, and a slot is allocated with one
 * plain store.  While marking runs, a new object is marked at once
 * ("allocated black").
 *
 * Sweeping turns a span's mark bits into its alloc bits: an object that was
 * allocated and is not marked is dead; a dead object with a finalizer is
 * queued for it and kept one more cycle.  A span with no live object goes
 * back to the page heap.  Spans are swept one at a time by whoever takes
 * them off `unswept` under the class lock: a thread that needs a span
 * (lazy sweeping) or the collector (background sweeping).  Every class
 * lock is taken only inside crit sections (internal.h), so a thread is
 * never stopped while it holds one.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "gc/internal.h"
#include "hotpath/gc.h"
#include "prof/memprof.h"

#define FLUSH_BYTES (64 << 10) /* heap_live is updated every 64 KiB per thread */
#define POISON 0xdb

typedef struct glist {
    hpi_gcspan_t *head, *tail;
    /* Spans on it (so that lists splice in O(1)); written under the class
     * lock, read without it as a hint (relaxed). */
    _Atomic int64_t n;
} glist_t;

typedef struct gclass {
    hpi_lock_t lock;
    glist_t partial, full, unswept; /* lock */
} __attribute__((aligned(HPI_CACHE_LINE))) gclass_t;

static gclass_t classes[2][HPI_NUM_CLASSES];
static _Atomic int64_t nunswept; /* spans on unswept lists */

/* Spare gcspan structs and the registry of caches. */
static struct {
    hpi_lock_t lock;
    hpi_gcspan_t *spare[HPI_GC_WORDS + 1]; /* lock: by bitmap words */
    hpi_gcache_t *caches;  /* lock: every live cache */
    hpi_gcache_t *cspare;  /* lock: released caches */
    hpi_gcspan_t *all;     /* lock: every gcspan in use (fork) */
    uint64_t nspans_bytes; /* lock: page bytes in GC spans */
} reg = {.lock = HPI_LOCK_INIT};

/* reg.lock is a GC lock: taken only inside crit. */
static void reg_lock(void)
{
    hpi_gc_enter();
    hpi_lock(&reg.lock);
}

static void reg_unlock(void)
{
    hpi_unlock(&reg.lock);
    hpi_gc_leave();
}

__thread hpi_gc_tls_t hpi_gc_tls __attribute__((tls_model("initial-exec")));

/* ---- lists (class lock) ---- */

static void list_push(glist_t *l, hpi_gcspan_t *g, int which)
{
    if (g->list != GCL_NONE && g->list != GCL_OWNED) hpi_fatal("gc: span %p pushed twice (list %d -> %d)", (void *)g, g->list, which);
    g->next = NULL;
    g->list = (uint8_t)which;
    if (l->tail)
        l->tail->next = g;
    else
        l->head = g;
    l->tail = g;
    atomic_fetch_add_explicit(&l->n, 1, memory_order_relaxed);
}

static hpi_gcspan_t *list_pop(glist_t *l)
{
    hpi_gcspan_t *g = l->head;
    if (g == NULL) return NULL;
    l->head = g->next;
    if (l->head == NULL) l->tail = NULL;
    g->next = NULL;
    g->list = GCL_NONE;
    atomic_fetch_sub_explicit(&l->n, 1, memory_order_relaxed);
    return g;
}

/* Move all of `from` to the end of `to` in O(1), so that mark termination
 * does not grow with the heap; returns how many moved.  The spans keep
 * their `list` tag (partial or full): it only tells that they are listed. */
static int64_t list_splice(glist_t *to, glist_t *from)
{
    int64_t n = atomic_load_explicit(&from->n, memory_order_relaxed);
    if (from->head == NULL) return 0;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    atomic_fetch_add_explicit(&to->n, n, memory_order_relaxed);
    from->head = from->tail = NULL;
    atomic_store_explicit(&from->n, 0, memory_order_relaxed);
    return n;
}

/* ---- gcspans ---- */

/* A zeroed struct from a spare list (linked through the pointer at
 * next_off), else new metadata; outside crit (metadata has a lock of
 * malloc's). */
static void *take_spare(void **head, size_t next_off, size_t size)
{
    reg_lock();
    char *p = *head;
    if (p != NULL) *head = *(void **)(p + next_off);
    reg_unlock();
    if (p == NULL) p = hpi_meta_alloc(size);
    if (p != NULL) memset(p, 0, size);
    return p;
}

static void range_note(uintptr_t lo, uintptr_t hi)
{
    uintptr_t cur = atomic_load(&hpi_gc.lo);
    while ((cur == 0 || lo < cur) && !atomic_compare_exchange_weak(&hpi_gc.lo, &cur, lo)) {}
    cur = atomic_load(&hpi_gc.hi);
    while (hi > cur && !atomic_compare_exchange_weak(&hpi_gc.hi, &cur, hi)) {}
}

/* Point (g != NULL) or clear the GC page map entries of span s's pages. */
static void pagemap_set(hpi_span_t *s, hpi_gcspan_t *g)
{
    for (uintptr_t a = s->base; a < s->base + (s->npages << HPI_PAGE_SHIFT); a += HPI_PAGE_SIZE) {
        hpi_arena_t *ar = atomic_load_explicit(&hpi_arena_map[a >> HPI_ARENA_SHIFT],
                                               memory_order_relaxed);
        atomic_store_explicit(&ar->gc[(a >> HPI_PAGE_SHIFT) & (HPI_PAGES_PER_ARENA - 1)], g,
                              memory_order_release);
    }
}

static hpi_gcspan_t *gcspan_new(hpi_span_t *s, unsigned cls, bool noscan)
{
    uint32_t nw = cls == 0 ? 1 : (hpi_class_nobjs[cls] + 63) / 64;
    if (nw > HPI_GC_WORDS) hpi_fatal("gc: class %u has %u objects per span", cls, hpi_class_nobjs[cls]);
    /* The mark bytes, which markers write, get cache lines of their own: on
     * the owner's (header, alloc bits) they would make every allocation miss
     * while marking runs. */
    size_t mark_off = (sizeof(hpi_gcspan_t) + 3 * nw * sizeof(uint64_t) + HPI_CACHE_LINE - 1) &
                      ~(size_t)(HPI_CACHE_LINE - 1);
    hpi_gcspan_t *g = take_spare((void **)&reg.spare[nw], offsetof(hpi_gcspan_t, next),
                                 mark_off + nw * 64);
    if (g == NULL) return NULL;
    g->nwords = nw;
    g->alloc = g->bits;
    g->fin = (_Atomic uint64_t *)(g->bits + nw);
    g->sampled = (_Atomic uint64_t *)(g->bits + 2 * nw);
    g->mark = (uint8_t *)g + mark_off;
    g->span = s;
    g->base = s->base;
    g->limit = s->base + (s->npages << HPI_PAGE_SHIFT);
    g->cls = (uint8_t)cls;
    g->noscan = noscan;
    g->needzero = s->needzero;
    if (cls == 0) {
        g->elemsize = (uint32_t)((s->npages << HPI_PAGE_SHIFT) > UINT32_MAX
                                     ? UINT32_MAX
                                     : s->npages << HPI_PAGE_SHIFT);
        g->nelems = 1;
    } else {
        g->elemsize = hpi_class_size[cls];
        g->nelems = hpi_class_nobjs[cls];
        g->divmagic = hpi_class_divmagic[cls];
    }
    range_note(g->base, g->limit);
    /* Complete before it is on the list a forked child walks. */
    reg_lock();
    reg.nspans_bytes += s->npages << HPI_PAGE_SHIFT;
    g->all_next = reg.all;
    if (reg.all) reg.all->all_prev = g;
    reg.all = g;
    reg_unlock();
    pagemap_set(s, g);
    atomic_store_explicit(&s->gc, g, memory_order_release);
    return g;
}

/* Take g off the books; the caller gives g->span back to the page heap
 * with hpi_heap_free once it has left crit (the heap lock may be held by a
 * stopped thread). */
static hpi_span_t *gcspan_retire(hpi_gcspan_t *g)
{
    hpi_span_t *s = g->span;
    atomic_store_explicit(&s->gc, NULL, memory_order_release);
    pagemap_set(s, NULL);
    reg_lock();
    reg.nspans_bytes -= s->npages << HPI_PAGE_SHIFT;
    if (g->all_prev)
        g->all_prev->all_next = g->all_next;
    else
        reg.all = g->all_next;
    if (g->all_next) g->all_next->all_prev = g->all_prev;
    g->next = reg.spare[g->nwords];
    reg.spare[g->nwords] = g;
    reg_unlock();
    return s;
}

/* ---- sweeping ---- */

/* Sampled objects the sweeper freed, told to the heap profile (which takes
 * a lock of malloc's) once the thread has left crit. */
#define DEFERRED_MAX 256
static __thread struct {
    unsigned n;
    void *p[DEFERRED_MAX];
    uint64_t epoch[DEFERRED_MAX]; /* of the sweep that found it dead */
} deferred __attribute__((tls_model("initial-exec")));

static bool defer_profile_free(void *p)
{
    if (deferred.n == DEFERRED_MAX) return false;
    deferred.epoch[deferred.n] = atomic_load_explicit(&hpi_gc.prof_epoch, memory_order_relaxed);
    deferred.p[deferred.n++] = p;
    return true;
}

/* Spans taken off `unswept` whose sampled frees are not yet told: the
 * heap profile publishes a cycle only when none is left (publish_if_swept). */
static _Atomic int64_t nsweeping;
static __thread int64_t my_sweeping __attribute__((tls_model("initial-exec")));

/* The sweep after the last mark termination is over, frees told: publish
 * that cycle in the heap profile.  nunswept is read first: once it is 0 no
 * span can be taken until the next termination. */
static void publish_if_swept(void)
{
    if (atomic_load(&nunswept) == 0 && atomic_load(&nsweeping) == 0)
        hpi_memprof_gc_publish(atomic_load(&hpi_gc.prof_epoch));
}

static void flush_profile_frees(void)
{
    while (deferred.n > 0) {
        deferred.n--;
        hpi_memprof_free_gc(deferred.p[deferred.n], deferred.epoch[deferred.n]);
    }
    if (my_sweeping != 0) {
        int64_t left = atomic_fetch_sub(&nsweeping, my_sweeping) - my_sweeping;
        my_sweeping = 0;
        if (left == 0) publish_if_swept();
    }
}

void hpi_gc_publish_if_swept(void) { publish_if_swept(); }

/* hp_gc_collect's end: sweep what is left, wait for the spans other threads
 * are sweeping (they tell their frees at once after), then publish, so that
 * the heap profile read next shows the collection just made.  A cycle that
 * ends meanwhile makes new unswept spans; then there is nothing to wait for,
 * the next collection publishes. */
void hpi_gc_sweep_all_publish(void)
{
    uint64_t epoch = atomic_load(&hpi_gc.prof_epoch);
    while (hpi_gc_sweep_one()) {}
    while (atomic_load(&nsweeping) != 0 && atomic_load(&hpi_gc.prof_epoch) == epoch)
        sched_yield();
    publish_if_swept();
}

/* Dead objects of word w that have finalizers: queue them, keep them. */
static void sweep_finalizers(hpi_gcspan_t *g, unsigned w, uint64_t dead)
{
    uint64_t f = dead & atomic_load_explicit(&g->fin[w], memory_order_relaxed);
    if (f == 0) return;
    atomic_fetch_and(&g->fin[w], ~f);
    for (; f; f &= f - 1) {
        unsigned i = w * 64 + (unsigned)__builtin_ctzll(f);
        hpi_gc_set_mark(g, i);
        hpi_gc_finalizer_queue((void *)(g->base + (uintptr_t)i * g->elemsize));
    }
}

/* Free word w's dead objects: tell the heap profile of the sampled ones
 * (deferred), poison them if asked.  A sampled object the deferred list has
 * no room for is kept to the next cycle instead, so that its free is never
 * lost; returns the bits of those. */
static uint64_t sweep_dead(hpi_gcspan_t *g, unsigned w, uint64_t dead)
{
    uint64_t smp = dead & atomic_load_explicit(&g->sampled[w], memory_order_relaxed), kept = 0;
    bool poison = atomic_load_explicit(&hpi_gc.poison, memory_order_relaxed);
    for (uint64_t d = dead; d && (smp || poison); d &= d - 1) {
        unsigned i = w * 64 + (unsigned)__builtin_ctzll(d);
        uint64_t bit = 1ull << (i & 63);
        void *p = (void *)(g->base + (uintptr_t)i * g->elemsize);
        if ((smp & bit) && !defer_profile_free(p)) {
            kept |= bit;
            continue;
        }
        if (poison) memset(p, POISON, hpi_gc_obj_size(g));
    }
    if (smp & ~kept) atomic_fetch_and(&g->sampled[w], ~(smp & ~kept));
    return kept;
}

/* Sweep g, which the caller owns exclusively.  Returns the live objects. */
static uint32_t sweep_span(hpi_gcspan_t *g)
{
    uint32_t fi = atomic_load_explicit(&g->freeindex, memory_order_relaxed), live = 0;
    uint64_t nfreed = 0;
    for (unsigned w = 0; w * 64 < g->nelems; w++) {
        uint64_t allocd = g->alloc[w] | hpi_gc_bits_below(w, fi), black = hpi_gc_black_bits(g, w, fi);
        uint64_t dead = allocd & ~(hpi_gc_mark_bits(g, w) | black);
        if (dead) sweep_finalizers(g, w, dead);
        uint64_t m = (dead ? hpi_gc_mark_bits(g, w) : allocd) | black;
        dead = allocd & ~m;
        if (dead) {
            uint64_t kept = sweep_dead(g, w, dead);
            m |= kept;
            dead &= ~kept;
        }
        nfreed += (uint64_t)__builtin_popcountll(dead);
        g->alloc[w] = m & allocd;
        memset(g->mark + (size_t)w * 64, 0, 64);
        live += (uint32_t)__builtin_popcountll(m & allocd);
    }
    atomic_store_explicit(&g->freeindex, 0, memory_order_relaxed);
    g->nlive = live;
    if (nfreed) {
        g->needzero = 1;
        atomic_fetch_sub(&hpi_gc.heap_live, nfreed * hpi_gc_obj_size(g));
        atomic_fetch_sub(&hpi_gc.heap_objs, nfreed);
        atomic_fetch_add(&hpi_gc.freed_bytes, nfreed * hpi_gc_obj_size(g));
        atomic_fetch_add(&hpi_gc.freed_objs, nfreed);
    }
    return live;
}

/* Swept g, with some objects alive, on the partial or full list (class
 * lock held). */
static void file_locked(gclass_t *gc, hpi_gcspan_t *g, uint32_t live)
{
    bool part = live < g->nelems;
    list_push(part ? &gc->partial : &gc->full, g, part ? GCL_PARTIAL : GCL_FULL);
}

/* Put swept g where it belongs: on the partial or full list, or, when
 * nothing in it lives, nowhere: then its span is returned, for the caller
 * to free after leaving crit. */
static hpi_span_t *file_swept(gclass_t *gc, hpi_gcspan_t *g, uint32_t live)
{
    if (live == 0) return gcspan_retire(g);
    hpi_lock(&gc->lock);
    file_locked(gc, g, live);
    hpi_unlock(&gc->lock);
    return NULL;
}

/* Objects of g in the heap profile: their frees are deferred when swept. */
static unsigned sampled_count(const hpi_gcspan_t *g)
{
    unsigned n = 0;
    for (uint32_t w = 0; w < g->nwords; w++)
        n += (unsigned)__builtin_popcountll(atomic_load_explicit(&g->sampled[w],
                                                                 memory_order_relaxed));
    return n;
}

/* Take up to max spans off gc's unswept list, to sweep them; how many.
 * After the first, a span is taken only if the frees its sweep would defer
 * fit in what is left of the deferred buffer. */
static unsigned pop_unswept_n(gclass_t *gc, hpi_gcspan_t **out, unsigned max)
{
    if (atomic_load_explicit(&gc->unswept.n, memory_order_relaxed) == 0) return 0;
    unsigned n = 0, room = DEFERRED_MAX - deferred.n;
    hpi_lock(&gc->lock);
    for (hpi_gcspan_t *g; n < max && (g = gc->unswept.head) != NULL; n++) {
        unsigned smp = max > 1 ? sampled_count(g) : 0;
        if (n > 0 && smp > room) break;
        room -= smp < room ? smp : room;
        out[n] = list_pop(&gc->unswept);
    }
    if (n > 0) { /* under the lock: fork sees both or neither */
        atomic_fetch_add(&nsweeping, n); /* first: the sum never passes 0 */
        my_sweeping += n;
        atomic_fetch_sub(&nunswept, n);
    }
    hpi_unlock(&gc->lock);
    return n;
}

static hpi_gcspan_t *pop_unswept(gclass_t *gc)
{
    hpi_gcspan_t *g;
    return pop_unswept_n(gc, &g, 1) ? g : NULL;
}

/* Spans the background sweeper takes at once: it shares each class's lock
 * and counters with threads sweeping lazily, so it takes them as seldom as
 * it can without holding much that a thread could use.  The batch is popped,
 * swept and filed in one crit section, as a single span is: no mark may
 * start or end while a span is off every list. */
#define SWEEP_BATCH 8

/* Sweep a batch of gc's unswept spans and file them (in crit); the spans
 * that died go to dead[] for the caller to free.  How many were swept. */
static unsigned sweep_batch(gclass_t *gc, hpi_span_t **dead, unsigned *ndead)
{
    hpi_gcspan_t *g[SWEEP_BATCH];
    uint32_t live[SWEEP_BATCH];
    unsigned n = pop_unswept_n(gc, g, SWEEP_BATCH), keep = 0;
    for (unsigned i = 0; i < n; i++) {
        live[i] = sweep_span(g[i]);
        if (live[i] == 0)
            dead[(*ndead)++] = gcspan_retire(g[i]);
        else
            g[keep] = g[i], live[keep++] = live[i];
    }
    if (keep == 0) return n;
    hpi_lock(&gc->lock);
    for (unsigned i = 0; i < keep; i++) file_locked(gc, g[i], live[i]);
    hpi_unlock(&gc->lock);
    return n;
}

bool hpi_gc_sweep_one(void)
{
    static _Atomic unsigned next; /* round robin over the lists */
    if (atomic_load_explicit(&nunswept, memory_order_relaxed) == 0) return false;
    unsigned first = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
    for (unsigned n = 0; n < 2 * HPI_NUM_CLASSES; n++) {
        unsigned k = (first + n) % (2 * HPI_NUM_CLASSES);
        gclass_t *gc = &classes[k & 1][k >> 1];
        if (atomic_load_explicit(&gc->unswept.n, memory_order_relaxed) == 0) continue;
        hpi_span_t *dead[SWEEP_BATCH];
        unsigned ndead = 0;
        hpi_gc_enter();
        unsigned swept = sweep_batch(gc, dead, &ndead);
        hpi_gc_leave();
        for (unsigned i = 0; i < ndead; i++) hpi_heap_free(dead[i]);
        if (ndead > 0 && atomic_load_explicit(&hpi_gc.memlimit, memory_order_relaxed) != INT64_MAX)
            hpi_gc_limit_check(); /* freed pages go back at once under a limit */
        flush_profile_frees();
        if (swept > 0) return true;
    }
    return atomic_load_explicit(&nunswept, memory_order_relaxed) != 0;
}

/* Add c's unflushed allocation to the shared totals; returns heap_live. */
static uint64_t cache_publish(hpi_gcache_t *c)
{
    uint64_t add = (uint64_t)c->unflushed, objs = c->unflushed_objs;
    c->unflushed = 0;
    c->unflushed_objs = 0;
    atomic_fetch_add_explicit(&hpi_gc.heap_objs, objs, memory_order_relaxed);
    atomic_fetch_add_explicit(&hpi_gc.alloc_objs_total, objs, memory_order_relaxed);
    atomic_fetch_add_explicit(&hpi_gc.alloc_bytes_total, add, memory_order_relaxed);
    return atomic_fetch_add(&hpi_gc.heap_live, add) + add;
}

/* ---- the start and end of marking (world stopped) ---- */

/* From now until the mark ends, what g's owner hands out is black. */
static void set_black_from(hpi_gcspan_t *g)
{
    atomic_store_explicit(&g->black_from, atomic_load_explicit(&g->freeindex, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&g->black_gen, atomic_load_explicit(&hpi_gc.cycle, memory_order_relaxed),
                          memory_order_relaxed);
}

void hpi_gc_heap_start_mark(void)
{
    atomic_fetch_add(&hpi_gc.cycle, 1);
    reg_lock();
    for (hpi_gcache_t *c = reg.caches; c != NULL; c = c->next)
        for (int k = 0; k < 2; k++)
            for (unsigned cls = 1; cls < HPI_NUM_CLASSES; cls++)
                if (c->alloc[k][cls] != NULL) set_black_from(c->alloc[k][cls]);
    reg_unlock();
}


static void cache_flush(hpi_gcache_t *c)
{
    for (int k = 0; k < 2; k++)
        for (unsigned cls = 1; cls < HPI_NUM_CLASSES; cls++) {
            hpi_gcspan_t *g = c->alloc[k][cls];
            if (g == NULL) continue;
            c->alloc[k][cls] = NULL;
            list_push(&classes[k][cls].full, g, GCL_FULL);
        }
    cache_publish(c);
}

void hpi_gc_heap_end_mark(void)
{
    reg_lock();
    for (hpi_gcache_t *c = reg.caches; c != NULL; c = c->next)
        cache_flush(c);
    reg_unlock();
    int64_t n = 0;
    for (int k = 0; k < 2; k++)
        for (unsigned cls = 0; cls < HPI_NUM_CLASSES; cls++) {
            gclass_t *gc = &classes[k][cls];
            hpi_lock(&gc->lock);
            n += list_splice(&gc->unswept, &gc->partial);
            n += list_splice(&gc->unswept, &gc->full);
            hpi_unlock(&gc->lock);
        }
    atomic_fetch_add(&nunswept, n);
}

/* ---- allocation ---- */

/* Give the calling thread a cache (outside crit: it may allocate). */
bool hpi_gc_cache_make(void)
{
    if (hpi_gc_tls.cache != NULL) return true;
    hpi_gcache_t *c = take_spare((void **)&reg.cspare, offsetof(hpi_gcache_t, next), sizeof *c);
    if (c == NULL) return false;
    hpi_gc_enter();
    reg_lock();
    c->next = reg.caches;
    if (reg.caches) reg.caches->prev = c;
    reg.caches = c;
    reg_unlock();
    hpi_gc_tls.cache = c;
    hpi_gc_leave();
    return true;
}

void hpi_gc_cache_release(void)
{
    hpi_gcache_t *c = hpi_gc_tls.cache;
    if (c == NULL) return;
    hpi_gc_enter();
    reg_lock();
    for (int k = 0; k < 2; k++)
        for (unsigned cls = 1; cls < HPI_NUM_CLASSES; cls++) {
            hpi_gcspan_t *g = c->alloc[k][cls];
            if (g == NULL) continue;
            c->alloc[k][cls] = NULL;
            gclass_t *gc = &classes[k][cls];
            hpi_lock(&gc->lock);
            list_push(&gc->full, g, GCL_FULL); /* swept at the next cycle */
            hpi_unlock(&gc->lock);
        }
    cache_publish(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        reg.caches = c->next;
    if (c->next) c->next->prev = c->prev;
    c->next = reg.cspare;
    reg.cspare = c;
    hpi_gc_tls.cache = NULL;
    reg_unlock();
    hpi_gc_leave();
}

/* The next free slot of owned span g at or after its freeindex, or -1,
 * found in alloc[] (the cache is empty); the cache is loaded with the rest
 * of that slot's word. */
static int64_t next_free_scan(hpi_gcspan_t *g)
{
    uint32_t i = atomic_load_explicit(&g->freeindex, memory_order_relaxed);
    while (i < g->nelems) {
        unsigned w = i >> 6;
        uint64_t bits = ~g->alloc[w] >> (i & 63);
        if (bits) {
            unsigned b = (unsigned)__builtin_ctzll(bits);
            i += b;
            if (i >= g->nelems) return -1;
            g->acache = (bits >> b) >> 1;
            return i;
        }
        i = (w + 1) << 6;
    }
    return -1;
}

/* The next free slot of owned span g, or -1; the caller takes it (sets
 * freeindex past it).  Inline: it is most of the allocation fast path, and
 * it reads only g's first cache line. */
static inline __attribute__((always_inline)) int64_t next_free(hpi_gcspan_t *g)
{
    uint64_t a = g->acache;
    if (HPI_UNLIKELY(a == 0)) return next_free_scan(g);
    unsigned b = (unsigned)__builtin_ctzll(a);
    uint32_t i = atomic_load_explicit(&g->freeindex, memory_order_relaxed) + b;
    if (i >= g->nelems) return -1;
    g->acache = (a >> b) >> 1;
    return i;
}

/* A swept span of class cls with a free slot, from the lists (in crit). */
static hpi_gcspan_t *span_from_lists(unsigned cls, bool noscan)
{
    gclass_t *gc = &classes[noscan][cls];
    hpi_lock(&gc->lock);
    hpi_gcspan_t *g = list_pop(&gc->partial);
    hpi_unlock(&gc->lock);
    if (g != NULL) return g;
    while ((g = pop_unswept(gc)) != NULL) { /* lazy sweeping */
        if (sweep_span(g) < g->nelems) return g; /* an empty one is used too */
        file_swept(gc, g, g->nelems);
        if (deferred.n > 0) { /* tell the profile outside crit, as a preempt point does */
            hpi_gc_leave();
            flush_profile_frees();
            hpi_gc_enter();
        }
        hpi_gc_preempt(); /* many full spans may come before a free slot */
    }
    return NULL;
}

/* A new span from the page heap, outside crit. */
static hpi_gcspan_t *span_new(unsigned cls, bool noscan, size_t npages)
{
    hpi_span_t *s = cls ? hpi_heap_alloc_small_nolist(cls) : hpi_heap_alloc_large(npages, 0);
    if (s == NULL) return NULL;
    hpi_gcspan_t *g = gcspan_new(s, cls, noscan);
    if (g == NULL) hpi_heap_free(s);
    return g;
}

/* Add c's allocations to heap_live, then assist or start a cycle if due. */
static void publish_alloc(hpi_gcache_t *c)
{
    uint64_t add = (uint64_t)c->unflushed;
    uint64_t live = cache_publish(c);
    if (atomic_load_explicit(&hpi_gc.memlimit, memory_order_relaxed) != INT64_MAX)
        hpi_gc_tls.check_limit = 1;
    if (atomic_load_explicit(&hpi_gc.phase, memory_order_relaxed) == GCP_MARK)
        hpi_gc_assist(add);
    else if (live >= atomic_load_explicit(&hpi_gc.trigger, memory_order_relaxed))
        hpi_gc_trigger();
}

/* One object of `bytes` allocated by c's thread, not yet in the totals. */
static inline void count_unpublished(hpi_gcache_t *c, size_t bytes)
{
    c->unflushed_objs++;
    c->unflushed += (int64_t)bytes;
}

static void count_alloc(hpi_gcache_t *c, size_t bytes)
{
    count_unpublished(c, bytes);
    if (c->unflushed >= FLUSH_BYTES) publish_alloc(c);
}

/* Zero every free slot of g from its freeindex on, in runs, as its owner
 * takes it: one memset per run instead of one per object. */
static void zero_free_slots(hpi_gcspan_t *g)
{
    uint32_t i = atomic_load_explicit(&g->freeindex, memory_order_relaxed);
    while (i < g->nelems) {
        uint64_t free = ~g->alloc[i >> 6] >> (i & 63);
        if (free == 0) {
            i = (i | 63) + 1;
            continue;
        }
        i += (uint32_t)__builtin_ctzll(free);
        free = ~g->alloc[i >> 6] >> (i & 63);
        uint32_t run = ~free == 0 ? 64 - (i & 63) : (uint32_t)__builtin_ctzll(~free);
        if (i + run > g->nelems) run = g->nelems - i;
        if (run == 0) break;
        memset((void *)(g->base + (uintptr_t)i * g->elemsize), 0, (size_t)run * g->elemsize);
        i += run;
    }
    g->needzero = 0;
}

/* Slot i of owned span g, counted in c but not published (zeroed when the
 * span was taken; allocated black while marking runs: see black_from). */
static inline void *take_slot_unpublished(hpi_gcache_t *c, hpi_gcspan_t *g, uint64_t i)
{
    atomic_store_explicit(&g->freeindex, (uint32_t)i + 1, memory_order_relaxed);
    count_unpublished(c, g->elemsize);
    return (void *)(g->base + (uintptr_t)i * g->elemsize);
}

static void *take_slot(hpi_gcache_t *c, hpi_gcspan_t *g, uint64_t i)
{
    void *p = take_slot_unpublished(c, g, i);
    if (c->unflushed >= FLUSH_BYTES) publish_alloc(c);
    return p;
}

/* In crit; may leave it for a while to get a new span. */
static void *alloc_small(hpi_gcache_t *c, size_t size, bool noscan)
{
    unsigned cls = hpi_size_class(size ? size : 1);
    hpi_gcspan_t *g = c->alloc[noscan][cls];
    int64_t i = g != NULL ? next_free(g) : -1;
    if (HPI_UNLIKELY(i < 0)) {
        c->alloc[noscan][cls] = NULL; /* never both owned and listed */
        if (g != NULL) { /* used up: swept again at the next cycle */
            gclass_t *gc = &classes[noscan][cls];
            hpi_lock(&gc->lock);
            list_push(&gc->full, g, GCL_FULL);
            hpi_unlock(&gc->lock);
        }
        g = span_from_lists(cls, noscan);
        if (g == NULL) {
            hpi_gc_leave();
            g = span_new(cls, noscan, 0);
            hpi_gc_enter();
            if (g == NULL) return NULL;
        }
        g->list = GCL_OWNED;
        g->acache = 0; /* alloc[] and freeindex are new since it was last owned */
        if (g->needzero) zero_free_slots(g);
        if (atomic_load_explicit(&hpi_gc.phase, memory_order_relaxed) == GCP_MARK)
            set_black_from(g);
        c->alloc[noscan][cls] = g;
        i = next_free(g);
    }
    return take_slot(c, g, (uint64_t)i);
}

/* In crit; leaves it while the page heap is asked. */
static void *alloc_large(hpi_gcache_t *c, size_t size, bool noscan)
{
    if (size > HPI_MAX_ALLOC) return NULL;
    hpi_gc_leave();
    hpi_gcspan_t *g = span_new(0, noscan, hpi_pages_for(size));
    size_t bytes = g != NULL ? hpi_gc_obj_size(g) : 0;
    if (g != NULL && g->needzero) memset((void *)g->base, 0, bytes);
    hpi_gc_enter();
    if (g == NULL) return NULL;
    g->needzero = 0;
    atomic_store_explicit(&g->freeindex, 1, memory_order_relaxed);
    if (atomic_load_explicit(&hpi_gc.phase, memory_order_relaxed) == GCP_MARK)
        hpi_gc_set_mark(g, 0);
    gclass_t *gc = &classes[noscan][0];
    hpi_lock(&gc->lock);
    list_push(&gc->full, g, GCL_FULL);
    hpi_unlock(&gc->lock);
    count_alloc(c, bytes);
    return (void *)g->base;
}

/* Put sampled object p in the heap profile (outside crit). */
static void sample(void *p, size_t size)
{
    hpi_gcspan_t *g = hpi_gcspan_of((uintptr_t)p);
    int64_t i = hpi_gc_index(g, (uintptr_t)p);
    atomic_fetch_or(&g->sampled[i >> 6], 1ull << (i & 63));
    hpi_memprof_alloc_gc(p, size, atomic_load_explicit(&hpi_gc.prof_epoch, memory_order_relaxed));
}

static __attribute__((noinline)) void *sampled(void *p, size_t size, hpi_mcache_t *mc)
{
    hpi_sample_reset(mc);
    sample(p, size);
    return p;
}

/* The heap profile's countdown, shared with malloc's (a thread with no
 * malloc cache yet is not sampled). */
static inline void *after_alloc(void *p, size_t size)
{
    hpi_mcache_t *mc = hpi_tls_mcache;
    if (mc != &hpi_mcache_none && HPI_UNLIKELY((mc->sample_left -= (int64_t)size) < 0))
        return sampled(p, size, mc);
    return p;
}

/* Everything but the fast path: large objects, a span used up or none yet,
 * heap_live to publish; a failure gets one forced collection and a retry. */
static __attribute__((noinline)) void *alloc_slow(size_t size, bool noscan)
{
    for (int attempt = 0;; attempt++) {
        hpi_gc_enter();
        hpi_gcache_t *c = hpi_gc_tls.cache;
        void *p = size <= HPI_MAX_SMALL ? alloc_small(c, size, noscan)
                                        : alloc_large(c, size, noscan);
        hpi_gc_leave();
        flush_profile_frees();
        if (HPI_UNLIKELY(hpi_gc_tls.check_limit)) {
            hpi_gc_tls.check_limit = 0;
            hpi_gc_limit_check();
        }
        if (p != NULL) return after_alloc(p, size);
        if (attempt > 0) {
            errno = ENOMEM;
            return NULL;
        }
        hp_gc_collect();
    }
}

/* The fast path's ways out of crit, as calls of their own (below). */
static __attribute__((noinline)) void *leave_then_slow(size_t size, bool noscan)
{
    hpi_gc_leave();
    return alloc_slow(size, noscan);
}

static __attribute__((noinline)) void *leave_to_stop(void *p, size_t size)
{
    hpi_gc_safepoint();
    return after_alloc(p, size);
}

/* The caller has a cache (hpi_gc_cache_make).  The fast path takes the next
 * free slot of the thread's span for the class.  Every call in it is a tail
 * call, so it needs no stack frame: allocation is most of GCBench's time.
 * Whatever else is due (a new span, sweeping, publishing heap_live, the
 * profile's deferred frees, which only the slow path makes) is alloc_slow's. */
void *hpi_gc_alloc_obj(size_t size, bool noscan)
{
    hpi_gcache_t *c = hpi_gc_tls.cache;
    if (HPI_UNLIKELY(size > HPI_MAX_SMALL)) return alloc_slow(size, noscan);
    hpi_gc_enter();
    hpi_gcspan_t *g = c->alloc[noscan][hpi_size_class(size ? size : 1)];
    int64_t i; /* next_free last: the slot it returns must be taken */
    if (HPI_UNLIKELY(g == NULL || c->unflushed + (int64_t)g->elemsize >= FLUSH_BYTES ||
                     (i = next_free(g)) < 0))
        return leave_then_slow(size, noscan);
    void *p = take_slot_unpublished(c, g, (uint64_t)i); /* no publish due: checked above */
    if (hpi_gc_leave_stop_due()) return leave_to_stop(p, size);
    return after_alloc(p, size);
}

uint64_t hpi_gc_spans_inuse_bytes(void)
{
    reg_lock();
    uint64_t n = reg.nspans_bytes;
    reg_unlock();
    return n;
}

void hpi_gc_heap_fork_prepare(void)
{
    hpi_lock(&reg.lock);
    for (int k = 0; k < 2; k++)
        for (unsigned cls = 0; cls < HPI_NUM_CLASSES; cls++) hpi_lock(&classes[k][cls].lock);
}

void hpi_gc_heap_fork_parent(void)
{
    for (int k = 0; k < 2; k++)
        for (unsigned cls = 0; cls < HPI_NUM_CLASSES; cls++) hpi_unlock(&classes[k][cls].lock);
    hpi_unlock(&reg.lock);
}

/* The child's other threads are gone, maybe in the middle of GC code:
 * their caches are dropped, and every span that is on no list and not the
 * forking thread's goes on `full`, to be swept after the next mark.  A
 * span they were sweeping may be half swept: its swept words have no mark
 * bits and its unswept words old ones, and both only keep objects alive,
 * never free a live one, once fresh marks are added. */
void hpi_gc_heap_fork_child(void)
{
    hpi_lock_reinit(&reg.lock);
    for (int k = 0; k < 2; k++)
        for (unsigned cls = 0; cls < HPI_NUM_CLASSES; cls++) hpi_lock_reinit(&classes[k][cls].lock);
    int64_t n = 0;
    for (int k = 0; k < 2; k++)
        for (unsigned cls = 0; cls < HPI_NUM_CLASSES; cls++)
            n += atomic_load_explicit(&classes[k][cls].unswept.n, memory_order_relaxed);
    atomic_store(&nunswept, n);
    atomic_store(&nsweeping, my_sweeping); /* the others' sweeps are gone with them */
    hpi_gcache_t *me = hpi_gc_tls.cache;
    reg.caches = me;
    if (me != NULL) me->next = me->prev = NULL;
    for (hpi_gcspan_t *g = reg.all; g != NULL; g = g->all_next) {
        bool mine = false;
        for (int k = 0; me != NULL && k < 2 && !mine; k++) mine = me->alloc[k][g->cls] == g;
        if (mine || g->list == GCL_PARTIAL || g->list == GCL_FULL)
            continue;
        g->list = GCL_NONE;
        list_push(&classes[g->noscan][g->cls].full, g, GCL_FULL);
    }
}
