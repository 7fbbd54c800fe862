/* bench/common.c: argument parsing, clocks, stamps and reporting shared by
 * the workloads.  See common.h. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *prog = "bench";

_Noreturn void hpb_die(int code, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

/* "12", "5k", "64Ki", "4Mi" -> value; returns 0 on a malformed number. */
static int parse_value(const char *s, long *out)
{
    static const struct {
        const char *suffix;
        long mult;
    } units[] = {{"", 1},           {"k", 1000},        {"m", 1000000},
                 {"g", 1000000000}, {"Ki", 1L << 10},   {"Mi", 1L << 20},
                 {"Gi", 1L << 30}};
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s)
        return 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            *out = v * units[i].mult;
            return 1;
        }
    }
    return 0;
}

static void usage(const char *what, const hpb_opt_t *opts, size_t n, FILE *f)
{
    fprintf(f, "usage: %s [--name=value ...]\n%s\n\noptions (default in brackets):\n", prog,
            what);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  --%-12s %s [%ld]\n", opts[i].name, opts[i].help, *opts[i].val);
}

static int set_option(const char *arg, const hpb_opt_t *opts, size_t n)
{
    const char *eq = strchr(arg, '=');
    if (strncmp(arg, "--", 2) != 0 || eq == NULL)
        return 0;
    size_t len = (size_t)(eq - arg - 2);
    for (size_t i = 0; i < n; i++) {
        if (strlen(opts[i].name) == len && strncmp(arg + 2, opts[i].name, len) == 0)
            return parse_value(eq + 1, opts[i].val);
    }
    return 0;
}

void hpb_parse_args(int argc, char **argv, const char *what, const hpb_opt_t *opts, size_t n)
{
    if (argc > 0) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(what, opts, n, stdout);
            exit(0);
        }
        if (!set_option(argv[i], opts, n)) {
            fprintf(stderr, "%s: bad argument '%s'\n", prog, argv[i]);
            usage(what, opts, n, stderr);
            exit(HPB_EXIT_USAGE);
        }
    }
}

uint64_t hpb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t hpb_seed(uint64_t a, uint64_t b)
{
    /* splitmix64 finaliser over both inputs. */
    uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z ? z : 1;
}

size_t hpb_rand_size(uint64_t *s, size_t lo, size_t hi)
{
    /* Pick a power-of-two band [2^k, 2^(k+1)) overlapping [lo, hi], then a
     * uniform size inside the band, clipped to [lo, hi]. */
    int klo = 63 - __builtin_clzll((unsigned long long)lo);
    int khi = 63 - __builtin_clzll((unsigned long long)hi);
    int k = klo + (int)(hpb_rand(s) % (uint64_t)(khi - klo + 1));
    size_t a = (size_t)1 << k, b = ((size_t)2 << k) - 1;
    if (a < lo)
        a = lo;
    if (b > hi)
        b = hi;
    return hpb_rand_range(s, a, b);
}

void *hpb_malloc_lines(size_t n)
{
    void *p = NULL;
    int err = posix_memalign(&p, 64, (n + 63) & ~(size_t)63);
    if (err != 0)
        hpb_die(HPB_EXIT_NOMEM, "posix_memalign(64, %zu): %s", n, strerror(err));
    return p;
}

_Noreturn void hpb_corrupt(const char *what, const void *p, size_t n, uint64_t tag)
{
    hpb_die(HPB_EXIT_CORRUPT, "corruption: %s: object %p size %zu tag %016llx", what, p, n,
            (unsigned long long)tag);
}

void hpb_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
    int err = pthread_create(t, NULL, fn, arg);
    if (err != 0)
        hpb_die(HPB_EXIT_SYS, "pthread_create: %s", strerror(err));
}

void hpb_thread_join(pthread_t t)
{
    int err = pthread_join(t, NULL);
    if (err != 0)
        hpb_die(HPB_EXIT_SYS, "pthread_join: %s", strerror(err));
}

void hpb_report(const char *metric, double value, double secs, uint64_t ops)
{
    printf("result %s=%.6g secs=%.6f ops=%llu check=ok\n", metric, value, secs,
           (unsigned long long)ops);
    fflush(stdout);
}
