/* mark.c: marking.  See gc.c for the design.
 *
 * Grey objects wait in work buffers: a marker keeps one buffer of its own
 * and trades full ones for empty ones on the shared lists, as Go's gcWork
 * does.  A work item is a range (start, length): a large object is cut into
 * pieces of at most CHUNK bytes so that several markers share its scan.
 *
 * A word is a pointer when it falls in a GC span, in a slot that is
 * allocated (hpi_gc_allocated); the object holding it is greyed by storing
 * 1 in its mark byte, and the marker that stored it queues it.  The store
 * is plain, not a read-modify-write (a locked OR took a third of the
 * marking time, internal.h): two markers that find the byte clear at the
 * same moment both queue the object, which is then scanned twice and its
 * bytes counted twice in `marked`, a rare and harmless excess.  Noscan
 * objects are marked and never queued.
 *
 * Prefetching.  Scanning an object stalls on its first cache miss, so a
 * marker does not scan the object it pops at once: objects pass through a
 * small FIFO ring, prefetched as they enter it, and are scanned PREFETCH
 * pops later, when their lines have arrived (as bdwgc and the literature
 * on mark-sweep prefetching do).  Candidate pointers are looked up in
 * batches for the same reason, a batch gathering the words of as many
 * objects as it takes to fill it (batch_run): GCBench's 24-byte nodes hold
 * two candidates each, too few to overlap their misses one node at a time.
 *
 * Parallel draining ends Go's way: a marker that finds no work anywhere
 * counts itself idle; when all are idle and the shared list is empty,
 * marking is done.  Buffers come straight from mmap, never from malloc or
 * the metadata allocator, because markers run while other threads are
 * stopped and may hold those allocators' locks.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>

#include "gc/internal.h"

#define CHUNK (64 << 10)
#define WBUF_ITEMS 255
#define PREFETCH 16   /* objects in flight between prefetch and scan */
#define SCAN_BATCH 32 /* candidate pointers looked up together */

typedef struct item {
    uintptr_t base, len;
} item_t;

typedef struct wbuf {
    struct wbuf *next;
    uint64_t n;
    item_t items[WBUF_ITEMS];
} wbuf_t;
_Static_assert(sizeof(wbuf_t) == 4096, "a work buffer is a page");

/* A marker's private state. */
typedef struct gcw {
    item_t ring[PREFETCH]; /* prefetched, to be scanned next: [head, head + n) */
    unsigned head, n;
    wbuf_t *cur;
    uint64_t scanned; /* bytes scanned */
    uint64_t marked;  /* bytes greyed */
} gcw_t;

static struct {
    hpi_lock_t lock;
    wbuf_t *full;         /* lock */
    wbuf_t *empty;        /* lock */
    _Atomic int64_t nfull; /* buffers on `full` */
    _Atomic int nwait;    /* idle markers in a parallel drain */
    _Atomic int assists;  /* threads in hpi_gc_drain_some: they may hold work */
    _Atomic uint64_t scanned, marked; /* this cycle */
} work = {.lock = HPI_LOCK_INIT};

/* ---- buffers ---- */

static wbuf_t *wbuf_new_locked(void)
{
    wbuf_t *b = work.empty;
    if (b != NULL) {
        work.empty = b->next;
    } else {
        enum { N = 256 };
        char *m = mmap(NULL, N * sizeof(wbuf_t), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) hpi_fatal("gc: out of memory for mark buffers");
        for (int i = 1; i < N; i++) {
            wbuf_t *e = (wbuf_t *)(m + (size_t)i * sizeof(wbuf_t));
            e->next = work.empty;
            work.empty = e;
        }
        b = (wbuf_t *)m;
    }
    b->next = NULL;
    b->n = 0;
    return b;
}

static void put_full_locked(wbuf_t *b)
{
    b->next = work.full;
    work.full = b;
    atomic_fetch_add_explicit(&work.nfull, 1, memory_order_release);
}

/* Swap the marker's full buffer for an empty one. */
static void gcw_spill(gcw_t *w)
{
    hpi_lock(&work.lock);
    if (w->cur != NULL) put_full_locked(w->cur);
    w->cur = wbuf_new_locked();
    hpi_unlock(&work.lock);
}

