/* concat.c: building a string by repeated concatenation (each step makes a
 * new string, as s += "hello" does) vs a builder with a pre-sized buffer. */
#include <stdlib.h>
#include <string.h>

#include "hotpath/bench.h"

#define PARTS 100
static const char part[] = "hello";

/* s + t in a new string; s is freed, as the old string becomes garbage. */
static char *concat(char *s, size_t *len, const char *t, size_t tl)
{
    char *r = malloc(*len + tl + 1);
    if (r == NULL) abort();
    memcpy(r, s, *len);
    memcpy(r + *len, t, tl + 1);
    *len += tl;
    free(s);
    return r;
}

static void plus(hp_b_t *b)
{
    hp_b_report_allocs(b);
    for (int64_t i = 0; i < b->n; i++) {
        size_t len = 0;
        char *s = calloc(1, 1);
        for (int j = 0; j < PARTS; j++)
            s = concat(s, &len, part, sizeof part - 1);
        hp_keep(s[len - 1]);
        free(s);
    }
}

static void builder(hp_b_t *b)
{
    hp_b_report_allocs(b);
    for (int64_t i = 0; i < b->n; i++) {
        size_t cap = PARTS * (sizeof part - 1) + 1, len = 0;
        char *s = malloc(cap); /* the builder, grown once to the size needed */
        if (s == NULL) abort();
        for (int j = 0; j < PARTS; j++) {
            memcpy(s + len, part, sizeof part - 1);
            len += sizeof part - 1;
        }
        s[len] = '\0';
        hp_keep(s[len - 1]);
        free(s);
    }
}

HP_BENCHMARK(Concat)
{
    hp_b_run(b, "impl=plus", plus);
    hp_b_run(b, "impl=builder", builder);
}
