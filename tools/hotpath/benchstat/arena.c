/* tools/hotpath/benchstat/arena.c: memory and containers for benchstat.
 *
 * benchstat is a batch command: it reads its inputs, builds tables, prints
 * them and exits.  So nearly everything is allocated from one bump arena
 * made of large chunks and released at once at the end; nothing is freed
 * piecemeal.  Growable arrays double in place of realloc (the abandoned
 * block stays in the arena, so the waste is bounded by the final size).
 *
 * The map is open addressing with linear probing over an index table;
 * entries live in an array in insertion order, which gives deterministic
 * iteration.  The buffer is an ordinary heap string builder for text that
 * is built, written and dropped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs.h"

#define ARENA_CHUNK (256 * 1024)

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    max_align_t data[]; /* payload */
} arena_chunk_t;

typedef struct arena_defer {
    struct arena_defer *next;
    void (*fn)(void *);
    void *p;
} arena_defer_t;

struct hpcli_bs_arena {
    arena_chunk_t *head;
    arena_defer_t *defers; /* cleanups, latest first; their nodes live in the arena */
};

void hpcli_bs_oom(void)
{
    fputs("hotpath: benchstat: out of memory\n", stderr);
    exit(1);
}

void *hpcli_bs_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) hpcli_bs_oom();
    return q;
}

hpcli_bs_arena_t *hpcli_bs_arena_new(void)
{
    hpcli_bs_arena_t *a = calloc(1, sizeof *a);
    if (a == NULL) hpcli_bs_oom();
    return a;
}

void hpcli_bs_arena_defer(hpcli_bs_arena_t *a, void (*fn)(void *), void *p)
{
    arena_defer_t *d = hpcli_bs_alloc(a, sizeof *d);
    d->fn = fn;
    d->p = p;
    d->next = a->defers;
    a->defers = d;
}

void hpcli_bs_arena_free(hpcli_bs_arena_t *a)
{
    if (a == NULL) return;
    for (arena_defer_t *d = a->defers; d != NULL; d = d->next) d->fn(d->p);
    arena_chunk_t *c = a->head;
    while (c != NULL) {
        arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

static arena_chunk_t *arena_chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(arena_chunk_t)) hpcli_bs_oom();
    arena_chunk_t *c = malloc(sizeof *c + size);
    if (c == NULL) hpcli_bs_oom();
    c->used = 0;
    c->size = size;
    return c;
}

void *hpcli_bs_alloc(hpcli_bs_arena_t *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    if (n > SIZE_MAX - align) hpcli_bs_oom();
    n = (n + align - 1) & ~(align - 1);
    arena_chunk_t *c = a->head;
    if (c == NULL || c->size - c->used < n) {
        if (n > ARENA_CHUNK / 4) {
            /* A big block gets a chunk of its own, kept behind the
             * current one so the current one's free space is not lost. */
            arena_chunk_t *big = arena_chunk_new(n);
            big->used = n;
            if (c == NULL) {
                big->next = NULL;
                a->head = big;
            } else {
                big->next = c->next;
                c->next = big;
            }
            memset(big->data, 0, n);
            return big->data;
        }
        c = arena_chunk_new(ARENA_CHUNK);
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *hpcli_bs_strndup(hpcli_bs_arena_t *a, const char *s, size_t n)
{
    char *p = hpcli_bs_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *hpcli_bs_strdup(hpcli_bs_arena_t *a, const char *s)
{
    return hpcli_bs_strndup(a, s, strlen(s));
}

char *hpcli_bs_sprintf(hpcli_bs_arena_t *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) hpcli_bs_oom();
    char *p = hpcli_bs_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void *hpcli_bs_grow(hpcli_bs_arena_t *a, void *v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return v;
    size_t ncap = *cap ? *cap : 4;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) hpcli_bs_oom();
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem) hpcli_bs_oom();
    void *nv = hpcli_bs_alloc(a, ncap * elem);
    if (*cap) memcpy(nv, v, *cap * elem);
    *cap = ncap;
    return nv;
}

void hpcli_bs_strs_add(hpcli_bs_arena_t *a, hpcli_bs_strs_t *l, const char *s)
{
    l->v = hpcli_bs_grow(a, l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n++] = s;
}

/* ---- map ----------------------------------------------------------------- */

typedef struct arena_entry {
    const void *key;
    size_t klen;
    uint64_t hash;
    void *val;
} arena_entry_t;

struct hpcli_bs_map {
    hpcli_bs_arena_t *arena;
    arena_entry_t *ents;
    size_t n, cap;
    size_t *slots; /* entry index + 1; 0 is empty */
    size_t nslots; /* power of two */
};

static uint64_t arena_map_hash(const void *key, size_t n)
{
    /* FNV-1a, then a final mix so that pointer keys spread well. */
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

hpcli_bs_map_t *hpcli_bs_map_new(hpcli_bs_arena_t *a)
{
    hpcli_bs_map_t *m = hpcli_bs_alloc(a, sizeof *m);
    m->arena = a;
    return m;
}

static size_t arena_map_find(const hpcli_bs_map_t *m, const void *key, size_t klen, uint64_t h)
{
    size_t mask = m->nslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        size_t s = m->slots[i];
        if (s == 0) return i;
        const arena_entry_t *e = &m->ents[s - 1];
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) return i;
    }
}

