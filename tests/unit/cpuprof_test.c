/* cpuprof_test: a program whose CPU time is known, for
 * integration/cpuprof_check.sh, which reads its profiles with `go tool pprof`.
 *
 * The workload burns 3 s of CPU on two threads: 60% in burn_a, 30% in burn_b
 * (run under the label phase=b when built with hotpath) and 10% in burn_c.
 * Each function spins until its thread's CPU clock has advanced by its
 * share, so the shares hold whatever the machine's load.
 *
 * Built twice: linked with hotpath (HPT_HOTPATH: the API mode) and plain,
 * for LD_PRELOAD.  Usage:
 *   cpuprof_test api FILE  profile the workload with hp_cpuprofile_start/stop
 *   cpuprof_test run       the workload (profiled by HOTPATH_CPUPROFILE)
 *   cpuprof_test forever   burn until killed; prints "ready" once running
 *   cpuprof_test fork      the workload in a child (which exits with exit());
 *                          prints "child PID"
 * Every mode prints "cpu_ns N": the process's CPU time (getrusage) when the
 * workload ended.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HPT_HOTPATH
#include "hotpath/prof.h"
#include "test.h"
#endif

#define MS 1000000ull

__attribute__((noinline)) static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A macro, not a function: the time must count as each burner's own. */
#define SPIN(ns)                                                                                   \
    do {                                                                                           \
        uint64_t end_ = thread_cpu_ns() + (ns);                                                    \
        volatile uint64_t x_ = 0;                                                                  \
        while (thread_cpu_ns() < end_)                                                             \
            for (int i_ = 0; i_ < 1000000; i_++)                                                   \
                x_ += (uint64_t)i_;                                                                \
    } while (0)

__attribute__((noinline)) void burn_a(uint64_t ns)
{
    SPIN(ns);
}
__attribute__((noinline)) void burn_b(uint64_t ns)
{
    SPIN(ns);
}
__attribute__((noinline)) void burn_c(uint64_t ns)
{
    SPIN(ns);
}

static void burn_b_arg(void *arg)
{
    burn_b(*(uint64_t *)arg);
}

static void *worker1(void *arg)
{
    (void)arg;
    burn_a(1200 * MS);
    burn_c(300 * MS);
    return NULL;
}

static void *worker2(void *arg)
{
    (void)arg;
    burn_a(600 * MS);
    uint64_t ns = 900 * MS;
#ifdef HPT_HOTPATH
    hp_do(hp_labels("phase", "b", NULL), burn_b_arg, &ns);
#else
    burn_b_arg(&ns);
#endif
    return NULL;
}

static uint64_t process_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

static void workload(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, worker1, NULL);
    pthread_create(&t2, NULL, worker2, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("cpu_ns %llu\n", (unsigned long long)process_cpu_ns());
    fflush(stdout);
}

static int run_fork(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        workload();
        exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child %d\n", (int)pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

#ifdef HPT_HOTPATH
static int run_api(const char *file)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!CHECK(fd >= 0)) return TEST_DONE();
    CHECK_EQ(hp_cpuprofile_stop(), ENOENT);
    CHECK_EQ(hp_cpuprofile_start(fd), 0);
    CHECK_EQ(hp_cpuprofile_start(fd), EBUSY);
    workload();
    CHECK_EQ(hp_cpuprofile_stop(), 0);
    CHECK_EQ(hp_cpuprofile_stop(), ENOENT);
    close(fd);
    return TEST_DONE();
}
#endif

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "run";
#ifdef HPT_HOTPATH
    if (strcmp(mode, "api") == 0 && argc > 2) return run_api(argv[2]);
#endif
    if (strcmp(mode, "run") == 0) {
        workload();
        return 0;
    }
    if (strcmp(mode, "fork") == 0) return run_fork();
    if (strcmp(mode, "forever") == 0) {
        printf("ready\n");
        fflush(stdout);
        for (;;)
            burn_a(100 * MS);
    }
    fprintf(stderr, "usage: %s api FILE | run | forever | fork\n", argv[0]);
    return 2;
}
