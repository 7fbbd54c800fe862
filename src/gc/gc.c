/* gc.c: the GC heap (hotpath/gc.h).  Design overview.
 *
 * An opt-in garbage-collected heap beside malloc, built like Go's
 * collector: non-moving, tri-color mark and sweep, paced by GOGC and a
 * soft memory limit.  Unlike Go's it is conservative (C has no pointer
 * maps) and it cannot stop a thread at a compiler-made safe point.
 *
 * 1. Objects (heap.c) live in the allocator's arenas, in spans of their
 *    own with an hpi_gcspan_t of bits beside each; page map lookups find
 *    the object of any interior pointer in O(1).  Allocation hands out
 *    slots in address order from a span the thread owns (Go's freeindex
 *    and alloc bits), zeroes them, and counts bytes per thread, flushed to
 *    heap_live every 64 KiB, where the trigger is checked.
 *
 * 2. A cycle (run_cycle below), on the collector thread:
 *      sweep termination   finish sweeping the last cycle's spans;
 *      stop the world      (stw.c) every thread stops outside GC code;
 *      root snapshot       (roots.c) copy module data, registered ranges and
 *                          stacks (with registers); mark allocation black;
 *                          grey the finalizer queue and finalizers' referents;
 *      mark                scan the snapshot and drain the grey objects
 *                          (mark.c): with the barrier declared, after the
 *                          world restarts, on a quarter of the cores plus
 *                          assists by threads that allocate meanwhile;
 *                          without it, before the restart, on all cores;
 *      mark termination    stop (if running), drain what the barrier
 *                          greyed since, turn marking off, flush the
 *                          threads' caches and queue every span for sweeping;
 *      sweep               lazily, as threads need spans, and on the
 *                          collector thread in the background (heap.c).
 *
 * 3. The write barrier (hp_gc_store) is Yuasa's deletion barrier: while
 *    marking runs, the pointer a store overwrites is greyed first.  With
 *    the roots copied at the stop and new objects born marked, every object
 *    reachable when marking began is marked (snapshot at the beginning), so
 *    the threads need not be stopped again to rescan their stacks, and
 *    mark termination only drains what the barrier greyed.  Stores of
 *    pointers into fresh (zeroed) slots need no barrier in this scheme, but
 *    the API asks for all of them: it costs little and stays right if the
 *    scheme changes.  Stores into globals, stacks and malloc'd memory
 *    need none.
 *
 * 4. Safe points (stw.c): GC code that must not be cut in two by a stop
 *    runs between hpi_gc_enter and hpi_gc_leave (internal.h); a stop
 *    request that arrives there waits for the leave.  Every GC lock is
 *    taken only inside such sections, so a stopped thread never holds
 *    one, and the collector never takes a lock of malloc's while the world
 *    is stopped.
 *
 * 5. Pacing and the memory limit: pacer.c.  Finalizers: finalizer.c.
 *
 * The collector, the marker helpers and the finalizer thread are made on
 * first use of the GC heap; a program that never calls hp_gc_* pays only
 * for this file's code being linked in.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "gc/internal.h"
#include "hotpath/gc.h"
#include "hotpath/pool.h"
#include "prof/memprof.h"
#include "prof/threads.h"

hpi_gc_state_t hpi_gc = {.percent = 100, .memlimit = INT64_MAX, .trigger = UINT64_MAX,
                         .goal = UINT64_MAX};

static struct {
    _Atomic int inited;         /* 0 no, 1 in progress, 2 done */
    _Atomic int running;        /* the collector thread exists */
    _Atomic int req;            /* futex: bumped to wake the collector */
    _Atomic int want_forced;    /* hp_gc_collect tickets handed out */
    _Atomic int done_forced;    /* futex: tickets served */
    _Atomic int trigger_sent;   /* a trigger wake is on its way */
    pthread_mutex_t cycle;      /* held by the collector during a cycle, and by fork */
    pthread_key_t key;          /* thread exit: the cache goes back */
    uint64_t not_before;        /* collector: rest until then (memory limit) */
    int nprocs;                 /* fixed at init */
} ctl = {.cycle = PTHREAD_MUTEX_INITIALIZER};

