/* memstats_test: hp_read_memstats counts exactly what the program did.
 *
 * Single-threaded except where a test starts a thread on purpose, so the
 * fields documented as exact must move by exactly the amounts allocated:
 * K objects of size s raise mallocs and heap_objects by K and heap_alloc and
 * total_alloc by K * hp_good_size(s); large objects count in large_mallocs at
 * their page-rounded size; the per-class table agrees with hp_good_size; the
 * threads counter follows threads that allocate; a thread's frees give its
 * spans back, while it runs and when it exits; hp_release_memory() returns
 * freed large memory to the OS (heap_released and the process's RSS show it).
 *
 * Usage: memstats_test   (prints "N passed, N failed")
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotpath/hotpath.h"
#include "test.h"

enum { K = 1000 };
static void *objs[K];

static hp_memstats_t stats(void)
{
    hp_memstats_t st;
    hp_read_memstats(&st);
    return st;
}

/* The class whose size is `size`, or 0. */
static int class_of_size(const hp_memstats_t *st, size_t size)
{
    for (int c = 1; c < HP_NUM_SIZE_CLASSES; c++)
        if (st->by_size[c].size == size) return c;
    return 0;
}

static void test_class_table(void)
{
    hp_memstats_t st = stats();
    CHECK_EQ(st.by_size[0].size, 0);
    CHECK_EQ(st.by_size[0].mallocs, 0);
    int increasing = 1;
    for (int c = 2; c < HP_NUM_SIZE_CLASSES; c++)
        if (st.by_size[c].size <= st.by_size[c - 1].size) {
            increasing = 0;
            fprintf(stderr, "by_size[%d].size = %u after by_size[%d].size = %u\n", c,
                    st.by_size[c].size, c - 1, st.by_size[c - 1].size);
        }
    CHECK_MSG(increasing, "by_size sizes not strictly increasing over all %d classes",
              HP_NUM_SIZE_CLASSES);
    CHECK_EQ(st.by_size[HP_NUM_SIZE_CLASSES - 1].size, 32768);

    /* hp_good_size(s) is the smallest class that holds s. */
    int bad = 0;
    for (size_t s = 1; s <= 32768; s++) {
        size_t g = hp_good_size(s);
        int c = class_of_size(&st, g);
        if (g < s || !c || (c > 1 && st.by_size[c - 1].size >= s)) {
            if (bad++ < 5) fprintf(stderr, "hp_good_size(%zu) = %zu, class %d\n", s, g, c);
        }
    }
    CHECK_MSG(bad == 0, "%d sizes with a wrong hp_good_size", bad);
    CHECK_EQ(hp_good_size(0), hp_good_size(1));
}

static void test_small_exact(void)
{
    static const size_t sizes[] = {1, 8, 9, 16, 17, 100, 500, 1024, 1025, 5000, 20000, 32768};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i], g = hp_good_size(s);
        hp_memstats_t a = stats();
        int c = class_of_size(&a, g);
        if (!CHECK_MSG(c > 0, "hp_good_size(%zu) = %zu is no class size", s, g)) continue;
        for (int k = 0; k < K; k++) objs[k] = malloc(s);
        hp_memstats_t b = stats();
        int usable_ok = 1;
        for (int k = 0; k < K; k++) usable_ok &= objs[k] && malloc_usable_size(objs[k]) == g;
        CHECK_MSG(usable_ok, "malloc_usable_size(malloc(%zu)) != hp_good_size = %zu", s, g);
        CHECK_EQ(b.mallocs - a.mallocs, K);
        CHECK_EQ(b.frees, a.frees);
        CHECK_EQ(b.heap_objects - a.heap_objects, K);
        CHECK_EQ(b.heap_alloc - a.heap_alloc, (uint64_t)K * g);
        CHECK_EQ(b.alloc, b.heap_alloc);
        CHECK_EQ(b.total_alloc - a.total_alloc, (uint64_t)K * g);
        CHECK_EQ(b.by_size[c].mallocs - a.by_size[c].mallocs, K);
        CHECK_EQ(b.large_mallocs, a.large_mallocs);
        CHECK_GE(b.heap_inuse, b.heap_alloc);

        for (int k = 0; k < K; k++) {
            free(objs[k]);
            objs[k] = NULL;
        }
        hp_memstats_t d = stats();
        CHECK_EQ(d.frees - b.frees, K);
        CHECK_EQ(d.mallocs, b.mallocs);
        CHECK_EQ(d.heap_objects, a.heap_objects);
        CHECK_EQ(d.heap_alloc, a.heap_alloc);
        CHECK_EQ(d.total_alloc, b.total_alloc);
        CHECK_EQ(d.by_size[c].frees - b.by_size[c].frees, K);
    }
}

