/* hotpath/memstats.h: allocator statistics, after Go's runtime.MemStats.
 *
 * hp_read_memstats() merges the per-thread counters of every live thread with
 * the totals of threads that have exited.  Fields marked "exact" are exact when
 * no other thread allocates during the read; fields marked "approximate" may lag
 * the truth by what threads do while the read is in progress, or are estimates
 * as the comment says.  All byte counts are in size-class bytes, as Go counts
 * them: malloc(20) counts 32 bytes.
 */
#ifndef HOTPATH_MEMSTATS_H
#define HOTPATH_MEMSTATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of small size classes, including the unused class 0. */
#define HP_NUM_SIZE_CLASSES 70

typedef struct hp_memstats_class {
    uint32_t size;    /* largest object size in this class, bytes */
    uint64_t mallocs; /* cumulative objects allocated (exact) */
    uint64_t frees;   /* cumulative objects freed (exact) */
} hp_memstats_class_t;

typedef struct hp_memstats {
    /* General statistics. */
    uint64_t alloc;       /* bytes of allocated heap objects (= heap_alloc; exact) */
    uint64_t total_alloc; /* cumulative bytes allocated, never decreases (exact) */
    uint64_t sys;         /* bytes obtained from the OS: heap_sys + metadata (exact) */
    uint64_t mallocs;     /* cumulative count of objects allocated (exact) */
    uint64_t frees;       /* cumulative count of objects freed (exact) */

    /* Heap statistics. */
    uint64_t heap_alloc;    /* bytes of allocated objects, small and large (exact) */
    uint64_t heap_sys;      /* bytes of arena memory handed to the page heap (exact) */
    uint64_t heap_idle;     /* bytes in free spans, released or not (exact) */
    uint64_t heap_inuse;    /* bytes in spans holding at least one object (exact) */
    uint64_t heap_released; /* bytes of idle spans returned to the OS (approximate:
                               pages of a released span merged with a dirty one
                               count as not released) */
    uint64_t heap_objects;  /* live objects: mallocs - frees (exact) */

    /* Metadata. */
    uint64_t mspan_inuse; /* bytes of span structures in use (exact) */
    uint64_t mspan_sys;   /* bytes of span structures obtained from the OS (exact) */
    uint64_t mcache_inuse; /* bytes of per-thread caches in use (exact) */
    uint64_t mcache_sys;  /* bytes of per-thread caches obtained from the OS (exact) */
    uint64_t other_sys;   /* other metadata: arena page maps, internal tables (exact) */

    /* Allocator activity beyond Go's fields. */
    uint64_t large_mallocs;   /* malloc'd objects over 32 KiB allocated (exact; GC objects
                                 are not counted here) */
    uint64_t large_frees;     /* malloc'd objects over 32 KiB freed (exact) */
    uint64_t remote_frees;    /* frees by a thread other than the span's owner (exact) */
    uint64_t scavenged_bytes; /* cumulative bytes returned to the OS (exact) */
    uint64_t arenas;          /* 64 MiB arenas reserved (exact) */
    uint64_t threads;         /* threads with a live cache (exact) */

    /* The garbage collector (hotpath/gc.h).  GC objects also count in the
     * general and heap figures above; a freed GC object counts as freed
     * when the sweeper reclaims it. */
    uint64_t next_gc;        /* heap goal of the next collection, bytes (Go's NextGC) */
    uint64_t last_gc;        /* end of the last collection, ns since the Unix epoch; 0: none */
    uint64_t pause_total_ns; /* cumulative stop-the-world time */
    uint64_t pause_ns[256];  /* recent collections' stop-the-world time: collection n (from
                                1) at [(n + 255) % 256], as Go's PauseNs */
    uint64_t pause_end[256]; /* when each of those pauses ended, ns since the Unix epoch */
    uint64_t num_gc;         /* completed collections (Go: uint32) */
    uint64_t num_forced_gc;  /* of which asked for by hp_gc_collect */
    double gc_cpu_fraction;  /* share of the CPU time available since start-up used by the
                                collector (Go's GCCPUFraction) */
    uint64_t gc_heap_alloc;  /* bytes of GC objects allocated and not yet swept away */
    uint64_t gc_heap_objects; /* GC objects allocated and not yet swept away */
    uint64_t gc_heap_live;   /* bytes of GC objects the last collection found live */
    uint64_t gc_max_pause_ns; /* longest single stop-the-world pause so far */

    /* Per size class.  by_size[0] is unused, as in Go. */
    hp_memstats_class_t by_size[HP_NUM_SIZE_CLASSES];
} hp_memstats_t;

/* Fill *st with the current statistics.  Takes no lock that malloc's fast
 * path takes; safe to call from any thread, not from a signal handler. */
void hp_read_memstats(hp_memstats_t *st);

/* Only the allocation totals, as Go's Mallocs and TotalAlloc (exact, bytes
 * as size-class bytes), without the page heap's lock: what a benchmark
 * reads around its timed region. */
void hp_read_alloc_totals(uint64_t *mallocs, uint64_t *total_alloc);

/* Return idle heap memory to the OS now (the scavenger does it after a delay).
 * Returns the number of bytes released.  malloc_trim() calls this. */
uint64_t hp_release_memory(void);

#ifdef __cplusplus
}
#endif
#endif /* HOTPATH_MEMSTATS_H */
