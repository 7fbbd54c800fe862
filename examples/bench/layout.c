/* layout.c: a struct whose fields are in a bad order (each bool padded to
 * 8 bytes) vs the same fields largest first: 40 vs 24 bytes, so a pass
 * over a million of them reads 40 vs 24 MB.  Reports B/struct too. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "hotpath/bench.h"

#define COUNT (1 << 20)

typedef struct bad {
    bool active;
    int64_t balance;
    bool admin;
    int64_t visits;
    bool banned;
} bad_t;

typedef struct good {
    int64_t balance;
    int64_t visits;
    bool active, admin, banned;
} good_t;

#define SUM_BENCH(fname, T)                                                                        \
    static void fname(hp_b_t *b)                                                                   \
    {                                                                                              \
        T *a = calloc(COUNT, sizeof *a);                                                           \
        if (a == NULL) abort();                                                                    \
        for (int k = 0; k < COUNT; k++)                                                            \
            a[k].balance = k, a[k].active = k & 1;                                                 \
        hp_b_report_allocs(b);                                                                     \
        hp_b_reset_timer(b);                                                                       \
        for (int64_t i = 0; i < b->n; i++) {                                                       \
            int64_t sum = 0;                                                                       \
            for (int k = 0; k < COUNT; k++)                                                        \
                if (a[k].active) sum += a[k].balance;                                              \
            hp_keep(sum);                                                                          \
        }                                                                                          \
        hp_b_stop_timer(b);                                                                        \
        free(a);                                                                                   \
        hp_b_report_metric(b, (double)sizeof(T), "B/struct");                                      \
    }

SUM_BENCH(sum_bad, bad_t)
SUM_BENCH(sum_good, good_t)

HP_BENCHMARK(Layout)
{
    hp_b_run(b, "order=bad", sum_bad);
    hp_b_run(b, "order=good", sum_good);
}
