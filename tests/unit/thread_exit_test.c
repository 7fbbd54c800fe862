/* thread_exit_test: memory of exited threads is reused, not stranded.
 *
 * 2000 short-lived threads run in waves of 50.  Each allocates a few hundred
 * blocks, frees some itself, frees the blocks a thread of the previous (dead)
 * wave handed over, hands some to the next wave, and leaves the rest for the
 * main thread to free after it has exited.  Every fourth wave is detached.
 * When a thread exits its cache must go back to the heap: if it did not, 2000
 * threads would strand hundreds of MiB of partly used spans.  So after the
 * waves heap_sys must stay under a generous bound (64 MiB), must not keep
 * growing from wave to wave, and the threads counter must come back to where
 * it started.  Every block is checked for damage before it is freed.
 *
 * Usage: thread_exit_test [waves]   (default 40; prints "N passed, N failed")
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hotpath/hotpath.h"
#include "test.h"

enum { WAVE = 50, PER_THREAD = 200, HANDOFF = 40, LEFTOVER = 40 };

typedef struct {
    unsigned char *p;
    size_t n;
} block_t;

typedef struct {
    uint64_t seed;
    block_t handoff[HANDOFF];   /* freed by the same index in the next wave */
    block_t leftover[LEFTOVER]; /* freed by main after the thread is gone */
    int damaged;
} slot_t;

static slot_t slots[WAVE];
static int finished; /* atomic: threads of the current wave that are done */

static void fill(block_t b)
{
    unsigned char salt = (unsigned char)((uintptr_t)b.p >> 4);
    for (size_t i = 0; i < b.n; i++) b.p[i] = (unsigned char)(i + salt);
}

static int intact(block_t b)
{
    unsigned char salt = (unsigned char)((uintptr_t)b.p >> 4);
    for (size_t i = 0; i < b.n; i++)
        if (b.p[i] != (unsigned char)(i + salt)) return 0;
    return 1;
}

static int release(block_t *b)
{
    int bad = 0;
    if (b->p) {
        bad = !intact(*b);
        free(b->p);
    }
    b->p = NULL;
    return bad;
}

static block_t new_block(uint64_t *rng)
{
    uint64_t x = test_rand(rng);
    block_t b;
    b.n = x % 100 < 98 ? 1 + (x >> 8) % 2048 : 1 + (x >> 8) % 40000;
    b.p = malloc(b.n);
    if (b.p) fill(b);
    return b;
}

static void *thread_main(void *arg)
{
    slot_t *s = arg;
    block_t mine[PER_THREAD];
    int bad = 0;
    for (int i = 0; i < PER_THREAD; i++) {
        mine[i] = new_block(&s->seed);
        bad += mine[i].p == NULL;
    }
    for (int i = 0; i < HANDOFF; i++) bad += release(&s->handoff[i]); /* a dead thread's */
    for (int i = 0; i < PER_THREAD; i++) {
        if (i < HANDOFF)
            s->handoff[i] = mine[i];
        else if (i < HANDOFF + LEFTOVER)
            s->leftover[i - HANDOFF] = mine[i];
        else
            bad += release(&mine[i]);
    }
    s->damaged += bad;
    __atomic_add_fetch(&finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void wait_finished(int n)
{
    struct timespec nap = {0, 1000 * 1000};
    while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < n) nanosleep(&nap, NULL);
}

static int run_wave(int wave, int detached)
{
    pthread_t t[WAVE];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (detached) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    __atomic_store_n(&finished, 0, __ATOMIC_RELAXED);
    int started = 0;
    for (int i = 0; i < WAVE; i++) {
        slots[i].seed = (uint64_t)wave * 1000003 + i;
        if (!CHECK(pthread_create(&t[i], &attr, thread_main, &slots[i]) == 0)) break;
        started++;
    }
    pthread_attr_destroy(&attr);
    if (detached)
        wait_finished(started);
    else
        for (int i = 0; i < started; i++) pthread_join(t[i], NULL);
    int bad = 0;
    for (int i = 0; i < WAVE; i++)
        for (int j = 0; j < LEFTOVER; j++) bad += release(&slots[i].leftover[j]);
    return bad;
}

/* Detached threads may still be exiting when they have said they are done. */
static uint64_t settled_threads(uint64_t want)
{
    struct timespec nap = {0, 10 * 1000 * 1000};
    hp_memstats_t st;
    for (int i = 0; i < 1000; i++) {
        hp_read_memstats(&st);
        if (st.threads == want) break;
        nanosleep(&nap, NULL);
    }
    return st.threads;
}

int main(int argc, char **argv)
{
    int waves = argc > 1 ? atoi(argv[1]) : 40;
    printf("thread_exit_test: %d waves of %d threads\n", waves, WAVE);
    fflush(stdout);
    free(malloc(1));

    /* One wave first, so that glibc's cached thread stacks (and the TLS
     * vectors they keep allocated) exist before the baseline. */
    int damaged = run_wave(-1, 0);
    hp_memstats_t start, mid = {0}, end;
    hp_read_memstats(&start);

    for (int w = 0; w < waves; w++) {
        int detached = w % 4 == 3;
        damaged += run_wave(w, detached);
        if (!detached) {
            hp_memstats_t st;
            hp_read_memstats(&st);
            CHECK_MSG(st.threads == start.threads, "after joining wave %d: threads %llu, want %llu",
                      w, (unsigned long long)st.threads, (unsigned long long)start.threads);
        }
        if (w == 4) hp_read_memstats(&mid);
    }
    for (int i = 0; i < WAVE; i++)
        for (int j = 0; j < HANDOFF; j++) damaged += release(&slots[i].handoff[j]);
    for (int i = 0; i < WAVE; i++) damaged += slots[i].damaged;

    uint64_t threads = settled_threads(start.threads);
    hp_read_memstats(&end);
    CHECK_EQ(damaged, 0);
    CHECK_EQ(threads, start.threads);
    CHECK_MSG(end.heap_sys < (64u << 20), "heap_sys %llu MiB after %d threads",
              (unsigned long long)(end.heap_sys >> 20), waves * WAVE);
    if (waves > 5)
        CHECK_MSG(end.heap_sys <= mid.heap_sys + (16u << 20),
                  "heap_sys grew from %llu MiB after 5 waves to %llu MiB after %d",
                  (unsigned long long)(mid.heap_sys >> 20), (unsigned long long)(end.heap_sys >> 20),
                  waves);
    CHECK_GE(end.mallocs - start.mallocs, (uint64_t)waves * WAVE * PER_THREAD);
    /* Everything the threads allocated is freed; glibc may still hold a TLS
     * vector per cached thread stack. */
    CHECK_LE(end.heap_objects, start.heap_objects + WAVE);
    CHECK_EQ(end.mallocs - end.frees, end.heap_objects);
    CHECK_EQ(end.heap_sys, end.heap_inuse + end.heap_idle);
    printf("thread_exit_test: heap_sys %llu KiB (after 5 waves %llu KiB), %llu remote frees\n",
           (unsigned long long)(end.heap_sys >> 10), (unsigned long long)(mid.heap_sys >> 10),
           (unsigned long long)(end.remote_frees - start.remote_frees));
    return TEST_DONE();
}
