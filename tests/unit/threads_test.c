/* threads_test.c: the thread registry, the goroutine and threadcreate
 * profiles in their text forms, and profile labels (src/prof/threads.c,
 * goroutine.c, labels.c).  Five threads made by spawn_workers block in
 * blocked_in_barrier with labels set by hp_do; the profiles must show them.
 * Then threads start and exit continuously while goroutine profiles are
 * written.  Runs with HOTPATH_BACKGROUND_THREAD=0, so that the process has
 * no thread of hotpath's own.  Built with frame pointers and exported
 * symbols. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hotpath/prof.h"
#include "prof/labels.h"
#include "prof/threads.h"
#include "test.h"

#define NWORKERS 5

static pthread_barrier_t barrier;
static _Atomic int arrived;
static hp_labels_t *worker_labels;

/* ---- Labels ---- */

static int has_label(const hp_labels_t *l, const char *key, const char *value)
{
    const char *const *k, *const *v;
    int n = hpi_labels_get(l, &k, &v);
    for (int i = 0; i < n; i++)
        if (strcmp(k[i], key) == 0) return strcmp(v[i], value) == 0;
    return 0;
}

static void inner_do(void *arg)
{
    (void)arg;
    const hp_labels_t *l = hp_thread_labels();
    CHECK(has_label(l, "a", "1") && has_label(l, "b", "3") && has_label(l, "c", "4"));
}

static void outer_do(void *arg)
{
    (void)arg;
    CHECK(hp_thread_labels() == hp_labels("a", "1", "b", "2", NULL));
    hp_do(hp_labels("b", "3", "c", "4", NULL), inner_do, NULL);
    CHECK(hp_thread_labels() == hp_labels("a", "1", "b", "2", NULL));
}

static void test_labels(void)
{
    hp_labels_t *ab = hp_labels("a", "1", "b", "2", NULL);
    CHECK(ab != NULL);
    CHECK(ab == hp_labels("b", "2", "a", "1", NULL)); /* interned, order-free */
    CHECK(ab != hp_labels("a", "1", "b", "3", NULL));
    CHECK(hp_labels("a", "1", "b", NULL) == NULL); /* odd count */
    CHECK(hp_labels("k", "old", "k", "new", NULL) == hp_labels("k", "new", NULL));
    const char *const *k, *const *v;
    CHECK_EQ(hpi_labels_get(ab, &k, &v), 2);
    CHECK(strcmp(k[0], "a") == 0 && strcmp(v[1], "2") == 0);
    hpi_pprof_label_t pl[4];
    CHECK_EQ(hpi_labels_to_pprof(ab, pl, 4), 2);
    CHECK(strcmp(pl[1].key, "b") == 0 && strcmp(pl[1].str, "2") == 0);
    CHECK(hp_thread_labels() == NULL);
    hp_do(ab, outer_do, NULL);
    CHECK(hp_thread_labels() == NULL);
    hp_set_thread_labels(ab);
    CHECK(atomic_load(&hpi_thread_self()->labels) == ab);
    hp_set_thread_labels(NULL);
}

/* ---- Five blocked workers ---- */

__attribute__((noinline)) void blocked_in_barrier(void)
{
    atomic_fetch_add(&arrived, 1);
    pthread_barrier_wait(&barrier);
    __asm__ volatile("" ::: "memory");
}

static void worker_labeled(void *arg)
{
    (void)arg;
    hpi_thread_t *t = hpi_thread_self();
    CHECK(t != NULL && atomic_load(&t->labels) == hp_thread_labels());
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    CHECK(t != NULL && t->stack_lo <= sp && sp < t->stack_hi && t->tid == gettid());
    CHECK(has_label(hp_thread_labels(), "worker", "yes"));
    blocked_in_barrier();
}

static void *worker(void *arg)
{
    hp_do(worker_labels, worker_labeled, arg);
    return NULL;
}

__attribute__((noinline)) void spawn_workers(pthread_t *th)
{
    for (int i = 0; i < NWORKERS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, worker, NULL), 0);
    __asm__ volatile("" ::: "memory");
}

