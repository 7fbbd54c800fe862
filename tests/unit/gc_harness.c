/* gc_harness.c: the gc_test harness (checks, fatal signals, helpers) and main.
 * See gc_test.c for the subtests. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/gc.h"

#include "gc_harness.h"
#include "hotpath/gc.h"
#include "hotpath/memstats.h"
#include "test.h"

/* ---- the harness ---- */

const char *sub = "gc_test";
atomic_uint checks, fails;

bool expect_at(bool ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
    atomic_fetch_add_explicit(&checks, 1, memory_order_relaxed);
    if (ok) return true;
    if (atomic_fetch_add(&fails, 1) >= 50) return false; /* the first ones say most */
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "FAIL: %s: %s [%s:%d: %s]\n", sub, msg, file, line, expr);
    return false;
}

_Noreturn void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: %s: ", sub);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static size_t put_str(char *buf, size_t n, const char *s)
{
    while (*s && n < 255)
        buf[n++] = *s++;
    return n;
}

/* SIGSEGV, SIGBUS and the alarm: one FAIL line, written async-signal-safely. */
static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    char buf[256], hex[19] = "0x";
    size_t n = put_str(buf, put_str(buf, put_str(buf, 0, "FAIL: "), sub), ": ");
    if (sig == SIGALRM) {
        n = put_str(buf, n, "timed out (a deadlock, or far too slow)\n");
    } else {
        uintptr_t a = (uintptr_t)si->si_addr;
        for (int i = 0; i < 16; i++)
            hex[2 + i] = "0123456789abcdef"[(a >> (60 - 4 * i)) & 15];
        hex[18] = 0;
        n = put_str(buf, n, sig == SIGSEGV ? "SIGSEGV" : "SIGBUS");
        n = put_str(buf, n, " at ");
        n = put_str(buf, n, hex);
        n = put_str(buf, n, " (an object used after the collector freed it?)\n");
    }
    ssize_t w = write(2, buf, n);
    (void)w;
    _exit(1);
}

void install_handlers(unsigned alarm_s)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    alarm(alarm_s);
}

uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleeps the whole time although the collector's signal interrupts it. */
void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Overwrite the stack below the caller, where dead frames keep stale
 * pointers that a conservative collector would take for live ones. */
NOINLINE void clear_stack(void)
{
    char buf[32768];
    explicit_bzero(buf, sizeof buf);
    __asm__ volatile("" : : "r"(buf) : "memory");
}

void *xalloc(size_t n)
{
    void *p = hp_gc_alloc(n);
    if (p == NULL) die("hp_gc_alloc(%zu) returned NULL", n);
    return p;
}

void *xalloc_noscan(size_t n)
{
    void *p = hp_gc_alloc_noscan(n);
    if (p == NULL) die("hp_gc_alloc_noscan(%zu) returned NULL", n);
    return p;
}

void collect_n(int n)
{
    for (int i = 0; i < n; i++)
        hp_gc_collect();
}

/* Collect every 20 ms until *c >= want or secs have passed. */
bool poll_count(atomic_long *c, long want, int secs)
{
    uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)secs * 1000000000u;
    while (atomic_load(c) < want) {
        if (now_ns(CLOCK_MONOTONIC) > end) return false;
        clear_stack();
        hp_gc_collect();
        sleep_ms(20);
    }
    return true;
}

bool is_poison(const void *p)
{
    return (uint64_t)(uintptr_t)p == POISON;
}

/* ---- main ---- */

typedef struct subtest {
    const char *name;
    void (*run)(void);
    unsigned alarm_s; /* below ctest's TIMEOUT, so that a hang says so */
} subtest_t;

static const subtest_t subtests[] = {
    {"trees", test_trees, 80},
    {"graph", test_graph, 50},
    {"graph_barrier", test_graph_barrier, 50},
    {"finalizers", test_finalizers, 50},
    {"roots", test_roots, 50},
    {"memlimit", test_memlimit, 80},
    {"gctrace", test_gctrace, 50},
    {"stats", test_stats, 50},
    {"misc", test_misc, 80},
    {"heapprof", test_heapprof, 50},
};

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "gctrace_child") == 0) return gctrace_child();
    for (size_t i = 0; argc == 2 && i < sizeof subtests / sizeof *subtests; i++) {
        if (strcmp(argv[1], subtests[i].name) != 0) continue;
        sub = subtests[i].name;
        install_handlers(subtests[i].alarm_s);
        subtests[i].run();
        if (atomic_load(&fails) > 0 || atomic_load(&checks) == 0) {
            fprintf(stderr, "FAIL: %s: %u of %u checks failed\n", sub, atomic_load(&fails),
                    atomic_load(&checks));
            return 1;
        }
        printf("ok %s: %u checks\n", sub, atomic_load(&checks));
        return 0;
    }
    fprintf(stderr, "usage: gc_test trees|graph|graph_barrier|finalizers|roots|memlimit|gctrace|"
                    "stats|misc|heapprof\n");
    return 2;
}
