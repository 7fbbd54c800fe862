/* internal.h: the GC heap's types and cross-file functions.  See gc.c for
 * the design.
 *
 * Glossary (the allocator's terms are in alloc/internal.h)
 *   gcspan   the GC's metadata for one span of GC objects: allocation and
 *            mark bits, one bit per object, plus finalizer and sample bits.
 *   gcache   a thread's GC allocation cache: per class and scan kind, the
 *            span it allocates from.
 *   crit     a thread is inside the GC's code (allocation, barrier, sweep):
 *            it cannot be stopped there; a stop request waits for the exit.
 *   cycle    sweep termination → root snapshot (stop) → mark → mark
 *            termination (stop) → sweep (lazy and background).
 */
#ifndef HPI_GC_INTERNAL_H
#define HPI_GC_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc/internal.h"
#include "hotpath/memstats.h"

/* Objects per span at most: a one-page span of 8-byte objects. */
#define HPI_GC_MAX_ELEMS (HPI_PAGE_SIZE / 8)
#define HPI_GC_WORDS (HPI_GC_MAX_ELEMS / 64)

/* Where a span is: on no list, owned by a thread's cache, or on a class's
 * partial, full or unswept list (spliced spans keep partial/full). */
enum hpi_gc_list { GCL_NONE, GCL_OWNED, GCL_PARTIAL, GCL_FULL };

typedef struct hpi_gcspan {
    hpi_span_t *span;       /* fixed */
    uintptr_t base;         /* fixed: span->base */
    uintptr_t limit;        /* fixed: the span's end */
    uint32_t elemsize;      /* fixed */
    uint32_t nelems;        /* fixed */
    uint32_t divmagic;      /* fixed */
    uint8_t noscan;         /* fixed */
    uint8_t cls;            /* fixed: size class; 0 for a large object */
    uint8_t list;           /* enum hpi_gc_list; class lock */
    uint8_t needzero;       /* owner: free slots may hold old data */
    /* Slots below freeindex were handed out since the last sweep.  Written
     * by the owning thread, read by markers (relaxed). */
    _Atomic uint32_t freeindex;
    uint32_t nlive;         /* objects alive at the last sweep; owner/class lock */
    /* Allocated black, without a mark bit each: in the mark of cycle
     * black_gen, the slots from black_from up to freeindex that were free
     * in alloc[] were handed out while marking ran, so they count as marked
     * (the owner writes, markers and the sweeper read; relaxed). */
    _Atomic uint32_t black_from, black_gen;
    /* Owner: the slots after freeindex up to the end of its alloc[] word,
     * free ones as 1 bits, bit 0 for slot freeindex (Go's allocCache); 0
     * when unknown.  Allocation reads this, not alloc[]. */
    uint64_t acache;
    struct hpi_gcspan *next, *prev; /* class lock: list links */
    struct hpi_gcspan *all_next, *all_prev; /* heap.c reg.lock: every gcspan in use */
    /* One bit per object, nwords words each, after the struct (sized to the
     * span: a span of 64-byte objects needs 2 words, not the 16 of 8-byte
     * ones). */
    uint64_t *alloc;          /* alive at the last sweep; the sweeper */
    /* One byte per object (nwords * 64), marked this cycle, on cache lines
     * of their own.  Markers store a 1 with no read-modify-write: a locked
     * OR on a bit was a third of the marking time.  Two markers that reach
     * an object at once may both mark and scan it, which is only slower
     * (bdwgc's mark bytes).  Relaxed __atomic loads and stores; the sweeper,
     * which owns the span, reads them as words (hpi_gc_mark_bits). */
    uint8_t *mark;
    _Atomic uint64_t *fin;     /* has a finalizer */
    _Atomic uint64_t *sampled; /* in the heap profile */
    uint32_t nwords;           /* fixed */
    uint64_t bits[];
} hpi_gcspan_t;

/* Per thread.  Only its thread touches it, except the collector while the
 * thread is stopped (mark termination flushes it). */
