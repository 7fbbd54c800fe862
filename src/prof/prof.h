/* prof.h: profiling, Go's runtime/pprof for C.  The design overview.
 *
 * 1. Profiles.  cpu (SIGPROF samples from per-thread CPU-time timers), heap
 *    and allocs (sampling inside the allocator), goroutine (here: threads),
 *    threadcreate, mutex and block (pthread interposition).  Each is written
 *    in pprof's format by pprof.c; goroutine and heap also in Go's debug
 *    text forms.  Names, sample types and units are Go's.
 *
 * 2. Capture and writing are separate.  Where an event happens (a signal
 *    handler, the allocator's sampled path, a contended lock) only a raw
 *    stack of PCs is captured (stack.c) and stored in a preallocated
 *    structure: a lock-free ring for CPU samples, hashed buckets for the
 *    others.  Symbolization (symbolize.c, libdw) and encoding (pprof.c,
 *    protobuf-c and zlib) happen when a profile is written.
 *
 * 3. Signal handlers never lock or allocate.  Other capture paths may take
 *    hotpath's internal locks (hpi_lock_t) but never call malloc: their
 *    memory comes from hpi_meta_alloc.  Writers may call malloc (libdw,
 *    protobuf-c and zlib do); they run with hpi_prof_internal set so that
 *    those allocations are never sampled into the user's profiles.
 *
 * 4. The allocator's fast path holds one profiling branch: a per-thread
 *    countdown of bytes to the next sampled allocation (memprof.c).
 */
#ifndef HPI_PROF_PROF_H
#define HPI_PROF_PROF_H

#include "prim/prim.h"

/* Nonzero while this thread runs hotpath's own profile-writing code: its
 * allocations are not sampled.  Use hpi_prof_internal_enter/leave. */
extern __thread int hpi_prof_internal __attribute__((tls_model("initial-exec")));

static inline void hpi_prof_internal_enter(void)
{
    hpi_prof_internal++;
}
static inline void hpi_prof_internal_leave(void)
{
    hpi_prof_internal--;
}

#endif /* HPI_PROF_PROF_H */
