/* scavenger.c: gives idle free pages back to the OS.  See malloc.c, point 6.
 *
 * Free spans keep their pages until they have been idle for
 * HOTPATH_SCAVENGE_DELAY_MS: reusing a resident page is far cheaper than a
 * first-touch fault.  A background thread (started on the first free to the
 * page heap once constructors have run) wakes every quarter of the delay and
 * releases what has waited long enough.  With HOTPATH_BACKGROUND_THREAD=0 the
 * same work runs inline, at most once per quarter delay, in the thread that
 * frees a span.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>

#include "alloc/internal.h"
#include "prof/threads.h"

static struct {
    _Atomic int started;      /* a thread was started (or is starting) */
    _Atomic int busy;         /* inline scavenging in progress */
    _Atomic uint64_t last_ns; /* when inline scavenging last ran */
    _Atomic int wake;         /* futex word the thread sleeps on */
} scav;

static uint64_t delay_ns(void) { return (uint64_t)hpi_options.scavenge_delay_ms * 1000000u; }

static uint64_t period_ns(void)
{
    uint64_t p = delay_ns() / 4;
    if (p < 10000000u) p = 10000000u;
    if (p > 1000000000u) p = 1000000000u;
    return p;
}

HPI_CORE static void *scavenger_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "hp-scavenger");
    hpi_thread_gc_exempt();
    for (;;) {
        hpi_futex_wait(&scav.wake, 0, period_ns());
        hpi_heap_scavenge(delay_ns(), hpi_nanotime());
    }
    return NULL;
}

HPI_CORE static void start_thread(void)
{
    int zero = 0;
    if (!atomic_compare_exchange_strong(&scav.started, &zero, 1)) return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t t;
    int err = pthread_create(&t, &attr, scavenger_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        hpi_printf_err("cannot start the scavenger thread (error %d); scavenging inline", err);
        hpi_options.background_thread = 0;
    }
}

static void scavenge_inline(void)
{
    uint64_t now = hpi_nanotime();
    if (now - atomic_load_explicit(&scav.last_ns, memory_order_relaxed) < period_ns() &&
        delay_ns() != 0)
        return;
    int zero = 0;
    if (!atomic_compare_exchange_strong(&scav.busy, &zero, 1)) return;
    atomic_store(&scav.last_ns, now);
    hpi_heap_scavenge(delay_ns(), now);
    atomic_store(&scav.busy, 0);
}

/* Called after a span went back to the page heap (no lock held). */
HPI_CORE void hpi_scavenger_note_free(void)
{
    if (hpi_options.background_thread && delay_ns() != 0) {
        if (!atomic_load_explicit(&scav.started, memory_order_relaxed) &&
            atomic_load_explicit(&hpi_threads_ok, memory_order_relaxed))
            start_thread();
        return;
    }
    scavenge_inline();
}

/* The thread does not survive fork(): let the child start its own. */
void hpi_scavenger_fork_child(void)
{
    atomic_store(&scav.started, 0);
    atomic_store(&scav.busy, 0);
}
