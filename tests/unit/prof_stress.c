/* prof_stress: every profile written again and again while other threads
 * allocate, free across threads, contend on a mutex, and start and exit.
 * Nothing may crash or deadlock; the last heap profile, written to the file
 * given, must be readable (prof_stress.sh reads it with go tool pprof).
 *
 *   prof_stress OUT.pb [SECONDS]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/prof.h"

#define SLOTS 256

static _Atomic int stop;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *_Atomic shared[SLOTS]; /* objects handed between threads */

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A short life: allocate, hand objects to other threads, take the lock. */
__attribute__((noinline)) static void *short_life(void *arg)
{
    uint64_t r = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ULL | 1;
    for (int i = 0; i < 2000; i++) {
        size_t n = 8 + next_rand(&r) % 5000;
        char *p = malloc(n);
        if (p == NULL) abort();
        memset(p, 0x5a, n < 64 ? n : 64);
        void *old = atomic_exchange(&shared[next_rand(&r) % SLOTS], p);
        free(old); /* often another thread's object */
        if (i % 100 == 0) {
            pthread_mutex_lock(&mu);
            void *q = malloc(100);
            free(q);
            pthread_mutex_unlock(&mu);
        }
    }
    return NULL;
}

static void *spawner(void *arg)
{
    uintptr_t k = (uintptr_t)arg;
    while (!atomic_load(&stop)) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_life, (void *)k++) != 0) abort();
        pthread_join(t, NULL);
    }
    return NULL;
}

static void write_all_profiles(int fd)
{
    static const char *const names[] = {"heap", "allocs", "mutex", "block", "goroutine",
                                        "threadcreate"};
    for (int i = 0; i < 6; i++)
        for (int debug = 0; debug <= 1; debug++)
            if (hp_profile_write(names[i], fd, debug) != 0) {
                fprintf(stderr, "hp_profile_write(%s, %d) failed\n", names[i], debug);
                exit(1);
            }
}

int main(int argc, char **argv)
{
    if (argc < 2) return fprintf(stderr, "usage: prof_stress OUT.pb [SECONDS]\n"), 2;
    double secs = argc > 2 ? atof(argv[2]) : 3;
    hp_set_memprofile_rate(65536);
    hp_set_mutex_profile_fraction(1);
    hp_set_block_profile_rate(1);
    int null = open("/dev/null", O_WRONLY);
    pthread_t sp[3];
    for (uintptr_t i = 0; i < 3; i++) pthread_create(&sp[i], NULL, spawner, (void *)(i << 32));
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rounds = 0;
    do {
        write_all_profiles(null);
        rounds++;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++) pthread_join(sp[i], NULL);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || hp_profile_write("heap", fd, 0) != 0) return 1;
    close(fd);
    printf("prof_stress: %d rounds of 12 profiles written while threads churned\n", rounds);
    return rounds > 0 ? 0 : 1;
}
