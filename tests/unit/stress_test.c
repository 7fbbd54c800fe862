/* stress_test: seeded multi-threaded allocation stress with cross-thread frees.
 *
 * Usage: stress_test [seed [threads [seconds]]]
 *   seed     0 or absent: derived from the clock; always printed, so a failing
 *            run can be repeated (each thread's sequence of operations depends
 *            only on the seed and its index; how far it gets depends on time)
 *   threads  worker threads (default 4)
 *   seconds  how long the workers run (default 3)
 *
 * Each worker owns an array of slots and, in a loop, allocates (malloc,
 * calloc, posix_memalign), reallocates and frees blocks of random sizes: mostly
 * small (1-512 bytes), some medium (to 32 KiB), a few large (to 1 MiB).  Every
 * block is filled with a pattern computed from its address, its size and the
 * seed, and checked before it is freed or reallocated, so a block handed out
 * twice, overlapping another, or damaged by the allocator's own bookkeeping is
 * caught.  Workers also swap blocks through a shared exchange array with
 * atomic exchange; the block a worker gets back was allocated by another
 * thread, and it verifies and frees it there (a remote free).
 *
 * Meanwhile the main thread reads the statistics over and over (the read must
 * be safe while others allocate; cumulative counters must not go backwards).
 * At the end everything is freed and hp_read_memstats must balance exactly.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/hotpath.h"
#include "test.h"

enum { NSLOTS = 1024, NEXCH = 256, MAX_THREADS = 64, HDR = 16 };

typedef struct {
    void *p;
    size_t n;
} slot_t;

typedef struct {
    pthread_t tid;
    int index;
    uint64_t rng;
    slot_t *slots;
    uint64_t allocs, frees, remote, reallocs, bytes_checked;
} worker_t;

static uint64_t seed;
static int stop;         /* atomic: set by main when time is up */
static void *exch[NEXCH]; /* atomic pointers: blocks in flight between threads */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static uint64_t block_key(const void *p, size_t n)
{
    return mix((uint64_t)(uintptr_t)p ^ (n * 0x9e3779b97f4a7c15ull) ^ seed);
}

/* The pattern: word i of the block is key + i * odd; a short tail gets the
 * low bytes of the next word. */
static void pattern_fill(unsigned char *b, size_t n, uint64_t key)
{
    size_t i = 0, w = 0;
    for (; i + 8 <= n; i += 8, w++) {
        uint64_t v = key + w * 0x2545f4914f6cdd1dull;
        memcpy(b + i, &v, 8);
    }
    uint64_t v = key + w * 0x2545f4914f6cdd1dull;
    for (; i < n; i++, v >>= 8) b[i] = (unsigned char)v;
}

/* Returns 1 if the first n bytes of b carry the pattern of key. */
static int pattern_ok(const unsigned char *b, size_t n, uint64_t key)
{
    size_t i = 0, w = 0;
    for (; i + 8 <= n; i += 8, w++) {
        uint64_t v = key + w * 0x2545f4914f6cdd1dull, got;
        memcpy(&got, b + i, 8);
        if (got != v) return 0;
    }
    uint64_t v = key + w * 0x2545f4914f6cdd1dull;
    for (; i < n; i++, v >>= 8)
        if (b[i] != (unsigned char)v) return 0;
    return 1;
}

static int is_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

static size_t random_size(uint64_t *rng)
{
    uint64_t r = test_rand(rng);
    unsigned pick = r % 1000;
    r >>= 10;
    if (pick < 900) return 1 + r % (pick < 450 ? 64 : 512);
    if (pick < 995) return 513 + r % (32768 - 512);
    return 32769 + r % ((1 << 20) - 32768);
}

static void *random_alloc(worker_t *w, size_t n)
{
    uint64_t r = test_rand(&w->rng) % 100;
    void *p;
    if (r < 80) {
        p = malloc(n);
    } else if (r < 92) {
        p = calloc(1, n);
        if (p) CHECK_MSG(is_zero(p, n), "seed %llu: calloc(1, %zu) not zeroed",
                         (unsigned long long)seed, n);
    } else {
        size_t align = (size_t)16 << (test_rand(&w->rng) % 9); /* 16 .. 4096 */
        if (posix_memalign(&p, align, n)) p = NULL;
        if (p) CHECK_MSG(((uintptr_t)p & (align - 1)) == 0, "posix_memalign misaligned");
    }
    if (!CHECK_MSG(p != NULL, "allocation of %zu bytes failed", n)) return NULL;
    w->allocs++;
    return p;
}

