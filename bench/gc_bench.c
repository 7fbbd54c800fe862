/* bench/gc_bench.c: garbage-collector workloads -- Boehm's GCBench, a churn
 * over a large live heap, and the write barrier's cost -- written once
 * against a small backend interface and built into two programs, so that
 * each collector runs exactly this code (bench/gc_run.py runs and compares
 * them; see docs/PERFORMANCE.md).
 *
 * 1. Programs and backends.  A macro chooses the program at compile time;
 *    -impl chooses the backend inside it at run time:
 *
 *      bench_gc_hotpath  (GCB_HOTPATH, linked with libhotpath)
 *        hotpath      hp_gc_alloc / hp_gc_alloc_noscan, every pointer store
 *                     into a GC object through HP_GC_STORE, and
 *                     hp_gc_use_barrier(1): marking runs beside the program
 *        hotpath-stw  the same objects, plain stores, no barrier declared:
 *                     the collector stops the program for the whole mark
 *        malloc       hotpath's malloc, every object freed by the program
 *      bench_gc_bdwgc    (GCB_BDWGC, linked with -lgc, never with libhotpath)
 *        bdwgc        GC_MALLOC / GC_MALLOC_ATOMIC after GC_INIT, with
 *                     Debian libgc's defaults; parallel marking started
 *                     (GC_start_mark_threads), as in a threaded program
 *        glibc        glibc's malloc, every object freed by the program
 *
 *    The interface is five calls: obj_alloc (scanned for pointers),
 *    obj_alloc_noscan, obj_store (a pointer store into an object), obj_drop
 *    (free() for the malloc backends, nothing for collectors) and the
 *    backend's collect and stats.  The per-object calls are inline and
 *    branch on the run's backend kind, which the processor predicts, so no
 *    backend pays an indirect call the others do not.
 *
 * 2. Workloads (-w):
 *      gcbench  Boehm's GCBench: a stretch tree of depth 18, a long-lived
 *               tree of depth 16 and an array of 500k doubles, then
 *               2*TreeSize(18)/TreeSize(d) trees of each depth d = 4, 6, ..16
 *               built top-down (Populate) and as many bottom-up (MakeTree).
 *      churn    a table of -live MB of objects (16-1024 B, one in 1024 of
 *               4-128 KiB; half of them hold a pointer to a 16-256 B child),
 *               then random entries replaced by new objects until -alloc
 *               times the live size has been allocated.  For the collectors
 *               the table is itself a GC object, so every store into it is
 *               a store the barrier must see.
 *      barrier  (bench_gc_hotpath, -impl hotpath) ns per store into a GC
 *               object: plain, through HP_GC_STORE with no collection
 *               running, and through HP_GC_STORE while another thread runs
 *               hp_gc_collect() in a loop over a -live MB heap; stores are
 *               timed in batches of 4096, and the "marking" figures are
 *               the batches that ran inside an hp_gc_collect() call.
 *
 * 3. Checks.  Every churn object carries a stamp derived from a random tag
 *    that the table keeps beside the pointer; a tree node, its depth and
 *    its tree's number.  GCBench counts and checks every tree it builds
 *    and, after a final collection, the long-lived tree and the array;
 *    churn checks one in 16 of the objects it replaces (so a random sample
 *    of the live ones, of every age) and, after a final collection, all of
 *    them.  A mismatch exits with HPB_EXIT_CORRUPT: a collector that frees
 *    a live object fails the run.
 *
 * 4. Output: one run, one Go benchmark line on stdout, for benchstat:
 *      BenchmarkChurn/impl=bdwgc/live=500MB 1 7700000000 ns/op 264.000 max-pause-ms ...
 *    ns/op is the wall time of the run (GCBench, and churn's fill and
 *    replacements; the final collection and checks are not timed); max and
 *    total pause are stop-the-world times (hotpath: hp_read_memstats;
 *    bdwgc: GC_EVENT_PRE_STOP_WORLD to GC_EVENT_POST_START_WORLD); peak RSS
 *    is VmHWM, so each run is its own process; live-bytes is what the
 *    workload holds at the end (churn: its objects, not the table's 16
 *    bytes per entry; GCBench: the long-lived tree and array).
 */