static inline void gcw_push(gcw_t *w, uintptr_t base, uintptr_t len)
{
    if (HPI_UNLIKELY(w->cur == NULL || w->cur->n == WBUF_ITEMS)) gcw_spill(w);
    w->cur->items[w->cur->n++] = (item_t){base, len};
}

/* Trade the marker's empty buffer for a full one; false if none. */
static bool gcw_refill(gcw_t *w)
{
    if (atomic_load_explicit(&work.nfull, memory_order_acquire) == 0) return false;
    hpi_lock(&work.lock);
    wbuf_t *b = work.full;
    if (b != NULL) {
        work.full = b->next;
        atomic_fetch_sub_explicit(&work.nfull, 1, memory_order_relaxed);
        if (w->cur != NULL) {
            w->cur->next = work.empty;
            work.empty = w->cur;
        }
        w->cur = b;
    }
    hpi_unlock(&work.lock);
    return b != NULL;
}

/* Give the shared list half of a buffer when others may be starving. */
static void gcw_balance(gcw_t *w)
{
    if (w->cur == NULL || w->cur->n < 2 || atomic_load(&work.nfull) != 0) return;
    hpi_lock(&work.lock);
    wbuf_t *b = wbuf_new_locked();
    uint64_t half = w->cur->n / 2;
    memcpy(b->items, w->cur->items + w->cur->n - half, half * sizeof(item_t));
    b->n = half;
    w->cur->n -= half;
    put_full_locked(b);
    hpi_unlock(&work.lock);
}

static inline void gcw_push(gcw_t *w, uintptr_t base, uintptr_t len);

/* Hand a marker's remaining work to the shared list. */
static void gcw_dispose(gcw_t *w)
{
    for (; w->n > 0; w->n--, w->head = (w->head + 1) % PREFETCH)
        gcw_push(w, w->ring[w->head].base, w->ring[w->head].len);
    atomic_fetch_add_explicit(&work.scanned, w->scanned, memory_order_relaxed);
    atomic_fetch_add_explicit(&work.marked, w->marked, memory_order_relaxed);
    w->scanned = w->marked = 0;
    if (w->cur == NULL) return;
    hpi_lock(&work.lock);
    if (w->cur->n > 0) {
        put_full_locked(w->cur);
    } else {
        w->cur->next = work.empty;
        work.empty = w->cur;
    }
    hpi_unlock(&work.lock);
    w->cur = NULL;
}

/* ---- greying ---- */

static inline void grey_range(gcw_t *w, uintptr_t base, size_t len)
{
    while (len > CHUNK) {
        gcw_push(w, base, CHUNK);
        base += CHUNK;
        len -= CHUNK;
    }
    gcw_push(w, base, len);
}

/* Mark slot i of g, if it holds an object; true if this call marked it. */
static inline __attribute__((always_inline)) bool mark_at(hpi_gcspan_t *g, int64_t i,
                                                          uintptr_t *obj)
{
    if (i < 0 || !hpi_gc_allocated(g, (uint64_t)i) || hpi_gc_is_black(g, (uint64_t)i)) return false;
    if (hpi_gc_marked(g, (uint64_t)i)) return false;
    hpi_gc_set_mark(g, (uint64_t)i);
    *obj = g->base + (uintptr_t)i * g->elemsize;
    return true;
}

/* Mark the object of any address, if any. */
static inline bool mark_word(uintptr_t a, hpi_gcspan_t **gout, uintptr_t *obj)
{
    hpi_gcspan_t *g = hpi_gcspan_of(a);
    *gout = g;
    return g != NULL && mark_at(g, hpi_gc_index(g, a), obj);
}

/* Candidate pointers gathered from the words of one or more objects, with
 * what each stage found about them. */
typedef struct batch {
    unsigned n;
    uintptr_t glo, ghi; /* the GC heap's address range */
    uintptr_t v[SCAN_BATCH];
    void *_Atomic *slot[SCAN_BATCH]; /* GC page map entry */
    hpi_gcspan_t *g[SCAN_BATCH];
    int64_t k[SCAN_BATCH]; /* slot index in g */
} batch_t;