static void check_and_free(worker_t *w, void *p, size_t n, int remote)
{
    if (!CHECK_MSG(pattern_ok(p, n, block_key(p, n)),
                   "seed %llu: block %p of %zu bytes corrupted (remote=%d)",
                   (unsigned long long)seed, p, n, remote))
        return; /* leak it rather than free a block we no longer trust */
    w->bytes_checked += n;
    free(p);
    w->frees++;
    w->remote += remote;
}

static void slot_fill(worker_t *w, slot_t *s)
{
    size_t n = random_size(&w->rng);
    s->p = random_alloc(w, n);
    s->n = s->p ? n : 0;
    if (s->p) pattern_fill(s->p, n, block_key(s->p, n));
}

static void slot_realloc(worker_t *w, slot_t *s)
{
    size_t n = random_size(&w->rng), keep = n < s->n ? n : s->n;
    uint64_t old_key = block_key(s->p, s->n);
    if (!CHECK_MSG(pattern_ok(s->p, s->n, old_key), "seed %llu: block corrupted before realloc",
                   (unsigned long long)seed))
        return;
    void *q = realloc(s->p, n);
    if (!CHECK_MSG(q != NULL, "realloc to %zu failed", n)) return;
    CHECK_MSG(pattern_ok(q, keep, old_key), "seed %llu: realloc %zu -> %zu lost contents",
              (unsigned long long)seed, s->n, n);
    pattern_fill(q, n, block_key(q, n));
    s->p = q;
    s->n = n;
    w->reallocs++;
}

/* Put a fresh block (size stored in its header) into the exchange array and
 * free whatever was there: usually another thread's block. */
static void exchange(worker_t *w)
{
    size_t n = HDR + random_size(&w->rng) % 4096;
    unsigned char *b = random_alloc(w, n);
    if (!b) return;
    uint64_t owner = (uint64_t)w->index;
    memcpy(b, &n, 8);
    memcpy(b + 8, &owner, 8);
    pattern_fill(b + HDR, n - HDR, block_key(b, n));
    unsigned i = test_rand(&w->rng) % NEXCH;
    unsigned char *old = __atomic_exchange_n(&exch[i], b, __ATOMIC_ACQ_REL);
    if (!old) return;
    size_t on;
    memcpy(&on, old, 8);
    memcpy(&owner, old + 8, 8);
    if (!CHECK_MSG(on >= HDR && on <= HDR + 4096, "exchanged block has bad size %zu", on)) return;
    if (!CHECK_MSG(pattern_ok(old + HDR, on - HDR, block_key(old, on)),
                   "seed %llu: exchanged block %p of %zu bytes corrupted",
                   (unsigned long long)seed, (void *)old, on))
        return;
    free(old);
    w->frees++;
    w->remote += owner != (uint64_t)w->index;
}

static void *worker(void *arg)
{
    worker_t *w = arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        for (int k = 0; k < 256; k++) {
            slot_t *s = &w->slots[test_rand(&w->rng) % NSLOTS];
            unsigned op = test_rand(&w->rng) % 100;
            if (op < 10) {
                exchange(w);
            } else if (op < 16 && s->p) {
                slot_realloc(w, s);
            } else if (s->p) {
                check_and_free(w, s->p, s->n, 0);
                s->p = NULL;
                if (op < 60) slot_fill(w, s);
            } else {
                slot_fill(w, s);
            }
        }
    }
    for (int i = 0; i < NSLOTS; i++)
        if (w->slots[i].p) check_and_free(w, w->slots[i].p, w->slots[i].n, 0);
    return NULL;
}