#define _GNU_SOURCE
#include "common.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(GCB_HOTPATH)
#include "hotpath/gc.h"
#include "hotpath/memstats.h"
#elif defined(GCB_BDWGC)
#define GC_THREADS /* libgc is built with threads; declares GC_get_parallel */
#include <gc/gc.h>
#else
#error "build with -DGCB_HOTPATH or -DGCB_BDWGC"
#endif

/* ---- The backend interface ------------------------------------------ */

enum { GCB_COLLECTED, GCB_FREED }; /* who reclaims objects */

typedef struct gcb_stats {
    uint64_t max_pause_ns;   /* longest stop-the-world pause */
    uint64_t pause_total_ns; /* all of them */
    uint64_t num_gc;         /* completed collections */
} gcb_stats_t;

typedef struct gcb_backend {
    const char *name;
    int kind;    /* GCB_COLLECTED or GCB_FREED */
    int barrier; /* pointer stores into objects go through HP_GC_STORE */
    void (*init)(void);
    void (*collect)(void);
    void (*stats)(gcb_stats_t *st);
} gcb_backend_t;

/* The backend of this run, set once by main. */
static gcb_backend_t be;

static void no_op(void) {}
static void no_stats(gcb_stats_t *st) { memset(st, 0, sizeof *st); }

#if defined(GCB_HOTPATH)

static void *gc_alloc_scan(size_t n) { return hp_gc_alloc(n); }
static void *gc_alloc_noscan(size_t n) { return hp_gc_alloc_noscan(n); }

static void hotpath_init_barrier(void) { hp_gc_use_barrier(1); }
static void hotpath_init_stw(void) { hp_gc_use_barrier(0); }

static void hotpath_stats(gcb_stats_t *st)
{
    static hp_memstats_t ms; /* 4 KiB of pause history: not on the stack */
    hp_read_memstats(&ms);
    st->max_pause_ns = ms.gc_max_pause_ns;
    st->pause_total_ns = ms.pause_total_ns;
    st->num_gc = ms.num_gc;
}

static const gcb_backend_t backends[] = {
    {"hotpath", GCB_COLLECTED, 1, hotpath_init_barrier, hp_gc_collect, hotpath_stats},
    {"hotpath-stw", GCB_COLLECTED, 0, hotpath_init_stw, hp_gc_collect, hotpath_stats},
    {"malloc", GCB_FREED, 0, no_op, no_op, no_stats},
};

#else /* GCB_BDWGC */

static void *gc_alloc_scan(size_t n) { return GC_MALLOC(n); }
static void *gc_alloc_noscan(size_t n) { return GC_MALLOC_ATOMIC(n); }

/* Stop-the-world pauses, timed by the collector's event callback (called
 * with the allocation lock held, so plain variables do). */
static struct {
    uint64_t stop_ns, max_ns, total_ns;
} bdw_pause;

static void bdw_on_event(GC_EventType ev)
{
    if (ev == GC_EVENT_PRE_STOP_WORLD) {
        bdw_pause.stop_ns = hpb_now_ns();
    } else if (ev == GC_EVENT_POST_START_WORLD && bdw_pause.stop_ns != 0) {
        uint64_t d = hpb_now_ns() - bdw_pause.stop_ns;
        bdw_pause.total_ns += d;
        if (d > bdw_pause.max_ns) bdw_pause.max_ns = d;
        bdw_pause.stop_ns = 0;
    }
}

static void bdw_init(void)
{
    GC_INIT();
    /* A program that never creates a thread marks on one thread unless it
     * asks for the parallel markers Debian's libgc is built with. */
    GC_start_mark_threads();
    GC_set_on_collection_event(bdw_on_event);
    fprintf(stderr, "bdwgc %u.%u.%u: %d marker threads, incremental %d\n", GC_VERSION_MAJOR,
            GC_VERSION_MINOR, GC_VERSION_MICRO, GC_get_parallel() + 1, GC_is_incremental_mode());
}

static void bdw_collect(void) { GC_gcollect(); }

static void bdw_stats(gcb_stats_t *st)
{
    st->max_pause_ns = bdw_pause.max_ns;
    st->pause_total_ns = bdw_pause.total_ns;
    st->num_gc = GC_get_gc_no();
}