bool hpi_gc_in_use(void) { return atomic_load(&ctl.inited) == 2; }

int hpi_gc_nprocs(void) { return ctl.nprocs > 0 ? ctl.nprocs : 1; }

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- a cycle ---- */

static void mark_concurrent(hpi_gc_cycle_t *c)
{
    uint64_t t = hpi_nanotime(), cpu = thread_cpu_ns();
    c->stw1_ns = t - c->start_ns;
    hpi_gc_start_world();
    hpi_gc_roots_scan();
    int workers = ctl.nprocs / 4 > 1 ? ctl.nprocs / 4 : 1;
    /* Assists may hold grey objects the drain did not see: go on until the
     * queue stays empty, so that mark termination has little left. */
    do {
        hpi_gc_drain_parallel(workers);
    } while (!hpi_gc_work_empty() && (sched_yield(), true));
    c->mark_ns = hpi_nanotime() - t;
    c->cpu_mark_bg_ns = (thread_cpu_ns() - cpu) + (uint64_t)(workers - 1) * c->mark_ns;
    t = hpi_nanotime();
    hpi_gc_stop_world();
    c->t_stw2 = t;
}

static void limit_scavenge(void);

static void run_cycle(bool forced)
{
    hpi_gc_cycle_t c = {.forced = forced, .nprocs = ctl.nprocs};
    while (hpi_gc_sweep_one()) {}
    hpi_gc_publish_if_swept();
    limit_scavenge(); /* the sweep has freed what it could: cycles may come back to back */
    hpi_gc_roots_prepare();
    bool conc = atomic_load(&hpi_gc.barrier);
    c.goal = atomic_load(&hpi_gc.goal);
    c.start_ns = hpi_nanotime();
    c.heap_start = atomic_load(&hpi_gc.heap_live);
    hpi_gc_stop_world();
    hpi_gc_mark_reset();
    hpi_gc_heap_start_mark();
    atomic_store(&hpi_gc.phase, GCP_MARK);
    if (conc) atomic_store(&hpi_gc.wb_on, 1);
    if (hpi_gc_roots_snapshot() != 0) hpi_fatal("gc: out of memory for the root snapshot");
    hpi_gc_finalizer_roots();
    if (conc) {
        mark_concurrent(&c);
    } else {
        hpi_gc_roots_scan();
        c.t_stw2 = hpi_nanotime();
    }
    /* What the barrier greyed since is little: helpers woken for it would
     * only add their wake-up to the pause. */
    hpi_gc_drain_parallel(conc && hpi_gc_work_small() ? 1 : ctl.nprocs);
    atomic_store(&hpi_gc.wb_on, 0);
    atomic_store(&hpi_gc.phase, GCP_SWEEP);
    hpi_gc_heap_end_mark();
    atomic_fetch_add(&hpi_gc.prof_epoch, 1);
    c.heap_end = atomic_load(&hpi_gc.heap_live);
    hpi_gc_start_world();
    c.end_ns = hpi_nanotime();
    if (conc)
        c.stw2_ns = c.end_ns - c.t_stw2;
    else
        c.stw1_ns = c.end_ns - c.start_ns;
    uint64_t black = c.heap_end > c.heap_start ? c.heap_end - c.heap_start : 0;
    c.heap_marked = hpi_gc_marked_bytes() + (conc ? black : 0);
    atomic_store(&hpi_gc.marked, c.heap_marked);
    hpi_gc_pacer_set_goal(c.heap_marked);
    c.stacks = hpi_gc_roots_stack_bytes();
    c.globals = hpi_gc_roots_global_bytes();
    hpi_gc_pacer_record(&c);
    int64_t limit = atomic_load(&hpi_gc.memlimit);
    if (limit != INT64_MAX && atomic_load(&hpi_gc.goal) < c.heap_marked + c.heap_marked / 8)
        ctl.not_before = c.end_ns + (c.end_ns - c.start_ns); /* cap GC CPU near 50% */
}