static void test_large_exact(void)
{
    static const size_t sizes[] = {32769, 40000, 65536, 100000, 1 << 20, (1 << 20) + 1, 10 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i], g = hp_good_size(s);
        CHECK_MSG(g >= s && g % 4096 == 0 && g - s < 8192, "hp_good_size(%zu) = %zu", s, g);
        hp_memstats_t a = stats();
        void *p = malloc(s);
        hp_memstats_t b = stats();
        CHECK(p != NULL);
        CHECK_EQ(malloc_usable_size(p), g);
        CHECK_EQ(b.large_mallocs - a.large_mallocs, 1);
        CHECK_EQ(b.mallocs - a.mallocs, 1);
        CHECK_EQ(b.heap_alloc - a.heap_alloc, g);
        CHECK_EQ(b.total_alloc - a.total_alloc, g);
        CHECK_EQ(b.heap_objects - a.heap_objects, 1);
        uint64_t small = 0;
        for (int c = 1; c < HP_NUM_SIZE_CLASSES; c++)
            small += b.by_size[c].mallocs - a.by_size[c].mallocs;
        CHECK_EQ(small, 0);
        CHECK_GE(b.heap_inuse - a.heap_inuse, g);
        free(p);
        hp_memstats_t d = stats();
        CHECK_EQ(d.large_frees - b.large_frees, 1);
        CHECK_EQ(d.heap_alloc, a.heap_alloc);
        CHECK_EQ(d.heap_objects, a.heap_objects);
    }
}

/* The fields that are sums of others, and the cumulative ones, over a mixed
 * sequence of operations. */
static void test_invariants_and_monotonic(void)
{
    hp_memstats_t prev = stats();
    uint64_t rng = 42;
    for (int step = 0; step < 3000; step++) {
        int k = test_rand(&rng) % K;
        if (objs[k]) {
            free(objs[k]);
            objs[k] = NULL;
        } else {
            unsigned r = test_rand(&rng) % 100;
            size_t s = r < 90 ? 1 + test_rand(&rng) % 2000 : 1 + test_rand(&rng) % 300000;
            objs[k] = malloc(s);
        }
        hp_memstats_t st = stats();
        if (!CHECK_GE(st.total_alloc, prev.total_alloc)) break;
        CHECK_GE(st.mallocs, prev.mallocs);
        CHECK_GE(st.frees, prev.frees);
        CHECK_EQ(st.mallocs - st.frees, st.heap_objects);
        CHECK_EQ(st.heap_sys, st.heap_inuse + st.heap_idle);
        CHECK_GE(st.heap_inuse, st.heap_alloc);
        CHECK_LE(st.heap_released, st.heap_idle);
        CHECK_EQ(st.sys, st.heap_sys + st.mspan_sys + st.mcache_sys + st.other_sys);
        CHECK_LE(st.mspan_inuse, st.mspan_sys);
        CHECK_LE(st.mcache_inuse, st.mcache_sys);
        CHECK_LE(st.heap_sys, st.arenas * (64ull << 20));
        prev = st;
    }
    for (int k = 0; k < K; k++) {
        free(objs[k]);
        objs[k] = NULL;
    }
}

static pthread_barrier_t barrier;