static const gcb_backend_t backends[] = {
    {"bdwgc", GCB_COLLECTED, 0, bdw_init, bdw_collect, bdw_stats},
    {"glibc", GCB_FREED, 0, no_op, no_op, no_stats},
};

#endif

static void *nomem(size_t n)
{
    hpb_die(HPB_EXIT_NOMEM, "%s: no memory for %zu bytes", be.name, n);
}

/* An object the collector scans for pointers; uninitialised for malloc. */
static inline void *obj_alloc(size_t n)
{
    void *p = be.kind == GCB_COLLECTED ? gc_alloc_scan(n) : malloc(n);
    return __builtin_expect(p != NULL, 1) ? p : nomem(n);
}

/* An object that holds no pointers. */
static inline void *obj_alloc_noscan(size_t n)
{
    void *p = be.kind == GCB_COLLECTED ? gc_alloc_noscan(n) : malloc(n);
    return __builtin_expect(p != NULL, 1) ? p : nomem(n);
}

/* *slot = v, for a slot inside an object from obj_alloc. */
static inline void obj_store(void **slot, void *v)
{
#if defined(GCB_HOTPATH)
    if (be.barrier) {
        HP_GC_STORE(*slot, v);
        return;
    }
#endif
    *slot = v;
}

/* The program is done with p: malloc backends free it. */
static inline void obj_drop(void *p)
{
    if (be.kind == GCB_FREED) free(p);
}

/* ---- Options and output ---------------------------------------------- */

static const char *workload = "churn", *impl = NULL;
static long live_mb = 500, alloc_x = 10, seed = 1;
static long stretch_depth = 18, long_depth = 16, min_depth = 4, max_depth = 16;
static long array_len = 500000, min_ms = 500;

typedef struct flag {
    const char *name;
    long *num;        /* a number flag, or */
    const char **str; /* a string flag */
    const char *help;
} flag_t;

static const flag_t flags[] = {
    {"w", NULL, &workload, "workload: gcbench, churn or barrier"},
    {"impl", NULL, &impl, "backend (the first of this program's by default)"},
    {"live", &live_mb, NULL, "churn, barrier: live heap, MB (2^20 bytes)"},
    {"alloc", &alloc_x, NULL, "churn: allocate this many times the live heap in all"},
    {"seed", &seed, NULL, "churn: random seed"},
    {"stretch", &stretch_depth, NULL, "gcbench: stretch tree depth (kStretchTreeDepth)"},
    {"long", &long_depth, NULL, "gcbench: long-lived tree depth"},
    {"mindepth", &min_depth, NULL, "gcbench: smallest short-lived tree depth"},
    {"maxdepth", &max_depth, NULL, "gcbench: largest short-lived tree depth"},
    {"array", &array_len, NULL, "gcbench: doubles in the long-lived array"},
    {"mintime", &min_ms, NULL, "barrier: ms of stores per measurement"},
};
#define NFLAGS (sizeof flags / sizeof flags[0])

static _Noreturn void usage(int code)
{
    FILE *f = code == 0 ? stdout : stderr;
    fprintf(f, "usage: bench_gc_* [-flag value ...]\nbackends:");
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        fprintf(f, " %s", backends[i].name);
    fprintf(f, "\nflags:\n");
    for (size_t i = 0; i < NFLAGS; i++) {
        if (flags[i].num != NULL)
            fprintf(f, "  -%-9s %s (%ld)\n", flags[i].name, flags[i].help, *flags[i].num);
        else
            fprintf(f, "  -%-9s %s\n", flags[i].name, flags[i].help);
    }
    exit(code);
}

/* Go's flag syntax: -name value, -name=value, one or two dashes. */
static void parse_flags(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val;
        if (strcmp(a, "-h") == 0 || strcmp(a, "-help") == 0 || strcmp(a, "--help") == 0) usage(0);
        a += a[0] == '-' ? (a[1] == '-' ? 2 : 1) : 0;
        size_t len = strcspn(a, "=");
        const flag_t *f = NULL;
        for (size_t k = 0; k < NFLAGS && f == NULL; k++)
            if (strlen(flags[k].name) == len && strncmp(flags[k].name, a, len) == 0) f = &flags[k];
        if (f == NULL || argv[i][0] != '-') usage(HPB_EXIT_USAGE);
        if (a[len] == '=')
            val = a + len + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            usage(HPB_EXIT_USAGE);
        if (f->str != NULL) {
            *f->str = val;
            continue;
        }
        char *end;
        *f->num = strtol(val, &end, 10);
        if (end == val || *end != '\0' || *f->num < 0) usage(HPB_EXIT_USAGE);
    }
}

