/* gc_test: the garbage-collected heap (hotpath/gc.h, src/gc/).
 *
 * One program, one subtest per argument, so that ctest runs each alone as
 * gc_<name> (tests/CMakeLists.txt).  A failed check prints "FAIL: <name>:
 * ..." on stderr; the program then exits 1, or prints "ok" and exits 0.
 *
 *   trees          Boehm's GCBench: a long-lived tree of depth 16 and an
 *                  array of doubles survive ~15M short-lived nodes built
 *                  top-down and bottom-up; their checksums hold, automatic
 *                  collections ran, and the short-lived trees were reclaimed
 *   graph          a 200k-node random graph, reachable from a root array,
 *                  mutated by 4 threads for 2 s while a fifth collects in a
 *                  loop; every node touched, then every reachable node, has
 *                  its checksum (plain stores: stop-the-world marking)
 *   graph_barrier  the same with hp_gc_use_barrier(1) and every pointer store
 *                  into a GC object through HP_GC_STORE (concurrent marking)
 *   finalizers     10000 dropped objects are finalized exactly once, on
 *                  another thread; kept objects and one whose finalizer was
 *                  removed are not; EINVAL for pointers not a GC object's start
 *   roots          an object kept only by a global, a main-thread local,
 *                  a sleeping thread's stack, a register of a spinning thread,
 *                  a range given to hp_gc_add_roots, or an interior pointer
 *                  survives intact; each is finalized once let go; a control
 *                  object nothing refers to is finalized
 *   memlimit       a 64 MiB memory limit holds (heap_inuse and sys -
 *                  heap_released within 10%) under 2 GiB of allocation with
 *                  16 MiB live, with GOGC 400 and with GOGC off
 *   gctrace        HOTPATH_DEBUG=gctrace=1 prints one line per collection in
 *                  Go's format, numbered from 1, "(forced)" on hp_gc_collect's
 *   stats          the GC fields of hp_memstats_t after each hp_gc_collect;
 *                  hp_gc_set_percent and hp_gc_set_memory_limit defaults
 *   misc           size 0, zeroed memory, large objects, noscan objects,
 *                  malloc_usable_size, free() of a GC object, fork()
 *
 * ctest runs trees, graph, finalizers, roots and misc with HOTPATH_GC_POISON=1:
 * the sweeper fills freed objects with 0xdb, so a reachable object freed by
 * mistake shows as a bad checksum or as the pointer 0xdbdbdbdbdbdbdbdb, both
 * reported as such.  SIGSEGV and SIGBUS are reported as FAIL lines too.
 *
 * The collector is conservative: a stale copy of a pointer in a dead stack
 * slot or a register may keep an object alive.  Tests that wait for an object
 * to die make it in a separate noinline function, clear the stack below them
 * (clear_stack) and poll with repeated collections.  Addresses the tests keep
 * only to compare are stored XORed with OBF_KEY so that they are not roots.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/gc.h"
#include "hotpath/memstats.h"
#include "test.h"

#define POISON 0xdbdbdbdbdbdbdbdbULL  /* HOTPATH_GC_POISON's fill, read as a word */
#define OBF_KEY 0x5a5a5a5a5a5a5a5aULL /* p ^ OBF_KEY is no pointer the collector knows */
#define MiB ((uint64_t)1 << 20)
#define NOINLINE __attribute__((noinline))

/* ---- the harness ---- */

static const char *sub = "gc_test"; /* the running subtest */
static atomic_uint checks, fails;

static bool expect_at(bool ok, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* EXPECT(cond, "what went wrong", ...): counts, and prints a FAIL line. */
#define EXPECT(cond, ...) expect_at(!!(cond), __LINE__, #cond, __VA_ARGS__)

static bool expect_at(bool ok, int line, const char *expr, const char *fmt, ...)
{
    atomic_fetch_add_explicit(&checks, 1, memory_order_relaxed);
    if (ok) return true;
    if (atomic_fetch_add(&fails, 1) >= 50) return false; /* the first ones say most */
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "FAIL: %s: %s [gc_test.c:%d: %s]\n", sub, msg, line, expr);
    return false;
}

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: %s: ", sub);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static size_t put_str(char *buf, size_t n, const char *s)
{
    while (*s && n < 255)
        buf[n++] = *s++;
    return n;
}

/* SIGSEGV, SIGBUS and the alarm: one FAIL line, written async-signal-safely. */
static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    char buf[256], hex[19] = "0x";
    size_t n = put_str(buf, put_str(buf, put_str(buf, 0, "FAIL: "), sub), ": ");
    if (sig == SIGALRM) {
        n = put_str(buf, n, "timed out (a deadlock, or far too slow)\n");
    } else {
        uintptr_t a = (uintptr_t)si->si_addr;
        for (int i = 0; i < 16; i++)
            hex[2 + i] = "0123456789abcdef"[(a >> (60 - 4 * i)) & 15];
        hex[18] = 0;
        n = put_str(buf, n, sig == SIGSEGV ? "SIGSEGV" : "SIGBUS");
        n = put_str(buf, n, " at ");
        n = put_str(buf, n, hex);
        n = put_str(buf, n, " (an object used after the collector freed it?)\n");
    }
    ssize_t w = write(2, buf, n);
    (void)w;
    _exit(1);
}

static void install_handlers(unsigned alarm_s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    alarm(alarm_s);
}

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps the whole time although the collector's signal interrupts it. */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Overwrite the stack below the caller, where dead frames keep stale
 * pointers that a conservative collector would take for live ones. */
static NOINLINE void clear_stack(void)
{
    char buf[32768];
    explicit_bzero(buf, sizeof buf);
    __asm__ volatile("" : : "r"(buf) : "memory");
}

static void *xalloc(size_t n)
{
    void *p = hp_gc_alloc(n);
    if (p == NULL) die("hp_gc_alloc(%zu) returned NULL", n);
    return p;
}

static void *xalloc_noscan(size_t n)
{
    void *p = hp_gc_alloc_noscan(n);
    if (p == NULL) die("hp_gc_alloc_noscan(%zu) returned NULL", n);
    return p;
}

static void collect_n(int n)
{
    for (int i = 0; i < n; i++)
        hp_gc_collect();
}

/* Collect every 20 ms until *c >= want or secs have passed. */
static bool poll_count(atomic_long *c, long want, int secs)
{
    uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)secs * 1000000000u;
    while (atomic_load(c) < want) {
        if (now_ns(CLOCK_MONOTONIC) > end) return false;
        clear_stack();
        hp_gc_collect();
        sleep_ms(20);
    }
    return true;
}

static bool is_poison(const void *p)
{
    return (uint64_t)(uintptr_t)p == POISON;
}

/* ---- trees: Boehm's GCBench ---- */

typedef struct tnode {
    struct tnode *left, *right;
    long val;
} tnode_t;

enum { STRETCH_DEPTH = 18, LONG_DEPTH = 16, MIN_DEPTH = 4, MAX_DEPTH = 16, ARRAY_LEN = 500000 };

static long tree_size(int depth)
{
    return (1L << (depth + 1)) - 1;
}

static tnode_t *tnode_new(tnode_t *l, tnode_t *r, long val)
{
    tnode_t *n = xalloc(sizeof *n);
    n->left = l;
    n->right = r;
    n->val = val;
    return n;
}

/* GCBench's Populate: top-down, children made before the recursion; values
 * number the nodes in the order made, from the root's +1. */
static void populate(int depth, tnode_t *n, long *next)
{
    if (depth <= 0) return;
    n->left = tnode_new(NULL, NULL, (*next)++);
    n->right = tnode_new(NULL, NULL, (*next)++);
    populate(depth - 1, n->left, next);
    populate(depth - 1, n->right, next);
}

/* GCBench's MakeTree: bottom-up; a node's value is its height. */
static tnode_t *make_tree(int depth)
{
    if (depth <= 0) return tnode_new(NULL, NULL, 0);
    tnode_t *l = make_tree(depth - 1);
    return tnode_new(l, make_tree(depth - 1), depth);
}

static long height_sum(int depth)
{
    return depth <= 0 ? 0 : depth + 2 * height_sum(depth - 1);
}

typedef struct tsum {
    long count, sum, poisoned;
} tsum_t;