typedef struct hpi_gcache {
    hpi_gcspan_t *alloc[2][HPI_NUM_CLASSES]; /* [noscan][class]: owned span or NULL */
    int64_t unflushed;       /* bytes allocated, not yet added to gc.heap_live */
    uint64_t unflushed_objs; /* objects allocated, not yet in gc.heap_objs */
    struct hpi_gcache *next, *prev; /* caches lock */
} hpi_gcache_t;

/* What a thread needs in TLS (initial-exec, so signal handlers may read it). */
typedef struct hpi_gc_tls {
    int crit;          /* > 0: inside GC code, do not stop here */
    int stop_pending;  /* a stop request arrived during crit */
    int worker;        /* a collector thread: never stopped */
    int check_limit;   /* heap_live grew under a memory limit: check it outside crit */
    hpi_gcache_t *cache;
} hpi_gc_tls_t;
extern __thread hpi_gc_tls_t hpi_gc_tls __attribute__((tls_model("initial-exec")));

static inline void hpi_gc_enter(void)
{
    hpi_gc_tls.crit++;
    atomic_signal_fence(memory_order_seq_cst);
}

HPI_INTERNAL void hpi_gc_safepoint(void);

/* Leave crit without the safe point: true if a stop waits for this thread,
 * which must then call hpi_gc_safepoint (a fast path that wants that call
 * to be a tail call uses this). */
static inline bool hpi_gc_leave_stop_due(void)
{
    atomic_signal_fence(memory_order_seq_cst);
    return --hpi_gc_tls.crit == 0 && HPI_UNLIKELY(hpi_gc_tls.stop_pending);
}

static inline void hpi_gc_leave(void)
{
    if (hpi_gc_leave_stop_due()) hpi_gc_safepoint();
}

/* A stop request waits for this thread to leave crit (the handler sets the
 * flag: read it afresh each time). */
static inline bool hpi_gc_stop_wanted(void)
{
    return *(volatile int *)&hpi_gc_tls.stop_pending != 0;
}

/* Long GC work (lazy sweeping of many spans, an assist) calls this between
 * steps, where it holds no GC lock and leaves nothing half done: a waiting
 * stop happens here instead of at the end, so that a pause does not wait
 * for the whole job. */
static inline void hpi_gc_preempt(void)
{
    if (HPI_UNLIKELY(hpi_gc_stop_wanted()) && hpi_gc_tls.crit == 1) {
        hpi_gc_leave();
        hpi_gc_enter();
    }
}

/* Collector state shared by the files. */
enum hpi_gc_phase { GCP_OFF, GCP_MARK, GCP_SWEEP };

typedef struct hpi_gc_state {
    _Atomic int phase;        /* enum hpi_gc_phase; written by the collector */
    _Atomic uint32_t cycle;   /* bumped as each mark starts, world stopped */
    _Atomic uint64_t prof_epoch; /* mark terminations so far (heap profile) */
    _Atomic int barrier;      /* hp_gc_use_barrier */
    _Atomic int wb_on;        /* the write barrier shades (concurrent mark) */
    _Atomic int percent;      /* GOGC; < 0 off */
    _Atomic int64_t memlimit; /* bytes */
    _Atomic uint64_t trigger;     /* start a cycle when heap_live reaches it */
    _Atomic uint64_t goal;        /* heap goal of the cycle under way / next */
    _Atomic uint64_t marked;      /* bytes marked by the last completed cycle */
    _Atomic uintptr_t lo, hi;     /* addresses of GC spans lie in [lo, hi) */
    _Atomic int poison;       /* HOTPATH_GC_POISON: fill freed objects with 0xdb */
    _Atomic int gctrace;
    /* The counters below change with every sweep and flush: on their own
     * cache lines, so that the barrier's and the allocator's reads of the
     * fields above do not miss each time the sweeper counts. */
    _Alignas(HPI_CACHE_LINE) _Atomic uint64_t heap_live; /* bytes of GC objects allocated
                                                            and not swept away */
    _Atomic uint64_t heap_objs;
    _Atomic uint64_t freed_bytes, freed_objs; /* cumulative, by sweeping */
    _Atomic uint64_t alloc_bytes_total, alloc_objs_total; /* cumulative */
} hpi_gc_state_t;
extern HPI_INTERNAL hpi_gc_state_t hpi_gc;