static void batch_init(batch_t *b)
{
    b->n = 0;
    b->glo = atomic_load_explicit(&hpi_gc.lo, memory_order_relaxed);
    b->ghi = atomic_load_explicit(&hpi_gc.hi, memory_order_relaxed);
}

/* Stages 2-4 of a batch: each starts the cache misses the next will need
 * (the gcspan, then its bits), so that a batch waits for one round of
 * misses per stage instead of one per pointer.  Greys what it marks. */
static void batch_run(gcw_t *w, batch_t *b)
{
    unsigned n = b->n;
    for (unsigned i = 0; i < n; i++) { /* stage 2: the gcspans */
        b->g[i] = atomic_load_explicit(b->slot[i], memory_order_acquire);
        if (b->g[i] != NULL) __builtin_prefetch(b->g[i]);
    }
    for (unsigned i = 0; i < n; i++) { /* stage 3: their bits */
        hpi_gcspan_t *g = b->g[i];
        if (g == NULL || b->v[i] < g->base || b->v[i] >= g->limit) {
            b->g[i] = NULL;
            continue;
        }
        int64_t k = hpi_gc_index(g, b->v[i]);
        b->k[i] = k;
        if (k < 0) continue;
        __builtin_prefetch((const void *)&g->mark[k]);
        __builtin_prefetch((const void *)&g->alloc[k >> 6]);
    }
    b->n = 0;
    for (unsigned i = 0; i < n; i++) { /* stage 4: mark */
        hpi_gcspan_t *g = b->g[i];
        uintptr_t obj;
        if (g == NULL || !mark_at(g, b->k[i], &obj)) continue;
        size_t len = hpi_gc_obj_size(g);
        w->marked += len;
        if (!g->noscan) grey_range(w, obj, len);
    }
}

/* Stage 1: the words of [lo, hi) that fall in the GC heap's address range
 * join the batch, their page map entries prefetched; a full batch runs. */
static void scan_words(gcw_t *w, batch_t *b, uintptr_t lo, uintptr_t hi)
{
    uintptr_t glo = b->glo, ghi = b->ghi;
    lo = (lo + 7) & ~(uintptr_t)7;
    for (uintptr_t p = lo; p + 8 <= hi; p += 8) {
        uintptr_t v = *(volatile uintptr_t *)p;
        if (v - glo >= ghi - glo) continue;
        hpi_arena_t *ar = atomic_load_explicit(&hpi_arena_map[v >> HPI_ARENA_SHIFT],
                                               memory_order_relaxed);
        if (ar == NULL) continue;
        void *_Atomic *slot = &ar->gc[(v >> HPI_PAGE_SHIFT) & (HPI_PAGES_PER_ARENA - 1)];
        __builtin_prefetch((const void *)slot);
        b->slot[b->n] = slot;
        b->v[b->n++] = v;
        if (b->n == SCAN_BATCH) batch_run(w, b);
    }
    w->scanned += hi > lo ? hi - lo : 0;
}

/* Scan [lo, hi) on its own. */
static void scan(gcw_t *w, uintptr_t lo, uintptr_t hi)
{
    batch_t b;
    batch_init(&b);
    scan_words(w, &b, lo, hi);
    batch_run(w, &b);
}

/* The next object to scan: the oldest in the ring, which is topped up
 * from the buffer (prefetching what enters) first. */
static bool gcw_pop(gcw_t *w, item_t *it)
{
    while (w->n < PREFETCH) {
        if (w->cur == NULL || w->cur->n == 0) {
            if (w->n > 0 || !gcw_refill(w)) break;
        }
        item_t next = w->cur->items[--w->cur->n];
        __builtin_prefetch((const void *)next.base);
        w->ring[(w->head + w->n++) % PREFETCH] = next;
    }
    if (w->n == 0) return false;
    *it = w->ring[w->head];
    w->head = (w->head + 1) % PREFETCH;
    w->n--;
    return true;
}

/* ---- entry points ---- */

