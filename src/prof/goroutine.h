/* goroutine.h: a snapshot of the registered threads and their stacks, made
 * by threads.c for the goroutine and threadcreate profiles (goroutine.c).
 * See threads.h and prof.h. */
#ifndef HPI_PROF_GOROUTINE_H
#define HPI_PROF_GOROUTINE_H

#include <stdbool.h>
#include <stdint.h>

#include "hotpath/prof.h"
#include "prim/prim.h"
#include "prof/stack.h"

/* One thread as it was when the snapshot was taken. */
typedef struct hpi_thread_snap {
    int tid;
    bool self;       /* the thread that took the snapshot */
    bool exact_leaf; /* pcs[0] is an interrupted PC (captured by a signal) */
    int npcs;        /* -1: the thread did not answer (stack unavailable) */
    const hp_labels_t *labels;
    uintptr_t pcs[HPI_STACK_MAX]; /* leaf first (stack.h) */
    int create_npcs;              /* 0: not created by pthread_create (main) */
    uintptr_t create_pcs[HPI_STACK_MAX];
} hpi_thread_snap_t;

/* Every registered thread (the caller registered if it was not), the
 * caller first.  With stacks, each thread's current stack is captured: the
 * caller's directly (from the return address into hpi_threads_snapshot's
 * caller), every other thread's by signal HPI_THREADS_SIGNAL, waiting at
 * most HPI_THREADS_WAIT_NS for all answers.  *out is a malloc'd array (free
 * it); returns the count, or -ENOMEM.  Not for signal handlers. */
HPI_INTERNAL int hpi_threads_snapshot(bool with_stacks, hpi_thread_snap_t **out);

#define HPI_THREADS_SIGNAL (SIGRTMIN + 7) /* asks a thread for its stack */
#define HPI_THREADS_WAIT_NS 100000000     /* 100 ms for every thread to answer */

#endif /* HPI_PROF_GOROUTINE_H */
