/* labels.c: profile labels, Go's pprof.Labels / pprof.Do for threads.
 * See hotpath/prof.h for the calls and prof.h for the profiling design.
 *
 * A label set is an immutable array of key=value pairs sorted by key, each
 * key once.  Sets are interned in one hash table: equal sets are one
 * object, so a set compares by pointer (the profile writers group samples
 * by it) and the table grows only with the number of distinct sets.  Sets
 * come from hpi_meta_alloc and are never freed.
 *
 * A thread's current set is one pointer in its registry record
 * (hpi_thread_t.labels), written by the thread with a release store and
 * read by its signal handlers (the CPU profiler) with no lock: a set's
 * contents are written before it is published and never change.  The
 * table's lock is taken only to look up and insert sets, never around
 * memory allocation, so it cannot deadlock with the allocator's fork
 * handlers (a set made in a lost race is wasted, not freed).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "alloc/internal.h"
#include "hotpath/prof.h"
#include "prof/labels.h"
#include "prof/threads.h"

#define LABELS_BUCKETS 1024  /* hash chains of the intern table */
#define LABELS_MAX_PAIRS 512 /* larger sets are refused (NULL) */

struct hp_labels {
    struct hp_labels *next; /* intern chain; table lock (fixed once linked) */
    uint64_t hash;
    int n;
    const char **keys, **values; /* n each, sorted by key; strings follow */
};

typedef struct pair {
    const char *key, *value;
} pair_t;

static struct {
    hpi_lock_t lock; /* protects buckets */
    struct hp_labels *buckets[LABELS_BUCKETS];
} table = {HPI_LOCK_INIT, {NULL}};

/* ---- Interning ---- */

static uint64_t labels_hash(const pair_t *p, int n)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a, with a 0 after each string */
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < 2; s++) {
            const unsigned char *c = (const unsigned char *)(s ? p[i].value : p[i].key);
            for (; *c; c++)
                h = (h ^ *c) * 1099511628211ull;
            h = h * 1099511628211ull;
        }
    }
    return h;
}

static bool labels_equal(const hp_labels_t *l, uint64_t hash, const pair_t *p, int n)
{
    if (l->hash != hash || l->n != n) return false;
    for (int i = 0; i < n; i++)
        if (strcmp(l->keys[i], p[i].key) != 0 || strcmp(l->values[i], p[i].value) != 0)
            return false;
    return true;
}

/* A new set holding copies of the n pairs; NULL when out of memory. */
static hp_labels_t *labels_make(const pair_t *p, int n, uint64_t hash)
{
    size_t size = sizeof(hp_labels_t) + 2 * (size_t)n * sizeof(char *);
    for (int i = 0; i < n; i++)
        size += strlen(p[i].key) + strlen(p[i].value) + 2;
    hp_labels_t *l = hpi_meta_alloc(size);
    if (l == NULL) return NULL;
    l->hash = hash;
    l->n = n;
    l->keys = (const char **)(l + 1);
    l->values = l->keys + n;
    char *s = (char *)(l->values + n);
    for (int i = 0; i < n; i++) {
        size_t kl = strlen(p[i].key) + 1, vl = strlen(p[i].value) + 1;
        l->keys[i] = memcpy(s, p[i].key, kl);
        l->values[i] = memcpy(s + kl, p[i].value, vl);
        s += kl + vl;
    }
    return l;
}

static hp_labels_t *labels_find_locked(const pair_t *p, int n, uint64_t hash)
{
    for (hp_labels_t *l = table.buckets[hash % LABELS_BUCKETS]; l != NULL; l = l->next)
        if (labels_equal(l, hash, p, n)) return l;
    return NULL;
}

/* The one set equal to the n pairs (sorted, keys unique). */
static hp_labels_t *labels_intern(const pair_t *p, int n)
{
    uint64_t hash = labels_hash(p, n);
    hpi_lock(&table.lock);
    hp_labels_t *l = labels_find_locked(p, n, hash);
    hpi_unlock(&table.lock);
    if (l != NULL) return l;
    hp_labels_t *made = labels_make(p, n, hash); /* outside the lock, see above */
    if (made == NULL) return NULL;
    hpi_lock(&table.lock);
    l = labels_find_locked(p, n, hash);
    if (l == NULL) {
        l = made;
        l->next = table.buckets[hash % LABELS_BUCKETS];
        table.buckets[hash % LABELS_BUCKETS] = l;
    }
    hpi_unlock(&table.lock);
    return l;
}

