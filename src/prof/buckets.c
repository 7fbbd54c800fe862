/* buckets.c: stack buckets (buckets.h).  See prof.h. */
#include "prof/buckets.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/internal.h"

static uint64_t hash_stack(const uintptr_t *pcs, int n, uint64_t key)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ key;
    for (int i = 0; i < n; i++)
        h = (h ^ pcs[i]) * 0x100000001B3ULL;
    return h ^ (h >> 29);
}

/* Double the hash chains (the old array stays in metadata memory: the
 * arrays made over a store's life add up to less than the last).  False
 * when out of memory: the chains just grow longer. */
static bool grow_heads_locked(hpi_buckets_t *st)
{
    size_t n = st->nheads ? st->nheads * 2 : 1024;
    hpi_bucket_t **heads = hpi_meta_alloc(n * sizeof *heads);
    if (heads == NULL) return false;
    for (hpi_bucket_t *b = st->all; b != NULL; b = b->all_next) {
        hpi_bucket_t **head = &heads[b->hash & (n - 1)];
        b->hash_next = *head;
        *head = b;
    }
    st->heads = heads;
    st->nheads = n;
    return true;
}

HPI_CORE hpi_bucket_t *hpi_buckets_find_locked(hpi_buckets_t *st, const uintptr_t *pcs, int npcs,
                                               uint64_t key)
{
    if ((uint64_t)st->n >= st->nheads && !grow_heads_locked(st) && st->nheads == 0) return NULL;
    uint64_t h = hash_stack(pcs, npcs, key);
    hpi_bucket_t **head = &st->heads[h & (st->nheads - 1)];
    for (hpi_bucket_t *b = *head; b != NULL; b = b->hash_next)
        if (b->hash == h && b->key == key && b->npcs == npcs &&
            memcmp(b->pcs, pcs, (size_t)npcs * sizeof pcs[0]) == 0)
            return b;
    hpi_bucket_t *b = hpi_meta_alloc(sizeof *b + (size_t)npcs * sizeof pcs[0]);
    if (b == NULL) return NULL;
    b->hash = h;
    b->ext = NULL;
    b->key = key;
    b->npcs = npcs;
    memcpy(b->pcs, pcs, (size_t)npcs * sizeof pcs[0]);
    b->hash_next = *head;
    *head = b;
    b->all_next = st->all;
    st->all = b;
    st->n++;
    return b;
}

void hpi_buckets_add(hpi_buckets_t *st, const uintptr_t *pcs, int npcs, uint64_t key,
                     const double *v, int nv)
{
    hpi_lock(&st->lock);
    hpi_bucket_t *b = hpi_buckets_find_locked(st, pcs, npcs, key);
    if (b != NULL)
        for (int i = 0; i < nv; i++)
            b->v[i] += v[i];
    hpi_unlock(&st->lock);
}

int hpi_buckets_copy(hpi_buckets_t *st, hpi_bucket_copy_t **out, size_t *n)
{
    hpi_lock(&st->lock);
    size_t want = (size_t)st->n;
    hpi_unlock(&st->lock);
    hpi_bucket_copy_t *r = malloc((want ? want : 1) * sizeof *r);
    if (r == NULL) return ENOMEM;
    size_t k = 0;
    hpi_lock(&st->lock);
    for (hpi_bucket_t *b = st->all; b != NULL && k < want; b = b->all_next) {
        r[k].b = b;
        memcpy(r[k].v, b->v, sizeof r[k].v);
        k++;
    }
    hpi_unlock(&st->lock);
    *out = r;
    *n = k;
    return 0;
}

int64_t hpi_buckets_count(hpi_buckets_t *st)
{
    hpi_lock(&st->lock);
    int64_t n = st->n;
    hpi_unlock(&st->lock);
    return n;
}
