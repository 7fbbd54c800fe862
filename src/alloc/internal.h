/* internal.h: the allocator's types and its cross-file functions.
 * See malloc.c for the design; this file opens with the glossary.
 *
 * Glossary
 *   page     8 KiB, the unit of the page heap (not the OS page, 4 KiB here).
 *   arena    64 MiB of address space, 64 MiB aligned, reserved from the OS in
 *            one piece; its hpi_arena_t maps each of its pages to a span.
 *   span     a run of whole pages: free (in the page heap), small (cut into
 *            objects of one size class) or large (one object over 32 KiB).
 *   class    one of the small-object sizes in sizeclasses.h; class 0 = large.
 *   mcache   a thread's cache: per class, a list of objects to hand out, the
 *            span it allocates from and the other spans it owns.  Only its
 *            thread touches it, so no locks.
 *   mcentral per class, the spans no thread owns that have free objects;
 *            a light lock per class.
 *   mheap    the page heap: arenas, free spans, the page→span map, large
 *            objects; one lock.
 *   remote   a free by a thread that does not own the object's span; goes to
 *            the span's lock-free remote list.
 */
#ifndef HPI_ALLOC_INTERNAL_H
#define HPI_ALLOC_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc/sizeclasses.h"
#include "prim/prim.h"

#define HPI_PAGE_SHIFT 13
#define HPI_PAGE_SIZE ((size_t)1 << HPI_PAGE_SHIFT)
#define HPI_ARENA_SHIFT 26
#define HPI_ARENA_SIZE ((size_t)1 << HPI_ARENA_SHIFT)
#define HPI_PAGES_PER_ARENA (HPI_ARENA_SIZE / HPI_PAGE_SIZE)
#define HPI_ADDR_BITS 48
#define HPI_ARENA_MAP_LEN ((size_t)1 << (HPI_ADDR_BITS - HPI_ARENA_SHIFT))
/* Larger requests fail with ENOMEM (64 TiB, far beyond any machine here). */
#define HPI_MAX_ALLOC ((size_t)1 << 46)

/* A free object: its first word links it into a free list. */
typedef struct hpi_block {
    struct hpi_block *next;
} hpi_block_t;

enum hpi_span_state { HPI_SPAN_FREE, HPI_SPAN_SMALL, HPI_SPAN_LARGE, HPI_SPAN_BUSY };
enum hpi_span_queue { HPI_Q_NONE, HPI_Q_PARTIAL, HPI_Q_EMPTY, HPI_Q_CENTRAL };

/* Bits in a span's xowner word and remote word. */
#define HPI_OWNER_FULL ((uintptr_t)1) /* owner detached the span: no free objects */
/* xowner of a span that holds sampled objects (sample.c): no thread owns it,
 * so every free of its objects leaves the fast path. */
#define HPI_OWNER_SAMPLED ((uintptr_t)2)
#define HPI_REMOTE_NOTIFY ((uintptr_t)1) /* next remote free moves span to mcentral */

/* A span.  128 bytes, two cache lines.  The first holds everything free()
 * and malloc() read on their fast paths, xowner included, so a free touches
 * one line of the span; the second starts with `remote`, the one word other
 * threads write (with a CAS), so remote frees do not bounce the owner's
 * line, followed by fields only slow paths use. */
typedef struct hpi_span {
    /* Owner fields: touched only by the thread whose mcache owns the span
     * (xowner == that mcache), or under the mcentral lock while unowned. */
    hpi_block_t *free; /* objects ready to allocate */
    _Atomic uintptr_t xowner; /* owning mcache | FULL, or 0; read by any thread */
    uint32_t used;     /* objects allocated or on `remote`; for a thread's alloc
                          span, nelems: its free objects are in the mcache */
    uint8_t sizeclass; /* 0 for large spans; fixed while the span is in use */
    uint8_t queue;     /* enum hpi_span_queue: where the owner keeps it */
    uint8_t state;     /* enum hpi_span_state; heap lock */
    uint8_t noscan;    /* for the GC: objects hold no pointers */
    uint32_t elemsize; /* object size; npages * page size for large spans */
    uint32_t divmagic; /* object index = (offset * divmagic) >> 32 */
    uint16_t nelems;   /* objects in the span */
    uint8_t needzero;  /* heap lock: pages may hold old data */
    uint8_t released;  /* heap lock: pages were returned to the OS */
    uint8_t idle_rounds; /* owner: refills that found it with nothing freed */
    uint8_t pad0;
    /* Owner: objects [fresh, nelems) have never been handed out and are on
     * no list (their memory untouched); only a thread's alloc span has
     * any (hpi_span_carve). */
    uint16_t fresh;
    uintptr_t base;    /* first byte; fixed while the span exists */
    size_t npages;     /* heap lock (owner may read while it holds the span) */
    struct hpi_span *next; /* link of whichever list holds the span */

    /* Written by other threads: atomic. */
    _Alignas(HPI_CACHE_LINE) _Atomic uintptr_t remote; /* remote-free list | NOTIFY */
    struct hpi_span *prev; /* back link of a doubly linked list */
    /* A GC span's hpi_gcspan_t (src/gc/), else NULL: set with release
     * once the gcspan is ready, cleared before the span is freed. */
    void *_Atomic gc;
    uint64_t free_since;   /* heap lock: when the span became free (scavenger) */
} hpi_span_t;
_Static_assert(sizeof(hpi_span_t) == 2 * HPI_CACHE_LINE, "a span is two cache lines");