static void select_backend(void)
{
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        if (impl == NULL || strcmp(impl, backends[i].name) == 0) {
            be = backends[i];
            return;
        }
    }
    fprintf(stderr, "bench_gc: no backend %s in this program\n", impl);
    usage(HPB_EXIT_USAGE);
}

/* Peak resident set (VmHWM) of this process, KiB. */
static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    if (f != NULL) fclose(f);
    return kib;
}

/* The run's result line, "Benchmark<name> 1 <ns> ns/op <metrics>".  Sizes
 * are in bytes (Go's peak-RSS-bytes), so benchstat scales them itself. */
static void report(const char *name, uint64_t ns, uint64_t live_bytes)
{
    gcb_stats_t st;
    be.stats(&st);
    printf("Benchmark%s 1 %llu ns/op %.3f max-pause-ms %.3f pause-total-ms %llu GCs "
           "%llu peak-RSS-bytes %llu live-bytes\n",
           name, (unsigned long long)ns, st.max_pause_ns / 1e6, st.pause_total_ns / 1e6,
           (unsigned long long)st.num_gc, (unsigned long long)peak_rss_kib() * 1024,
           (unsigned long long)live_bytes);
    fflush(stdout);
}

/* ---- GCBench ------------------------------------------------------------ */

/* Boehm's node.  i holds the node's depth and j its tree's number, so a
 * node freed too early and reused elsewhere shows up in tree_count. */
typedef struct node {
    struct node *left, *right;
    int i, j;
} node_t;

static node_t *long_lived; /* roots: this file's data is scanned */
static double *long_array;

static long tree_size(long depth) { return (1L << (depth + 1)) - 1; }

static long num_iters(long depth) { return 2 * tree_size(stretch_depth) / tree_size(depth); }

static node_t *node_new(node_t *l, node_t *r, int depth, int tree)
{
    node_t *n = obj_alloc(sizeof *n);
    obj_store((void **)&n->left, l);
    obj_store((void **)&n->right, r);
    n->i = depth;
    n->j = tree;
    return n;
}

/* Build the tree below n top-down, as GCBench's Populate: the stores go
 * into an older object. */
static void populate(int depth, node_t *n, int tree)
{
    if (depth <= 0) return;
    depth--;
    obj_store((void **)&n->left, node_new(NULL, NULL, depth, tree));
    obj_store((void **)&n->right, node_new(NULL, NULL, depth, tree));
    populate(depth, n->left, tree);
    populate(depth, n->right, tree);
}

/* Build a tree bottom-up, as GCBench's MakeTree. */
static node_t *make_tree(int depth, int tree)
{
    if (depth <= 0) return node_new(NULL, NULL, 0, tree);
    node_t *l = make_tree(depth - 1, tree);
    node_t *r = make_tree(depth - 1, tree);
    return node_new(l, r, depth, tree);
}

/* Nodes of a complete tree of this depth and number; -1 if anything is off. */
static long tree_count(const node_t *n, int depth, int tree)
{
    if (n == NULL || n->i != depth || n->j != tree) return -1;
    if (depth == 0) return n->left == NULL && n->right == NULL ? 1 : -1;
    long l = tree_count(n->left, depth - 1, tree), r = tree_count(n->right, depth - 1, tree);
    return l < 0 || r < 0 ? -1 : l + r + 1;
}

static void tree_free(node_t *n)
{
    if (n == NULL) return;
    tree_free(n->left);
    tree_free(n->right);
    obj_drop(n);
}

/* Check a tree the benchmark is done with, then let it go. */
static void tree_done(node_t *t, int depth, int tree)
{
    if (tree_count(t, depth, tree) != tree_size(depth))
        hpb_die(HPB_EXIT_CORRUPT, "gcbench: tree %d of depth %d is broken", tree, depth);
    if (be.kind == GCB_FREED) tree_free(t);
}