static void tree_sum(const tnode_t *n, tsum_t *s)
{
    for (; n != NULL; n = n->right) {
        s->count++;
        s->sum += n->val;
        if (is_poison(n->left) || is_poison(n->right)) {
            s->poisoned++;
            return;
        }
        tree_sum(n->left, s);
    }
}

static bool tree_verify(const tnode_t *t, int depth, bool bottom_up, const char *what)
{
    tsum_t s = {0, 0, 0};
    tree_sum(t, &s);
    long count = tree_size(depth);
    long sum = bottom_up ? height_sum(depth) : count * (count - 1) / 2;
    return EXPECT(s.poisoned == 0 && s.count == count && s.sum == sum,
                  "%s of depth %d: %ld nodes summing to %ld, want %ld summing to %ld%s", what,
                  depth, s.count, s.sum, count, sum,
                  s.poisoned ? " (a 0xdb.. pointer: a node was freed while reachable)" : "");
}

static double array_sum(const double *a)
{
    double s = 0;
    for (long i = 0; i < ARRAY_LEN; i++)
        s += a[i];
    return s;
}

/* GCBench's TimeConstruction: as many nodes at each depth, every tree
 * checked, then dropped. */
static NOINLINE bool trees_short_lived(int depth)
{
    long iters = 2 * tree_size(STRETCH_DEPTH) / tree_size(depth);
    for (long i = 0; i < iters; i++) {
        tnode_t *t = tnode_new(NULL, NULL, 0);
        long next = 1;
        populate(depth, t, &next);
        if (!tree_verify(t, depth, false, "short-lived top-down tree")) return false;
        if (!tree_verify(make_tree(depth), depth, true, "short-lived bottom-up tree")) return false;
    }
    return true;
}

static void trees_verify_long(const tnode_t *t, const double *a, double want, const char *when)
{
    tree_verify(t, LONG_DEPTH, false, "long-lived tree");
    double got = array_sum(a);
    EXPECT(got == want, "%s: the long-lived array sums to %.17g, want %.17g", when, got, want);
}

static void test_trees(void)
{
    hp_memstats_t st;
    uint64_t t0 = now_ns(CLOCK_MONOTONIC);
    tree_verify(make_tree(STRETCH_DEPTH), STRETCH_DEPTH, true, "stretch tree");
    tnode_t *long_lived = tnode_new(NULL, NULL, 0);
    long next = 1;
    populate(LONG_DEPTH, long_lived, &next);
    double *array = xalloc_noscan(ARRAY_LEN * sizeof *array);
    for (long i = 0; i < ARRAY_LEN; i++)
        array[i] = 1.0 / (double)(i + 1);
    double want = array_sum(array);

    hp_read_memstats(&st);
    uint32_t gc0 = st.num_gc, forced0 = st.num_forced_gc;
    for (int d = MIN_DEPTH; d <= MAX_DEPTH; d += 2)
        if (!trees_short_lived(d)) break;
    hp_read_memstats(&st);
    uint32_t autos = (st.num_gc - gc0) - (st.num_forced_gc - forced0);
    EXPECT(autos > 0, "no automatic collection while the short-lived trees were built");
    trees_verify_long(long_lived, array, want, "after the short-lived trees");

    clear_stack();
    collect_n(3);
    trees_verify_long(long_lived, array, want, "after 3 hp_gc_collect()");
    hp_read_memstats(&st);
    uint64_t long_bytes = tree_size(LONG_DEPTH) * sizeof(tnode_t) + ARRAY_LEN * sizeof(double);
    EXPECT(st.gc_heap_alloc < 3 * long_bytes,
           "gc_heap_alloc is %" PRIu64 " after collecting, over 3x the %" PRIu64
           " bytes kept: short-lived trees were not reclaimed",
           st.gc_heap_alloc, long_bytes);
    printf("trees: %u automatic collections, %.2f s, gc_heap_alloc %.1f MiB at the end\n", autos,
           (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9, (double)st.gc_heap_alloc / (double)MiB);
}

/* ---- graph, graph_barrier: a random graph mutated by 4 threads ---- */

enum { G_NODES = 200000, G_ROOTS = 4096, G_EDGES = 4, G_PAY = 6, G_MUTATORS = 4 };
enum { G_MILLIS = 2000, G_COLLECT_GAP_MS = 20 };
#define G_MAGIC 0x6770686e6f646521ULL

typedef struct gnode {
    struct gnode *edge[G_EDGES];
    uint64_t magic; /* G_MAGIC */
    uint64_t sum;   /* gnode_hash(): set once, like id and pay */
    uint32_t id;
    uint32_t mark; /* the last whole-graph walk that counted it */
    uint32_t pay[G_PAY];
} gnode_t;

static gnode_t **g_roots; /* a GC object of G_ROOTS slots, the graph's only root */
static bool g_barrier;    /* graph_barrier: every store through HP_GC_STORE */
static atomic_bool g_stop;
static atomic_int g_pressure; /* from the collector: 1 graph too big, -1 too small */
static atomic_uint g_next_id;

static uint64_t gnode_hash(const gnode_t *n)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ n->id;
    for (int i = 0; i < G_PAY; i++)
        h = (h ^ n->pay[i]) * 0x100000001b3ULL;
    return h;
}

static bool gnode_ok(const gnode_t *n, const char *where)
{
    if (n->magic == G_MAGIC && n->sum == gnode_hash(n)) return true;
    atomic_store(&g_stop, true);
    return EXPECT(false,
                  "%s: node %p has magic %#" PRIx64 " (want %#llx) and checksum %#" PRIx64
                  " (its contents hash to %#" PRIx64 ")%s",
                  where, (const void *)n, n->magic, G_MAGIC, n->sum, gnode_hash(n),
                  n->magic == POISON ? ": 0xdb poison, the node was freed while reachable" : "");
}

static gnode_t *gload(gnode_t *const *slot, const char *where)
{
    gnode_t *v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!is_poison(v)) return v;
    atomic_store(&g_stop, true);
    EXPECT(false,
           "%s: read 0xdbdbdbdbdbdbdbdb as a pointer at %p: the object holding it was"
           " freed while reachable",
           where, (const void *)slot);
    return NULL;
}

/* Every pointer store into a GC object in these two tests goes here. */
static void gstore(gnode_t **slot, gnode_t *v)
{
    if (g_barrier) {
        atomic_thread_fence(memory_order_release); /* the node's contents before it */
        HP_GC_STORE(*slot, v);
    } else {
        __atomic_store_n(slot, v, __ATOMIC_RELEASE);
    }
}

static gnode_t *gnode_new(uint64_t *rng)
{
    gnode_t *n = xalloc(sizeof *n);
    n->magic = G_MAGIC;
    n->id = atomic_fetch_add_explicit(&g_next_id, 1, memory_order_relaxed);
    for (int i = 0; i < G_PAY; i++)
        n->pay[i] = (uint32_t)test_rand(rng);
    n->sum = gnode_hash(n);
    return n;
}

/* G_NODES nodes in binary trees under the G_ROOTS roots, a quarter with one
 * cross link to an older node.  `all` keeps them alive meanwhile. */
static void graph_build(uint64_t *rng)
{
    gnode_t **all = xalloc(G_NODES * sizeof *all);
    gnode_t **roots = xalloc(G_ROOTS * sizeof *roots);
    g_roots = roots;
    for (uint32_t i = 0; i < G_NODES; i++) {
        gnode_t *n = gnode_new(rng);
        gstore(&all[i], n);
        if (i < G_ROOTS)
            gstore(&roots[i], n);
        else
            gstore(&all[(i - G_ROOTS) / 2]->edge[(i - G_ROOTS) % 2], n);
        if (i > 0 && test_rand(rng) % 4 == 0) gstore(&n->edge[2], all[test_rand(rng) % i]);
    }
}

typedef struct gstack {
    gnode_t **v;
    size_t n, cap;
} gstack_t;

static void gstack_push(gstack_t *s, gnode_t *n)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 65536;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (s->v == NULL) die("out of memory for the graph walk");
    }
    s->v[s->n++] = n;
}

/* Count every node reachable from the roots, checking each; the threads
 * are stopped.  The stack is malloc'd: the nodes are reachable anyway. */
