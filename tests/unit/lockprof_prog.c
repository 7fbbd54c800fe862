/* lockprof_prog: known contended locks and known waits, for
 * lockprof_test.sh.
 *
 *   lockprof_prog MUTEX.pb BLOCK.pb
 *
 * Mutex: hold_lock() takes the mutex and holds it 20 ms, 25 times, while a
 * second thread waits for it in wait_lock(); the waiter's total delay is
 * measured here.  Rwlock: the same with hold_rwlock() holding the write
 * lock and wait_rwlock() waiting for a read lock.  Then single waits, each
 * ended 150-200 ms later by the main thread: cond_waiter() on a condition
 * variable (pthread_cond_wait), clock_waiter() on one with
 * pthread_cond_clockwait (what C++'s wait_for uses), sem_waiter() in
 * sem_wait, join_waiter() joining a thread that sleeps.  Prints the true
 * delays (ns):
 *   truth mutex_delay N      (and rwlock_delay, cond_delay, clock_delay,
 *                             sem_delay, join_delay)
 * The mutex profile charges the lock delays to hold_lock and hold_rwlock
 * (the unlockers); the block profile charges every delay to its waiter.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/prof.h"

#define ROUNDS 25
#define HOLD_NS 20000000LL

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t ccond = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static _Atomic int round_go, round_locked, round_done;
static int signalled, csignalled;
static int64_t mutex_delay, rwlock_delay, cond_delay, clock_delay, sem_delay, join_delay;

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

/* One round of a holder: lock, let the waiter block, hold, unlock. */
static void hold_round(int r, void (*lock)(void), void (*unlock)(void))
{
    lock();
    atomic_store(&round_locked, r + 1);
    while (atomic_load(&round_go) <= r) sched_yield(); /* the waiter is about to block */
    sleep_ns(HOLD_NS);
    unlock();
    while (atomic_load(&round_done) <= r) sched_yield(); /* let the waiter have it */
}

static void mu_lock(void) { pthread_mutex_lock(&mu); }
static void mu_unlock(void) { pthread_mutex_unlock(&mu); }
static void rw_wrlock(void) { pthread_rwlock_wrlock(&rw); }
static void rw_unlock(void) { pthread_rwlock_unlock(&rw); }

__attribute__((noinline)) static void hold_lock(int r) { hold_round(r, mu_lock, mu_unlock); }
__attribute__((noinline)) static void hold_rwlock(int r) { hold_round(r, rw_wrlock, rw_unlock); }

__attribute__((noinline)) static void wait_lock(void)
{
    int64_t t0 = now();
    pthread_mutex_lock(&mu);
    mutex_delay += now() - t0;
    pthread_mutex_unlock(&mu);
}

__attribute__((noinline)) static void wait_rwlock(void)
{
    int64_t t0 = now();
    pthread_rwlock_rdlock(&rw);
    rwlock_delay += now() - t0;
    pthread_rwlock_unlock(&rw);
}

static void *waiter(void *arg)
{
    void (*wait)(void) = (void (*)(void))arg;
    for (int r = 0; r < ROUNDS; r++) {
        while (atomic_load(&round_locked) <= r) sched_yield();
        atomic_store(&round_go, r + 1);
        wait();
        atomic_store(&round_done, r + 1);
    }
    return NULL;
}

/* ROUNDS rounds of hold against a waiter thread running wait. */
static void contend(void (*hold)(int), void (*wait)(void))
{
    atomic_store(&round_go, 0);
    atomic_store(&round_locked, 0);
    atomic_store(&round_done, 0);
    pthread_t t;
    pthread_create(&t, NULL, waiter, (void *)wait);
    for (int r = 0; r < ROUNDS; r++) hold(r);
    pthread_join(t, NULL);
}

__attribute__((noinline)) static void cond_waiter(void)
{
    pthread_mutex_lock(&cmu);
    int64_t t0 = now();
    while (!signalled) pthread_cond_wait(&cond, &cmu);
    cond_delay = now() - t0;
    pthread_mutex_unlock(&cmu);
}

__attribute__((noinline)) static void clock_waiter(void)
{
    pthread_mutex_lock(&cmu);
    int64_t t0 = now();
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 30;
    while (!csignalled) pthread_cond_clockwait(&ccond, &cmu, CLOCK_MONOTONIC, &until);
    clock_delay = now() - t0;
    pthread_mutex_unlock(&cmu);
}

__attribute__((noinline)) static void sem_waiter(void)
{
    int64_t t0 = now();
    sem_wait(&sem);
    sem_delay = now() - t0;
}

static void *sleeper(void *arg)
{
    (void)arg;
    sleep_ns(150000000);
    return NULL;
}

__attribute__((noinline)) static void join_waiter(void)
{
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    int64_t t0 = now();
    pthread_join(t, NULL);
    join_delay = now() - t0;
}

static void *run(void *fn)
{
    ((void (*)(void))fn)();
    return NULL;
}

/* Runs fn on a thread; ends its wait with wake() after 200 ms. */
static void single_wait(void (*fn)(void), void (*wake)(void))
{
    pthread_t t;
    pthread_create(&t, NULL, run, (void *)fn);
    sleep_ns(200000000);
    if (wake != NULL) wake();
    pthread_join(t, NULL);
}

static void wake_cond(void)
{
    pthread_mutex_lock(&cmu);
    signalled = 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&cmu);
}

static void wake_clock(void)
{
    pthread_mutex_lock(&cmu);
    csignalled = 1;
    pthread_cond_signal(&ccond);
    pthread_mutex_unlock(&cmu);
}

static void wake_sem(void) { sem_post(&sem); }

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
    sem_init(&sem, 0, 0);
    contend(hold_lock, wait_lock);
    contend(hold_rwlock, wait_rwlock);
    single_wait(cond_waiter, wake_cond);
    single_wait(clock_waiter, wake_clock);
    single_wait(sem_waiter, wake_sem);
    single_wait(join_waiter, NULL);

    if (write_profile("mutex", argv[1]) != 0 || write_profile("block", argv[2]) != 0) return 1;
    printf("truth mutex_delay %lld\ntruth rwlock_delay %lld\ntruth cond_delay %lld\n"
           "truth clock_delay %lld\ntruth sem_delay %lld\ntruth join_delay %lld\n",
           (long long)mutex_delay, (long long)rwlock_delay, (long long)cond_delay,
           (long long)clock_delay, (long long)sem_delay, (long long)join_delay);
    return 0;
}