/* Under a memory limit, past 95% of it: give every free page back now. */
static void limit_scavenge(void)
{
    if (atomic_load(&hpi_gc.memlimit) != INT64_MAX &&
        hpi_gc_memory_in_use() > (uint64_t)atomic_load(&hpi_gc.memlimit) / 20 * 19)
        hpi_heap_scavenge(0, hpi_nanotime());
}

void hpi_gc_limit_check(void)
{
    uint64_t limit = (uint64_t)atomic_load(&hpi_gc.memlimit);
    if (hpi_gc_memory_in_use() <= limit / 20 * 19) return;
    hpi_heap_scavenge(0, hpi_nanotime());
    if (hpi_gc_memory_in_use() > limit / 20 * 19) hpi_gc_trigger();
}

/* Sweep in the background, then keep to the limit. */
static void background_sweep(void)
{
    while (hpi_gc_sweep_one())
        if (atomic_load(&ctl.want_forced) != atomic_load(&ctl.done_forced)) return;
    hpi_gc_publish_if_swept(); /* the heap profile's cycle */
    limit_scavenge();
}

/* Whether the heap has reached its trigger and the pacer's pause is over. */
static bool trigger_due(void)
{
    if (atomic_load(&hpi_gc.heap_live) < atomic_load(&hpi_gc.trigger)) return false;
    return hpi_nanotime() >= ctl.not_before;
}

static void *collector_main(void *arg)
{
    (void)arg;
    hpi_gc_exempt_self();
    pthread_setname_np(pthread_self(), "hp-gc");
    for (;;) {
        int r = atomic_load(&ctl.req);
        /* The last cycle's garbage counts in heap_live until it is swept:
         * sweep before deciding that the trigger is reached, or a cycle
         * would follow every cycle at once. */
        if (atomic_load(&ctl.want_forced) == atomic_load(&ctl.done_forced)) background_sweep();
        /* One read of the tickets decides both whether the cycle is forced
         * and which calls it serves: a call that arrives after this read
         * waits for the next cycle, so each call is counted as forced once. */
        int covers = atomic_load(&ctl.want_forced);
        bool forced = covers != atomic_load(&ctl.done_forced);
        if (!forced && !trigger_due()) {
            atomic_store(&ctl.trigger_sent, 0);
            hpi_futex_wait(&ctl.req, r, 100000000);
            continue;
        }
        pthread_mutex_lock(&ctl.cycle);
        run_cycle(forced);
        pthread_mutex_unlock(&ctl.cycle);
        atomic_store(&ctl.done_forced, covers);
        hpi_futex_wake(&ctl.done_forced, INT32_MAX);
        hpi_gc_finalizer_wake();
        hp_pool_trim(); /* idle pool objects age by one cycle, as sync.Pool's */
    }
    return NULL;
}

static void wake_collector(void)
{
    atomic_fetch_add(&ctl.req, 1);
    hpi_futex_wake(&ctl.req, 1);
}

void hpi_gc_trigger(void)
{
    if (atomic_exchange(&ctl.trigger_sent, 1) == 0) wake_collector();
}

void hpi_gc_assist(uint64_t bytes)
{
    if (!atomic_load_explicit(&hpi_gc.wb_on, memory_order_relaxed)) return;
    uint64_t over = atomic_load(&hpi_gc.heap_live) > atomic_load(&hpi_gc.goal);
    hpi_gc_drain_some(bytes * (over ? 8 : 2));
}

/* ---- start-up ---- */

static void start_collector(void)
{
    if (atomic_exchange(&ctl.running, 1)) return;
    pthread_t th;
    if (pthread_create(&th, NULL, collector_main, NULL) != 0) {
        atomic_store(&ctl.running, 0);
        hpi_printf_err("gc: cannot start the collector thread");
        return;
    }
    pthread_detach(th);
    hpi_gc_mark_init();
    hpi_gc_finalizer_ensure();
}