static void arena_map_rehash(hpcli_bs_map_t *m)
{
    size_t ns = m->nslots ? m->nslots * 2 : 16;
    m->slots = hpcli_bs_alloc(m->arena, ns * sizeof *m->slots);
    m->nslots = ns;
    for (size_t i = 0; i < m->n; i++) {
        size_t j = m->ents[i].hash & (ns - 1);
        while (m->slots[j] != 0) j = (j + 1) & (ns - 1);
        m->slots[j] = i + 1;
    }
}

void **hpcli_bs_map_get(const hpcli_bs_map_t *m, const void *key, size_t klen)
{
    if (m->n == 0) return NULL;
    size_t i = arena_map_find(m, key, klen, arena_map_hash(key, klen));
    if (m->slots[i] == 0) return NULL;
    return &m->ents[m->slots[i] - 1].val;
}

void **hpcli_bs_map_put(hpcli_bs_map_t *m, const void *key, size_t klen, int *created)
{
    uint64_t h = arena_map_hash(key, klen);
    if ((m->n + 1) * 2 > m->nslots) arena_map_rehash(m);
    size_t i = arena_map_find(m, key, klen, h);
    if (m->slots[i] != 0) {
        if (created) *created = 0;
        return &m->ents[m->slots[i] - 1].val;
    }
    m->ents = hpcli_bs_grow(m->arena, m->ents, &m->cap, m->n + 1, sizeof *m->ents);
    arena_entry_t *e = &m->ents[m->n];
    void *k = hpcli_bs_alloc(m->arena, klen ? klen : 1);
    memcpy(k, key, klen);
    e->key = k;
    e->klen = klen;
    e->hash = h;
    e->val = NULL;
    m->slots[i] = ++m->n;
    if (created) *created = 1;
    return &e->val;
}

size_t hpcli_bs_map_len(const hpcli_bs_map_t *m)
{
    return m->n;
}

void *hpcli_bs_map_value_at(const hpcli_bs_map_t *m, size_t i)
{
    return m->ents[i].val;
}

const void *hpcli_bs_map_key_at(const hpcli_bs_map_t *m, size_t i, size_t *klen)
{
    if (klen) *klen = m->ents[i].klen;
    return m->ents[i].key;
}

/* ---- buffer -------------------------------------------------------------- */

static void arena_buf_reserve(hpcli_bs_buf_t *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < b->len + extra + 1) {
        if (ncap > SIZE_MAX / 2) hpcli_bs_oom();
        ncap *= 2;
    }
    b->p = hpcli_bs_xrealloc(b->p, ncap);
    b->cap = ncap;
}

void hpcli_bs_buf_reset(hpcli_bs_buf_t *b)
{
    b->len = 0;
    if (b->p) b->p[0] = '\0';
}

void hpcli_bs_buf_add(hpcli_bs_buf_t *b, const char *s, size_t n)
{
    arena_buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void hpcli_bs_buf_adds(hpcli_bs_buf_t *b, const char *s)
{
    hpcli_bs_buf_add(b, s, strlen(s));
}

void hpcli_bs_buf_addc(hpcli_bs_buf_t *b, char c)
{
    hpcli_bs_buf_add(b, &c, 1);
}

void hpcli_bs_buf_printf(hpcli_bs_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) hpcli_bs_oom();
    arena_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void hpcli_bs_buf_free(hpcli_bs_buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}