static size_t graph_walk_all(uint32_t epoch)
{
    gstack_t s = {NULL, 0, 0};
    size_t count = 0;
    for (int r = 0; r < G_ROOTS; r++) {
        gnode_t *n = gload(&g_roots[r], "final walk, root array");
        if (n != NULL) gstack_push(&s, n);
    }
    while (s.n > 0) {
        gnode_t *n = s.v[--s.n];
        if (n->mark == epoch || !gnode_ok(n, "final walk")) continue;
        n->mark = epoch;
        count++;
        for (int e = 0; e < G_EDGES; e++) {
            gnode_t *c = gload(&n->edge[e], "final walk");
            if (c != NULL && c->mark != epoch) gstack_push(&s, c);
        }
    }
    free(s.v);
    return count;
}

typedef struct gworker {
    pthread_t tid;
    uint64_t rng;
    unsigned long ops, checked;
} gworker_t;

/* Change the graph at n, which *slot pointed to; *keep is a node seen
 * before, held only by the mutator's stack. */
static void graph_change(gworker_t *w, unsigned op, gnode_t **slot, gnode_t *n, gnode_t **keep)
{
    int pressure = atomic_load_explicit(&g_pressure, memory_order_relaxed);
    if (pressure > 0 && op < 8) op = 12;
    if (pressure < 0 && op >= 12) op = 10;
    unsigned k = (unsigned)(test_rand(&w->rng) % G_EDGES);
    if (op < 6) { /* replace n by a new node that takes over its edges, rotated */
        gnode_t *m = gnode_new(&w->rng);
        for (int e = 0; e < G_EDGES && n != NULL; e++)
            gstore(&m->edge[e], gload(&n->edge[(e + 1) % G_EDGES], "replace"));
        gstore(slot, m);
    } else if (op < 8) { /* move a subgraph of n's under *keep */
        if (n == NULL || *keep == NULL) return;
        gnode_t *c = gload(&n->edge[k], "move");
        gstore(&n->edge[k], NULL);
        gstore(&(*keep)->edge[(k + 1) % G_EDGES], c);
    } else if (op < 10) { /* relink the slot to the node seen before */
        if (*keep != NULL) gstore(slot, *keep);
    } else if (op < 12) { /* three new nodes above n and *keep */
        gnode_t *a = gnode_new(&w->rng), *b = gnode_new(&w->rng), *c = gnode_new(&w->rng);
        gstore(&b->edge[0], n);
        gstore(&c->edge[1], *keep);
        gstore(&a->edge[0], b);
        gstore(&a->edge[3], c);
        gstore(slot, a);
    } else if (n != NULL) { /* drop an edge and what hangs only from it */
        gstore(&n->edge[k], NULL);
    }
}

/* Walk from a random root to a random depth checking every node, change
 * the graph there, and make a little garbage. */
static void graph_op(gworker_t *w, gnode_t **keep)
{
    uint64_t r = test_rand(&w->rng);
    gnode_t **slot = &g_roots[r % G_ROOTS];
    gnode_t *n = gload(slot, "mutator, root array");
    for (int d = (int)((r >> 20) % 9); n != NULL; d--) {
        if (!gnode_ok(n, "mutator walk")) return;
        w->checked++;
        if (d == 0) break;
        gnode_t **next = &n->edge[test_rand(&w->rng) % G_EDGES];
        gnode_t *c = gload(next, "mutator walk");
        if (c == NULL) break;
        slot = next;
        n = c;
    }
    if (*keep != NULL && !gnode_ok(*keep, "mutator, node kept from an earlier walk")) return;
    graph_change(w, (unsigned)((r >> 40) % 16), slot, n, keep);
    if (n != NULL) *keep = n;
    gnode_t *garbage = gnode_new(&w->rng);
    gstore(&garbage->edge[1], n);
}

static void *graph_mutator(void *arg)
{
    gworker_t *w = arg;
    gnode_t *keep = NULL;
    while (!atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        graph_op(w, &keep);
        w->ops++;
    }
    return NULL;
}

/* Collect in a loop; steer the mutators to keep the graph near its size. */
static void *graph_collector(void *arg)
{
    uint64_t live0 = *(const uint64_t *)arg;
    uintptr_t n = 0;
    while (!atomic_load(&g_stop)) {
        hp_gc_collect();
        n++;
        hp_memstats_t st;
        hp_read_memstats(&st);
        int p = st.gc_heap_live > live0 * 3 / 2 ? 1 : st.gc_heap_live < live0 / 2 ? -1 : 0;
        atomic_store(&g_pressure, p);
        sleep_ms(G_COLLECT_GAP_MS);
    }
    return (void *)n;
}

/* Run the mutators and the collector for G_MILLIS; returns the collector's
 * hp_gc_collect calls and adds up the workers' counts in *total. */
static uintptr_t graph_mutate(uint64_t live0, gworker_t *total)
{
    gworker_t w[G_MUTATORS];
    pthread_t collector;
    void *collections = NULL;
    if (pthread_create(&collector, NULL, graph_collector, &live0) != 0) die("pthread_create");
    for (int i = 0; i < G_MUTATORS; i++) {
        w[i] = (gworker_t){.rng = 1000 + (uint64_t)i};
        if (pthread_create(&w[i].tid, NULL, graph_mutator, &w[i]) != 0) die("pthread_create");
    }
    uint64_t end = now_ns(CLOCK_MONOTONIC) + G_MILLIS * 1000000ull;
    while (now_ns(CLOCK_MONOTONIC) < end && !atomic_load(&g_stop))
        sleep_ms(10);
    atomic_store(&g_stop, true);
    for (int i = 0; i < G_MUTATORS; i++) {
        pthread_join(w[i].tid, NULL);
        total->ops += w[i].ops;
        total->checked += w[i].checked;
    }
    pthread_join(collector, &collections);
    return (uintptr_t)collections;
}

static void graph_run(bool barrier)
{
    hp_memstats_t st;
    uint64_t rng = 42;
    if (barrier)
        EXPECT(hp_gc_use_barrier(1) == 0, "hp_gc_use_barrier(1) did not return 0, the default");
    g_barrier = barrier;
    graph_build(&rng);
    clear_stack();
    hp_gc_collect();
    size_t n0 = graph_walk_all(1);
    EXPECT(n0 == G_NODES, "after building, %zu nodes are reachable, want %d", n0, G_NODES);
    hp_read_memstats(&st);
    uint32_t gc0 = st.num_gc, forced0 = st.num_forced_gc;

    gworker_t total = {.ops = 0};
    uintptr_t collections = graph_mutate(st.gc_heap_live, &total);
    hp_read_memstats(&st);
    uint32_t forced = st.num_forced_gc - forced0, autos = st.num_gc - gc0 - forced;
    EXPECT(collections > 0, "the collector thread never returned from hp_gc_collect");
    EXPECT(forced == collections, "%u forced collections counted for %zu hp_gc_collect calls",
           forced, (size_t)collections);
    if (atomic_load(&fails) == 0) /* else the mutators stopped early */
        EXPECT(autos > 0, "no automatic collection in %d ms of allocation", G_MILLIS);

    clear_stack();
    collect_n(2);
    size_t n1 = graph_walk_all(2);
    EXPECT(n1 >= 1000, "only %zu nodes reachable at the end: the mutators emptied the graph", n1);
    hp_read_memstats(&st);
    EXPECT(st.gc_heap_objects >= n1, "gc_heap_objects %" PRIu64 " < %zu nodes reachable",
           st.gc_heap_objects, n1);
    printf("graph%s: %lu ops checking %lu nodes, %u forced + %u automatic collections, "
           "%zu nodes reachable at the end\n",
           barrier ? " (barrier)" : "", total.ops, total.checked, forced, autos, n1);
}

static void test_graph(void)
{
    graph_run(false);
}

static void test_graph_barrier(void)
{
    graph_run(true);
}

/* ---- finalizers ---- */

enum { FIN_N = 10000, FIN_KEEP = 100, FIN_ALL = FIN_N + FIN_KEEP + 1 };
#define FIN_REMOVED (FIN_N + FIN_KEEP) /* the id whose finalizer is removed */
#define FIN_MAGIC 0x66696e616c697a65ULL