/* "off" or a non-negative integer percentage. */
static void parse_percent(const char *s)
{
    if (s == NULL) return;
    char *end;
    long v = strtol(s, &end, 10);
    if (strcasecmp(s, "off") == 0)
        atomic_store(&hpi_gc.percent, -1);
    else if (end != s && *end == 0 && v >= 0 && v <= 1000000)
        atomic_store(&hpi_gc.percent, (int)v);
    else
        hpi_printf_err("ignoring HOTPATH_GC=\"%.64s\": want off or a percentage; keeping 100", s);
}

/* Bytes with an optional B, KiB, MiB, GiB or TiB unit, as GOMEMLIMIT. */
static void parse_limit(const char *s)
{
    if (s == NULL) return;
    static const struct { const char *unit; int shift; } units[] = {
        {"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}};
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    for (size_t i = 0; end != s && errno == 0 && s[0] != '-' && i < sizeof units / sizeof *units; i++) {
        if (strcmp(end, units[i].unit) != 0) continue;
        if (v > (unsigned long long)(INT64_MAX >> units[i].shift)) break;
        atomic_store(&hpi_gc.memlimit, (int64_t)(v << units[i].shift));
        return;
    }
    hpi_printf_err("ignoring HOTPATH_MEMLIMIT=\"%.64s\": want bytes, with B, KiB, MiB, GiB or TiB",
                   s);
}

/* GODEBUG-style: comma-separated name=value; gctrace is the one we know. */
static void parse_debug(const char *s)
{
    if (s == NULL) return;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 9 && strncmp(p, "gctrace=1", 9) == 0)
            atomic_store(&hpi_gc.gctrace, 1);
        else if (len == 9 && strncmp(p, "gctrace=0", 9) == 0)
            atomic_store(&hpi_gc.gctrace, 0);
        else if (len > 0)
            hpi_printf_err("ignoring \"%.*s\" in HOTPATH_DEBUG: known: gctrace=0|1", (int)len, p);
        p += len + (p[len] == ',');
    }
}

static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

HPI_CORE static void thread_exit(void *arg)
{
    (void)arg;
    hpi_gc_cache_release();
}

void hpi_gc_init(void)
{
    if (atomic_load(&ctl.inited) == 2) return;
    int zero = 0;
    if (!atomic_compare_exchange_strong(&ctl.inited, &zero, 1)) {
        while (atomic_load(&ctl.inited) != 2) sched_yield();
        return;
    }
    hpi_options_init();
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    ctl.nprocs = n > 0 ? (int)n : 1;
    parse_percent(hpi_options.gc);
    parse_limit(hpi_options.memlimit);
    parse_debug(hpi_options.debug);
    atomic_store(&hpi_gc.poison, (int)hpi_options.gc_poison);
    hpi_gc_pacer_init();
    hpi_gc_pacer_set_goal(0);
    hpi_gc_stw_init();
    pthread_key_create(&ctl.key, thread_exit);
    hpi_atfork(fork_prepare, fork_parent, fork_child);
    hpi_thread_register_self();
    start_collector();
    atomic_store(&ctl.inited, 2);
}

/* A thread's first GC call: known to the registry, cache released at exit. */
static bool thread_setup(void)
{
    hpi_gc_init();
    if (hpi_thread_register_self() == NULL || !hpi_gc_cache_make()) return false;
    pthread_setspecific(ctl.key, (void *)1);
    if (!atomic_load(&ctl.running)) start_collector();
    return true;
}

/* ---- the API ---- */

static void *gc_alloc(size_t size, bool noscan)
{
    if (HPI_UNLIKELY(hpi_gc_tls.cache == NULL || !atomic_load_explicit(&ctl.running,
                                                                       memory_order_relaxed)) &&
        !thread_setup()) {
        errno = ENOMEM;
        return NULL;
    }
    return hpi_gc_alloc_obj(size, noscan); /* on failure: collects, retries once, ENOMEM */
}

HP_API void *hp_gc_alloc(size_t size) { return gc_alloc(size, false); }
HP_API void *hp_gc_alloc_noscan(size_t size) { return gc_alloc(size, true); }

