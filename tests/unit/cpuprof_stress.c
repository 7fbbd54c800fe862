/* cpuprof_stress: threads start and exit without pause while a CPU profile
 * runs at 250 Hz, so timers are created and deleted under the profiler's
 * feet (start hooks, exit hooks, start's and stop's walk over the registry).
 * Passes when nothing crashes or hangs and start/stop succeed; the script
 * then reads the profile with `go tool pprof`.  Seeded, so runs repeat.
 *
 * Usage: cpuprof_stress FILE [seconds] [seed]   (writes FILE and FILE.2)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/prof.h"
#include "test.h"

#define NWORKERS 6

static _Atomic int stop_flag;
static _Atomic long threads_made;

__attribute__((noinline)) static void churn_spin(uint64_t iters)
{
    volatile uint64_t x = 0;
    for (uint64_t i = 0; i < iters; i++)
        x += i;
}

static void *short_thread(void *arg)
{
    churn_spin((uintptr_t)arg);
    atomic_fetch_add(&threads_made, 1);
    return NULL;
}

/* Each worker starts short threads: joined ones, detached ones, and some
 * that start threads of their own. */
static void *spawner(void *arg)
{
    uint64_t seed = (uintptr_t)arg;
    while (!atomic_load(&stop_flag)) {
        uint64_t r = test_rand(&seed);
        uintptr_t work = (uintptr_t)(r % 200000);
        pthread_t t;
        if (pthread_create(&t, NULL, short_thread, (void *)work) != 0) continue;
        if (r & 1) {
            pthread_detach(t);
        } else {
            pthread_join(t, NULL);
        }
        if ((r & 0xf) == 0) {
            pthread_t u;
            if (pthread_create(&u, NULL, spawner, (void *)(uintptr_t)(r | 1)) == 0)
                pthread_join(u, NULL);
        }
        churn_spin(r % 50000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    double secs = argc > 2 ? atof(argv[2]) : 2.0;
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!CHECK(fd >= 0)) return TEST_DONE();
    hp_set_cpuprofile_rate(250);
    pthread_t w[NWORKERS];
    for (int i = 0; i < NWORKERS / 2; i++)
        pthread_create(&w[i], NULL, spawner, (void *)(uintptr_t)test_rand(&seed));
    CHECK_EQ(hp_cpuprofile_start(fd), 0);
    for (int i = NWORKERS / 2; i < NWORKERS; i++)
        pthread_create(&w[i], NULL, spawner, (void *)(uintptr_t)test_rand(&seed));
    struct timespec ts = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
    nanosleep(&ts, NULL);
    CHECK_EQ(hp_cpuprofile_stop(), 0);
    close(fd);
    /* Again while threads still churn: a second profile on the same ring. */
    char second[4096];
    snprintf(second, sizeof second, "%s.2", argv[1]);
    fd = open(second, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK_EQ(hp_cpuprofile_start(fd), 0);
    ts = (struct timespec){0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(w[i], NULL);
    CHECK_EQ(hp_cpuprofile_stop(), 0);
    close(fd);
    CHECK_GT(atomic_load(&threads_made), 100);
    printf("threads %ld\n", atomic_load(&threads_made));
    return TEST_DONE();
}