typedef struct fobj {
    uint64_t magic;
    uint32_t id;
    uint64_t *child; /* a noscan object holding fin_child_word(id) */
} fobj_t;

static atomic_uchar fin_runs[FIN_ALL];
static atomic_long fin_total;
static uintptr_t fin_addr[FIN_ALL]; /* each object's address ^ OBF_KEY */
static fobj_t *fin_keep[FIN_KEEP];  /* ids FIN_N.. stay reachable from here */
static pthread_t main_tid;

static uint64_t fin_child_word(uint32_t id)
{
    return (id + 1) * 0x9e3779b97f4a7c15ULL;
}

static bool fin_intact(const fobj_t *o, uint32_t id)
{
    return o->magic == FIN_MAGIC && o->id == id && o->child != NULL &&
           o->child[0] == fin_child_word(id);
}

static void fin_run(void *p)
{
    fobj_t *o = p;
    uint32_t id = o->id;
    bool known = o->magic == FIN_MAGIC && id < FIN_ALL;
    if (!EXPECT(known && fin_addr[id] == ((uintptr_t)p ^ OBF_KEY) && fin_intact(o, id),
                "finalizer called on %p: not a live test object (magic %#" PRIx64 ", id %u)", p,
                o->magic, id))
        return;
    EXPECT(!pthread_equal(pthread_self(), main_tid), "finalizer ran on the main thread");
    atomic_fetch_add(&fin_runs[id], 1);
    if (id % 100 == 0) xalloc(64); /* a finalizer may allocate */
    atomic_fetch_add(&fin_total, 1);
}

static NOINLINE void fin_make(uint32_t id)
{
    fobj_t *o = xalloc(sizeof *o);
    o->magic = FIN_MAGIC;
    o->id = id;
    o->child = xalloc_noscan(16);
    o->child[0] = fin_child_word(id);
    fin_addr[id] = (uintptr_t)o ^ OBF_KEY;
    EXPECT(hp_gc_set_finalizer(o, fin_run) == 0, "hp_gc_set_finalizer failed on object %u", id);
    if (id >= FIN_N && id < FIN_N + FIN_KEEP) fin_keep[id - FIN_N] = o;
    if (id == FIN_REMOVED)
        EXPECT(hp_gc_set_finalizer(o, NULL) == 0, "hp_gc_set_finalizer(obj, NULL) failed");
}

static void fin_einval(void)
{
    int local = 0;
    void *m = malloc(64);
    char *gc = xalloc(64);
    EXPECT(hp_gc_set_finalizer(m, fin_run) == EINVAL, "a malloc'd pointer was accepted");
    EXPECT(hp_gc_set_finalizer(&local, fin_run) == EINVAL, "a stack address was accepted");
    EXPECT(hp_gc_set_finalizer(&fin_total, fin_run) == EINVAL, "a global's address was accepted");
    EXPECT(hp_gc_set_finalizer(NULL, fin_run) == EINVAL, "NULL was accepted");
    EXPECT(hp_gc_set_finalizer(gc + 8, fin_run) == EINVAL, "an interior pointer was accepted");
    free(m);
}

/* Ids in [lo, hi) whose finalizer ran other than `want` times. */
static void fin_expect_runs(uint32_t lo, uint32_t hi, unsigned want, const char *what)
{
    uint32_t wrong = 0, first = 0;
    for (uint32_t id = lo; id < hi; id++)
        if (atomic_load(&fin_runs[id]) != want && wrong++ == 0) first = id;
    EXPECT(wrong == 0, "%u %s objects were not finalized exactly %u times (first: id %u, %u times)",
           wrong, what, want, first, wrong ? (unsigned)atomic_load(&fin_runs[first]) : 0u);
}

/* Apart, so that no kept object's address stays in test_finalizers' frame. */
static NOINLINE void fin_check_kept(void)
{
    for (int i = 0; i < FIN_KEEP; i++)
        EXPECT(fin_intact(fin_keep[i], FIN_N + i), "kept object %d was damaged", FIN_N + i);
}

static void test_finalizers(void)
{
    hp_memstats_t st;
    main_tid = pthread_self();
    fin_einval();
    for (uint32_t id = 0; id < FIN_ALL; id++)
        fin_make(id);
    clear_stack();
    collect_n(3);
    EXPECT(poll_count(&fin_total, FIN_N, 10),
           "after 10 s only %ld of %d dropped objects were finalized", atomic_load(&fin_total),
           FIN_N);
    collect_n(2);
    sleep_ms(200);
    EXPECT(atomic_load(&fin_total) == FIN_N, "%ld finalizers ran, want %d", atomic_load(&fin_total),
           FIN_N);
    fin_expect_runs(0, FIN_N, 1, "dropped");
    fin_expect_runs(FIN_N, FIN_N + FIN_KEEP, 0, "kept (in a global array)");
    fin_expect_runs(FIN_REMOVED, FIN_ALL, 0, "finalizer-removed");
    fin_check_kept();

    /* The kept ones were alive through fin_keep alone: drop it, and they go too. */
    memset(fin_keep, 0, sizeof fin_keep);
    clear_stack();
    EXPECT(poll_count(&fin_total, FIN_N + FIN_KEEP, 10),
           "after 10 s only %ld of %d objects were finalized once the array was cleared",
           atomic_load(&fin_total), FIN_N + FIN_KEEP);
    collect_n(2);
    sleep_ms(200);
    fin_expect_runs(0, FIN_N + FIN_KEEP, 1, "dropped or released");
    fin_expect_runs(FIN_REMOVED, FIN_ALL, 0, "finalizer-removed");
    EXPECT(atomic_load(&fin_total) == FIN_N + FIN_KEEP, "%ld finalizers ran in all, want %d",
           atomic_load(&fin_total), FIN_N + FIN_KEEP);

    /* Finalized objects are freed by a later collection. */
    clear_stack();
    collect_n(2);
    hp_read_memstats(&st);
    EXPECT(st.gc_heap_objects < FIN_ALL / 10,
           "%" PRIu64 " GC objects left after every object was finalized and collected twice",
           st.gc_heap_objects);
}

/* ---- roots ---- */

enum { R_GLOBAL, R_STACK, R_THREAD, R_REGISTER, R_ADDROOTS, R_INTERIOR, R_CONTROL, R_KINDS };
enum { ROBJ_WORDS = 32, R_INTERIOR_OFFSET = 131, R_BUF_SLOTS = 64, R_BUF_AT = 17 };

static const char *const r_name[R_KINDS] = {
    "global variable",         "main thread's local",
    "sleeping thread's local", "callee-saved register of a spinning thread",
    "hp_gc_add_roots range",   "interior pointer",
    "nothing (control)"};
static atomic_long r_fin[R_KINDS];
void *g_root_global;   /* R_GLOBAL */
char *g_root_interior; /* R_INTERIOR: R_INTERIOR_OFFSET bytes into its object */
static void **r_buf;   /* R_ADDROOTS: malloc'd, registered */
static atomic_int sleeper_ready, sleeper_stop, sleeper_ok, spinner_ok;
static volatile uintptr_t reg_obf; /* the register-held object ^ OBF_KEY, or 0 while held */
static volatile int reg_ready, reg_stop;

static uint64_t robj_word(int kind, int i)
{
    return i == 0 ? (uint64_t)kind
                  : (0x9e3779b97f4a7c15ULL * (uint64_t)(kind + 1)) ^ (uint64_t)i << 48;
}

static void robj_fin(void *p)
{
    uint64_t kind = *(uint64_t *)p;
    if (EXPECT(kind < R_KINDS, "a roots finalizer got an object of kind %#" PRIx64, kind))
        atomic_fetch_add(&r_fin[kind], 1);
}

static NOINLINE void *robj_make(int kind)
{
    uint64_t *w = xalloc(ROBJ_WORDS * sizeof *w);
    for (int i = 0; i < ROBJ_WORDS; i++)
        w[i] = robj_word(kind, i);
    EXPECT(hp_gc_set_finalizer(w, robj_fin) == 0, "hp_gc_set_finalizer failed");
    return w;
}

static bool robj_intact(const void *p, int kind)
{
    const uint64_t *w = p;
    for (int i = 0; w != NULL && i < ROBJ_WORDS; i++)
        if (w[i] != robj_word(kind, i)) return false;
    return w != NULL;
}