void hpi_gc_scan_range(uintptr_t lo, uintptr_t hi)
{
    gcw_t w = {0};
    scan(&w, lo, hi);
    gcw_dispose(&w);
}

void hpi_gc_scan_object_of(void *obj)
{
    hpi_gcspan_t *g = hpi_gcspan_of((uintptr_t)obj);
    if (g == NULL || g->noscan) return;
    int64_t i = hpi_gc_index(g, (uintptr_t)obj);
    if (i < 0) return;
    gcw_t w = {0};
    grey_range(&w, g->base + (uintptr_t)i * g->elemsize, hpi_gc_obj_size(g));
    gcw_dispose(&w);
}

void hpi_gc_shade(uintptr_t a)
{
    hpi_gcspan_t *g;
    uintptr_t obj;
    if (!mark_word(a, &g, &obj)) return;
    gcw_t w = {0};
    w.marked = hpi_gc_obj_size(g);
    if (!g->noscan) grey_range(&w, obj, hpi_gc_obj_size(g));
    gcw_dispose(&w);
}

/* Drain w's work and the shared list.  Returns when none is left, after
 * `budget` bytes, or (an assist) when a stop waits for this thread: the
 * caller then hands its work back to the shared list. */
static void drain(gcw_t *w, uint64_t budget)
{
    item_t it;
    batch_t b;
    batch_init(&b);
    uint64_t start = w->scanned;
    while (w->scanned - start < budget && !hpi_gc_stop_wanted()) {
        if (!gcw_pop(w, &it)) {
            if (b.n == 0) break;
            batch_run(w, &b); /* may grey more */
            continue;
        }
        scan_words(w, &b, it.base, it.base + it.len);
        if (atomic_load_explicit(&work.nwait, memory_order_relaxed) != 0) gcw_balance(w);
    }
    batch_run(w, &b);
}

uint64_t hpi_gc_drain_some(uint64_t budget)
{
    atomic_fetch_add(&work.assists, 1);
    gcw_t w = {0};
    drain(&w, budget);
    uint64_t done = w.scanned;
    gcw_dispose(&w);
    atomic_fetch_sub(&work.assists, 1);
    return done;
}

/* One marker of a parallel drain of n. */
static void drain_worker(int n)
{
    gcw_t w = {0};
    for (;;) {
        drain(&w, UINT64_MAX);
        atomic_fetch_add(&work.nwait, 1);
        for (int spins = 0;; spins++) {
            if (atomic_load_explicit(&work.nfull, memory_order_acquire) != 0) {
                atomic_fetch_sub(&work.nwait, 1);
                break;
            }
            if (atomic_load(&work.nwait) == n && atomic_load(&work.nfull) == 0) {
                gcw_dispose(&w);
                return;
            }
            if (spins > 20000)
                sched_yield(); /* a marker that keeps waiting lets others run */
            else
                hpi_cpu_relax();
        }
    }
}

/* Helper markers: started once, woken for each parallel drain. */
#define MAX_HELPERS 7
static struct {
    _Atomic int gen;     /* bumped to start a drain */
    _Atomic int nhelp;   /* helpers wanted in this drain */
    _Atomic int running; /* helpers that have not finished it */
    _Atomic int started; /* helper threads running */
    _Atomic int spawned; /* helper threads created */
    int nworkers;        /* markers in this drain */
    cpu_set_t cpus;      /* the caller's CPUs; written before gen is bumped */
    pthread_t th[MAX_HELPERS];         /* helper id's thread, once has_th[id] */
    _Atomic int has_th[MAX_HELPERS];
} helpers;

/* Wake the helpers away from this CPU.  The scheduler queues a woken
 * thread on its last CPU or the waker's unless it finds an idle one in the
 * waker's cache domain, and virtual machines that describe no shared cache
 * have none: there a helper waited behind the caller for its whole drain
 * (GCBench: started 2.6 ms late in 4 cycles of 5) while the other CPU
 * idled.  So each helper's CPU mask leaves this CPU out while it wakes; it
 * takes the caller's whole mask back once it runs. */
