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

/* Report a broken stamp and exit with HPB_EXIT_CORRUPT. */
_Noreturn void hpb_corrupt(const char *what, const void *p, size_t n, uint64_t tag);

/* Exit with code, after printing "<prog>: <message>" to stderr. */
_Noreturn void hpb_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The byte a stamp puts at offset i (objects under 16 bytes). */
static inline unsigned char hpb_stamp_byte(uint64_t tag, size_t i)
{
    return (unsigned char)((tag >> ((i & 7) * 8)) + i);
}

/* Write a pattern derived from tag into the first and last 8 bytes of
 * p[0..n) (every byte under 16 bytes); hpb_check_stamp() says whether it is
 * still there.  Inline: the stamp must cost little beside a malloc+free. */
static inline void hpb_stamp(void *p, size_t n, uint64_t tag)
{
    unsigned char *b = p;
    if (n >= 16) {
        uint64_t head = tag, tail = ~tag ^ n;
        __builtin_memcpy(b, &head, 8);
        __builtin_memcpy(b + n - 8, &tail, 8);
        return;
    }
    for (size_t i = 0; i < n; i++) b[i] = hpb_stamp_byte(tag, i);
}

static inline int hpb_check_stamp(const void *p, size_t n, uint64_t tag)
{
    const unsigned char *b = p;
    if (n >= 16) {
        uint64_t head, tail;
        __builtin_memcpy(&head, b, 8);
        __builtin_memcpy(&tail, b + n - 8, 8);
        return head == tag && tail == (~tag ^ n);
    }
    for (size_t i = 0; i < n; i++)
        if (b[i] != hpb_stamp_byte(tag, i)) return 0;
    return 1;
}

/* malloc that exits with HPB_EXIT_NOMEM instead of returning NULL. */
static inline void *hpb_malloc(size_t n)
{
    void *malloc(size_t);
    void *p = malloc(n);
    if (__builtin_expect(p == NULL, 0)) hpb_die(HPB_EXIT_NOMEM, "malloc(%zu) returned NULL", n);
    return p;
}

/* Cache-line aligned memory (for per-thread records), or exit like hpb_malloc. */
void *hpb_malloc_lines(size_t n);

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