static void *roots_sleeper(void *arg)
{
    (void)arg;
    void *volatile p = robj_make(R_THREAD);
    atomic_store(&sleeper_ready, 1);
    while (!atomic_load(&sleeper_stop))
        sleep_ms(2);
    atomic_store(&sleeper_ok, robj_intact(p, R_THREAD) ? 1 : -1);
    return NULL;
}

#if defined(__x86_64__)
/* Hold the object in r12 alone: de-obfuscate it into r12, clear the memory
 * copy and every caller-saved register, sleep in 1 ms nanosleep calls until
 * reg_stop, then put it back obfuscated. */
static void reg_hold(void)
{
    static const struct timespec ms1 = {0, 1000000};
    __asm__ volatile("movq %[obf], %%r12\n\t"
                     "movabsq $0x5a5a5a5a5a5a5a5a, %%rax\n\t"
                     "xorq %%rax, %%r12\n\t"
                     "movq $0, %[obf]\n\t"
                     "xorl %%eax, %%eax\n\txorl %%ecx, %%ecx\n\txorl %%edx, %%edx\n\t"
                     "xorl %%esi, %%esi\n\txorl %%edi, %%edi\n\txorl %%r8d, %%r8d\n\t"
                     "xorl %%r9d, %%r9d\n\txorl %%r10d, %%r10d\n\txorl %%r11d, %%r11d\n\t"
                     "movl $1, %[ready]\n"
                     "1:\n\t"
                     "movl $35, %%eax\n\t" /* nanosleep(&ms1, NULL) */
                     "leaq %[ms1], %%rdi\n\t"
                     "xorl %%esi, %%esi\n\t"
                     "syscall\n\t"
                     "cmpl $0, %[stop]\n\t"
                     "je 1b\n\t"
                     "movabsq $0x5a5a5a5a5a5a5a5a, %%rax\n\t"
                     "xorq %%r12, %%rax\n\t"
                     "movq %%rax, %[obf]\n\t"
                     "xorl %%r12d, %%r12d\n\t"
                     : [obf] "+m"(reg_obf), [ready] "=m"(reg_ready)
                     : [stop] "m"(reg_stop), [ms1] "m"(ms1)
                     : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "memory",
                       "cc");
}
#elif defined(__aarch64__)
/* The same with x19 (untested). */
static void reg_hold(void)
{
    static const struct timespec ms1 = {0, 1000000};
    __asm__ volatile("ldr x19, %[obf]\n\t"
                     "mov x9, #0x5a5a\n\tmovk x9, #0x5a5a, lsl #16\n\t"
                     "movk x9, #0x5a5a, lsl #32\n\tmovk x9, #0x5a5a, lsl #48\n\t"
                     "eor x19, x19, x9\n\t"
                     "str xzr, %[obf]\n\t"
                     "mov x0, #0\n\tmov x1, #0\n\tmov x2, #0\n\tmov x3, #0\n\tmov x4, #0\n\t"
                     "mov x5, #0\n\tmov x6, #0\n\tmov x7, #0\n\tmov x9, #0\n\tmov x10, #0\n\t"
                     "mov x11, #0\n\tmov x12, #0\n\tmov x13, #0\n\tmov x14, #0\n\t"
                     "mov x15, #0\n\tmov x16, #0\n\tmov x17, #0\n\t"
                     "mov w9, #1\n\tstr w9, %[ready]\n"
                     "1:\n\t"
                     "mov x8, #101\n\t" /* nanosleep(&ms1, NULL) */
                     "mov x0, %[ms1]\n\t"
                     "mov x1, #0\n\t"
                     "svc #0\n\t"
                     "ldr w9, %[stop]\n\t"
                     "cbz w9, 1b\n\t"
                     "mov x9, #0x5a5a\n\tmovk x9, #0x5a5a, lsl #16\n\t"
                     "movk x9, #0x5a5a, lsl #32\n\tmovk x9, #0x5a5a, lsl #48\n\t"
                     "eor x9, x19, x9\n\t"
                     "str x9, %[obf]\n\t"
                     "mov x19, #0\n\t"
                     : [obf] "+m"(reg_obf), [ready] "=m"(reg_ready)
                     : [stop] "m"(reg_stop), [ms1] "r"(&ms1)
                     : "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
                       "x12", "x13", "x14", "x15", "x16", "x17", "x19", "memory", "cc");
}
#else
static void reg_hold(void)
{
    EXPECT(false, "no register-only root test for this architecture");
    reg_ready = 1;
    while (!reg_stop)
        sleep_ms(1);
}
#endif

static void *roots_spinner(void *arg)
{
    (void)arg;
    reg_obf = (uintptr_t)robj_make(R_REGISTER) ^ OBF_KEY;
    clear_stack();
    reg_hold();
    atomic_store(&spinner_ok, robj_intact((void *)(reg_obf ^ OBF_KEY), R_REGISTER) ? 1 : -1);
    return NULL;
}

/* The global, add_roots, interior and control objects, made away from the
 * caller's frame. */
static NOINLINE void roots_make(void)
{
    g_root_global = robj_make(R_GLOBAL);
    r_buf[R_BUF_AT] = robj_make(R_ADDROOTS);
    g_root_interior = (char *)robj_make(R_INTERIOR) + R_INTERIOR_OFFSET;
    robj_make(R_CONTROL);
}

static void roots_start(pthread_t *sleeper, pthread_t *spinner)
{
    if (pthread_create(sleeper, NULL, roots_sleeper, NULL) != 0 ||
        pthread_create(spinner, NULL, roots_spinner, NULL) != 0)
        die("pthread_create");
    for (int i = 0; i < 500 && !(atomic_load(&sleeper_ready) && reg_ready); i++)
        sleep_ms(10);
    if (!atomic_load(&sleeper_ready) || !reg_ready) die("the root-holding threads did not start");
}

static NOINLINE void roots_check_held(void *volatile *on_stack)
{
    for (int k = 0; k < R_CONTROL; k++)
        EXPECT(atomic_load(&r_fin[k]) == 0, "an object kept only by a %s was finalized", r_name[k]);
    EXPECT(robj_intact(g_root_global, R_GLOBAL), "the object kept by a global was damaged");
    EXPECT(robj_intact(*on_stack, R_STACK), "the object kept by a main-thread local was damaged");
    EXPECT(robj_intact(r_buf[R_BUF_AT], R_ADDROOTS),
           "the object kept by an added root range was damaged");
    EXPECT(robj_intact(g_root_interior - R_INTERIOR_OFFSET, R_INTERIOR),
           "the object kept by an interior pointer was damaged");
}

/* Once its only reference is gone, every object but the local's dies. */
static void roots_check_released(void *volatile *on_stack)
{
    static const int kinds[] = {R_GLOBAL, R_THREAD, R_REGISTER, R_ADDROOTS, R_INTERIOR};
    uint64_t end = now_ns(CLOCK_MONOTONIC) + 10000000000u;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        while (atomic_load(&r_fin[kinds[i]]) == 0 && now_ns(CLOCK_MONOTONIC) < end) {
            clear_stack();
            hp_gc_collect();
            sleep_ms(20);
        }
        EXPECT(atomic_load(&r_fin[kinds[i]]) == 1,
               "once its %s was gone, the object was finalized "
               "%ld times in 10 s, want once",
               r_name[kinds[i]], atomic_load(&r_fin[kinds[i]]));
    }
    EXPECT(atomic_load(&r_fin[R_STACK]) == 0 && robj_intact(*on_stack, R_STACK),
           "the object kept by a main-thread local was finalized or damaged");
}