/* ---- heap.c: GC spans, allocation, sweeping ---- */
/* A GC object; NULL with errno ENOMEM if a collection and a retry did not
 * help.  The caller has a cache (hpi_gc_cache_make). */
HPI_INTERNAL void *hpi_gc_alloc_obj(size_t size, bool noscan);
/* The gcspan of an address, when it lies in a GC object's span. */
static inline hpi_gcspan_t *hpi_gcspan_of(uintptr_t a)
{
    if (a < atomic_load_explicit(&hpi_gc.lo, memory_order_relaxed) ||
        a >= atomic_load_explicit(&hpi_gc.hi, memory_order_relaxed))
        return NULL;
    hpi_arena_t *ar = atomic_load_explicit(&hpi_arena_map[a >> HPI_ARENA_SHIFT],
                                           memory_order_relaxed);
    if (ar == NULL) return NULL;
    hpi_gcspan_t *g = atomic_load_explicit(&ar->gc[(a >> HPI_PAGE_SHIFT) & (HPI_PAGES_PER_ARENA - 1)],
                                           memory_order_acquire);
    if (g == NULL || a < g->base || a >= g->limit) return NULL;
    return g;
}
/* Index of the object holding address a in g, or -1 past the last one. */
static inline int64_t hpi_gc_index(const hpi_gcspan_t *g, uintptr_t a)
{
    if (g->cls == 0) return 0;
    uint64_t i = ((a - g->base) * g->divmagic) >> 32;
    return i < g->nelems ? (int64_t)i : -1;
}
static inline bool hpi_gc_allocated(const hpi_gcspan_t *g, uint64_t i)
{
    if (i < atomic_load_explicit(&g->freeindex, memory_order_relaxed)) return true;
    return (g->alloc[i >> 6] >> (i & 63)) & 1;
}
/* Bits of word w for the slots below n. */
static inline uint64_t hpi_gc_bits_below(unsigned w, uint32_t n)
{
    return n >= (w + 1) * 64 ? ~0ull : n <= w * 64 ? 0 : (1ull << (n - w * 64)) - 1;
}
/* g's owner has allocated black in this cycle's mark (black_from is valid). */
static inline bool hpi_gc_black_now(const hpi_gcspan_t *g)
{
    return atomic_load_explicit(&g->black_gen, memory_order_relaxed) ==
           atomic_load_explicit(&hpi_gc.cycle, memory_order_relaxed);
}
/* Word w's objects allocated black in this cycle's mark (fi: freeindex). */
static inline uint64_t hpi_gc_black_bits(const hpi_gcspan_t *g, unsigned w, uint32_t fi)
{
    if (!hpi_gc_black_now(g)) return 0;
    uint32_t from = atomic_load_explicit(&g->black_from, memory_order_relaxed);
    return hpi_gc_bits_below(w, fi) & ~hpi_gc_bits_below(w, from) & ~g->alloc[w];
}
/* Slot i of g, allocated, was allocated black in this cycle's mark. */
static inline bool hpi_gc_is_black(const hpi_gcspan_t *g, uint64_t i)
{
    return hpi_gc_black_now(g) && i >= atomic_load_explicit(&g->black_from, memory_order_relaxed) &&
           !((g->alloc[i >> 6] >> (i & 63)) & 1);
}
/* Slot i's mark byte. */
static inline bool hpi_gc_marked(const hpi_gcspan_t *g, uint64_t i)
{
    return __atomic_load_n(&g->mark[i], __ATOMIC_RELAXED) != 0;
}
static inline void hpi_gc_set_mark(hpi_gcspan_t *g, uint64_t i)
{
    __atomic_store_n(&g->mark[i], 1, __ATOMIC_RELAXED);
}
/* The mark bytes of slots 64w to 64w + 63 as bits, for the sweeper: each
 * byte is 0 or 1, so one multiply gathers eight of them into a byte. */