static void steer_helpers(int nhelp)
{
    if (pthread_getaffinity_np(pthread_self(), sizeof helpers.cpus, &helpers.cpus) != 0) {
        CPU_ZERO(&helpers.cpus);
        return;
    }
    cpu_set_t away = helpers.cpus;
    int cpu = sched_getcpu();
    if (cpu < 0 || cpu >= CPU_SETSIZE) return;
    CPU_CLR(cpu, &away);
    if (CPU_COUNT(&away) == 0) return;
    for (int i = 0; i < nhelp; i++)
        if (atomic_load(&helpers.has_th[i])) pthread_setaffinity_np(helpers.th[i], sizeof away, &away);
}

static void *helper_main(void *arg)
{
    (void)arg;
    hpi_gc_exempt_self();
    pthread_setname_np(pthread_self(), "hp-gc-mark");
    /* Counted only now that it runs (registered, so never stopped while a
     * drain waits for it). */
    int seen = atomic_load(&helpers.gen); /* before it counts: see drain_parallel */
    int id = atomic_fetch_add(&helpers.started, 1);
    helpers.th[id] = pthread_self();
    atomic_store(&helpers.has_th[id], 1);
    for (;;) {
        while (atomic_load(&helpers.gen) == seen) hpi_futex_wait(&helpers.gen, seen, 0);
        seen = atomic_load(&helpers.gen);
        if (id < atomic_load(&helpers.nhelp)) {
            if (CPU_COUNT(&helpers.cpus) > 0)
                pthread_setaffinity_np(pthread_self(), sizeof helpers.cpus, &helpers.cpus);
            drain_worker(helpers.nworkers);
            if (atomic_fetch_sub(&helpers.running, 1) == 1) hpi_futex_wake(&helpers.running, 1);
        }
    }
    return NULL;
}

void hpi_gc_mark_init(void)
{
    int want = hpi_gc_nprocs() - 1;
    if (want > MAX_HELPERS) want = MAX_HELPERS;
    for (int i = atomic_load(&helpers.spawned); i < want; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, helper_main, NULL) != 0) break;
        pthread_detach(th);
        atomic_fetch_add(&helpers.spawned, 1);
    }
}

void hpi_gc_drain_parallel(int nworkers)
{
    int nhelp = nworkers - 1;
    if (nhelp > atomic_load(&helpers.started)) nhelp = atomic_load(&helpers.started);
    if (nhelp < 0) nhelp = 0;
    atomic_store(&work.nwait, 0);
    helpers.nworkers = nhelp + 1;
    atomic_store(&helpers.nhelp, nhelp);
    atomic_store(&helpers.running, nhelp);
    if (nhelp > 0) {
        steer_helpers(nhelp);
        atomic_fetch_add(&helpers.gen, 1);
        hpi_futex_wake(&helpers.gen, nhelp);
    }
    drain_worker(nhelp + 1);
    for (int r; (r = atomic_load(&helpers.running)) != 0;) hpi_futex_wait(&helpers.running, r, 0);
}

bool hpi_gc_work_empty(void)
{
    return atomic_load_explicit(&work.assists, memory_order_acquire) == 0 &&
           atomic_load_explicit(&work.nfull, memory_order_acquire) == 0;
}

bool hpi_gc_work_small(void)
{
    return atomic_load_explicit(&work.nfull, memory_order_acquire) < 16;
}

uint64_t hpi_gc_marked_bytes(void) { return atomic_load(&work.marked); }

void hpi_gc_mark_reset(void)
{
    atomic_store(&work.scanned, 0);
    atomic_store(&work.marked, 0);
}

void hpi_gc_mark_fork_child(void)
{
    hpi_lock_reinit(&work.lock);
    atomic_store(&helpers.started, 0);
    atomic_store(&helpers.spawned, 0);
    /* The parent's helpers are not here: their pthread_t would name the
     * parent's threads (by tid) until new helpers take the slots. */
    for (int i = 0; i < MAX_HELPERS; i++) atomic_store(&helpers.has_th[i], 0);
}

void hpi_gc_mark_fork_prepare(void) { hpi_lock(&work.lock); }
void hpi_gc_mark_fork_parent(void) { hpi_unlock(&work.lock); }