static void time_construction(int depth, int *tree)
{
    long iters = num_iters(depth);
    for (long i = 0; i < iters; i++) {
        node_t *t = node_new(NULL, NULL, depth, ++*tree);
        populate(depth, t, *tree);
        tree_done(t, depth, *tree);
    }
    for (long i = 0; i < iters; i++) {
        node_t *t = make_tree(depth, ++*tree);
        tree_done(t, depth, *tree);
    }
}

enum { LONG_LIVED_TREE = 1 };

/* The long-lived data, checked after everything else has come and gone. */
static void check_long_lived(void)
{
    if (tree_count(long_lived, (int)long_depth, LONG_LIVED_TREE) != tree_size(long_depth))
        hpb_die(HPB_EXIT_CORRUPT, "gcbench: the long-lived tree is broken");
    for (long i = 1; i < array_len / 2; i++)
        if (long_array[i] != 1.0 / (double)i)
            hpb_die(HPB_EXIT_CORRUPT, "gcbench: long-lived array[%ld] is broken", i);
}

static void run_gcbench(void)
{
    int tree = LONG_LIVED_TREE;
    uint64_t t0 = hpb_now_ns();
    tree++;
    tree_done(make_tree((int)stretch_depth, tree), (int)stretch_depth, tree);

    long_lived = node_new(NULL, NULL, (int)long_depth, LONG_LIVED_TREE);
    populate((int)long_depth, long_lived, LONG_LIVED_TREE);
    long_array = obj_alloc_noscan((size_t)array_len * sizeof(double));
    for (long i = 0; i < array_len / 2; i++)
        long_array[i] = i == 0 ? 0.0 : 1.0 / (double)i;

    for (long d = min_depth; d <= max_depth; d += 2)
        time_construction((int)d, &tree);
    uint64_t ns = hpb_now_ns() - t0;

    be.collect();
    check_long_lived();
    uint64_t live = (uint64_t)tree_size(long_depth) * sizeof(node_t) +
                    (uint64_t)array_len * sizeof(double);
    char name[64];
    snprintf(name, sizeof name, "GCBench/impl=%s", be.name);
    report(name, ns, live);
    if (be.kind == GCB_FREED) tree_free(long_lived);
    obj_drop(long_array);
}

/* ---- Churn ---------------------------------------------------------------- */

/* An entry's tag packs its sizes and a random stamp:
 *   bits 0-19 object size, 20-31 child size (0: no child), 32-63 random. */
static size_t tag_size(uint64_t tag) { return (size_t)(tag & 0xfffff); }
static size_t tag_child(uint64_t tag) { return (size_t)((tag >> 20) & 0xfff); }
#define CHECK_EVERY 16 /* replacements per check of the replaced entry */
#define CHILD_MIX 0x9e3779b97f4a7c15ULL /* a child's tag is its parent's ^ this */

/* An entry of the table: the object, and its tag beside it (one cache line
 * for both; the tag's random high half never looks like an address). */
typedef struct entry {
    void *obj;
    uint64_t tag;
} entry_t;

typedef struct churn {
    size_t n;           /* entries */
    uint64_t rng;       /* picks entries and shapes */
    uint64_t live;      /* bytes of the objects the table holds */
    uint64_t allocated; /* bytes allocated so far */
    uint64_t replaced;  /* entries replaced */
} churn_t;

/* The table: a GC object for the collectors, malloc'd otherwise.  A global,
 * so the collectors find it in this program's data. */
static entry_t *churn_table;

/* The shape of a new entry: 16-1024 B log-uniform, one in 1024 of 4-128
 * KiB; half of them scanned and holding a pointer to a 16-256 B child. */
static uint64_t entry_draw(uint64_t *rng)
{
    uint64_t r = hpb_rand(rng);
    size_t size = r % 1024 == 0 ? hpb_rand_size(rng, 4096, 128 * 1024)
                                : hpb_rand_size(rng, 16, 1024);
    size_t child = 0;
    if ((r >> 10) & 1) {
        child = hpb_rand_size(rng, 16, 256);
        if (size < 32) size = 32;
    }
    return (r & 0xffffffff00000000ULL) | (uint64_t)child << 20 | size;
}