/* Per-thread counters: written only by their thread (a plain, unlocked add:
 * never an atomic read-modify-write), read by hp_read_memstats with relaxed
 * loads. */
typedef _Atomic uint64_t hpi_counter_t;

static inline void hpi_counter_add(hpi_counter_t *c, uint64_t v)
{
#if defined(__x86_64__)
    /* One add to memory, without the lock prefix: only this thread writes c,
     * and an aligned 8-byte add is never seen torn by a reader.  (A relaxed
     * load and store would be three instructions on the fast paths.) */
    __asm__("addq %1, %0" : "+m"(*(volatile uint64_t *)c) : "er"(v));
#else
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
#endif
}

static inline uint64_t hpi_counter_get(hpi_counter_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

typedef struct hpi_thread_stats {
    hpi_counter_t nmalloc[HPI_NUM_CLASSES]; /* [0]: large objects */
    hpi_counter_t nfree[HPI_NUM_CLASSES];   /* [0]: large objects */
    hpi_counter_t large_alloc_bytes;
    hpi_counter_t large_free_bytes;
    hpi_counter_t remote_frees;
} hpi_thread_stats_t;

/* A link in a thread's list (hpi_mcache_t.free) to an object of another span
 * than the alloc span. */
#define HPI_LIST_OTHER ((uintptr_t)1)

/* A thread's cache.  Every field but the registry links belongs to the
 * owning thread alone. */
typedef struct hpi_mcache {
    int64_t sample_left; /* bytes to allocate before the next heap sample */
    uint64_t sample_seed; /* random state for the sampling distances */
    /* Objects malloc hands out, per class, linked through their first word:
     * the alloc span's free objects, and objects just freed into the
     * thread's other spans (they still count as used there), whose link is
     * tagged HPI_LIST_OTHER.  Empty only when the alloc span is used up. */
    uintptr_t free[HPI_NUM_CLASSES];
    hpi_span_t *alloc[HPI_NUM_CLASSES]; /* span to allocate from; never NULL */
    /* How many more objects of other spans `free` may take.  32 bits: a
     * byte-wide read-modify-write on the malloc path stalled it (pair-batch
     * 5.5 -> 8.3 ns on this machine). */
    uint32_t other_room[HPI_NUM_CLASSES];
    hpi_span_t *partial[HPI_NUM_CLASSES]; /* owned spans with free objects, newest first */
    hpi_span_t *partial_tail[HPI_NUM_CLASSES]; /* oldest: has had longest to gather frees */
    hpi_span_t *empty[HPI_NUM_CLASSES];   /* owned spans with every object free */
    uint8_t nempty[HPI_NUM_CLASSES];
    size_t empty_bytes;                   /* bytes in the empty lists */
    /* Remote frees into one span, gathered to be pushed with one CAS. */
    hpi_span_t *rb_span;                  /* NULL: no batch */
    hpi_block_t *rb_first, *rb_last;
    uint32_t rb_count;
    hpi_thread_stats_t stats;
    /* Registry fields: registry lock (mcache.c). */
    struct hpi_mcache *all_next;  /* every mcache ever made */
    struct hpi_mcache *pool_next; /* released mcaches ready for reuse */
    int live;                     /* a thread uses it */
    int zombie;                   /* owned by a thread lost in fork(): never reused */
    int tid;
    /* The most objects of other spans the list may hold (room + those on
     * it), grown by refills (mcache.c); other_full: room ran out since the
     * class's last refill.  Away from the fast paths' fields. */
    uint32_t other_limit[HPI_NUM_CLASSES];
    uint8_t other_full[HPI_NUM_CLASSES];
} hpi_mcache_t;

/* An arena's page map.  Entries are written under the heap lock and read
 * without it: an in-use span's pages all map to it; a free span maps only
 * its first and last pages. */
typedef struct hpi_arena {
    uintptr_t base;
    hpi_span_t *spans[HPI_PAGES_PER_ARENA];
    /* The GC's own page map (src/gc): every page of a GC span maps to its
     * gcspan, so that a marker finds it with one load less than through
     * spans[] and span->gc.  Written by the GC, read by markers (atomic). */
    void *_Atomic gc[HPI_PAGES_PER_ARENA];
    /* Page info, for malloc's spans only (never the GC's): each page of an
     * in-use small span holds its size class | the page's index in the span
     * << 8; the first page of a large object, HPI_INFO_LARGE | its pages;
     * every other page 0.  realloc and malloc_usable_size find an object's
     * size here with one load from a dense array, without the span (whose
     * line is one more cache miss).  Written by the thread that holds the
     * span before any of its objects exist, or under the heap lock (resize,
     * free); read lock-free (relaxed). */
    _Atomic uint32_t info[HPI_PAGES_PER_ARENA];
} hpi_arena_t;

/* The arena map: address >> HPI_ARENA_SHIFT → arena.  Written under the heap
 * lock, read lock-free (entries are only ever set, never cleared). */
extern HPI_INTERNAL hpi_arena_t *_Atomic hpi_arena_map[HPI_ARENA_MAP_LEN];

/* The arena that holds address a; NULL if none does.  One load. */
static inline hpi_arena_t *hpi_arena_of(uintptr_t a)
{
    if (HPI_UNLIKELY(a >> HPI_ADDR_BITS)) return NULL;
    return atomic_load_explicit(&hpi_arena_map[a >> HPI_ARENA_SHIFT], memory_order_relaxed);
}

/* Index of a's page in its arena's page tables (spans, gc, info). */
static inline size_t hpi_arena_page(uintptr_t a)
{
    return (a >> HPI_PAGE_SHIFT) & (HPI_PAGES_PER_ARENA - 1);
}

/* Span of an address of ours that lies in an in-use span; NULL for addresses
 * that are not in an arena.  Two dependent loads. */
static inline hpi_span_t *hpi_span_of(const void *p)
{
    hpi_arena_t *ar = hpi_arena_of((uintptr_t)p);
    if (HPI_UNLIKELY(ar == NULL)) return NULL;
    return ar->spans[hpi_arena_page((uintptr_t)p)];
}

#define HPI_INFO_LARGE (1u << 31)

/* hpi_arena_t.info of p's page; 0 for addresses outside the arenas. */
static inline uint32_t hpi_page_info(const void *p)
{
    hpi_arena_t *ar = hpi_arena_of((uintptr_t)p);
    if (HPI_UNLIKELY(ar == NULL)) return 0;
    return atomic_load_explicit(&ar->info[hpi_arena_page((uintptr_t)p)], memory_order_relaxed);
}

/* Bytes from p to the end of its object, given p's page info (nonzero):
 * 0 if the info does not tell (p inside a large object). */
static inline size_t hpi_info_usable(const void *p, uint32_t info)
{
    uintptr_t a = (uintptr_t)p;
    if (info & HPI_INFO_LARGE)
        return a & (HPI_PAGE_SIZE - 1) ? 0 : (size_t)(info & ~HPI_INFO_LARGE) << HPI_PAGE_SHIFT;
    unsigned c = info & 0xff;
    uintptr_t page = a & ~(uintptr_t)(HPI_PAGE_SIZE - 1);
    uintptr_t base = page - ((uintptr_t)(info >> 8) << HPI_PAGE_SHIFT); /* the span's */
    uint64_t off = a - base, size = hpi_class_size[c];
    return (size_t)(size - (off - ((off * hpi_class_divmagic[c]) >> 32) * size));
}

/* Like hpi_span_of, but only for an in-use span that really contains p. */
HPI_INTERNAL hpi_span_t *hpi_span_of_checked(const void *p);
/* s if it is hpi_span_of(p) and an in-use span that contains p, else NULL. */
HPI_INTERNAL hpi_span_t *hpi_span_check(hpi_span_t *s, const void *p);

/* Start of the object that contains p (an interior pointer) in span s. */
static inline void *hpi_object_start(const hpi_span_t *s, const void *p)
{
    uint64_t off = (uintptr_t)p - s->base;
    if (s->sizeclass == 0) return (void *)s->base;
    return (void *)(s->base + ((off * s->divmagic) >> 32) * s->elemsize);
}

static inline unsigned hpi_size_class(size_t size)
{
    return hpi_size_to_class8[(size + 7) >> 3]; /* size <= HPI_MAX_SMALL */
}

static inline size_t hpi_pages_for(size_t size)
{
    return (size + HPI_PAGE_SIZE - 1) >> HPI_PAGE_SHIFT;
}

/* ---- mcache.c ---- */
extern HPI_INTERNAL hpi_mcache_t hpi_mcache_none; /* threads without a cache */
extern HPI_INTERNAL hpi_span_t hpi_span_none;     /* never has free objects */
extern __thread hpi_mcache_t *hpi_tls_mcache __attribute__((tls_model("initial-exec")));
HPI_INTERNAL void *hpi_mcache_refill(hpi_mcache_t *mc, unsigned c);
HPI_INTERNAL void hpi_mcache_span_empty(hpi_mcache_t *mc, hpi_span_t *s);
/* A free of p into s, a span the thread owns that is not its alloc span,
 * when the list of its class has no room for objects of other spans. */
HPI_INTERNAL void hpi_mcache_other_full(void *p, hpi_span_t *s);
HPI_INTERNAL void hpi_mcache_free_slow(hpi_mcache_t *mc, hpi_span_t *s, void *p);
HPI_INTERNAL hpi_mcache_t *hpi_mcache_get(void);
HPI_INTERNAL void hpi_mcache_release(hpi_mcache_t *mc);
/* Count a large object (nobj 1) or a change of its size (nobj 0). */
HPI_INTERNAL void hpi_mcache_count_large(size_t bytes, int is_free, unsigned nobj);
HPI_INTERNAL void hpi_mcache_fork_prepare(void);
HPI_INTERNAL void hpi_mcache_fork_parent(void);
HPI_INTERNAL void hpi_mcache_fork_child(void);
typedef void (*hpi_mcache_visit_fn)(hpi_mcache_t *mc, void *arg);
HPI_INTERNAL void hpi_mcache_foreach(hpi_mcache_visit_fn fn, void *arg);
HPI_INTERNAL hpi_thread_stats_t *hpi_mcache_orphan_stats(void);

HPI_INTERNAL void hpi_mcache_count_small(unsigned c, int is_free);

/* ---- sample.c: sampled allocations for the heap profile ---- */
/* Allocate size bytes as a sampled object, once the thread's countdown has
 * run out: a large object (its own pages, aligned to align if > page size)
 * or a small one of size's class. */
HPI_INTERNAL void *hpi_malloc_sampled(size_t size, size_t align, bool zero, bool large);
/* Free p in s, a span with xowner == HPI_OWNER_SAMPLED. */
HPI_INTERNAL void hpi_free_sampled(hpi_span_t *s, void *p);
HPI_INTERNAL void hpi_sample_reset(hpi_mcache_t *mc);
HPI_INTERNAL void hpi_sample_fork_prepare(void);
HPI_INTERNAL void hpi_sample_fork_parent(void);
HPI_INTERNAL void hpi_sample_fork_child(void);

/* ---- mcentral.c ---- */
HPI_INTERNAL hpi_span_t *hpi_central_take(unsigned c, hpi_mcache_t *mc);
HPI_INTERNAL void hpi_central_put(unsigned c, hpi_span_t *s);
HPI_INTERNAL size_t hpi_span_collect_remote(hpi_span_t *s);
/* Push the chain first..last (linked through next) on s's remote list. */
HPI_INTERNAL void hpi_span_push_remote(hpi_span_t *s, void *first, void *last);
HPI_INTERNAL void hpi_span_disown(hpi_span_t *s);
HPI_INTERNAL void hpi_central_fork_prepare(void);
HPI_INTERNAL void hpi_central_fork_parent(void);
HPI_INTERNAL void hpi_central_fork_child(void);

/* ---- mheap.c ---- */
typedef struct hpi_heap_stats {
    uint64_t heap_sys, heap_inuse, heap_released, scavenged, arenas;
    uint64_t span_inuse, span_sys, other_sys;
} hpi_heap_stats_t;

/* A span of class c whose objects are all fresh (none carved yet). */
HPI_INTERNAL hpi_span_t *hpi_heap_alloc_small_fresh(unsigned c);
/* Put span s's next fresh objects on its free list: those that start in
 * the OS page where the first of them ends, or all of them.  The count. */
HPI_INTERNAL size_t hpi_span_carve(hpi_span_t *s, bool all);
/* A span of class c with no free list built and no owner (GC spans). */
HPI_INTERNAL hpi_span_t *hpi_heap_alloc_small_nolist(unsigned c);
HPI_INTERNAL hpi_span_t *hpi_heap_alloc_large(size_t npages, size_t align);
HPI_INTERNAL void hpi_heap_free(hpi_span_t *s);
HPI_INTERNAL bool hpi_heap_resize_large(hpi_span_t *s, size_t npages);
/* Record large span s (malloc's) in the page info (hpi_arena_t.info). */
HPI_INTERNAL void hpi_heap_info_large(hpi_span_t *s);
HPI_INTERNAL uint64_t hpi_heap_scavenge(uint64_t older_than_ns, uint64_t now);
HPI_INTERNAL void hpi_heap_read_stats(hpi_heap_stats_t *st);
HPI_INTERNAL void hpi_heap_fork_prepare(void);
HPI_INTERNAL void hpi_heap_fork_parent(void);
HPI_INTERNAL void hpi_heap_fork_child(void);

/* ---- meta.c: persistent memory for metadata, never returned ---- */
HPI_INTERNAL void *hpi_meta_alloc(size_t size);
HPI_INTERNAL uint64_t hpi_meta_sys(void);
HPI_INTERNAL void hpi_meta_fork_prepare(void);
HPI_INTERNAL void hpi_meta_fork_parent(void);
HPI_INTERNAL void hpi_meta_fork_child(void);

/* ---- scavenger.c ---- */
HPI_INTERNAL void hpi_scavenger_note_free(void);
HPI_INTERNAL void hpi_scavenger_fork_child(void);

/* ---- options.c ---- */
typedef struct hpi_options {
    int64_t scavenge_delay_ms; /* idle time before free pages go back to the OS */
    int64_t background_thread; /* 1: a scavenger thread; 0: scavenge inline */
    int64_t verbose;           /* 1: report allocator events on stderr */
    /* Profiling (src/prof/). */
    int64_t memprofile_rate;   /* mean bytes between heap samples; 0 off */
    int64_t cpuprofile_hz;     /* CPU samples per CPU-second */
    int64_t unwind;            /* enum hpi_unwind_mode (prof/stack.h) */
    int64_t cpuprofile_signal; /* signal that toggles the CPU profile; 0 off */
    int64_t mutexprofile_fraction; /* mutex profile: 1 in n contentions; 0 off */
    int64_t blockprofile_rate;     /* block profile: one event per n ns blocked; 0 off */
    const char *cpuprofile;    /* path: CPU profile of the whole run, or NULL */
    const char *memprofile;    /* path: heap profile written at exit, or NULL */
    /* The debug server (src/http/). */
    const char *http;          /* address to serve on at start-up, or NULL */
    int64_t http_public;       /* 1: a non-loopback address is allowed (with a token) */
    const char *http_token;    /* bearer token every request must carry, or NULL */
    int64_t http_pid;          /* >0: only this process serves HOTPATH_HTTP */
    /* Pools (src/pool/). */
    int64_t pool_trim_ms;      /* a pool cycle every n ms; 0: only hp_pool_trim */
    /* The GC heap (src/gc/gc.c parses the strings). */
    const char *gc;            /* HOTPATH_GC: percent or "off", or NULL */
    const char *memlimit;      /* HOTPATH_MEMLIMIT: bytes with a unit, or NULL */
    const char *debug;         /* HOTPATH_DEBUG: "gctrace=1,...", or NULL */
    int64_t gc_poison;         /* 1: fill swept objects with 0xdb */
} hpi_options_t;
extern HPI_INTERNAL hpi_options_t hpi_options;
HPI_INTERNAL void hpi_options_init(void);

/* ---- init.c ---- */
HPI_INTERNAL void hpi_init_thread_hooks(void);
extern HPI_INTERNAL _Atomic int hpi_threads_ok; /* constructors have run */

#endif /* HPI_ALLOC_INTERNAL_H */
