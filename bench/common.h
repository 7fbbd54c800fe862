/* bench/common.h: what every allocator workload shares.
 *
 * The workloads in bench/ are plain executables linked against libc only; the
 * allocator under test is chosen at run time by LD_PRELOAD (bench/run.py runs
 * each one under glibc, jemalloc, mimalloc, tcmalloc and hotpath).  Each one
 *
 *   1. takes its parameters as --name=value arguments (see hpb_parse_args),
 *      with defaults sized for 0.5-3 s on a 2-core machine;
 *   2. stamps what it writes into every object and checks the stamp before
 *      the object is freed, exiting with HPB_EXIT_CORRUPT on a mismatch;
 *   3. prints one machine-readable line on stdout,
 *          result <metric>=<value> secs=<s> ops=<n> check=ok
 *      and anything else it likes on stderr.
 */
#ifndef HOTPATH_BENCH_COMMON_H
#define HOTPATH_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes the runner understands. */
#define HPB_EXIT_USAGE 2   /* bad argument */
#define HPB_EXIT_CORRUPT 3 /* a stamp did not survive: the allocator broke memory */
#define HPB_EXIT_NOMEM 4   /* malloc returned NULL */
#define HPB_EXIT_SYS 5     /* a thread could not be created, or similar */

/* One integer option.  Values accept a decimal suffix k, m, g (1k = 1000,
 * for counts) or a binary one Ki, Mi, Gi (1Ki = 1024, for sizes). */
typedef struct hpb_opt {
    const char *name; /* matched against --name=value */
    long *val;        /* holds the default on entry */
    const char *help;
} hpb_opt_t;

/* Parse --name=value arguments into opts[0..n); --help prints them. */
void hpb_parse_args(int argc, char **argv, const char *what, const hpb_opt_t *opts, size_t n);

/* Monotonic clock, nanoseconds. */
uint64_t hpb_now_ns(void);

/* xorshift64*: seeded, repeatable, good enough to pick sizes and slots. */
static inline uint64_t hpb_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A seed that is never zero (xorshift's one bad state), mixed from a and b. */
uint64_t hpb_seed(uint64_t a, uint64_t b);

/* A uniform value in [lo, hi]. */
static inline size_t hpb_rand_range(uint64_t *s, size_t lo, size_t hi)
{
    return lo + (size_t)(hpb_rand(s) % (hi - lo + 1));
}

/* A log-uniform size in [lo, hi]: each power of two is equally likely, as in
 * real programs where small objects far outnumber big ones. */
size_t hpb_rand_size(uint64_t *s, size_t lo, size_t hi);

/* Write a pattern derived from tag into the first and last bytes of p[0..n);
 * hpb_check_stamp() says whether it is still there. */
void hpb_stamp(void *p, size_t n, uint64_t tag);
int hpb_check_stamp(const void *p, size_t n, uint64_t tag);

/* malloc that exits with HPB_EXIT_NOMEM instead of returning NULL. */
void *hpb_malloc(size_t n);

/* Cache-line aligned memory (for per-thread records), or exit like hpb_malloc. */
void *hpb_malloc_lines(size_t n);

/* Report a broken stamp and exit with HPB_EXIT_CORRUPT. */
_Noreturn void hpb_corrupt(const char *what, const void *p, size_t n, uint64_t tag);

/* Exit with code, after printing "<prog>: <message>" to stderr. */
_Noreturn void hpb_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Keep the compiler from deleting a malloc/free pair whose memory looks unused. */
static inline void hpb_escape(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* Spin-wait hint for busy loops. */
static inline void hpb_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause");
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Start a thread or exit with HPB_EXIT_SYS. */
#include <pthread.h>
void hpb_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);
void hpb_thread_join(pthread_t t);

/* Print the result line: result <metric>=<value> secs=<secs> ops=<ops> check=ok */
void hpb_report(const char *metric, double value, double secs, uint64_t ops);

#endif /* HOTPATH_BENCH_COMMON_H */
