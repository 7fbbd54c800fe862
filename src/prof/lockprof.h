/* lockprof.h: the mutex and block profiles (lockprof.c) and the pthread
 * interposition that feeds them (interpose_locks.c).  See prof.h. */
#ifndef HPI_PROF_LOCKPROF_H
#define HPI_PROF_LOCKPROF_H

#include <stdatomic.h>
#include <stdint.h>

#include "prim/prim.h"

enum hpi_lockprof_kind { HPI_LOCKPROF_MUTEX, HPI_LOCKPROF_BLOCK };

/* Sampling settings, read on every lock operation (relaxed): Go's
 * SetMutexProfileFraction rate (0 off) and SetBlockProfileRate in ns. */
extern HPI_INTERNAL _Atomic int hpi_mutex_rate;
extern HPI_INTERNAL _Atomic int64_t hpi_block_rate;

static inline int hpi_lockprof_on(void)
{
    return atomic_load_explicit(&hpi_mutex_rate, memory_order_relaxed) > 0 ||
           atomic_load_explicit(&hpi_block_rate, memory_order_relaxed) > 0;
}

/* A thread waited `ns` for a lock, a condition, a semaphore or a join:
 * maybe record it in the block profile at the caller's stack.  skip = 0:
 * the stack's leaf is the caller (the interposed pthread function, which
 * names the kind of wait, as Go's profiles show sync.(*Mutex).Lock). */
HPI_INTERNAL void hpi_block_event(int64_t ns, int skip);

/* Contention on the lock at `addr`: a waiter starts (+1) or stops (-1)
 * waiting. */
HPI_INTERNAL void hpi_mutex_waiters(const void *addr, int delta);
/* The holder is about to unlock addr (call it before unlocking, so that no
 * other thread's unlock can come first): the waiting time that accrued
 * since the last unlock, in ns, to be charged with hpi_mutex_event. */
HPI_INTERNAL int64_t hpi_mutex_take_delay(const void *addr);
/* Charge `delay` to the caller's stack in the mutex profile (sampled 1 in
 * hpi_mutex_rate); skip as for hpi_block_event. */
HPI_INTERNAL void hpi_mutex_event(int64_t delay, int skip);

HPI_INTERNAL int hpi_lockprof_write(int kind, int fd, int debug);
HPI_INTERNAL int64_t hpi_lockprof_count(int kind);

#endif /* HPI_PROF_LOCKPROF_H */
