/* mcache_test: how much of a thread's frees its list of a class keeps
 * (mcache.c's limit on objects of spans other than the alloc span).
 *
 * Built from the library's objects, to read the thread's mcache.
 * - A thread that frees 1000 objects of 32 B and allocates 1000 again, round
 *   after round, has its limit grown until a whole round's frees stay on its
 *   list: after the last round's frees the list holds all 1000, and the
 *   limit is at most 1024.
 * - A thread that allocates 256K objects and frees them in shuffled order,
 *   with no allocation after, keeps the limit it started with (64, the
 *   first thread's grown limit not inherited with its reused cache): such
 *   frees must give their spans back, not pin one span per listed object.
 *
 * Usage: mcache_test   (prints "N passed, N failed")
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "alloc/internal.h"
#include "test.h"

enum { ROUND = 1000, ROUNDS = 20, SIZE = 32 };

/* Objects on the thread's list of class c; *other: those of other spans
 * than the alloc span (tagged links). */
static size_t list_length(hpi_mcache_t *mc, unsigned c, size_t *other)
{
    size_t n = 0;
    *other = 0;
    for (uintptr_t h = mc->free[c]; h != 0; n++) {
        *other += h & HPI_LIST_OTHER;
        h = (uintptr_t)((hpi_block_t *)(h & ~HPI_LIST_OTHER))->next;
    }
    return n;
}

static void *rounds_thread(void *arg)
{
    (void)arg;
    static void *o[ROUND];
    unsigned c = hpi_size_class(SIZE);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < ROUND; i++) o[i] = malloc(SIZE);
        for (int i = 0; i < ROUND; i++) free(o[i]);
    }
    hpi_mcache_t *mc = hpi_tls_mcache;
    size_t other, n = list_length(mc, c, &other);
    /* Sampled objects live in spans of their own and skip the list. */
    CHECK_MSG(n + 2 >= ROUND, "after %d rounds the list holds %zu of a round's %d frees",
              ROUNDS, n, ROUND);
    CHECK(mc->other_limit[c] > 64 && mc->other_limit[c] <= 1024);
    /* The room is what the limit leaves to the objects of other spans. */
    CHECK_EQ(mc->other_room[c] + other, (size_t)mc->other_limit[c]);
    return NULL;
}

static void *teardown_thread(void *arg)
{
    (void)arg;
    enum { N = 256 * 1024 };
    void **o = malloc(N * sizeof *o);
    if (!CHECK(o != NULL)) return NULL;
    unsigned c = hpi_size_class(SIZE);
    uint32_t start = hpi_tls_mcache->other_limit[c];
    for (size_t i = 0; i < N; i++) o[i] = malloc(SIZE);
    test_shuffle(o, N, 88172645463325252ull);
    for (size_t i = 0; i < N; i++) free(o[i]);
    CHECK_EQ(hpi_tls_mcache->other_limit[c], start);
    CHECK(start <= 64);
    free(o);
    return NULL;
}

static void run(void *(*fn)(void *))
{
    pthread_t t;
    if (CHECK(pthread_create(&t, NULL, fn, NULL) == 0)) pthread_join(t, NULL);
}

int main(void)
{
    run(rounds_thread);
    run(teardown_thread);
    return TEST_DONE();
}