static void test_roots(void)
{
    pthread_t sleeper, spinner;
    r_buf = calloc(R_BUF_SLOTS, sizeof *r_buf);
    EXPECT(hp_gc_add_roots(r_buf, R_BUF_SLOTS * sizeof *r_buf) == 0, "hp_gc_add_roots failed");
    roots_start(&sleeper, &spinner);
    roots_make();
    void *volatile on_stack = robj_make(R_STACK);
    clear_stack();
    collect_n(3);
    EXPECT(poll_count(&r_fin[R_CONTROL], 1, 10),
           "control: an object nothing refers to was not "
           "finalized within 10 s, so the other checks here prove nothing");
    collect_n(2);
    sleep_ms(100);
    roots_check_held(&on_stack);

    atomic_store(&sleeper_stop, 1);
    reg_stop = 1;
    pthread_join(sleeper, NULL);
    pthread_join(spinner, NULL);
    EXPECT(atomic_load(&sleeper_ok) == 1, "the sleeping thread's object was damaged");
    EXPECT(atomic_load(&spinner_ok) == 1, "the object held in a register was damaged");
    EXPECT(hp_gc_remove_roots(r_buf) == 0, "hp_gc_remove_roots failed");
    EXPECT(hp_gc_remove_roots(r_buf) == ENOENT, "a second hp_gc_remove_roots did not give ENOENT");
    g_root_global = NULL;
    g_root_interior = NULL;
    roots_check_released(&on_stack);
    free(r_buf);
}

/* ---- memlimit ---- */

enum { ML_RING = 16384 }; /* objects of 256..1792 bytes: ~16 MiB live */
#define ML_LIMIT ((int64_t)64 * (int64_t)MiB)
#define ML_TOTAL (1024 * MiB) /* per phase */
#define ML_WARMUP (128 * MiB)
#define ML_MAGIC 0x6d656d6c696d6974ULL

static uint64_t **ml_ring; /* a GC object: the live set */

/* Replace ring slot `slot`, checking the object it held; returns the size. */
static size_t ml_replace(size_t slot, uint64_t r)
{
    size_t size = 256 + (size_t)(r % 1537);
    uint64_t *o = (r >> 32) & 1 ? xalloc_noscan(size) : xalloc(size);
    o[0] = ML_MAGIC ^ slot;
    o[1] = size;
    o[size / 8 - 1] = ~(ML_MAGIC ^ slot);
    const uint64_t *old = ml_ring[slot];
    if (old != NULL && !(old[0] == (ML_MAGIC ^ slot) && old[1] >= 256 && old[1] < 2048 &&
                         old[old[1] / 8 - 1] == ~(ML_MAGIC ^ slot)))
        EXPECT(false, "ring slot %zu: a live object was damaged (first word %#" PRIx64 ")", slot,
               old[0]);
    ml_ring[slot] = o;
    return size;
}

/* The sample with the most memory mapped and not released. */
typedef struct ml_worst {
    uint64_t inuse, mapped, heap_sys, released, meta;
} ml_worst_t;

static void ml_sample(const hp_memstats_t *st, ml_worst_t *w)
{
    if (st->heap_inuse > w->inuse) w->inuse = st->heap_inuse;
    if (st->sys - st->heap_released <= w->mapped) return;
    w->mapped = st->sys - st->heap_released;
    w->heap_sys = st->heap_sys;
    w->released = st->heap_released;
    w->meta = st->sys - st->heap_sys;
}

static void ml_phase(const char *name, uint64_t *rng)
{
    hp_memstats_t st;
    ml_worst_t w = {0, 0, 0, 0, 0};
    hp_read_memstats(&st);
    uint32_t gc0 = st.num_gc;
    uint64_t done = 0, next = 0;
    for (size_t slot = 0; done < ML_TOTAL; slot = (slot + 1) % ML_RING) {
        done += ml_replace(slot, test_rand(rng));
        if (done < next) continue;
        next += 4 * MiB;
        hp_read_memstats(&st);
        if (done >= ML_WARMUP) ml_sample(&st, &w);
    }
    double mib = (double)MiB, bound = (double)ML_LIMIT * 1.10;
    hp_read_memstats(&st);
    EXPECT(w.inuse <= bound, "%s: heap_inuse reached %.1f MiB, over 1.10 x the 64 MiB limit", name,
           (double)w.inuse / mib);
    EXPECT(w.mapped <= bound,
           "%s: sys - heap_released reached %.1f MiB, over 1.10 x the 64 MiB "
           "limit (heap_sys %.1f MiB, heap_released %.1f MiB, metadata %.1f MiB)",
           name, (double)w.mapped / mib, (double)w.heap_sys / mib, (double)w.released / mib,
           (double)w.meta / mib);
    EXPECT(st.num_gc > gc0, "%s: no collection while 1 GiB was allocated", name);
    printf("memlimit, %s: %" PRIu64 " collections; at most %.1f MiB heap_inuse, %.1f MiB sys - released\n",
           name, st.num_gc - gc0, (double)w.inuse / mib, (double)w.mapped / mib);
}

/* GOGC 400 would let the heap grow to 80 MiB: the limit must hold it back;
 * with GOGC off, only the limit starts collections. */
static void test_memlimit(void)
{
    uint64_t rng = 7;
    EXPECT(hp_gc_set_memory_limit(ML_LIMIT) == INT64_MAX,
           "the default memory limit is not INT64_MAX");
    EXPECT(hp_gc_set_percent(400) == 100, "the default GOGC is not 100");
    ml_ring = xalloc(ML_RING * sizeof *ml_ring);
    ml_phase("GOGC=400", &rng);
    EXPECT(hp_gc_set_percent(-1) == 400, "hp_gc_set_percent did not return the previous value");
    ml_phase("GOGC=off", &rng);
}

/* ---- gctrace ---- */

#define GCTRACE_RE                                                                                 \
    "^gc [0-9]+ @[0-9]+\\.[0-9]{3}s [0-9]+%: [0-9.]+\\+[0-9.]+\\+[0-9.]+ ms clock, "               \
    "[0-9.]+\\+[0-9.]+/[0-9.]+/[0-9.]+\\+[0-9.]+ ms cpu, [0-9]+->[0-9]+->[0-9]+ MB, "              \
    "[0-9]+ MB goal, [0-9]+ MB stacks, [0-9]+ MB globals, [0-9]+ P( \\(forced\\))?$"

extern char **environ;

/* `gc_test gctrace_child`: 48 MiB through a 256-object ring, then one
 * hp_gc_collect(); prints its collection counts on stdout. */
static int gctrace_child(void)
{
    void **ring = xalloc(256 * sizeof *ring);
    for (long i = 0; i < 48 * 1024; i++)
        ring[i % 256] = xalloc(1024);
    hp_gc_collect();
    hp_memstats_t st;
    hp_read_memstats(&st);
    printf("num_gc %" PRIu64 " forced %" PRIu64 "\n", st.num_gc, st.num_forced_gc);
    return 0;
}

static char *read_all(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = 0;
    close(fd);
    return buf;
}

/* Run the child with HOTPATH_DEBUG=gctrace=1; its stderr and stdout. */
static int gctrace_spawn(char **err_out, char **std_out)
{
    int err[2], out[2];
    size_t n = 0, k = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **envp = calloc(n + 2, sizeof *envp);
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "HOTPATH_DEBUG=", 14) != 0) envp[k++] = *e;
    envp[k] = "HOTPATH_DEBUG=gctrace=1";
    char *argv[] = {"gc_test", "gctrace_child", NULL};
    if (pipe(err) != 0 || pipe(out) != 0) die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    close(err[1]);
    close(out[1]);
    *err_out = read_all(err[0]);
    *std_out = read_all(out[0]);
    free(envp);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

static void test_gctrace(void)
{
    char *errs, *outs, *save = NULL;
    int status = gctrace_spawn(&errs, &outs);
    char *copy = strdup(errs);
    unsigned fails0 = atomic_load(&fails), lines = 0, forced_lines = 0, last = 0;
    unsigned num_gc = 0, num_forced = 0;
    bool last_forced = false;
    regex_t re;
    if (regcomp(&re, GCTRACE_RE, REG_EXTENDED | REG_NOSUB) != 0) die("regcomp");
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (status %#x)", status);
    for (char *line = strtok_r(errs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "gc ", 3) != 0) continue;
        lines++;
        if (!EXPECT(regexec(&re, line, 0, NULL, 0) == 0, "not Go's gctrace format: \"%s\"", line))
            continue;
        unsigned num = (unsigned)strtoul(line + 3, NULL, 10);
        EXPECT(num == last + 1, "\"gc %u\" follows \"gc %u\"", num, last);
        last = num;
        last_forced = strstr(line, " (forced)") != NULL;
        forced_lines += last_forced;
    }
    EXPECT(sscanf(outs, "num_gc %u forced %u", &num_gc, &num_forced) == 2,
           "the child printed \"%s\"", outs);
    EXPECT(lines >= 2, "%u gctrace lines, want at least 2", lines);
    EXPECT(lines == num_gc, "%u gctrace lines for %u collections", lines, num_gc);
    EXPECT(last_forced, "the last line, hp_gc_collect's, lacks \"(forced)\"");
    EXPECT(forced_lines == 1 && num_forced == 1,
           "%u lines say (forced), num_forced_gc is %u, want 1 and 1", forced_lines, num_forced);
    if (atomic_load(&fails) != fails0) fprintf(stderr, "the child's stderr:\n%s", copy);
    printf("gctrace: %u lines\n", lines);
    regfree(&re);
    free(copy), free(errs), free(outs);
}