/* Fill p[0..n) from offset h: tag, a byte pattern, and ~tag ^ n at the end.
 * The pattern's words (a repeated nonzero byte) are never user addresses. */
static void stamp(char *p, size_t n, size_t h, uint64_t tag)
{
    uint64_t tail = ~tag ^ n;
    memcpy(p + h, &tag, 8);
    memset(p + h + 8, (int)(tag >> 56) | 1, n - h - 16);
    memcpy(p + n - 8, &tail, 8);
}

static int stamp_ok(const char *p, size_t n, size_t h, uint64_t tag)
{
    uint64_t head, tail;
    memcpy(&head, p + h, 8);
    memcpy(&tail, p + n - 8, 8);
    return head == tag && tail == (~tag ^ n) &&
           (n - h == 16 || (unsigned char)p[n - 9] == ((unsigned char)(tag >> 56) | 1));
}

/* A new object for entry i.  An object with a child is scanned: its first
 * word points to the child, its stamp follows. */
static void entry_new(churn_t *c, size_t i, uint64_t tag)
{
    size_t size = tag_size(tag), csize = tag_child(tag);
    char *obj;
    if (csize != 0) {
        obj = obj_alloc(size);
        char *child = obj_alloc_noscan(csize);
        stamp(child, csize, 0, tag ^ CHILD_MIX);
        stamp(obj, size, 8, tag);
        obj_store((void **)obj, child);
    } else {
        obj = obj_alloc_noscan(size);
        stamp(obj, size, 0, tag);
    }
    obj_store(&churn_table[i].obj, obj);
    churn_table[i].tag = tag;
    c->live += size + csize;
    c->allocated += size + csize;
}

static void entry_check(size_t i)
{
    uint64_t tag = churn_table[i].tag;
    size_t size = tag_size(tag), csize = tag_child(tag);
    const char *obj = churn_table[i].obj;
    if (!stamp_ok(obj, size, csize != 0 ? 8 : 0, tag)) hpb_corrupt("churn", obj, size, tag);
    if (csize != 0) {
        const char *child = *(char *const *)obj;
        if (!stamp_ok(child, csize, 0, tag ^ CHILD_MIX))
            hpb_corrupt("churn child", child, csize, tag ^ CHILD_MIX);
    }
}

/* Let entry i's objects go (after checking them if check is set).  A
 * malloc backend reads the child's address to free it; a collector does
 * not touch the object at all. */
static void entry_drop(churn_t *c, size_t i, int check)
{
    entry_t e = churn_table[i];
    if (check) entry_check(i);
    if (be.kind == GCB_FREED && tag_child(e.tag) != 0) obj_drop(*(void **)e.obj);
    obj_drop(e.obj);
    c->live -= tag_size(e.tag) + tag_child(e.tag);
}

/* Size the table: as many entries as the shapes drawn from the seed take
 * to fill live bytes; churn_fill then draws the same shapes again. */
static void churn_init(churn_t *c, uint64_t live)
{
    memset(c, 0, sizeof *c);
    c->rng = hpb_seed((uint64_t)seed, 7);
    uint64_t rng = c->rng, sum = 0;
    while (sum < live) {
        uint64_t t = entry_draw(&rng);
        sum += tag_size(t) + tag_child(t);
        c->n++;
    }
    churn_table = obj_alloc(c->n * sizeof(entry_t));
    memset(churn_table, 0, c->n * sizeof(entry_t)); /* malloc's is not zeroed */
}

static void churn_fill(churn_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        entry_new(c, i, entry_draw(&c->rng));
}

static void churn_check_all(const churn_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        entry_check(i);
}

/* After churn_check_all: let everything go. */
static void churn_free(churn_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        entry_drop(c, i, 0);
    obj_drop(churn_table);
    churn_table = NULL;
}