static void *warmup(void *arg)
{
    free(malloc(16));
    return arg;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Cumulative counters never decrease, even read while threads allocate. */
static void watch_stats(double seconds)
{
    hp_memstats_t prev, cur;
    hp_read_memstats(&prev);
    double end = now() + seconds;
    unsigned reads = 0;
    while (now() < end) {
        hp_read_memstats(&cur);
        reads++;
        CHECK_GE(cur.total_alloc, prev.total_alloc);
        CHECK_GE(cur.mallocs, prev.mallocs);
        CHECK_GE(cur.frees, prev.frees);
        CHECK_GE(cur.scavenged_bytes, prev.scavenged_bytes);
        prev = cur;
        usleep(2000);
    }
    printf("stress: %u concurrent stats reads\n", reads);
}

static void check_final(const hp_memstats_t *a, const hp_memstats_t *b, int nthreads,
                        uint64_t allocs, uint64_t remote)
{
    CHECK_EQ(b->heap_objects, a->heap_objects);
    CHECK_EQ(b->heap_alloc, a->heap_alloc);
    CHECK_EQ(b->alloc, b->heap_alloc);
    CHECK_EQ(b->mallocs - b->frees, b->heap_objects);
    CHECK_GE(b->mallocs - a->mallocs, allocs);
    CHECK_EQ(b->mallocs - a->mallocs, b->frees - a->frees);
    CHECK_GT(b->total_alloc, a->total_alloc);
    CHECK_GE(b->heap_inuse, b->heap_alloc);
    CHECK_EQ(b->heap_sys, b->heap_inuse + b->heap_idle);
    CHECK_GE(b->heap_idle, b->heap_released);
    CHECK_GE(b->sys, b->heap_sys);
    CHECK_GT(b->large_mallocs, a->large_mallocs);
    CHECK_EQ(b->large_mallocs - a->large_mallocs, b->large_frees - a->large_frees);
    CHECK_EQ(b->threads, a->threads);
    if (nthreads > 1 && remote > 0) CHECK_GT(b->remote_frees, a->remote_frees);
    uint64_t m = 0, f = 0;
    for (int c = 1; c < HP_NUM_SIZE_CLASSES; c++) {
        m += b->by_size[c].mallocs;
        f += b->by_size[c].frees;
    }
    CHECK_EQ(m, b->mallocs - b->large_mallocs);
    CHECK_EQ(f, b->frees - b->large_frees);
}

int main(int argc, char **argv)
{
    seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;
    int nthreads = argc > 2 ? atoi(argv[2]) : 4;
    double seconds = argc > 3 ? atof(argv[3]) : 3;
    if (!seed) seed = mix((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    if (nthreads < 1 || nthreads > MAX_THREADS) nthreads = 4;
    printf("stress: seed=%llu threads=%d seconds=%g\n", (unsigned long long)seed, nthreads,
           seconds);
    fflush(stdout);

    /* Harness memory first, and one round of thread creation so that glibc's
     * per-thread allocations (thread-local storage vectors of cached stacks)
     * exist before the baseline is taken. */
    static worker_t workers[MAX_THREADS];
    for (int i = 0; i < nthreads; i++) {
        workers[i].index = i;
        workers[i].rng = seed * (i + 1) + i;
        workers[i].slots = calloc(NSLOTS, sizeof(slot_t));
        if (!CHECK(workers[i].slots != NULL)) return TEST_DONE();
    }
    for (int i = 0; i < nthreads; i++) pthread_create(&workers[i].tid, NULL, warmup, NULL);
    for (int i = 0; i < nthreads; i++) pthread_join(workers[i].tid, NULL);

    hp_memstats_t start, end;
    hp_read_memstats(&start);
    for (int i = 0; i < nthreads; i++)
        if (!CHECK(pthread_create(&workers[i].tid, NULL, worker, &workers[i]) == 0))
            return TEST_DONE();
    watch_stats(seconds);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    uint64_t allocs = 0, frees = 0, remote = 0, reallocs = 0, checked = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(workers[i].tid, NULL);
        allocs += workers[i].allocs;
        frees += workers[i].frees;
        remote += workers[i].remote;
        reallocs += workers[i].reallocs;
        checked += workers[i].bytes_checked;
    }
    worker_t mainw = {.index = -1};
    for (int i = 0; i < NEXCH; i++) {
        unsigned char *b = __atomic_exchange_n(&exch[i], NULL, __ATOMIC_ACQ_REL);
        if (b) {
            size_t n;
            memcpy(&n, b, 8);
            CHECK(pattern_ok(b + HDR, n - HDR, block_key(b, n)));
            free(b);
            mainw.frees++;
        }
    }
    frees += mainw.frees;
    hp_read_memstats(&end);

    CHECK_EQ(allocs, frees);
    CHECK_GT(allocs, 10000);
    check_final(&start, &end, nthreads, allocs, remote);
    printf("stress: %llu allocations, %llu reallocs, %llu remote frees (hotpath counted %llu), "
           "%llu MiB verified\n",
           (unsigned long long)allocs, (unsigned long long)reallocs, (unsigned long long)remote,
           (unsigned long long)(end.remote_frees - start.remote_frees),
           (unsigned long long)(checked >> 20));
    for (int i = 0; i < nthreads; i++) free(workers[i].slots);
    return TEST_DONE();
}
