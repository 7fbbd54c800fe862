/* cpuring.h: the CPU profiler's sample buffer, a bounded lock-free queue with
 * many producers (SIGPROF handlers on any thread) and one consumer (the
 * thread that drains it into a profile).  See cpuprof.c and cpuring.c.
 *
 * Records have a fixed size, so a producer writes its stack straight into a
 * slot: reserve a slot, fill it, publish it.  Reserve and publish are
 * async-signal-safe (atomics only); when the ring is full, reserve counts a
 * lost sample and returns NULL.
 */
#ifndef HPI_PROF_CPURING_H
#define HPI_PROF_CPURING_H

#include <stdatomic.h>
#include <stdint.h>

#include "hotpath/prof.h"
#include "prim/prim.h"
#include "prof/stack.h"

/* One sample.  Slots are written by the producer that reserved them, then
 * read by the consumer once `seq` says they are published. */
typedef struct hpi_cpurec {
    _Atomic uint64_t seq;         /* ring protocol, see cpuring.c */
    uint64_t pos;                 /* the position the producer reserved */
    const hp_labels_t *labels;    /* the thread's labels when sampled, or NULL */
    uint32_t weight;              /* timer periods this sample stands for (1 + overruns) */
    int npcs;                     /* entries in pcs; 0: the stack could not be read */
    uintptr_t pcs[HPI_STACK_MAX]; /* pcs[0] exact (interrupted PC), then return addresses */
} hpi_cpurec_t;

typedef struct hpi_cpuring {
    hpi_cpurec_t *recs;                             /* nrecs slots; fixed after init */
    uint64_t mask;                                  /* nrecs - 1; fixed after init */
    _Alignas(HPI_CACHE_LINE) _Atomic uint64_t tail; /* next position to reserve */
    _Atomic uint64_t lost;                          /* samples dropped because the ring was full */
    _Alignas(HPI_CACHE_LINE) uint64_t head;         /* consumer only: next position to read */
} hpi_cpuring_t;

/* Map a ring of nrecs (a power of two) slots.  0, EINVAL or ENOMEM. */
HPI_INTERNAL int hpi_cpuring_init(hpi_cpuring_t *r, uint64_t nrecs);

/* Empty the ring and its lost count.  No producer or consumer may run. */
HPI_INTERNAL void hpi_cpuring_reset(hpi_cpuring_t *r);

/* Producer: a slot to fill, or NULL (counted as lost) when full.  Signal-safe. */
HPI_INTERNAL hpi_cpurec_t *hpi_cpuring_reserve(hpi_cpuring_t *r);
/* Producer: hand the filled slot to the consumer.  Signal-safe. */
HPI_INTERNAL void hpi_cpuring_publish(hpi_cpuring_t *r, hpi_cpurec_t *rec);

/* Consumer: the oldest published record, or NULL when there is none yet. */
HPI_INTERNAL hpi_cpurec_t *hpi_cpuring_peek(hpi_cpuring_t *r);
/* Consumer: done with the record peek returned; its slot is free again. */
HPI_INTERNAL void hpi_cpuring_release(hpi_cpuring_t *r, hpi_cpurec_t *rec);
/* Consumer: samples lost since the last call. */
HPI_INTERNAL uint64_t hpi_cpuring_take_lost(hpi_cpuring_t *r);

#endif /* HPI_PROF_CPURING_H */
