/* cpuring_test: the CPU profiler's sample ring (src/prof/cpuring.c).
 * Single-threaded: order, full ring, lost count, reuse after wrap-around.
 * Multi-threaded: producers push numbered records while one consumer drains;
 * every record arrives exactly once, intact, and each producer's records in
 * the order it pushed them; reserved + lost = attempted.  Seeded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "prof/cpuring.h"
#include "test.h"

#define NPROD 4
#define PER_PROD 200000

static hpi_cpuring_t ring;
static _Atomic int producers_done;
static _Atomic uint64_t pushed[NPROD], attempts[NPROD];

static void fill(hpi_cpurec_t *rec, uint64_t prod, uint64_t n)
{
    rec->npcs = (int)(n % HPI_STACK_MAX) + 1;
    for (int i = 0; i < rec->npcs; i++)
        rec->pcs[i] = (prod << 48) | (n << 8) | (uint64_t)i;
    rec->labels = (const hp_labels_t *)(uintptr_t)(prod + 1);
}

static int intact(const hpi_cpurec_t *rec, uint64_t *prod, uint64_t *n)
{
    *prod = rec->pcs[0] >> 48;
    *n = (rec->pcs[0] >> 8) & ((1ull << 40) - 1);
    if (rec->npcs != (int)(*n % HPI_STACK_MAX) + 1) return 0;
    if (rec->labels != (const hp_labels_t *)(uintptr_t)(*prod + 1)) return 0;
    for (int i = 0; i < rec->npcs; i++)
        if (rec->pcs[i] != ((*prod << 48) | (*n << 8) | (uint64_t)i)) return 0;
    return 1;
}

static void single_thread(void)
{
    hpi_cpuring_t r;
    CHECK_EQ(hpi_cpuring_init(&r, 6), EINVAL);
    if (!CHECK_EQ(hpi_cpuring_init(&r, 8), 0)) return;
    CHECK(hpi_cpuring_peek(&r) == NULL);
    for (uint64_t round = 0; round < 3; round++) {
        for (uint64_t i = 0; i < 8; i++) {
            hpi_cpurec_t *rec = hpi_cpuring_reserve(&r);
            if (!CHECK(rec != NULL)) return;
            fill(rec, 0, round * 8 + i);
            hpi_cpuring_publish(&r, rec);
        }
        CHECK(hpi_cpuring_reserve(&r) == NULL);
        CHECK(hpi_cpuring_reserve(&r) == NULL);
        CHECK_EQ(hpi_cpuring_take_lost(&r), 2);
        CHECK_EQ(hpi_cpuring_take_lost(&r), 0);
        for (uint64_t i = 0; i < 8; i++) {
            hpi_cpurec_t *rec = hpi_cpuring_peek(&r);
            uint64_t p, n;
            if (!CHECK(rec != NULL)) return;
            CHECK(intact(rec, &p, &n));
            CHECK_EQ(n, round * 8 + i);
            hpi_cpuring_release(&r, rec);
        }
        CHECK(hpi_cpuring_peek(&r) == NULL);
    }
    /* A reserved slot not yet published holds back the consumer. */
    hpi_cpurec_t *a = hpi_cpuring_reserve(&r), *b = hpi_cpuring_reserve(&r);
    fill(b, 0, 1);
    hpi_cpuring_publish(&r, b);
    CHECK(hpi_cpuring_peek(&r) == NULL);
    fill(a, 0, 0);
    hpi_cpuring_publish(&r, a);
    CHECK(hpi_cpuring_peek(&r) == a);
    hpi_cpuring_reset(&r);
    CHECK(hpi_cpuring_peek(&r) == NULL);
}

static void *producer(void *arg)
{
    uint64_t id = (uintptr_t)arg, seed = id * 977 + 1;
    for (uint64_t n = 0; n < PER_PROD;) {
        hpi_cpurec_t *rec = hpi_cpuring_reserve(&ring);
        atomic_fetch_add(&attempts[id], 1);
        if (rec == NULL) {
            if (test_rand(&seed) % 4 == 0) n++; /* sometimes give the sample up */
            continue;
        }
        fill(rec, id, n++);
        hpi_cpuring_publish(&ring, rec);
        atomic_fetch_add(&pushed[id], 1);
    }
    atomic_fetch_add(&producers_done, 1);
    return NULL;
}

static void multi_thread(void)
{
    if (!CHECK_EQ(hpi_cpuring_init(&ring, 256), 0)) return;
    pthread_t t[NPROD];
    for (uintptr_t i = 0; i < NPROD; i++)
        pthread_create(&t[i], NULL, producer, (void *)i);
    uint64_t got[NPROD] = {0}, last[NPROD], bad = 0, disorder = 0;
    memset(last, 0xff, sizeof last);
    for (;;) {
        int done = atomic_load(&producers_done) == NPROD;
        hpi_cpurec_t *rec;
        while ((rec = hpi_cpuring_peek(&ring)) != NULL) {
            uint64_t p, n;
            if (!intact(rec, &p, &n) || p >= NPROD) {
                bad++;
            } else {
                if (last[p] != UINT64_MAX && n <= last[p]) disorder++;
                last[p] = n;
                got[p]++;
            }
            hpi_cpuring_release(&ring, rec);
        }
        if (done) break;
    }
    for (int i = 0; i < NPROD; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(bad, 0);
    CHECK_EQ(disorder, 0);
    uint64_t total = 0, tries = 0;
    for (int i = 0; i < NPROD; i++) {
        CHECK_EQ(got[i], atomic_load(&pushed[i]));
        total += got[i];
        tries += atomic_load(&attempts[i]);
    }
    uint64_t lost = hpi_cpuring_take_lost(&ring);
    CHECK_EQ(total + lost, tries);
    printf("ring: %llu records, %llu lost to a full ring\n", (unsigned long long)total,
           (unsigned long long)lost);
    CHECK_GT(total, 0);
}

int main(void)
{
    single_thread();
    multi_thread();
    return TEST_DONE();
}