static void *allocating_thread(void *arg)
{
    void **keep = arg;
    for (int i = 0; i < 100; i++) keep[i] = malloc(64);
    pthread_barrier_wait(&barrier); /* main reads the counters now */
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void test_threads_counter(void)
{
    void *keep[100];
    hp_memstats_t a = stats();
    CHECK_GE(a.threads, 1); /* this thread has allocated */
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t t;
    if (!CHECK(pthread_create(&t, NULL, allocating_thread, keep) == 0)) return;
    pthread_barrier_wait(&barrier);
    hp_memstats_t b = stats();
    CHECK_EQ(b.threads, a.threads + 1);
    CHECK_GE(b.mallocs - a.mallocs, 100);
    pthread_barrier_wait(&barrier);
    pthread_join(t, NULL);
    hp_memstats_t c = stats();
    CHECK_EQ(c.threads, a.threads);
    /* The dead thread's counts are kept. */
    CHECK_GE(c.mallocs - a.mallocs, 100);
    CHECK_GE(c.total_alloc - a.total_alloc, 100 * hp_good_size(64));
    CHECK_GE(c.heap_objects - a.heap_objects, 100);
    for (int i = 0; i < 100; i++) free(keep[i]);
    hp_memstats_t d = stats();
    CHECK_EQ(d.heap_objects, c.heap_objects - 100);
    CHECK_EQ(d.mallocs - d.frees, d.heap_objects);
    pthread_barrier_destroy(&barrier);
}

/* A thread's frees give its spans back: the objects its cache keeps for the
 * next malloc (the alloc span's and a few dozen of other spans') and the few
 * empty spans it keeps (at most 1 MiB) are all that stays in use, however
 * many objects were freed and in whatever order.  N objects in shuffled
 * order, so that most frees land in spans other than the alloc span. */
enum { SPREAD_N = 1 << 20, SPREAD_SIZE = 32 };
static void **spread;

static void alloc_free_shuffled(void)
{
    for (size_t i = 0; i < SPREAD_N; i++) {
        spread[i] = malloc(SPREAD_SIZE);
        memset(spread[i], 0x5a, SPREAD_SIZE);
    }
    test_shuffle(spread, SPREAD_N, 88172645463325252ull);
    for (size_t i = 0; i < SPREAD_N; i++) free(spread[i]);
}

/* Frees two objects of each of 64 spans first, then the rest.  The first
 * free into a span takes it back if it was detached (full for a while); the
 * second stays on the thread's list, which holds 64 objects of spans other
 * than the alloc span.  So the 64 spans empty only when the exiting thread
 * gives its list back.  80-byte objects: a class no other test uses, whose
 * spans are one 8 KiB page of 102 objects. */
static void *list_thread(void *arg)
{
    (void)arg;
    enum { N = 64 * 102 * 2, SPANS = 64 };
    static void *o[N];
    static uintptr_t seen[SPANS];
    static int nfreed[SPANS];
    for (size_t i = 0; i < N; i++) o[i] = malloc(80);
    uintptr_t alloc_page = (uintptr_t)o[N - 1] >> 13;
    size_t nseen = 0;
    for (size_t i = 0; i < N; i++) {
        uintptr_t page = (uintptr_t)o[i] >> 13;
        size_t k = 0;
        while (k < nseen && seen[k] != page) k++;
        if (page == alloc_page || (k == nseen && nseen == SPANS) || (k < nseen && nfreed[k] == 2))
            continue;
        if (k == nseen) seen[nseen++] = page;
        nfreed[k]++;
        free(o[i]);
        o[i] = NULL;
    }
    for (size_t i = 0; i < N; i++) free(o[i]);
    return NULL;
}

static void *spread_thread(void *arg)
{
    (void)arg;
    alloc_free_shuffled();
    return NULL;
}

static void test_frees_return_spans(void)
{
    /* Kept after the frees: 1 MiB of empty spans, 64 objects of other spans
     * pinning a span each, the alloc span: 2 MiB leaves room.  The objects
     * took 32 MiB. */
    const uint64_t slack = 2u << 20;
    spread = malloc(SPREAD_N * sizeof *spread);
    if (!CHECK(spread != NULL)) return;
    hp_memstats_t a = stats();
    alloc_free_shuffled();
    hp_memstats_t b = stats();
    CHECK_EQ(b.heap_objects, a.heap_objects);
    CHECK_MSG(b.heap_inuse <= a.heap_inuse + slack,
              "same thread: heap_inuse %llu -> %llu KiB after freeing 32 MiB",
              (unsigned long long)(a.heap_inuse >> 10), (unsigned long long)(b.heap_inuse >> 10));
    /* A thread that exits gives back what its cache kept. */
    pthread_t t;
    if (!CHECK(pthread_create(&t, NULL, spread_thread, NULL) == 0)) return;
    pthread_join(t, NULL);
    hp_memstats_t c = stats();
    CHECK_EQ(c.heap_objects, b.heap_objects);
    CHECK_MSG(c.heap_inuse <= b.heap_inuse + slack,
              "exited thread: heap_inuse %llu -> %llu KiB after freeing 32 MiB",
              (unsigned long long)(b.heap_inuse >> 10), (unsigned long long)(c.heap_inuse >> 10));
    free(spread);
    /* Exactly what a thread's list held goes back at exit (512 KiB of spans
     * if it did not). */
    hp_memstats_t d = stats();
    if (!CHECK(pthread_create(&t, NULL, list_thread, NULL) == 0)) return;
    pthread_join(t, NULL);
    hp_memstats_t e = stats();
    CHECK_MSG(e.heap_inuse <= d.heap_inuse + (64u << 10),
              "exited thread: heap_inuse %llu -> %llu KiB", (unsigned long long)(d.heap_inuse >> 10),
              (unsigned long long)(e.heap_inuse >> 10));
}

static uint64_t rss_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Frees 64 MiB of touched large blocks and returns them to the OS with
 * `release` (hp_release_memory or malloc_trim). */
static void check_release(const char *name, int use_trim)
{
    enum { N = 64, SZ = 1 << 20 };
    static void *big[N];
    for (int i = 0; i < N; i++) {
        big[i] = malloc(SZ);
        if (!CHECK(big[i] != NULL)) return;
        memset(big[i], 0x77, SZ);
    }
    hp_memstats_t a = stats();
    uint64_t rss_full = rss_bytes();
    for (int i = 0; i < N; i++) free(big[i]);
    uint64_t released = 0;
    if (use_trim)
        CHECK_EQ(malloc_trim(0), 1);
    else
        released = hp_release_memory();
    hp_memstats_t b = stats();
    uint64_t rss_after = rss_bytes();
    CHECK_MSG(b.heap_released >= a.heap_released + (32u << 20),
              "%s: heap_released %llu -> %llu after freeing 64 MiB", name,
              (unsigned long long)a.heap_released, (unsigned long long)b.heap_released);
    CHECK_MSG(b.scavenged_bytes >= a.scavenged_bytes + (32u << 20),
              "%s: scavenged_bytes %llu -> %llu", name, (unsigned long long)a.scavenged_bytes,
              (unsigned long long)b.scavenged_bytes);
    CHECK_LE(released, b.scavenged_bytes - a.scavenged_bytes);
    CHECK_MSG(rss_after + (32u << 20) <= rss_full, "%s: RSS %llu KiB -> %llu KiB", name,
              (unsigned long long)(rss_full >> 10), (unsigned long long)(rss_after >> 10));
    CHECK_LE(b.heap_released, b.heap_idle);
    /* Released memory is usable again. */
    void *p = malloc(SZ);
    CHECK(p != NULL);
    if (p) memset(p, 1, SZ);
    free(p);
}

static void test_hp_entry_points(void)
{
    hp_memstats_t a = stats();
    void *p = hp_malloc(100), *q = hp_calloc(10, 10), *r = hp_aligned_alloc(4096, 100);
    p = hp_realloc(p, 5000);
    hp_memstats_t b = stats();
    CHECK(p && q && r);
    CHECK(((uintptr_t)r & 4095) == 0);
    CHECK_GE(hp_usable_size(p), 5000);
    CHECK_EQ(hp_usable_size(q), malloc_usable_size(q));
    CHECK_EQ(b.heap_objects - a.heap_objects, 3);
    CHECK_GE(b.mallocs - a.mallocs, 4); /* realloc that moves counts one more */
    hp_free(p);
    hp_free(q);
    free(r);
    hp_free(NULL);
    hp_memstats_t c = stats();
    CHECK_EQ(c.heap_objects, a.heap_objects);
    CHECK_EQ(hp_usable_size(NULL), 0);
}

int main(void)
{
    printf("memstats_test\n"); /* stdout's buffer exists before any baseline */
    free(malloc(1));
    /* The first span given back to the page heap starts the scavenger
     * thread, and pthread_create allocates: start it before any baseline. */
    free(malloc(1 << 20));
    test_class_table();
    test_small_exact();
    test_large_exact();
    test_invariants_and_monotonic();
    test_threads_counter();
    test_frees_return_spans();
    check_release("hp_release_memory", 0);
    check_release("malloc_trim", 1);
    test_hp_entry_points();
    return TEST_DONE();
}
