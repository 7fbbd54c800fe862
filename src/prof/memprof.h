/* memprof.h: the heap profiler's store (memprof.c).  See prof.h.
 *
 * The allocator (src/alloc/sample.c) decides which allocations are sampled
 * and calls in here with the object; memprof.c captures the stack, counts the
 * object in the bucket of its (stack, size), and remembers the object so
 * that its free is counted too.  Not for signal handlers: takes a lock. */
#ifndef HPI_PROF_MEMPROF_H
#define HPI_PROF_MEMPROF_H

#include <stddef.h>
#include <stdint.h>

#include "prim/prim.h"

/* A sampled object p of `size` requested bytes was allocated. */
HPI_INTERNAL void hpi_memprof_alloc(void *p, size_t size);
/* A sampled object was freed (p is its start). */
HPI_INTERNAL void hpi_memprof_free(void *p);

/* The same for GC objects, which count as of the last collection (see
 * memprof.c): `epoch` is the number of mark terminations so far when the
 * object was allocated, or when the sweeper found it dead. */
HPI_INTERNAL void hpi_memprof_alloc_gc(void *p, size_t size, uint64_t epoch);
HPI_INTERNAL void hpi_memprof_free_gc(void *p, uint64_t epoch);
/* The sweep after mark termination `epoch` is done: what it found and what
 * was allocated before that termination count from now on. */
HPI_INTERNAL void hpi_memprof_gc_publish(uint64_t epoch);

/* Bytes to the next sampled allocation: exponential with mean `rate`
 * (Go's MemProfileRate); 0 for rate 1, INT64_MAX for rate 0.  `seed` is the
 * caller's per-thread random state. */
HPI_INTERNAL int64_t hpi_memprof_next_sample(int64_t rate, uint64_t *seed);

/* The heap and allocs profiles (same data; allocs shows alloc_space by
 * default).  debug 0: pprof; debug 1: Go's legacy text.  0 or errno. */
HPI_INTERNAL int hpi_memprof_write(int fd, int debug, int allocs);
HPI_INTERNAL int64_t hpi_memprof_count(void);

/* HOTPATH_MEMPROFILE: write the heap profile to its path (profiles.c);
 * once per process, at exit or on SIGTERM; nothing when it is unset. */
HPI_INTERNAL void hpi_memprofile_at_exit(void);

/* Held across fork() (init.c), like the allocator's locks. */
HPI_INTERNAL void hpi_memprof_fork_prepare(void);
HPI_INTERNAL void hpi_memprof_fork_parent(void);
HPI_INTERNAL void hpi_memprof_fork_child(void);

#endif /* HPI_PROF_MEMPROF_H */
