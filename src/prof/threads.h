/* threads.h: the registry of the process's threads.  See prof.h.
 *
 * Every thread is registered when it starts (pthread_create is interposed in
 * threads.c; the main thread at library start-up) and unregistered when it
 * exits.  The registry serves the CPU profiler (a timer per thread), the
 * goroutine (threads) and threadcreate profiles, and later the GC.
 */
#ifndef HPI_PROF_THREADS_H
#define HPI_PROF_THREADS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "hotpath/prof.h"
#include "prof/stack.h"

typedef struct hpi_thread {
    /* Fixed once registered. */
    int tid; /* kernel thread id */
    pthread_t self;
    uintptr_t stack_lo, stack_hi;        /* the thread's stack, for the fp walker */
    uintptr_t create_pcs[HPI_STACK_MAX]; /* where pthread_create was called */
    int create_npcs;
    /* Written by the thread itself, read by its signal handlers (atomic). */
    _Atomic(const hp_labels_t *) labels;
    /* Owned by cpuprof.c, under its timer lock (taken inside the registry lock). */
    void *cpu_timer; /* timer_t, when has_cpu_timer */
    int has_cpu_timer;
    /* The GC (src/gc/stw.c).  gc_sp: where the thread stopped (0: running),
     * written by the thread itself while the collector waits.  gc_exempt:
     * set by the thread itself, once: a hotpath service thread that never
     * holds a GC object, never stopped.  gc_park: the thread parks and
     * unparks itself around a blocking wait, the collector holds and
     * releases a parked thread (compare-and-swap); gc_park_sp: the top of
     * the parked thread's live stack, set before it parks. */
    _Atomic uintptr_t gc_sp;
    _Atomic int gc_exempt;
    _Atomic int gc_park;
    _Atomic uintptr_t gc_park_sp;
    /* Registry lock. */
    struct hpi_thread *next, *prev;
} hpi_thread_t;

/* The calling thread's record, or NULL if it is not registered (yet, or any
 * more).  Signal-safe: one TLS read. */
HPI_INTERNAL hpi_thread_t *hpi_thread_self(void);

/* Register the calling thread if it is not (threads created before the
 * library loaded, or by raw clone); returns its record or NULL. */
HPI_INTERNAL hpi_thread_t *hpi_thread_register_self(void);

/* The calling thread is one of hotpath's service threads and never holds a
 * GC object: the GC never stops it (gc_exempt). */
HPI_INTERNAL void hpi_thread_gc_exempt(void);

/* Functions called on each thread as it registers (on the new thread, before
 * its start routine) and as it exits (on the exiting thread).  One pair;
 * used by cpuprof.c to give every thread a CPU timer. */
typedef void (*hpi_thread_hook_t)(hpi_thread_t *t);
HPI_INTERNAL void hpi_threads_set_hooks(hpi_thread_hook_t on_start, hpi_thread_hook_t on_exit);

/* Call fn on every registered thread, under the registry lock (fn must not
 * create or end threads).  Returns the number of threads. */
HPI_INTERNAL int hpi_threads_foreach(void (*fn)(hpi_thread_t *t, void *arg), void *arg);

/* The goroutine (threads) and threadcreate profiles.  debug as in
 * hp_profile_write.  Return 0 or an errno value. */
HPI_INTERNAL int hpi_threads_write_goroutine(int fd, int debug);
HPI_INTERNAL int hpi_threads_write_threadcreate(int fd, int debug);
HPI_INTERNAL int64_t hpi_threads_count(void);

/* The GC's stop-the-world holds the registry lock from stop to restart, so
 * that no thread starts or ends meanwhile; foreach_locked walks it then. */
HPI_INTERNAL void hpi_threads_lock(void);
HPI_INTERNAL void hpi_threads_unlock(void);
HPI_INTERNAL int hpi_threads_foreach_locked(void (*fn)(hpi_thread_t *t, void *arg), void *arg);

#endif /* HPI_PROF_THREADS_H */
