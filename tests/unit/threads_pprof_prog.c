/* threads_pprof_prog.c: writes the goroutine and threadcreate profiles in
 * pprof format for integration/threads_pprof_check.sh.  Three threads made by
 * spawn_pprof_workers block in pprof_blocked_here with the label
 * role=worker; the main thread writes the profiles to argv[1] and argv[2].
 * Internal API: built from the library's objects, with frame pointers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "hotpath/prof.h"
#include "prof/threads.h"

#define NWORKERS 3

static pthread_barrier_t barrier;
static _Atomic int arrived;

__attribute__((noinline)) void pprof_blocked_here(void *arg)
{
    (void)arg;
    atomic_fetch_add(&arrived, 1);
    pthread_barrier_wait(&barrier);
    __asm__ volatile("" ::: "memory");
}

static void *worker(void *arg)
{
    hp_do(hp_labels("role", "worker", NULL), pprof_blocked_here, arg);
    return NULL;
}

__attribute__((noinline)) void spawn_pprof_workers(pthread_t *th)
{
    for (int i = 0; i < NWORKERS; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    __asm__ volatile("" ::: "memory");
}

static int write_to(const char *path, int (*write)(int fd, int debug))
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return perror(path), 1;
    int err = write(fd, 0);
    if (close(fd) != 0 || err != 0) return fprintf(stderr, "%s: error %d\n", path, err), 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return fprintf(stderr, "usage: %s goroutine.pb.gz threadcreate.pb.gz\n", argv[0]), 2;
    pthread_barrier_init(&barrier, NULL, NWORKERS + 1);
    pthread_t th[NWORKERS];
    spawn_pprof_workers(th);
    while (atomic_load(&arrived) < NWORKERS)
        usleep(1000);
    usleep(20000);
    int bad = write_to(argv[1], hpi_threads_write_goroutine);
    bad |= write_to(argv[2], hpi_threads_write_threadcreate);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(th[i], NULL);
    return bad;
}