static inline uint64_t hpi_gc_mark_bits(const hpi_gcspan_t *g, unsigned w)
{
    const uint8_t *m = g->mark + (size_t)w * 64;
    uint64_t bits = 0;
    for (unsigned j = 0; j < 8; j++) {
        uint64_t x;
        memcpy(&x, m + 8 * j, sizeof x);
        bits |= ((x * 0x0102040810204080ull) >> 56) << (8 * j);
    }
    return bits;
}
/* Bytes of the object(s) of g: a large object is its whole span (its
 * elemsize is capped at 4 GiB). */
static inline size_t hpi_gc_obj_size(const hpi_gcspan_t *g)
{
    return g->cls ? g->elemsize : g->span->npages << HPI_PAGE_SHIFT;
}
/* A new cycle's mark starts (world stopped): what threads allocate from
 * now on is black. */
HPI_INTERNAL void hpi_gc_heap_start_mark(void);
/* Flush every thread's cache (the world is stopped) and make every span
 * wait for sweeping. */
HPI_INTERNAL void hpi_gc_heap_end_mark(void);
/* Sweep a few spans of one class (up to 8), if any wait; false when none
 * did. */
HPI_INTERNAL bool hpi_gc_sweep_one(void);
/* Publish the last cycle in the heap profile once it is swept. */
HPI_INTERNAL void hpi_gc_publish_if_swept(void);
/* Sweep everything, wait for other threads' sweeps, publish (hp_gc_collect). */
HPI_INTERNAL void hpi_gc_sweep_all_publish(void);
HPI_INTERNAL uint64_t hpi_gc_spans_inuse_bytes(void);
HPI_INTERNAL void hpi_gc_cache_release(void); /* thread exit */
HPI_INTERNAL bool hpi_gc_cache_make(void);   /* outside crit */
HPI_INTERNAL void hpi_gc_heap_fork_prepare(void);
HPI_INTERNAL void hpi_gc_heap_fork_parent(void);
HPI_INTERNAL void hpi_gc_heap_fork_child(void);

/* ---- mark.c ---- */
HPI_INTERNAL void hpi_gc_mark_init(void);
/* Scan [lo, hi) conservatively, greying what it points to. */
HPI_INTERNAL void hpi_gc_scan_range(uintptr_t lo, uintptr_t hi);
/* Scan an object's contents without marking it (finalizer referents). */
HPI_INTERNAL void hpi_gc_scan_object_of(void *obj);
/* Grey the object holding address a (write barrier).  Mutators' grey
 * objects go to per-thread buffers flushed to the shared queue. */
HPI_INTERNAL void hpi_gc_shade(uintptr_t a);
/* Mark until there is no work, with nworkers threads (this one included). */
HPI_INTERNAL void hpi_gc_drain_parallel(int nworkers);
/* Mark at most `budget` bytes of objects (assists); returns bytes scanned. */
HPI_INTERNAL uint64_t hpi_gc_drain_some(uint64_t budget);
HPI_INTERNAL bool hpi_gc_work_empty(void);
/* Few grey objects wait: one marker drains them sooner than several. */
HPI_INTERNAL bool hpi_gc_work_small(void);
HPI_INTERNAL uint64_t hpi_gc_marked_bytes(void);  /* this cycle */
HPI_INTERNAL void hpi_gc_mark_reset(void);
HPI_INTERNAL void hpi_gc_mark_fork_prepare(void);
HPI_INTERNAL void hpi_gc_mark_fork_parent(void);
HPI_INTERNAL void hpi_gc_mark_fork_child(void);

/* ---- roots.c ---- */
/* Copy every root (module data, registered ranges, stopped threads' stacks)
 * into the snapshot; the world is stopped. */
HPI_INTERNAL int hpi_gc_roots_snapshot(void);
/* Scan the snapshot (copy) and free it. */
HPI_INTERNAL void hpi_gc_roots_scan(void);
HPI_INTERNAL uint64_t hpi_gc_roots_stack_bytes(void);  /* last snapshot */
HPI_INTERNAL uint64_t hpi_gc_roots_global_bytes(void); /* last snapshot */
HPI_INTERNAL void hpi_gc_roots_prepare(void); /* before the stop */
HPI_INTERNAL void hpi_gc_roots_fork_prepare(void);
HPI_INTERNAL void hpi_gc_roots_fork_parent(void);
HPI_INTERNAL void hpi_gc_roots_fork_child(void);