/* ---- stats ---- */

static void **stats_keep; /* 1000 objects of 1 KiB while it points to them */

static void stats_after_collect(const hp_memstats_t *b, const hp_memstats_t *st)
{
    uint64_t now = now_ns(CLOCK_REALTIME);
    unsigned at = (st->num_gc + 255) % 256;
    EXPECT(st->num_gc == b->num_gc + 1, "num_gc went from %" PRIu64 " to %" PRIu64, b->num_gc, st->num_gc);
    EXPECT(st->num_forced_gc == b->num_forced_gc + 1, "num_forced_gc went from %" PRIu64 " to %" PRIu64,
           b->num_forced_gc, st->num_forced_gc);
    EXPECT(st->last_gc <= now && st->last_gc + 1000000000u >= now, "last_gc is %.3f s from now",
           ((double)st->last_gc - (double)now) / 1e9);
    EXPECT(st->pause_ns[at] > 0, "pause_ns[%u] is 0", at);
    EXPECT(st->pause_end[at] <= now && st->pause_end[at] + 1000000000u >= now,
           "pause_end[%u] is %.3f s from now", at, ((double)st->pause_end[at] - (double)now) / 1e9);
    EXPECT(st->pause_total_ns >= b->pause_total_ns + st->pause_ns[at],
           "pause_total_ns grew by %" PRIu64 ", less than the pause %" PRIu64,
           st->pause_total_ns - b->pause_total_ns, st->pause_ns[at]);
    EXPECT(st->gc_max_pause_ns >= st->pause_ns[at], "gc_max_pause_ns < the last pause");
    EXPECT(st->next_gc >= 4 * MiB, "next_gc is %" PRIu64 ", under 4 MiB", st->next_gc);
    EXPECT(st->gc_heap_live <= st->gc_heap_alloc + 256 * 1024,
           "gc_heap_live %" PRIu64 " > gc_heap_alloc %" PRIu64, st->gc_heap_live,
           st->gc_heap_alloc);
    EXPECT(st->gc_heap_live >= 1000 * 1024 && st->gc_heap_objects >= 1001,
           "gc_heap_live %" PRIu64 ", gc_heap_objects %" PRIu64 " with 1000 objects of 1 KiB live",
           st->gc_heap_live, st->gc_heap_objects);
    EXPECT(st->gc_cpu_fraction >= 0 && st->gc_cpu_fraction <= 1, "gc_cpu_fraction is %g",
           st->gc_cpu_fraction);
}

static NOINLINE void stats_make(void)
{
    stats_keep = xalloc(1000 * sizeof *stats_keep);
    for (int i = 0; i < 1000; i++)
        stats_keep[i] = xalloc(1024);
}

static void test_stats(void)
{
    hp_memstats_t before, st;
    hp_read_memstats(&st);
    EXPECT((st.num_gc == 0) == (st.last_gc == 0), "num_gc %" PRIu64 " but last_gc %" PRIu64, st.num_gc,
           st.last_gc);
    EXPECT(hp_gc_set_percent(50) == 100, "the default GOGC is not 100");
    EXPECT(hp_gc_set_percent(100) == 50, "hp_gc_set_percent did not return the previous value");
    EXPECT(hp_gc_set_memory_limit(-1) == INT64_MAX, "the default memory limit is not INT64_MAX");
    EXPECT(hp_gc_set_memory_limit(1 << 30) == INT64_MAX, "hp_gc_set_memory_limit's previous value");
    EXPECT(hp_gc_set_memory_limit(-1) == 1 << 30, "a negative limit did not read the limit set");
    EXPECT(hp_gc_set_memory_limit(INT64_MAX) == 1 << 30, "hp_gc_set_memory_limit's previous value");
    EXPECT(hp_gc_use_barrier(0) == 0, "the write barrier is declared by default");
    stats_make();
    for (int i = 0; i < 3; i++) {
        hp_read_memstats(&before);
        hp_gc_collect();
        hp_read_memstats(&st);
        stats_after_collect(&before, &st);
    }
    stats_keep = NULL;
    clear_stack();
    hp_gc_collect();
    hp_read_memstats(&st);
    EXPECT(st.gc_heap_live < 512 * 1024,
           "gc_heap_live is %" PRIu64 " after the live set was dropped", st.gc_heap_live);
}

/* ---- misc ---- */

enum { MF_LARGE, MF_NOSCAN, MF_SCANNED, MF_KINDS };
static atomic_long misc_fin[MF_KINDS];

static void misc_fin_run(void *p)
{
    uint64_t kind = *(uint64_t *)p;
    if (EXPECT(kind < MF_KINDS, "a misc finalizer got an object of kind %#" PRIx64, kind))
        atomic_fetch_add(&misc_fin[kind], 1);
}

static void *misc_fin_obj(size_t size, uint64_t kind)
{
    uint64_t *o = xalloc(size);
    o[0] = kind;
    EXPECT(hp_gc_set_finalizer(o, misc_fin_run) == 0, "hp_gc_set_finalizer failed");
    return o;
}

static int cmp_uintptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void misc_size0(void)
{
    enum { N = 1000 };
    void **keep = xalloc(N * sizeof *keep);
    uintptr_t *addr = malloc(N * sizeof *addr);
    for (int i = 0; i < N; i++) {
        keep[i] = hp_gc_alloc(0);
        addr[i] = (uintptr_t)keep[i];
    }
    qsort(addr, N, sizeof *addr, cmp_uintptr);
    int dup = 0;
    for (int i = 1; i < N; i++)
        dup += addr[i] == addr[i - 1];
    EXPECT(addr[0] != 0 && dup == 0, "hp_gc_alloc(0): %s, %d duplicates among %d",
           addr[0] ? "non-NULL" : "NULL", dup, N);
    free(addr);
}

enum { Z_N = 4000 };
static const size_t z_sizes[8] = {8, 24, 48, 112, 256, 1000, 3000, 9000};

static NOINLINE void misc_dirty(uintptr_t *obf)
{
    for (int i = 0; i < Z_N; i++) {
        size_t size = z_sizes[i % 8];
        void *p = xalloc(size);
        memset(p, 0xff, size);
        obf[i] = (uintptr_t)p ^ OBF_KEY;
    }
}

/* Dirty objects, drop them, collect: the objects made again in their place
 * are zeroed. */
static void misc_zeroed(void)
{
    uintptr_t *old = malloc(Z_N * sizeof *old);
    misc_dirty(old);
    qsort(old, Z_N, sizeof *old, cmp_uintptr);
    clear_stack();
    collect_n(2);
    long dirty = 0, reused = 0;
    for (int i = 0; i < 2 * Z_N; i++) {
        size_t size = z_sizes[i % 8];
        const unsigned char *p = xalloc(size);
        uintptr_t key = (uintptr_t)p ^ OBF_KEY;
        size_t j = 0;
        while (j < size && p[j] == 0)
            j++;
        dirty += j < size;
        reused += bsearch(&key, old, Z_N, sizeof *old, cmp_uintptr) != NULL;
    }
    EXPECT(dirty == 0, "%ld of %d new objects were not zeroed", dirty, 2 * Z_N);
    EXPECT(reused > 0, "no dropped object's memory was reused after 2 collections, so the zeroing "
                       "of reused memory was not tested");
    free(old);
}

enum { L_BIG = 16, L_MID = 64, L_BIG_SIZE = 1 << 20, L_MID_SIZE = 40 << 10 };
static uint64_t **large_keep; /* the large objects while they must live */

