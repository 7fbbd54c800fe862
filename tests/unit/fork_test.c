/* fork_test: the allocator survives fork() while other threads allocate.
 *
 * Background threads allocate and free without pause for the whole test, so
 * a fork() lands at arbitrary points of their allocations; an allocator that
 * does not take its locks around fork leaves the child with a lock held by a
 * thread that does not exist there, and the child deadlocks.  Each child checks
 * a block the parent filled before forking, frees it, allocates and frees
 * heavily (alternately with one thread and with several, sometimes forking a
 * grandchild), and exits 0.  The parent waits for each child with a deadline
 * so that a hang is reported as one rather than as a ctest timeout.  A second
 * phase forks from inside a thread while the main thread allocates.
 *
 * Usage: fork_test [forks]   (default 40; prints "N passed, N failed")
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/hotpath.h"
#include "test.h"

enum { CHURN_THREADS = 3, CHILD_THREADS = 4, CHILD_DEADLINE_S = 30 };

static int stop_churn; /* atomic */

static void fill(unsigned char *b, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(i * 7 + salt);
}

static int intact(const unsigned char *b, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != (unsigned char)(i * 7 + salt)) return 0;
    return 1;
}

/* Allocate and free `rounds` random blocks through a window of live ones,
 * checking each before it is freed.  Returns the number of damaged blocks. */
static int churn(uint64_t seed, int rounds)
{
    enum { W = 64 };
    unsigned char *live[W] = {0};
    size_t len[W] = {0};
    int damaged = 0;
    for (int r = 0; r < rounds; r++) {
        unsigned w = test_rand(&seed) % W;
        if (live[w]) {
            damaged += !intact(live[w], len[w], w);
            free(live[w]);
        }
        uint64_t x = test_rand(&seed);
        len[w] = x % 100 < 97 ? 1 + x % 1024 : 1 + x % 200000;
        live[w] = malloc(len[w]);
        if (!live[w]) {
            damaged++;
            len[w] = 0;
            continue;
        }
        fill(live[w], len[w], w);
    }
    for (unsigned w = 0; w < W; w++) {
        if (live[w]) damaged += !intact(live[w], len[w], w);
        free(live[w]);
    }
    return damaged;
}

static void *churn_thread(void *arg)
{
    uint64_t seed = (uintptr_t)arg;
    while (!__atomic_load_n(&stop_churn, __ATOMIC_RELAXED))
        if (churn(test_rand(&seed), 500)) CHECK_MSG(0, "block damaged in a churn thread");
    return NULL;
}

static void *child_thread(void *arg)
{
    void **shared = arg;
    uint64_t seed = (uintptr_t)shared[0];
    int bad = churn(seed, 20000);
    /* Free a block another child thread allocated. */
    void *mine = malloc(333), *theirs = __atomic_exchange_n(&shared[1], mine, __ATOMIC_ACQ_REL);
    free(theirs);
    return (void *)(intptr_t)bad;
}

static void grandchild(void)
{
    exit(churn(99, 5000) ? 3 : 0);
}

static int wait_child(pid_t pid, const char *what);

/* Everything a child does; its exit status is the verdict. */
static void child_main(unsigned char *inherited, size_t n, unsigned salt, int mode)
{
    int bad = 0;
    if (!intact(inherited, n, salt)) bad |= 1;
    free(inherited);
    if (churn(mode * 1000 + 1, 20000)) bad |= 2;
    if (mode % 2) {
        pthread_t t[CHILD_THREADS];
        void *shared[2] = {(void *)(uintptr_t)(mode + 7), NULL};
        for (int i = 0; i < CHILD_THREADS; i++)
            if (pthread_create(&t[i], NULL, child_thread, shared)) bad |= 4;
        for (int i = 0; i < CHILD_THREADS; i++) {
            void *res;
            pthread_join(t[i], &res);
            if (res) bad |= 8;
        }
        free(shared[1]);
    }
    if (mode % 5 == 0) {
        pid_t g = fork();
        if (g == 0) grandchild();
        if (g < 0 || !wait_child(g, "grandchild")) bad |= 16;
    }
    hp_memstats_t st;
    hp_read_memstats(&st);
    if (st.mallocs - st.frees != st.heap_objects) bad |= 32;
    if (bad) fprintf(stderr, "fork child %d: failure bits %#x\n", mode, bad);
    exit(bad ? 1 : 0);
}

/* Waits for pid until the deadline; returns 1 if it exited with status 0. */
static int wait_child(pid_t pid, const char *what)
{
    struct timespec nap = {0, 5 * 1000 * 1000};
    for (int waited = 0; waited < CHILD_DEADLINE_S * 200; waited++) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 1;
            if (WIFSIGNALED(status))
                fprintf(stderr, "%s %d killed by signal %d\n", what, (int)pid, WTERMSIG(status));
            else
                fprintf(stderr, "%s %d exited with %d\n", what, (int)pid, WEXITSTATUS(status));
            return 0;
        }
        if (r < 0) return 0;
        nanosleep(&nap, NULL);
    }
    fprintf(stderr, "%s %d still running after %d s: deadlocked after fork?\n", what, (int)pid,
            CHILD_DEADLINE_S);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}

static void fork_once(int mode)
{
    size_t n = 100 + (size_t)mode * 997;
    unsigned char *b = malloc(n);
    if (!CHECK(b != NULL)) return;
    fill(b, n, (unsigned)mode);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) child_main(b, n, (unsigned)mode, mode);
    if (!CHECK_MSG(pid > 0, "fork failed")) {
        free(b);
        return;
    }
    CHECK_MSG(wait_child(pid, "child"), "fork %d: child failed", mode);
    CHECK_MSG(intact(b, n, (unsigned)mode), "parent's block changed by the child");
    free(b);
}

static int forks_done; /* atomic: set by the forking thread when it is finished */

static void *forking_thread(void *arg)
{
    int n = (int)(intptr_t)arg;
    for (int i = 0; i < n; i++) fork_once(1000 + i);
    __atomic_store_n(&forks_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

int main(int argc, char **argv)
{
    int forks = argc > 1 ? atoi(argv[1]) : 40;
    printf("fork_test: %d forks\n", forks);
    fflush(stdout);
    hp_memstats_t st0;
    hp_read_memstats(&st0);

    pthread_t churners[CHURN_THREADS];
    for (int i = 0; i < CHURN_THREADS; i++)
        CHECK(pthread_create(&churners[i], NULL, churn_thread, (void *)(uintptr_t)(i + 1)) == 0);

    /* Phase 1: the main thread forks while the churn threads allocate. */
    for (int i = 0; i < forks; i++) fork_once(i);

    /* Phase 2: a thread forks while the main thread allocates too. */
    pthread_t forker;
    CHECK(pthread_create(&forker, NULL, forking_thread, (void *)(intptr_t)(forks / 2)) == 0);
    uint64_t seed = 12345;
    while (!__atomic_load_n(&forks_done, __ATOMIC_ACQUIRE))
        CHECK_MSG(churn(test_rand(&seed), 200) == 0, "block damaged in the main thread");
    pthread_join(forker, NULL);

    __atomic_store_n(&stop_churn, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < CHURN_THREADS; i++) pthread_join(churners[i], NULL);

    hp_memstats_t st;
    hp_read_memstats(&st);
    CHECK_EQ(st.mallocs - st.frees, st.heap_objects);
    CHECK_GT(st.mallocs, st0.mallocs);
    return TEST_DONE();
}
