/* handoff_test: memory a thread allocated and other threads freed is usable
 * again while the allocating thread lives on.
 *
 * A producer thread allocates 64 MiB of 256-byte objects in one burst and
 * hands them to a consumer thread, which frees them all (remote frees); the
 * producer then waits, allocating nothing, without exiting.  A third thread
 * allocates 64 MiB of the same class.  If the producer's cache kept the spans
 * the consumer freed into, the third thread would need another 64 MiB from
 * the OS.  In hotpath a span that stays fully allocated through a few of its
 * owner's refills is detached, and the first free into a detached span hands
 * it to mcentral, so heap_sys must grow by far less than 64 MiB.
 *
 * Usage: handoff_test   (prints "N passed, N failed")
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hotpath/hotpath.h"
#include "test.h"

enum { SIZE = 256, N = (64 << 20) / SIZE };

static void **objs;
static pthread_barrier_t handed, done;

static void *producer(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < N; i++) {
        objs[i] = malloc(SIZE);
        if (objs[i]) memset(objs[i], 0x5a, 16);
    }
    pthread_barrier_wait(&handed); /* the consumer frees them now */
    pthread_barrier_wait(&done);   /* alive, idle, until the test ends */
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&handed);
    for (size_t i = 0; i < N; i++) free(objs[i]);
    return NULL;
}

static void *reuser(void *arg)
{
    void **mine = arg;
    for (size_t i = 0; i < N; i++) mine[i] = malloc(SIZE);
    return NULL;
}

static uint64_t heap_sys(void)
{
    hp_memstats_t st;
    hp_read_memstats(&st);
    return st.heap_sys;
}

int main(void)
{
    objs = malloc(N * sizeof *objs);
    void **mine = malloc(N * sizeof *mine);
    if (!CHECK(objs && mine)) return TEST_DONE();
    pthread_barrier_init(&handed, NULL, 2);
    pthread_barrier_init(&done, NULL, 2);
    pthread_t p, c, r;
    pthread_create(&p, NULL, producer, NULL);
    pthread_create(&c, NULL, consumer, NULL);
    pthread_join(c, NULL); /* all freed; the producer still lives */
    uint64_t before = heap_sys();
    pthread_create(&r, NULL, reuser, mine);
    pthread_join(r, NULL);
    uint64_t after = heap_sys();
    CHECK_MSG(after - before < (16u << 20),
              "reallocating 64 MiB freed by another thread grew heap_sys by %llu MiB",
              (unsigned long long)((after - before) >> 20));
    int ok = 1;
    for (size_t i = 0; i < N; i++) ok &= mine[i] != NULL;
    CHECK(ok);
    for (size_t i = 0; i < N; i++) free(mine[i]);
    pthread_barrier_wait(&done);
    pthread_join(p, NULL);
    free(objs);
    free(mine);
    return TEST_DONE();
}