static size_t large_size(int i)
{
    return i < L_BIG ? L_BIG_SIZE : L_MID_SIZE;
}

static NOINLINE void misc_large_make(void)
{
    large_keep = xalloc((L_BIG + L_MID) * sizeof *large_keep);
    for (int i = 0; i < L_BIG + L_MID; i++) {
        uint64_t *o = misc_fin_obj(large_size(i), MF_LARGE);
        for (size_t w = 1; w < large_size(i) / 8; w++)
            o[w] = w * 31 + (uint64_t)i;
        large_keep[i] = o;
    }
}

/* Damaged words of the kept large objects. */
static NOINLINE long misc_large_damaged(void)
{
    long bad = 0;
    for (int i = 0; i < L_BIG + L_MID; i++)
        for (size_t w = 1; w < large_size(i) / 8; w++)
            bad += large_keep[i][w] != w * 31 + (uint64_t)i;
    return bad;
}

static void misc_large(void)
{
    hp_memstats_t st0, st;
    clear_stack();
    hp_gc_collect();
    hp_read_memstats(&st0);
    misc_large_make();
    collect_n(2);
    long bad = misc_large_damaged();
    EXPECT(bad == 0 && atomic_load(&misc_fin[MF_LARGE]) == 0,
           "large objects kept alive: %ld words damaged, %ld finalized", bad,
           atomic_load(&misc_fin[MF_LARGE]));
    large_keep = NULL;
    clear_stack();
    EXPECT(poll_count(&misc_fin[MF_LARGE], L_BIG + L_MID, 10),
           "%ld of %d dropped large objects finalized in 10 s", atomic_load(&misc_fin[MF_LARGE]),
           L_BIG + L_MID);
    clear_stack();
    collect_n(2);
    hp_read_memstats(&st);
    EXPECT(st.gc_heap_alloc < st0.gc_heap_alloc + 4 * MiB,
           "gc_heap_alloc went from %" PRIu64 " to %" PRIu64
           ": ~18.5 MiB of large objects not reclaimed",
           st0.gc_heap_alloc, st.gc_heap_alloc);
    EXPECT(st.heap_alloc < st0.heap_alloc + 4 * MiB,
           "heap_alloc went from %" PRIu64 " to %" PRIu64
           ": freed GC objects do not count as freed "
           "in the heap figures",
           st0.heap_alloc, st.heap_alloc);
}

static void **ns_holder, **sc_holder;

static NOINLINE void misc_noscan_make(void)
{
    ns_holder = xalloc_noscan(64);
    ns_holder[3] = misc_fin_obj(48, MF_NOSCAN);
    sc_holder = xalloc(64);
    sc_holder[3] = misc_fin_obj(48, MF_SCANNED);
}

/* A pointer in a noscan object keeps nothing alive; in a scanned one it does. */
static void misc_noscan(void)
{
    misc_noscan_make();
    clear_stack();
    EXPECT(poll_count(&misc_fin[MF_NOSCAN], 1, 10),
           "an object pointed to only from a noscan object was not finalized in 10 s");
    EXPECT(atomic_load(&misc_fin[MF_SCANNED]) == 0 && *(uint64_t *)sc_holder[3] == MF_SCANNED,
           "an object pointed to from a scanned object was finalized or damaged");
}

static void misc_usable_size(void)
{
    static const size_t sizes[] = {1, 8, 17, 100, 1000, 5000, 32768, 40000, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *p = xalloc(sizes[i]), *q = xalloc_noscan(sizes[i]);
        EXPECT(malloc_usable_size(p) >= sizes[i] && malloc_usable_size(q) >= sizes[i],
               "malloc_usable_size of GC objects of %zu bytes: %zu and %zu", sizes[i],
               malloc_usable_size(p), malloc_usable_size(q));
    }
}

static uint64_t *freed_obj; /* a GC object passed to free(), still referenced */

/* free() of a GC object neither crashes nor frees it. */
static void misc_free(void)
{
    enum { N = 1000 };
    freed_obj = xalloc(128);
    for (int i = 0; i < 16; i++)
        freed_obj[i] = 0xf7ee0000u + (uint64_t)i;
    free(freed_obj);
    void **m = malloc(N * sizeof *m);
    int same = 0;
    for (int i = 0; i < N; i++) {
        m[i] = malloc(128);
        uint64_t *g = xalloc(128);
        same += m[i] == freed_obj || g == freed_obj;
        memset(m[i], 0x77, 128);
        memset(g, 0x66, 128);
    }
    clear_stack();
    collect_n(2);
    int bad = 0;
    for (int i = 0; i < 16; i++)
        bad += freed_obj[i] != 0xf7ee0000u + (uint64_t)i;
    EXPECT(same == 0 && bad == 0,
           "after free() of a live GC object: handed out again %d times, %d words changed", same,
           bad);
    for (int i = 0; i < N; i++)
        free(m[i]);
    free(m);
}

static atomic_bool fork_stop;

static void *fork_churn(void *arg)
{
    (void)arg;
    while (!atomic_load(&fork_stop)) {
        void **p = xalloc(64);
        p[0] = xalloc(32);
    }
    return NULL;
}

/* In the child: a 20000-node list survives two collections. */
static int fork_child(void)
{
    alarm(10);
    void **head = NULL;
    for (long i = 0; i < 20000; i++) {
        void **n = xalloc(2 * sizeof *n);
        n[0] = head;
        n[1] = (void *)(i + 1);
        head = n;
    }
    collect_n(2);
    long count = 0, ok = 1;
    for (void **n = head; n != NULL; n = n[0])
        ok &= (long)(uintptr_t)n[1] == 20000 - count++;
    return ok && count == 20000 ? 0 : 1;
}

static void misc_fork(void)
{
    pthread_t churn;
    if (pthread_create(&churn, NULL, fork_churn, NULL) != 0) die("pthread_create");
    sleep_ms(20);
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        if (pid < 0) die("fork: %s", strerror(errno));
        if (pid == 0) exit(fork_child());
        int status = 0;
        uint64_t end = now_ns(CLOCK_MONOTONIC) + 20000000000u;
        while (waitpid(pid, &status, WNOHANG) == 0 && now_ns(CLOCK_MONOTONIC) < end)
            sleep_ms(10);
        if (now_ns(CLOCK_MONOTONIC) >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "fork round %d: the child did not allocate, collect and exit 0 (status %#x)", round,
               status);
    }
    atomic_store(&fork_stop, true);
    pthread_join(churn, NULL);
    hp_gc_collect();
}

static void test_misc(void)
{
    misc_size0();
    misc_zeroed();
    misc_large();
    misc_noscan();
    misc_usable_size();
    misc_free();
    misc_fork();
}

/* ---- main ---- */

typedef struct subtest {
    const char *name;
    void (*run)(void);
    unsigned alarm_s; /* below ctest's TIMEOUT, so that a hang says so */
} subtest_t;

static const subtest_t subtests[] = {
    {"trees", test_trees, 80},
    {"graph", test_graph, 50},
    {"graph_barrier", test_graph_barrier, 50},
    {"finalizers", test_finalizers, 50},
    {"roots", test_roots, 50},
    {"memlimit", test_memlimit, 80},
    {"gctrace", test_gctrace, 50},
    {"stats", test_stats, 50},
    {"misc", test_misc, 80},
};

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "gctrace_child") == 0) return gctrace_child();
    for (size_t i = 0; argc == 2 && i < sizeof subtests / sizeof *subtests; i++) {
        if (strcmp(argv[1], subtests[i].name) != 0) continue;
        sub = subtests[i].name;
        install_handlers(subtests[i].alarm_s);
        subtests[i].run();
        if (atomic_load(&fails) > 0 || atomic_load(&checks) == 0) {
            fprintf(stderr, "FAIL: %s: %u of %u checks failed\n", sub, atomic_load(&fails),
                    atomic_load(&checks));
            return 1;
        }
        printf("ok %s: %u checks\n", sub, atomic_load(&checks));
        return 0;
    }
    fprintf(stderr, "usage: gc_test trees|graph|graph_barrier|finalizers|roots|memlimit|gctrace|"
                    "stats|misc\n");
    return 2;
}
