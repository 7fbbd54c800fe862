/* lockprof_prog: a known contended mutex and a known condition-variable
 * wait, for lockprof_test.sh.
 *
 *   lockprof_prog MUTEX.pb BLOCK.pb
 *
 * Mutex: hold_lock() takes the mutex and holds it 20 ms, 25 times, while a
 * second thread waits for it in wait_lock(); the waiter's total delay is
 * measured here.  Condition: cond_waiter() waits on a condition variable
 * that is signalled 200 ms later.  Prints the true delays (ns):
 *   truth mutex_delay N
 *   truth cond_delay N
 * The mutex profile charges the delay to hold_lock (the unlocker); the block
 * profile charges it to wait_lock and cond_waiter (the waiters).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/prof.h"

#define ROUNDS 25
#define HOLD_NS 20000000LL

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static _Atomic int round_go, round_locked, round_done;
static int signalled;
static int64_t mutex_delay, cond_delay;

static int64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    nanosleep(&ts, NULL);
}

__attribute__((noinline)) static void hold_lock(int r)
{
    pthread_mutex_lock(&mu);
    atomic_store(&round_locked, r + 1);
    while (atomic_load(&round_go) <= r) sched_yield(); /* the waiter is about to block */
    sleep_ns(HOLD_NS);
    pthread_mutex_unlock(&mu);
    while (atomic_load(&round_done) <= r) sched_yield(); /* let the waiter have it */
}

__attribute__((noinline)) static void wait_lock(void)
{
    int64_t t0 = now();
    pthread_mutex_lock(&mu);
    mutex_delay += now() - t0;
    pthread_mutex_unlock(&mu);
}

static void *waiter(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        while (atomic_load(&round_locked) <= r) sched_yield();
        atomic_store(&round_go, r + 1);
        wait_lock();
        atomic_store(&round_done, r + 1);
    }
    return NULL;
}

__attribute__((noinline)) static void cond_waiter(void)
{
    pthread_mutex_lock(&cmu);
    int64_t t0 = now();
    while (!signalled) pthread_cond_wait(&cond, &cmu);
    cond_delay = now() - t0;
    pthread_mutex_unlock(&cmu);
}

static void *cond_thread(void *arg)
{
    (void)arg;
    cond_waiter();
    return NULL;
}

static int write_profile(const char *name, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return perror(path), 1;
    int err = hp_profile_write(name, fd, 0);
    close(fd);
    if (err != 0) return fprintf(stderr, "hp_profile_write(%s): error %d\n", name, err), 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) return fprintf(stderr, "usage: lockprof_prog MUTEX.pb BLOCK.pb\n"), 2;
    hp_set_mutex_profile_fraction(1);
    hp_set_block_profile_rate(1);
    pthread_t t, c;
    pthread_create(&t, NULL, waiter, NULL);
    for (int r = 0; r < ROUNDS; r++) hold_lock(r);
    pthread_join(t, NULL);

    pthread_create(&c, NULL, cond_thread, NULL);
    sleep_ns(200000000);
    pthread_mutex_lock(&cmu);
    signalled = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&cmu);
    pthread_join(c, NULL);

    if (write_profile("mutex", argv[1]) != 0 || write_profile("block", argv[2]) != 0) return 1;
    printf("truth mutex_delay %lld\ntruth cond_delay %lld\n", (long long)mutex_delay,
           (long long)cond_delay);
    return 0;
}
