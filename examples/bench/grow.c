/* grow.c: growing an array by realloc one element at a time vs allocating
 * it once at the size it will reach. */
#include <stdlib.h>

#include "hotpath/bench.h"

#define ELEMS 1000

static void by_one(hp_b_t *b)
{
    hp_b_report_allocs(b);
    for (int64_t i = 0; i < b->n; i++) {
        int *a = NULL;
        for (int j = 0; j < ELEMS; j++) {
            int *na = realloc(a, (size_t)(j + 1) * sizeof *a);
            if (na == NULL) abort();
            a = na;
            a[j] = j;
        }
        hp_keep(a[ELEMS - 1]);
        free(a);
    }
}

static void prealloc(hp_b_t *b)
{
    hp_b_report_allocs(b);
    for (int64_t i = 0; i < b->n; i++) {
        int *a = malloc(ELEMS * sizeof *a);
        if (a == NULL) abort();
        for (int j = 0; j < ELEMS; j++)
            a[j] = j;
        hp_keep(a[ELEMS - 1]);
        free(a);
    }
}

HP_BENCHMARK(Grow)
{
    hp_b_run(b, "impl=realloc", by_one);
    hp_b_run(b, "impl=prealloc", prealloc);
}
