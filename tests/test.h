/* tests/test.h: the assertion macros of hotpath's test programs.
 *
 * A failed CHECK prints file:line and the expression (CHECK_EQ and friends
 * also print both values) to stderr and counts a failure; the test goes on.
 * TEST_DONE() prints the final line "N passed, N failed" and returns the exit
 * status: 0 only if nothing failed and at least one check ran.  The counters
 * are updated atomically, so checks may run on any thread.  Only the first
 * TEST_MAX_REPORTS failures are printed (loops over thousands of sizes would
 * bury the first, most useful one); all are counted.
 *
 * Usable from C11 and C++17 (cxx_new_test.cc).
 */
#ifndef HP_TESTS_TEST_H
#define HP_TESTS_TEST_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TEST_MAX_REPORTS 40

static unsigned long test_passed_count, test_failed_count;

static inline int test_report(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        __atomic_add_fetch(&test_passed_count, 1, __ATOMIC_RELAXED);
        return 1;
    }
    unsigned long n = __atomic_add_fetch(&test_failed_count, 1, __ATOMIC_RELAXED);
    if (n <= TEST_MAX_REPORTS) fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
    if (n == TEST_MAX_REPORTS) fprintf(stderr, "(further failures are counted, not printed)\n");
    return 0;
}

static inline int test_report_u(int ok, const char *file, int line, const char *expr,
                                uintmax_t a, uintmax_t b)
{
    if (!test_report(ok, file, line, expr) &&
        __atomic_load_n(&test_failed_count, __ATOMIC_RELAXED) <= TEST_MAX_REPORTS)
        fprintf(stderr, "    left:  %" PRIuMAX " (%#" PRIxMAX ")\n    right: %" PRIuMAX
                        " (%#" PRIxMAX ")\n",
                a, a, b, b);
    return ok;
}

/* Each macro evaluates to 1 if the check passed, so a test can stop early:
 * if (!CHECK(p != NULL)) return; */
#define CHECK(cond) test_report(!!(cond), __FILE__, __LINE__, #cond)
/* Each operand is evaluated once (it may be a call with side effects). */
#define CHECK_CMP(a, op, b)                                                                      \
    __extension__({                                                                              \
        uintmax_t check_a_ = (uintmax_t)(a), check_b_ = (uintmax_t)(b);                          \
        test_report_u(check_a_ op check_b_, __FILE__, __LINE__, #a " " #op " " #b, check_a_,     \
                      check_b_);                                                                 \
    })
#define CHECK_EQ(a, b) CHECK_CMP(a, ==, b)
#define CHECK_NE(a, b) CHECK_CMP(a, !=, b)
#define CHECK_LT(a, b) CHECK_CMP(a, <, b)
#define CHECK_LE(a, b) CHECK_CMP(a, <=, b)
#define CHECK_GT(a, b) CHECK_CMP(a, >, b)
#define CHECK_GE(a, b) CHECK_CMP(a, >=, b)

/* A check with a printf-style explanation printed when it fails. */
#define CHECK_MSG(cond, ...)                                                                     \
    (test_report(!!(cond), __FILE__, __LINE__, #cond)                                            \
         ? 1                                                                                     \
         : (fprintf(stderr, "    "), fprintf(stderr, __VA_ARGS__), fprintf(stderr, "\n"), 0))

static inline int test_done(void)
{
    unsigned long p = __atomic_load_n(&test_passed_count, __ATOMIC_RELAXED);
    unsigned long f = __atomic_load_n(&test_failed_count, __ATOMIC_RELAXED);
    fflush(stderr);
    printf("%lu passed, %lu failed\n", p, f);
    fflush(stdout);
    return (f == 0 && p > 0) ? 0 : 1;
}
#define TEST_DONE() test_done()

/* A seeded generator (splitmix64) for tests that want repeatable randomness. */
static inline uint64_t test_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Shuffle a[0..n) (Fisher-Yates), the same order for the same seed. */
static inline void test_shuffle(void **a, size_t n, uint64_t seed)
{
    uint64_t x = seed; /* xorshift64 */
    for (size_t i = n - 1; n > 1 && i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t j = x % (i + 1);
        void *t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

#endif /* HP_TESTS_TEST_H */
