/* init.c: the allocator's hooks into the process: thread exit (a pthread key
 * whose destructor gives the thread's cache back), fork (atfork handlers that
 * hold every allocator lock across fork), and a constructor that marks the
 * point from which background threads may be started.  Nothing here must run
 * before the first malloc: the allocator works from static state alone. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include "alloc/internal.h"
#include "prof/memprof.h"

_Atomic int hpi_threads_ok;

static pthread_key_t cache_key;
static _Atomic int hooks_state; /* 0 not yet, 1 being installed, 2 installed */

HPI_CORE static void thread_exit(void *arg)
{
    hpi_mcache_t *mc = arg;
    if (mc == hpi_tls_mcache) hpi_mcache_release(mc);
}

static void fork_prepare(void)
{
    hpi_mcache_fork_prepare();
    hpi_memprof_fork_prepare();
    hpi_sample_fork_prepare();
    hpi_central_fork_prepare();
    hpi_heap_fork_prepare();
    hpi_meta_fork_prepare();
}

static void fork_parent(void)
{
    hpi_meta_fork_parent();
    hpi_heap_fork_parent();
    hpi_central_fork_parent();
    hpi_sample_fork_parent();
    hpi_memprof_fork_parent();
    hpi_mcache_fork_parent();
}

static void fork_child(void)
{
    hpi_meta_fork_child();
    hpi_heap_fork_child();
    hpi_central_fork_child();
    hpi_sample_fork_child();
    hpi_memprof_fork_child();
    hpi_mcache_fork_child();
    hpi_scavenger_fork_child();
}

/* Install the process hooks once, then tie this thread's cache to the key.
 * Called right after a thread's cache is made; may allocate. */
HPI_CORE void hpi_init_thread_hooks(void)
{
    int state = atomic_load_explicit(&hooks_state, memory_order_acquire);
    if (state != 2) {
        int zero = 0;
        if (atomic_compare_exchange_strong(&hooks_state, &zero, 1)) {
            if (pthread_key_create(&cache_key, thread_exit) != 0)
                hpi_fatal("pthread_key_create failed: cannot track thread exits");
            hpi_atfork(fork_prepare, fork_parent, fork_child);
            atomic_store_explicit(&hooks_state, 2, memory_order_release);
        } else {
            while (atomic_load_explicit(&hooks_state, memory_order_acquire) != 2)
                sched_yield();
        }
    }
    pthread_setspecific(cache_key, hpi_tls_mcache);
}

HPI_CORE __attribute__((constructor(101))) static void hotpath_ctor(void)
{
    hpi_options_init();
    atomic_store(&hpi_threads_ok, 1);
}

/* The library's DT_INIT and DT_FINI (-init and -fini in CMakeLists.txt).
 * crti's _init and _fini, the defaults, have nothing to do here either, but
 * they sit in the segment of code that a small program never runs, and
 * calling them would map it (src/core.ld). */
HPI_CORE void hpi_dt_init(void) {}
HPI_CORE void hpi_dt_fini(void) {}