/* Sort pairs by key (stable) and keep the last value of each key; returns
 * the new count. */
static int labels_normalize(pair_t *p, int n)
{
    for (int i = 1; i < n; i++) {
        pair_t x = p[i];
        int j = i;
        for (; j > 0 && strcmp(p[j - 1].key, x.key) > 0; j--)
            p[j] = p[j - 1];
        p[j] = x;
    }
    int out = 0;
    for (int i = 0; i < n; i++) {
        if (i + 1 < n && strcmp(p[i].key, p[i + 1].key) == 0) continue;
        p[out++] = p[i];
    }
    return out;
}

/* ---- The public calls ---- */

/* Pairs in the argument list (key already read); -1 when odd or too many. */
static int labels_count_args(const char *key, const char *value, va_list ap)
{
    int n = 0;
    while (key != NULL) {
        if (value == NULL || n == LABELS_MAX_PAIRS) return -1;
        n++;
        key = va_arg(ap, const char *);
        if (key != NULL) value = va_arg(ap, const char *);
    }
    return n;
}

HP_API hp_labels_t *hp_labels(const char *key, const char *value, ...)
{
    va_list ap;
    va_start(ap, value);
    int n = labels_count_args(key, value, ap);
    va_end(ap);
    if (n < 0) return NULL;
    pair_t p[n > 0 ? n : 1];
    va_start(ap, value);
    for (int i = 0; i < n; i++) {
        p[i].key = i == 0 ? key : va_arg(ap, const char *);
        p[i].value = i == 0 ? value : va_arg(ap, const char *);
    }
    va_end(ap);
    return labels_intern(p, labels_normalize(p, n));
}

/* cur plus add, add's values winning; NULL when out of memory. */
static const hp_labels_t *labels_merge(const hp_labels_t *cur, const hp_labels_t *add)
{
    if (cur == NULL || cur->n == 0) return add;
    if (add == NULL || add->n == 0) return cur;
    pair_t p[cur->n + add->n];
    int i = 0, j = 0, n = 0;
    while (i < cur->n || j < add->n) {
        int c = i == cur->n ? 1 : j == add->n ? -1 : strcmp(cur->keys[i], add->keys[j]);
        if (c < 0) {
            p[n++] = (pair_t){cur->keys[i], cur->values[i]};
            i++;
        } else {
            p[n++] = (pair_t){add->keys[j], add->values[j]};
            j++;
            if (c == 0) i++;
        }
    }
    return labels_intern(p, n);
}

HP_API void hp_do(const hp_labels_t *labels, void (*fn)(void *arg), void *arg)
{
    const hp_labels_t *old = hp_thread_labels();
    const hp_labels_t *set = labels_merge(old, labels);
    hp_set_thread_labels(set != NULL ? set : old);
    fn(arg);
    hp_set_thread_labels(old);
}

HP_API const hp_labels_t *hp_thread_labels(void)
{
    hpi_thread_t *t = hpi_thread_self();
    return t != NULL ? atomic_load_explicit(&t->labels, memory_order_acquire) : NULL;
}

HP_API void hp_set_thread_labels(const hp_labels_t *labels)
{
    hpi_thread_t *t = hpi_thread_self();
    if (t == NULL) t = hpi_thread_register_self();
    if (t != NULL) atomic_store_explicit(&t->labels, labels, memory_order_release);
}

/* ---- Readers for the profile writers ---- */

int hpi_labels_get(const hp_labels_t *l, const char *const **keys, const char *const **values)
{
    if (l == NULL || l->n == 0) {
        *keys = *values = NULL;
        return 0;
    }
    *keys = l->keys;
    *values = l->values;
    return l->n;
}

int hpi_labels_to_pprof(const hp_labels_t *l, hpi_pprof_label_t *out, int max)
{
    int n = l != NULL ? l->n : 0;
    if (n > max) n = max;
    for (int i = 0; i < n; i++)
        out[i] = (hpi_pprof_label_t){.key = l->keys[i], .str = l->values[i]};
    return n;
}
