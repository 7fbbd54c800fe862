/* buckets.h: stack buckets, the store behind the heap, mutex and block
 * profiles (buckets.c).  See prof.h.
 *
 * A bucket is one (stack, key) pair with a few counters; the profile that
 * owns the store gives them their meaning.  A store is a hash table with
 * its own lock; buckets are never freed and their memory comes from
 * hpi_meta_alloc, so recording never calls malloc.  Not for signal
 * handlers. */
#ifndef HPI_PROF_BUCKETS_H
#define HPI_PROF_BUCKETS_H

#include <stddef.h>
#include <stdint.h>

#include "prim/prim.h"

#define HPI_BUCKET_VALUES 4

typedef struct hpi_bucket {
    struct hpi_bucket *hash_next, *all_next; /* store lock */
    uint64_t hash;
    uint64_t key;                /* e.g. the object size */
    double v[HPI_BUCKET_VALUES]; /* store lock: the counters */
    void *ext;                   /* store lock: the owning profile's extra state */
    int npcs;
    uintptr_t pcs[]; /* leaf first; return addresses */
} hpi_bucket_t;

typedef struct hpi_buckets {
    hpi_lock_t lock;
    hpi_bucket_t **heads; /* lock: nheads hash chains, doubled when n reaches nheads */
    size_t nheads;        /* lock: a power of two, or 0 before the first bucket */
    hpi_bucket_t *all;    /* lock: newest first */
    int64_t n;            /* lock */
} hpi_buckets_t;

/* The bucket of (pcs, key), made if new; NULL when out of memory.  The
 * store's lock must be held. */
HPI_INTERNAL hpi_bucket_t *hpi_buckets_find_locked(hpi_buckets_t *st, const uintptr_t *pcs,
                                                   int npcs, uint64_t key);

/* Add v[0..nv) to the bucket of (pcs, key), taking the lock. */
HPI_INTERNAL void hpi_buckets_add(hpi_buckets_t *st, const uintptr_t *pcs, int npcs, uint64_t key,
                                  const double *v, int nv);

/* A copy of every bucket's counters: *out is malloc'd (call from writers,
 * with hpi_prof_internal set), *n its length.  0 or ENOMEM. */
typedef struct hpi_bucket_copy {
    const hpi_bucket_t *b; /* for pcs, npcs, key: fixed once made */
    double v[HPI_BUCKET_VALUES];
} hpi_bucket_copy_t;
HPI_INTERNAL int hpi_buckets_copy(hpi_buckets_t *st, hpi_bucket_copy_t **out, size_t *n);
HPI_INTERNAL int64_t hpi_buckets_count(hpi_buckets_t *st);

#endif /* HPI_PROF_BUCKETS_H */
