/* http_prog: a program serving the debug server, for http_test.sh.
 *
 *   http_prog ADDR [SECONDS]
 *
 * Starts the server on ADDR with hp_http_start and prints
 *   start <rc>           (0, or the errno value it returned)
 *   port <n>
 *   burn_addr <address of burn()>
 *   child_port <n> child_stop ok   (a forked child has no server, and
 *                                   stopping it there returns at once)
 * then, if it started, runs SECONDS (default 60) with one thread burning
 * CPU in burn() and the main thread allocating in churn(), and exits. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/http.h"
#include "hotpath/prof.h"

static _Atomic int stop;
static volatile double sink;

__attribute__((noinline)) static void burn(void)
{
    double s = 0;
    for (long i = 0; i < 100000; i++)
        s += (double)i * 0.5;
    sink = s;
}

static void *burner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop))
        burn();
    return NULL;
}

__attribute__((noinline)) static void churn(void **keep, int n)
{
    for (int i = 0; i < n; i++) {
        free(keep[i]);
        keep[i] = malloc(64 + (size_t)(i % 1000));
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) return fprintf(stderr, "usage: http_prog ADDR [SECONDS]\n"), 2;
    int rc = hp_http_start(argv[1]);
    printf("start %d\nport %d\nburn_addr %p\n", rc, hp_http_port(), (void *)(uintptr_t)burn);
    fflush(stdout);
    if (rc != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        printf("child_port %d ", hp_http_port());
        hp_http_stop();
        printf("child_stop ok\n");
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    fflush(stdout);
    hp_set_mutex_profile_fraction(1);
    pthread_t t;
    pthread_create(&t, NULL, burner, NULL);
    static void *keep[4096];
    time_t end = time(NULL) + (argc > 2 ? atoi(argv[2]) : 60);
    while (time(NULL) < end) {
        churn(keep, 4096);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    hp_http_stop();
    return 0;
}
