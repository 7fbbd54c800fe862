/* mapkey.c: looking up a hash map by a key built as a string for each
 * lookup ("user:field", allocated, hashed byte by byte) vs by a struct
 * key of two integers.  Both maps hold the same 4096 entries. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotpath/bench.h"

#define USERS 512
#define FIELDS 8
#define SLOTS 8192 /* power of two, twice the entries */

typedef struct key {
    uint32_t user, field;
} key_t_;

static struct {
    char *skey[SLOTS];
    key_t_ key[SLOTS];
    int used[SLOTS];
    int64_t value[SLOTS], svalue[SLOTS];
} m;

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static uint64_t hash_key(key_t_ k)
{
    uint64_t x = ((uint64_t)k.user << 32 | k.field) * 0x9E3779B97F4A7C15ULL;
    return x ^ (x >> 29);
}

static char *make_skey(uint32_t user, uint32_t field)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%u:%u", user, field);
    char *s = malloc((size_t)n + 1);
    if (s == NULL) abort();
    memcpy(s, buf, (size_t)n + 1);
    return s;
}

static int64_t *slookup(const char *s, int insert)
{
    for (uint64_t i = hash_bytes(s, strlen(s));; i++) {
        char **slot = &m.skey[i & (SLOTS - 1)];
        if (*slot == NULL && !insert) return NULL;
        if (*slot == NULL) *slot = make_skey(0, 0), strcpy(*slot, s);
        if (strcmp(*slot, s) == 0) return &m.svalue[i & (SLOTS - 1)];
    }
}

static int64_t *klookup(key_t_ k, int insert)
{
    for (uint64_t i = hash_key(k);; i++) {
        uint64_t j = i & (SLOTS - 1);
        if (!m.used[j] && !insert) return NULL;
        if (!m.used[j]) m.used[j] = 1, m.key[j] = k;
        if (m.key[j].user == k.user && m.key[j].field == k.field) return &m.value[j];
    }
}

static void fill(void)
{
    static int done;
    if (done) return;
    done = 1;
    for (uint32_t u = 0; u < USERS; u++)
        for (uint32_t f = 0; f < FIELDS; f++) {
            char *s = make_skey(u, f);
            *slookup(s, 1) = u * f;
            free(s);
            *klookup((key_t_){u, f}, 1) = u * f;
        }
}

static void by_string(hp_b_t *b)
{
    fill();
    hp_b_report_allocs(b);
    hp_b_reset_timer(b);
    for (int64_t i = 0; i < b->n; i++) {
        char *s = make_skey((uint32_t)i % USERS, (uint32_t)(i / USERS) % FIELDS);
        hp_keep(*slookup(s, 0));
        free(s);
    }
}

static void by_struct(hp_b_t *b)
{
    fill();
    hp_b_report_allocs(b);
    hp_b_reset_timer(b);
    for (int64_t i = 0; i < b->n; i++)
        hp_keep(*klookup((key_t_){(uint32_t)i % USERS, (uint32_t)(i / USERS) % FIELDS}, 0));
}

HP_BENCHMARK(MapKey)
{
    hp_b_run(b, "key=string", by_string);
    hp_b_run(b, "key=struct", by_struct);
}