static void run_churn(void)
{
    churn_t c;
    uint64_t live = (uint64_t)live_mb << 20, target = live * (uint64_t)alloc_x;
    churn_init(&c, live);
    uint64_t t0 = hpb_now_ns();
    churn_fill(&c);
    while (c.allocated < target) {
        size_t i = (size_t)(hpb_rand(&c.rng) % c.n);
        entry_drop(&c, i, (c.replaced & (CHECK_EVERY - 1)) == 0);
        entry_new(&c, i, entry_draw(&c.rng));
        c.replaced++;
    }
    uint64_t ns = hpb_now_ns() - t0;

    be.collect();
    churn_check_all(&c);
    char name[96];
    snprintf(name, sizeof name, "Churn/impl=%s/live=%ldMB", be.name, live_mb);
    report(name, ns, c.live);
    fprintf(stderr, "churn: %zu entries, %llu replaced, %.0f MB allocated\n", c.n,
            (unsigned long long)c.replaced, c.allocated / 1048576.0);
    churn_free(&c);
}

/* ---- Barrier ------------------------------------------------------------- */

#if defined(GCB_HOTPATH)

enum { SINK = 4096, BATCH = 4096, MAX_BATCHES = 1 << 22, MAX_WINDOWS = 1024 };

static void **sink;      /* a GC object the stores go into (a root: global) */
static void **sink_vals; /* malloc'd: SINK pointers to live churn objects */

/* A batch of BATCH stores: when it started and how long it took, ns. */
typedef struct batch {
    uint64_t start, ns;
} batch_t;

/* The marker thread calls hp_gc_collect() in a loop and records each
 * call's window [start, end).  A call sweeps what is left of the last
 * cycle, then stops the world, marks and stops it again; between calls it
 * rests half as long as the call took, so that the background sweeper
 * finishes and the next window is mostly marking. */
static struct {
    atomic_int stop;
    atomic_long cycles; /* windows recorded */
    uint64_t start[MAX_WINDOWS], end[MAX_WINDOWS];
} marker;

