/* memstats.c: hp_read_memstats, after Go's runtime.ReadMemStats.
 *
 * Go stops the world to read its statistics; hotpath does not.  Each thread
 * counts its own allocations and frees (hpi_thread_stats_t, written with plain
 * load + store by that thread alone); a read sums the counters of every cache
 * ever made (live, pooled or lost in fork) plus the shared counters of threads
 * without a cache.  Nothing is lost when a thread exits, because its cache
 * and its counters stay in the registry for the next thread to continue.
 * The page heap's figures come from one copy taken under the heap lock.
 */
#include <string.h>

#include "alloc/internal.h"
#include "gc/internal.h"
#include "hotpath/memstats.h"

_Static_assert(HP_NUM_SIZE_CLASSES == HPI_NUM_CLASSES,
               "memstats.h and sizeclasses.h disagree on the number of classes");

typedef struct sum {
    uint64_t nmalloc[HPI_NUM_CLASSES], nfree[HPI_NUM_CLASSES];
    uint64_t large_alloc_bytes, large_free_bytes, remote_frees;
    uint64_t caches, live;
} sum_t;

static void add_stats(sum_t *sum, hpi_thread_stats_t *st)
{
    for (unsigned c = 0; c < HPI_NUM_CLASSES; c++) {
        sum->nmalloc[c] += hpi_counter_get(&st->nmalloc[c]);
        sum->nfree[c] += hpi_counter_get(&st->nfree[c]);
    }
    sum->large_alloc_bytes += hpi_counter_get(&st->large_alloc_bytes);
    sum->large_free_bytes += hpi_counter_get(&st->large_free_bytes);
    sum->remote_frees += hpi_counter_get(&st->remote_frees);
}

static void visit(hpi_mcache_t *mc, void *arg)
{
    sum_t *sum = arg;
    add_stats(sum, &mc->stats);
    sum->caches++;
    if (mc->live) sum->live++;
}

/* A free can be counted by one thread before the matching malloc is seen in
 * another thread's counters; never let a difference go below zero. */
static uint64_t sub0(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

static void fill_classes(hp_memstats_t *ms, const sum_t *sum)
{
    for (unsigned c = 1; c < HPI_NUM_CLASSES; c++) {
        uint64_t size = hpi_class_size[c];
        ms->by_size[c].size = (uint32_t)size;
        ms->by_size[c].mallocs = sum->nmalloc[c];
        ms->by_size[c].frees = sum->nfree[c];
        ms->total_alloc += sum->nmalloc[c] * size;
        ms->heap_alloc += sub0(sum->nmalloc[c], sum->nfree[c]) * size;
        ms->mallocs += sum->nmalloc[c];
        ms->frees += sum->nfree[c];
    }
}

HP_API void hp_read_alloc_totals(uint64_t *mallocs, uint64_t *total_alloc)
{
    sum_t sum;
    memset(&sum, 0, sizeof sum);
    hpi_mcache_foreach(visit, &sum);
    add_stats(&sum, hpi_mcache_orphan_stats());
    uint64_t n = sum.nmalloc[0], bytes = sum.large_alloc_bytes;
    for (unsigned c = 1; c < HPI_NUM_CLASSES; c++) {
        n += sum.nmalloc[c];
        bytes += sum.nmalloc[c] * hpi_class_size[c];
    }
    *mallocs = n;
    *total_alloc = bytes;
}

HP_API void hp_read_memstats(hp_memstats_t *ms)
{
    sum_t sum;
    memset(&sum, 0, sizeof sum);
    memset(ms, 0, sizeof *ms);
    hpi_mcache_foreach(visit, &sum);
    add_stats(&sum, hpi_mcache_orphan_stats());

    fill_classes(ms, &sum);
    ms->large_mallocs = sum.nmalloc[0];
    ms->large_frees = sum.nfree[0];
    ms->mallocs += sum.nmalloc[0];
    ms->frees += sum.nfree[0];
    ms->total_alloc += sum.large_alloc_bytes;
    ms->heap_alloc += sub0(sum.large_alloc_bytes, sum.large_free_bytes);
    ms->alloc = ms->heap_alloc;
    ms->heap_objects = sub0(ms->mallocs, ms->frees);
    ms->remote_frees = sum.remote_frees;
    ms->threads = sum.live;

    hpi_heap_stats_t hs;
    hpi_heap_read_stats(&hs);
    uint64_t meta_sys = hpi_meta_sys();
    ms->heap_sys = hs.heap_sys;
    ms->heap_inuse = hs.heap_inuse;
    ms->heap_idle = sub0(hs.heap_sys, hs.heap_inuse);
    ms->heap_released = hs.heap_released;
    ms->scavenged_bytes = hs.scavenged;
    ms->arenas = hs.arenas;
    ms->mspan_inuse = hs.span_inuse;
    ms->mspan_sys = hs.span_sys;
    ms->mcache_inuse = sum.live * sizeof(hpi_mcache_t);
    ms->mcache_sys = sum.caches * sizeof(hpi_mcache_t);
    ms->other_sys = sub0(meta_sys, hs.span_sys + ms->mcache_sys);
    ms->sys = hs.heap_sys + meta_sys;
    hpi_gc_read_stats(ms);
}

HP_API uint64_t hp_release_memory(void) { return hpi_heap_scavenge(0, hpi_nanotime()); }