/* A profile written to memory, NUL-terminated (free it). */
static char *profile_text(int (*write)(int fd, int debug), int debug)
{
    int fd = memfd_create("profile", 0);
    CHECK_EQ(write(fd, debug), 0);
    off_t len = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)len + 1);
    CHECK_EQ(pread(fd, buf, (size_t)len, 0), len);
    close(fd);
    return buf;
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void check_goroutine_text(void)
{
    int verbose = getenv("THREADS_TEST_VERBOSE") != NULL; /* print the profiles */
    char *t1 = profile_text(hpi_threads_write_goroutine, 1);
    int ok = CHECK(strstr(t1, "goroutine profile: total 6\n") != NULL);
    ok &= CHECK(strstr(t1, "\n5 @ 0x") != NULL); /* the workers: one record */
    ok &= CHECK(count_of(t1, "\tblocked_in_barrier+0x") == 1);
    ok &= CHECK(strstr(t1, "# labels: {\"worker\":\"yes\"}") != NULL);
    if (!ok || verbose) fprintf(stderr, "--- debug=1:\n%s", t1);
    free(t1);

    char *t2 = profile_text(hpi_threads_write_goroutine, 2);
    ok = CHECK_EQ(count_of(t2, "\nthread ") + (strncmp(t2, "thread ", 7) == 0), 6);
    ok &= CHECK(strstr(t2, "[running]:\n") != NULL);
    ok &= CHECK_EQ(count_of(t2, "\nblocked_in_barrier(...)\n\t"), NWORKERS);
    ok &= CHECK_EQ(count_of(t2, "created by spawn_workers(...)\n\t"), NWORKERS);
    ok &= CHECK(strstr(t2, "threads_test\" [") != NULL);
    if (!ok || verbose) fprintf(stderr, "--- debug=2:\n%s", t2);
    free(t2);

    char *tc = profile_text(hpi_threads_write_threadcreate, 1);
    ok = CHECK(strstr(tc, "threadcreate profile: total 6\n") != NULL);
    ok &= CHECK(strstr(tc, "\n5 @ 0x") != NULL);
    ok &= CHECK(strstr(tc, "\tspawn_workers+0x") != NULL);
    if (!ok || verbose) fprintf(stderr, "--- threadcreate debug=1:\n%s", tc);
    free(tc);
}

static void test_blocked_workers(void)
{
    worker_labels = hp_labels("worker", "yes", NULL);
    pthread_barrier_init(&barrier, NULL, NWORKERS + 1);
    pthread_t th[NWORKERS];
    spawn_workers(th);
    while (atomic_load(&arrived) < NWORKERS)
        usleep(1000);
    usleep(20000); /* into the futex wait */
    CHECK_EQ(hpi_threads_count(), NWORKERS + 1);
    check_goroutine_text();
    int devnull = open("/dev/null", O_WRONLY);
    CHECK_EQ(hpi_threads_write_goroutine(devnull, 0), 0);
    CHECK_EQ(hpi_threads_write_threadcreate(devnull, 0), 0);
    close(devnull);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < NWORKERS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(hpi_threads_count(), 1);
}

/* ---- Threads coming and going while profiles are written ---- */

static _Atomic int churn_stop;

static void *short_lived(void *arg)
{
    if ((uintptr_t)arg & 1) pthread_exit(NULL);
    return NULL;
}

static void *churn(void *arg)
{
    (void)arg;
    uintptr_t i = 0;
    while (!atomic_load(&churn_stop)) {
        pthread_t t[4];
        for (int k = 0; k < 4; k++)
            pthread_create(&t[k], NULL, short_lived, (void *)i++);
        for (int k = 0; k < 4; k++)
            pthread_join(t[k], NULL);
    }
    return NULL;
}

static void test_churn(void)
{
    int devnull = open("/dev/null", O_WRONLY);
    pthread_t c[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&c[i], NULL, churn, NULL);
    int failures = 0;
    for (int i = 0; i < 50; i++) {
        failures += hpi_threads_write_goroutine(devnull, i % 3) != 0;
        failures += hpi_threads_write_threadcreate(devnull, 1) != 0;
    }
    atomic_store(&churn_stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(c[i], NULL);
    close(devnull);
    CHECK_EQ(failures, 0);
    CHECK_EQ(hpi_threads_count(), 1);
}

/* ---- fork: the child holds only the forking thread ---- */

static void *sleeper(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void test_fork(void)
{
    pthread_barrier_init(&barrier, NULL, 3);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, sleeper, NULL);
    for (int i = 0; i < 1000 && hpi_threads_count() < 3; i++)
        usleep(1000); /* a thread registers itself as it starts */
    CHECK_EQ(hpi_threads_count(), 3);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = hpi_threads_count() != 1 || hpi_thread_self() == NULL ||
                  hpi_thread_self()->tid != getpid();
        int fd = open("/dev/null", O_WRONLY);
        bad |= hpi_threads_write_goroutine(fd, 1) != 0;
        pthread_t c;
        bad |= pthread_create(&c, NULL, short_lived, NULL) != 0 || pthread_join(c, NULL) != 0;
        bad |= hpi_threads_count() != 1;
        _exit(bad);
    }
    int status = -1;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK_EQ(status, 0);
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

int main(void)
{
    CHECK(hpi_thread_self() != NULL);
    CHECK_EQ(hpi_threads_count(), 1);
    test_labels();
    test_blocked_workers();
    test_churn();
    test_fork();
    return TEST_DONE();
}