static void *marker_main(void *arg)
{
    (void)arg;
    for (long k = 0; k < MAX_WINDOWS && !atomic_load(&marker.stop); k++) {
        uint64_t t0 = hpb_now_ns();
        hp_gc_collect();
        uint64_t t1 = hpb_now_ns();
        marker.start[k] = t0;
        marker.end[k] = t1;
        atomic_store(&marker.cycles, k + 1);
        uint64_t rest = (t1 - t0) / 2;
        rest = rest < 5000000 ? 5000000 : rest > 500000000 ? 500000000 : rest;
        struct timespec ts = {(time_t)(rest / 1000000000u), (long)(rest % 1000000000u)};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* One batch of stores into sink, plain or with the barrier.  The compiler
 * barrier keeps every plain store, as the call keeps the barrier's. */
static void store_batch(int barrier, uint64_t k)
{
    for (uint64_t j = k; j < k + BATCH; j++) {
        void **slot = &sink[j & (SINK - 1)];
        void *v = sink_vals[(j * 2654435761u) & (SINK - 1)];
        if (barrier) {
            HP_GC_STORE(*slot, v);
        } else {
            *slot = v;
            __asm__ volatile("" : : "r"(slot) : "memory");
        }
    }
}

/* Time batches for at least min_ms and, while the marker runs, until it
 * has finished 3 collections (at most 60 s, or MAX_BATCHES). */
static size_t measure(int barrier, int marking, batch_t *b)
{
    uint64_t start = hpb_now_ns(), k = 0;
    long cycles0 = atomic_load(&marker.cycles);
    size_t n = 0;
    for (;;) {
        uint64_t b0 = hpb_now_ns();
        store_batch(barrier, k);
        uint64_t b1 = hpb_now_ns();
        k += BATCH;
        b[n++] = (batch_t){b0, b1 - b0};
        uint64_t el = b1 - start;
        int enough = el >= (uint64_t)min_ms * 1000000u &&
                     (!marking || atomic_load(&marker.cycles) - cycles0 >= 3);
        if (enough || el >= 60000000000ull || n == MAX_BATCHES) return n;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

typedef struct timing {
    uint64_t stores;               /* stores in the batches summarised */
    double median, mean, p90, p99; /* ns per store, over batches */
    double share;                  /* of the batches timed, those summarised */
} timing_t;

/* Does batch b lie inside one of the marker's windows?  (*w: the first
 * window that may hold it; batches come in time order.) */
static int in_window(const batch_t *b, long *w, long nw)
{
    while (*w < nw && marker.end[*w] <= b->start)
        (*w)++;
    return *w < nw && marker.start[*w] <= b->start && b->start + b->ns <= marker.end[*w];
}

/* Summarise the batches (with windows: only those inside a window). */
static timing_t summarise(const batch_t *b, size_t n, int windows, uint64_t *ns)
{
    timing_t t = {0};
    long w = 0, nw = atomic_load(&marker.cycles);
    size_t m = 0;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        if (windows && !in_window(&b[i], &w, nw)) continue;
        ns[m++] = b[i].ns;
        total += (double)b[i].ns;
    }
    if (m == 0) hpb_die(HPB_EXIT_SYS, "barrier: no batch ran inside a collection");
    qsort(ns, m, sizeof ns[0], cmp_u64);
    t.stores = (uint64_t)m * BATCH;
    t.median = (double)ns[m / 2] / BATCH;
    t.p90 = (double)ns[m * 9 / 10] / BATCH;
    t.p99 = (double)ns[m * 99 / 100] / BATCH;
    t.mean = total / (double)t.stores;
    t.share = (double)m / (double)n;
    return t;
}

/* A phase's result line; the marking phase also says how many of its
 * batches ran inside a collection (the others are not summarised). */
static void report_store(const char *phase, timing_t t, long gcs, int windows)
{
    printf("BenchmarkBarrier/impl=%s/live=%ldMB/phase=%s %llu %.3f ns/op %.3f mean-ns/op "
           "%.3f p90-ns/op %.3f p99-ns/op %ld GCs",
           be.name, live_mb, phase, (unsigned long long)t.stores, t.median, t.mean, t.p90,
           t.p99, gcs);
    if (windows) printf(" %.3f in-collection-frac", t.share);
    printf("\n");
    fflush(stdout);
}

/* Every slot of the sink holds one of the values stored, and all of the
 * heap, which the marker collected again and again, is intact. */
static void check_sink(void)
{
    qsort(sink_vals, SINK, sizeof(void *), cmp_ptr);
    for (size_t i = 0; i < SINK; i++)
        if (bsearch(&sink[i], sink_vals, SINK, sizeof(void *), cmp_ptr) == NULL)
            hpb_die(HPB_EXIT_CORRUPT, "barrier: sink[%zu] = %p was never stored", i, sink[i]);
}

static void run_barrier(void)
{
    if (!be.barrier) hpb_die(HPB_EXIT_USAGE, "barrier: only -impl hotpath declares the barrier");
    churn_t c;
    churn_init(&c, (uint64_t)live_mb << 20);
    churn_fill(&c);
    sink = obj_alloc(SINK * sizeof(void *));
    sink_vals = hpb_malloc(SINK * sizeof(void *));
    for (size_t i = 0; i < SINK; i++)
        sink_vals[i] = churn_table[hpb_rand(&c.rng) % c.n].obj;
    batch_t *b = hpb_malloc(MAX_BATCHES * sizeof(batch_t));
    uint64_t *ns = hpb_malloc(MAX_BATCHES * sizeof(uint64_t));

    hp_gc_collect(); /* nothing left running: the idle measurements */
    report_store("plain", summarise(b, measure(0, 0, b), 0, ns), 0, 0);
    report_store("idle", summarise(b, measure(1, 0, b), 0, ns), 0, 0);

    pthread_t thread;
    hpb_thread_start(&thread, marker_main, NULL);
    size_t n = measure(1, 1, b);
    atomic_store(&marker.stop, 1);
    hpb_thread_join(thread);
    report_store("marking", summarise(b, n, 1, ns), atomic_load(&marker.cycles), 1);

    hp_gc_collect();
    check_sink();
    churn_check_all(&c);
    free(b);
    free(ns);
    free(sink_vals);
}

#endif

int main(int argc, char **argv)
{
    parse_flags(argc, argv);
    select_backend();
    be.init();
    if (strcmp(workload, "gcbench") == 0) {
        run_gcbench();
    } else if (strcmp(workload, "churn") == 0) {
        run_churn();
#if defined(GCB_HOTPATH)
    } else if (strcmp(workload, "barrier") == 0) {
        run_barrier();
#endif
    } else {
        fprintf(stderr, "bench_gc: no workload %s in this program\n", workload);
        usage(HPB_EXIT_USAGE);
    }
    return 0;
}
