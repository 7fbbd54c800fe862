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
#include "gc_harness.h"

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

void test_trees(void)
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

void test_graph(void)
{
    graph_run(false);
}

void test_graph_barrier(void)
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

void test_finalizers(void)
{
    hp_memstats_t st;
    main_tid = pthread_self();
    fin_einval();
    for (uint32_t id = 0; id < FIN_ALL; id++)
        fin_make(id);
    clear_stack();
    collect_n(3);
    bool ok = poll_count(&fin_total, FIN_N, 10); /* before the count is read */
    EXPECT(ok, "after 10 s only %ld of %d dropped objects were finalized", atomic_load(&fin_total),
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
    ok = poll_count(&fin_total, FIN_N + FIN_KEEP, 10);
    EXPECT(ok, "after 10 s only %ld of %d objects were finalized once the array was cleared",
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

enum {
    R_GLOBAL, R_STACK, R_THREAD, R_REGISTER, R_PARKED, R_ADDROOTS, R_INTERIOR, R_CONTROL, R_KINDS
};
enum { ROBJ_WORDS = 32, R_INTERIOR_OFFSET = 131, R_BUF_SLOTS = 64, R_BUF_AT = 17 };

static const char *const r_name[R_KINDS] = {
    "global variable",         "main thread's local",
    "sleeping thread's local", "callee-saved register of a spinning thread",
    "callee-saved register of a thread waiting in hp_gc_collect",
    "hp_gc_add_roots range",   "interior pointer",
    "nothing (control)"};
static atomic_long r_fin[R_KINDS];
void *g_root_global;   /* R_GLOBAL */
char *g_root_interior; /* R_INTERIOR: R_INTERIOR_OFFSET bytes into its object */
static void **r_buf;   /* R_ADDROOTS: malloc'd, registered */
static atomic_int sleeper_ready, sleeper_stop, sleeper_ok, spinner_ok, parker_ok;
static volatile uintptr_t reg_obf; /* the register-held object ^ OBF_KEY, or 0 while held */
static volatile int reg_ready, reg_stop;
/* The same for a thread that calls hp_gc_collect in a loop: it is parked
 * (held without a signal) while the cycles it waits for run. */
static volatile uintptr_t park_obf;
static volatile int park_ready, park_stop;
static void (*volatile park_fn)(void) = hp_gc_collect;

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

#if defined(__x86_64__)
/* Hold the object in r13 alone, as reg_hold does, and call hp_gc_collect
 * (on a 16-byte aligned stack below the red zone) until park_stop. */
static void park_hold(void)
{
    __asm__ volatile("movq %[obf], %%r13\n\t"
                     "movabsq $0x5a5a5a5a5a5a5a5a, %%rax\n\t"
                     "xorq %%rax, %%r13\n\t"
                     "movq $0, %[obf]\n\t"
                     "movq %%rsp, %%rbx\n\t"
                     "subq $256, %%rsp\n\t"
                     "andq $-16, %%rsp\n\t"
                     "movl $1, %[ready]\n"
                     "1:\n\t"
                     "xorl %%ecx, %%ecx\n\txorl %%edx, %%edx\n\txorl %%esi, %%esi\n\t"
                     "xorl %%edi, %%edi\n\txorl %%r8d, %%r8d\n\txorl %%r9d, %%r9d\n\t"
                     "xorl %%r10d, %%r10d\n\txorl %%r11d, %%r11d\n\t"
                     "movq %[fn], %%rax\n\t"
                     "call *%%rax\n\t"
                     "cmpl $0, %[stop]\n\t"
                     "je 1b\n\t"
                     "movq %%rbx, %%rsp\n\t"
                     "movabsq $0x5a5a5a5a5a5a5a5a, %%rax\n\t"
                     "xorq %%r13, %%rax\n\t"
                     "movq %%rax, %[obf]\n\t"
                     "xorl %%r13d, %%r13d\n\t"
                     : [obf] "+m"(park_obf), [ready] "=m"(park_ready)
                     : [stop] "m"(park_stop), [fn] "m"(park_fn)
                     : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r13",
                       "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory",
                       "cc");
}
#else
/* Elsewhere the object stays in a local across the calls. */
static void park_hold(void)
{
    void *volatile p = (void *)(park_obf ^ OBF_KEY);
    park_obf = 0;
    park_ready = 1;
    while (!park_stop)
        hp_gc_collect();
    park_obf = (uintptr_t)p ^ OBF_KEY;
    p = NULL;
}
#endif

/* Make an object of kind, known only through *obf (obfuscated), let hold()
 * keep it in a register alone, and say in *ok whether it came back intact. */
static void hold_and_check(volatile uintptr_t *obf, int kind, void (*hold)(void), atomic_int *ok)
{
    *obf = (uintptr_t)robj_make(kind) ^ OBF_KEY;
    clear_stack();
    hold();
    atomic_store(ok, robj_intact((void *)(*obf ^ OBF_KEY), kind) ? 1 : -1);
}

static void *roots_parker(void *arg)
{
    (void)arg;
    hold_and_check(&park_obf, R_PARKED, park_hold, &parker_ok);
    return NULL;
}

static void *roots_spinner(void *arg)
{
    (void)arg;
    hold_and_check(&reg_obf, R_REGISTER, reg_hold, &spinner_ok);
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

static void roots_start(pthread_t *sleeper, pthread_t *spinner, pthread_t *parker)
{
    if (pthread_create(sleeper, NULL, roots_sleeper, NULL) != 0 ||
        pthread_create(spinner, NULL, roots_spinner, NULL) != 0 ||
        pthread_create(parker, NULL, roots_parker, NULL) != 0)
        die("pthread_create");
    for (int i = 0; i < 500 && !(atomic_load(&sleeper_ready) && reg_ready && park_ready); i++)
        sleep_ms(10);
    if (!atomic_load(&sleeper_ready) || !reg_ready || !park_ready)
        die("the root-holding threads did not start");
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
    static const int kinds[] = {R_GLOBAL, R_THREAD, R_REGISTER, R_PARKED, R_ADDROOTS, R_INTERIOR};
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

void test_roots(void)
{
    pthread_t sleeper, spinner, parker;
    r_buf = calloc(R_BUF_SLOTS, sizeof *r_buf);
    EXPECT(hp_gc_add_roots(r_buf, R_BUF_SLOTS * sizeof *r_buf) == 0, "hp_gc_add_roots failed");
    roots_start(&sleeper, &spinner, &parker);
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
    park_stop = 1;
    pthread_join(sleeper, NULL);
    pthread_join(spinner, NULL);
    pthread_join(parker, NULL);
    EXPECT(atomic_load(&parker_ok) == 1,
           "the object held in a register across hp_gc_collect was damaged");
    EXPECT(atomic_load(&sleeper_ok) == 1, "the sleeping thread's object was damaged");
    EXPECT(atomic_load(&spinner_ok) == 1, "the object held in a register was damaged");
    EXPECT(hp_gc_remove_roots(r_buf) == 0, "hp_gc_remove_roots failed");
    EXPECT(hp_gc_remove_roots(r_buf) == ENOENT, "a second hp_gc_remove_roots did not give ENOENT");
    g_root_global = NULL;
    g_root_interior = NULL;
    roots_check_released(&on_stack);
    free(r_buf);
}

