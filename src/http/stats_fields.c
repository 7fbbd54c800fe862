/* stats_fields.c: MemStats fields with their names in Go's expvar and in
 * Prometheus.  See stats_fields.h. */
#include "http/stats_fields.h"

#define F(name, in_go, prom, counter, field, help)                                                 \
    {name, in_go, prom, counter, help, offsetof(hp_memstats_t, field)}

const hpi_stat_field_t hpi_stat_fields[] = {
    F("Alloc", 1, "alloc_bytes", 0, alloc, "Bytes of allocated heap objects."),
    F("TotalAlloc", 1, "alloc_bytes_total", 1, total_alloc, "Bytes allocated, ever."),
    F("Sys", 1, "sys_bytes", 0, sys, "Bytes obtained from the OS."),
    F("Mallocs", 1, "mallocs_total", 1, mallocs, "Objects allocated, ever."),
    F("Frees", 1, "frees_total", 1, frees, "Objects freed, ever."),
    F("HeapAlloc", 1, "heap_alloc_bytes", 0, heap_alloc, "Bytes of allocated heap objects."),
    F("HeapSys", 1, "heap_sys_bytes", 0, heap_sys, "Bytes of arena memory in the page heap."),
    F("HeapIdle", 1, "heap_idle_bytes", 0, heap_idle, "Bytes in free spans."),
    F("HeapInuse", 1, "heap_inuse_bytes", 0, heap_inuse, "Bytes in spans with objects."),
    F("HeapReleased", 1, "heap_released_bytes", 0, heap_released,
      "Bytes of free spans returned to the OS."),
    F("HeapObjects", 1, "heap_objects", 0, heap_objects, "Live heap objects."),
    F("MSpanInuse", 1, "mspan_inuse_bytes", 0, mspan_inuse, "Bytes of span structures in use."),
    F("MSpanSys", 1, "mspan_sys_bytes", 0, mspan_sys, "Bytes of span structures from the OS."),
    F("MCacheInuse", 1, "mcache_inuse_bytes", 0, mcache_inuse, "Bytes of thread caches in use."),
    F("MCacheSys", 1, "mcache_sys_bytes", 0, mcache_sys, "Bytes of thread caches from the OS."),
    F("OtherSys", 1, "other_sys_bytes", 0, other_sys, "Bytes of other allocator metadata."),
    F("NextGC", 1, "gc_next_bytes", 0, next_gc, "Heap goal of the next GC cycle."),
    F("LastGC", 1, "gc_last_timestamp_seconds", 0, last_gc,
      "When the last GC cycle ended, since the Unix epoch."),
    F("PauseTotalNs", 1, "gc_pause_seconds_total", 1, pause_total_ns,
      "Stop-the-world time of the GC, ever."),
    F("NumGC", 1, "gc_cycles_total", 1, num_gc, "Completed GC cycles."),
    F("NumForcedGC", 1, "gc_forced_cycles_total", 1, num_forced_gc,
      "GC cycles asked for by hp_gc_collect."),
    F("GCHeapAlloc", 0, "gc_heap_alloc_bytes", 0, gc_heap_alloc,
      "Bytes of GC objects allocated and not yet swept."),
    F("GCHeapObjects", 0, "gc_heap_objects", 0, gc_heap_objects,
      "GC objects allocated and not yet swept."),
    F("GCHeapLive", 0, "gc_heap_live_bytes", 0, gc_heap_live,
      "Bytes of GC objects the last cycle found live."),
    F("GCMaxPauseNs", 0, "gc_max_pause_seconds", 0, gc_max_pause_ns,
      "Longest single stop-the-world pause of the GC."),
    F("LargeMallocs", 0, "large_mallocs_total", 1, large_mallocs, "Objects over 32 KiB allocated, ever."),
    F("LargeFrees", 0, "large_frees_total", 1, large_frees, "Objects over 32 KiB freed, ever."),
    F("RemoteFrees", 0, "remote_frees_total", 1, remote_frees,
      "Frees by a thread other than the one that owns the object's span."),
    F("ScavengedBytes", 0, "scavenged_bytes_total", 1, scavenged_bytes, "Bytes returned to the OS, ever."),
    F("Arenas", 0, "arenas", 0, arenas, "64 MiB arenas reserved."),
    F("Threads", 0, "threads", 0, threads, "Threads with a live allocator cache."),
};

const int hpi_stat_nfields = (int)(sizeof hpi_stat_fields / sizeof hpi_stat_fields[0]);