/* ---- stw.c ---- */
/* Stop every registered thread but collector threads at a safe point;
 * returns the number stopped.  The registry stays locked until resume. */
HPI_INTERNAL int hpi_gc_stop_world(void);
HPI_INTERNAL void hpi_gc_start_world(void);
/* For each stopped thread: its stack from the saved sp to the top. */
typedef void (*hpi_gc_stack_fn)(uintptr_t lo, uintptr_t hi, void *arg);
HPI_INTERNAL void hpi_gc_stopped_stacks(hpi_gc_stack_fn fn, void *arg);
HPI_INTERNAL void hpi_gc_stw_init(void);
/* The calling thread is a collector thread: never stopped, never scanned. */
HPI_INTERNAL void hpi_gc_exempt_self(void);
/* Run fn(arg), a blocking wait that touches no GC object, parked: a stop
 * meanwhile holds the thread without waking it (outside crit only). */
HPI_INTERNAL void hpi_gc_blocking(void (*fn)(void *), void *arg);
HPI_INTERNAL void hpi_gc_stw_fork_child(void);

/* ---- finalizer.c ---- */
HPI_INTERNAL int hpi_gc_finalizer_set(void *obj, void (*fn)(void *));
/* obj died with a finalizer (sweeper): queue it.  Its fin bit is cleared
 * by the caller. */
HPI_INTERNAL void hpi_gc_finalizer_queue(void *obj);
/* Scan every finalizer's object's contents, and the queue (mark roots). */
HPI_INTERNAL void hpi_gc_finalizer_roots(void);
HPI_INTERNAL void hpi_gc_finalizer_wake(void);
HPI_INTERNAL void hpi_gc_finalizer_ensure(void);
HPI_INTERNAL void hpi_gc_finalizer_fork_prepare(void);
HPI_INTERNAL void hpi_gc_finalizer_fork_parent(void);
HPI_INTERNAL void hpi_gc_finalizer_fork_child(void);

/* ---- pacer.c ---- */
HPI_INTERNAL void hpi_gc_pacer_init(void);
/* Heap goal and trigger after a cycle that left `marked` bytes live. */
HPI_INTERNAL void hpi_gc_pacer_set_goal(uint64_t marked);
/* Record a finished cycle (stats ring, gctrace). */
typedef struct hpi_gc_cycle {
    uint64_t start_ns, t_stw2; /* monotonic ns: start, mark termination's stop */
    uint64_t end_ns;
    uint64_t stw1_ns, mark_ns, stw2_ns;        /* wall durations */
    uint64_t cpu_mark_assist_ns, cpu_mark_bg_ns; /* mark CPU time */
    uint64_t heap_start, heap_end, heap_marked, goal;
    uint64_t stacks, globals;
    int nprocs;
    bool forced;
} hpi_gc_cycle_t;
HPI_INTERNAL void hpi_gc_pacer_record(const hpi_gc_cycle_t *c);
HPI_INTERNAL uint64_t hpi_gc_memory_in_use(void); /* for the limit */
HPI_INTERNAL void hpi_gc_read_stats(hp_memstats_t *st);

/* ---- gc.c ---- */
HPI_INTERNAL void hpi_gc_init(void);
/* The GC heap has been used: pools are cycled by its collections. */
HPI_INTERNAL bool hpi_gc_in_use(void);
/* Allocation passed the trigger: start a cycle (wakes the collector). */
HPI_INTERNAL void hpi_gc_trigger(void);
/* Bytes the allocating thread must help mark now (0: none). */
HPI_INTERNAL void hpi_gc_assist(uint64_t bytes);
HPI_INTERNAL int hpi_gc_nprocs(void);
/* Out of memory: collect, then the caller retries once. */
/* Under a memory limit: return free pages, start a cycle if still over
 * (outside crit: reads the page heap's figures). */
HPI_INTERNAL void hpi_gc_limit_check(void);

#endif /* HPI_GC_INTERNAL_H */