static void wait_forced(void *ticket)
{
    for (int d; (d = atomic_load(&ctl.done_forced)) - *(int *)ticket < 0;)
        hpi_futex_wait(&ctl.done_forced, d, 0);
}

HP_API void hp_gc_collect(void)
{
    thread_setup();
    int ticket = atomic_fetch_add(&ctl.want_forced, 1) + 1;
    wake_collector();
    hpi_gc_blocking(wait_forced, &ticket); /* the cycle's stops need not wake it */
    hpi_gc_sweep_all_publish();
    hpi_gc_finalizer_wake();
}

static void repace(void)
{
    hpi_gc_pacer_set_goal(atomic_load(&hpi_gc.marked));
    wake_collector();
}

HP_API int hp_gc_set_percent(int percent)
{
    hpi_gc_init();
    int old = atomic_exchange(&hpi_gc.percent, percent < 0 ? -1 : percent);
    repace();
    return old;
}

HP_API int64_t hp_gc_set_memory_limit(int64_t bytes)
{
    hpi_gc_init();
    if (bytes < 0) return atomic_load(&hpi_gc.memlimit);
    int64_t old = atomic_exchange(&hpi_gc.memlimit, bytes);
    repace();
    return old;
}

HP_API int hp_gc_set_finalizer(void *obj, void (*fn)(void *obj))
{
    hpi_gc_init();
    return hpi_gc_finalizer_set(obj, fn);
}

HP_API int hp_gc_use_barrier(int on)
{
    hpi_gc_init();
    int old = atomic_exchange(&hpi_gc.barrier, on != 0);
    repace();
    return old;
}

/* The store while marking runs: grey the pointer it overwrites first.  (If
 * marking ended since the caller looked, the grey is harmless.) */
static __attribute__((noinline)) void store_shading(void **slot, void *value)
{
    hpi_gc_enter();
    void *old = *slot;
    if (old != NULL) hpi_gc_shade((uintptr_t)old);
    *(void *volatile *)slot = value;
    hpi_gc_leave();
}

/* The look at wb_on and the store are one critical section, so no stop (and
 * no mark start) falls between them.  Shading is a call of its own, so that
 * the common cases need no stack frame: no marking, or a slot that held
 * nothing (a new object's). */
HP_API void hp_gc_store(void **slot, void *value)
{
    hpi_gc_enter();
    if (HPI_UNLIKELY(atomic_load_explicit(&hpi_gc.wb_on, memory_order_relaxed)) &&
        *(void *volatile *)slot != NULL) {
        hpi_gc_leave();
        store_shading(slot, value);
        return;
    }
    *(void *volatile *)slot = value;
    hpi_gc_leave();
}

HP_API void hp_gc_register_thread(void) { thread_setup(); }

/* ---- fork ---- */

static void fork_prepare(void)
{
    pthread_mutex_lock(&ctl.cycle); /* no cycle runs across fork */
    hpi_gc_finalizer_fork_prepare();
    hpi_gc_roots_fork_prepare();
    hpi_gc_heap_fork_prepare();
    hpi_gc_mark_fork_prepare();
}

static void fork_parent(void)
{
    hpi_gc_mark_fork_parent();
    hpi_gc_heap_fork_parent();
    hpi_gc_roots_fork_parent();
    hpi_gc_finalizer_fork_parent();
    pthread_mutex_unlock(&ctl.cycle);
}

/* The collector, the helpers and the finalizer thread are gone: the next
 * GC call starts them again. */
static void fork_child(void)
{
    hpi_gc_mark_fork_child();
    hpi_gc_heap_fork_child();
    hpi_gc_roots_fork_child();
    hpi_gc_finalizer_fork_child();
    hpi_gc_stw_fork_child();
    pthread_mutex_init(&ctl.cycle, NULL);
    atomic_store(&ctl.running, 0);
    atomic_store(&ctl.trigger_sent, 0);
    atomic_store(&ctl.done_forced, atomic_load(&ctl.want_forced));
}
