/* stw.c: stopping the world.  See gc.c for the design.
 *
 * The collector holds the thread registry's lock (no thread can start or
 * end meanwhile) and sends every registered thread HPI_GC_SIGNAL.  The
 * handler runs on the thread's own stack, below the signal frame, which
 * holds every register the thread had: the thread writes its stack pointer
 * into its record, counts itself stopped and sleeps on a futex until the
 * world restarts, so everything from that stack pointer to the top of its
 * stack is a root, registers included.
 *
 * Safe points.  A thread must not stop inside the GC's own code (between
 * taking a slot and publishing it, between the barrier's test and its
 * store, or holding a class lock): such code runs between hpi_gc_enter and
 * hpi_gc_leave, which count in a thread-local word.  A handler that finds
 * the count non-zero only notes the request; hpi_gc_leave sees the note and
 * stops the thread there, with its callee-saved registers spilled to the
 * stack first.  Everything here is async-signal-safe: TLS, atomics, futex.
 *
 * Threads that need no signal.  hotpath's own service threads (the
 * collector and its helpers, the scavenger, the CPU profiler's writer)
 * never hold a GC object: they mark themselves exempt and are never
 * stopped.  A thread about to block in a wait that touches no GC object
 * (the finalizer thread between finalizers, hp_gc_collect waiting for its
 * cycle) parks first (hpi_gc_blocking): it spills its registers, publishes
 * where its live stack begins and says "parked".  The collector holds a
 * parked thread with a compare-and-swap instead of signalling it, scans
 * its stack from the published point, and lets it go at the restart; a
 * thread that wakes while held waits for the restart before it goes on.
 * So a stop costs no wake-up of sleeping threads, which on a busy machine
 * can take milliseconds each (Go does the same for goroutines in system
 * calls).
 *
 * The signal is kept unblocked: pthread_sigmask and sigprocmask are
 * interposed to drop it from the masks a program sets, as bdwgc does.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gc/internal.h"
#include "prof/threads.h"

#define HPI_GC_SIGNAL (SIGRTMIN + 6)
#define STOP_WARN_NS 5000000000ull
#define STOP_SPIN_NS 50000 /* spin this long for the answers before sleeping */

enum { PARK_RUNNING, PARK_PARKED, PARK_HELD }; /* hpi_thread_t.gc_park */

static struct {
    _Atomic int nstopped;   /* threads that answered this stop */
    _Atomic int resume_gen; /* bumped to restart the world */
    int nsignaled;          /* collector: threads sent the signal */
    int installed;
} stw;

/* Copy the callee-saved registers into regs[0..5] of the calling frame, so
 * that a scan of the stack from there sees what they hold. */
#if defined(__x86_64__)
#define SPILL_CALLEE_SAVED(regs)                                                                   \
    __asm__ volatile("movq %%rbx, 0(%0)\n\tmovq %%rbp, 8(%0)\n\tmovq %%r12, 16(%0)\n\t"            \
                     "movq %%r13, 24(%0)\n\tmovq %%r14, 32(%0)\n\tmovq %%r15, 40(%0)"              \
                     :                                                                             \
                     : "r"(regs)                                                                   \
                     : "memory")
#else
#define SPILL_CALLEE_SAVED(regs) __builtin_unwind_init()
#endif

static void spill_and_wait(void)
{
    volatile uintptr_t regs[6];
    SPILL_CALLEE_SAVED(regs);
    hpi_thread_t *t = hpi_thread_self();
    int gen = atomic_load(&stw.resume_gen);
    if (t != NULL) atomic_store(&t->gc_sp, (uintptr_t)regs);
    atomic_fetch_add(&stw.nstopped, 1);
    hpi_futex_wake(&stw.nstopped, 1);
    while (atomic_load(&stw.resume_gen) == gen) hpi_futex_wait(&stw.resume_gen, gen, 0);
    if (t != NULL) atomic_store(&t->gc_sp, 0);
    (void)regs[0];
}

void hpi_gc_safepoint(void)
{
    hpi_gc_tls.stop_pending = 0;
    spill_and_wait();
}

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    int saved = errno;
    if (hpi_gc_tls.worker) {
        atomic_fetch_add(&stw.nstopped, 1);
        hpi_futex_wake(&stw.nstopped, 1);
    } else if (hpi_gc_tls.crit) {
        hpi_gc_tls.stop_pending = 1;
    } else {
        spill_and_wait();
    }
    errno = saved;
}

void hpi_gc_stw_init(void)
{
    if (stw.installed) return;
    struct sigaction sa = {0};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(HPI_GC_SIGNAL, &sa, NULL) != 0) hpi_fatal("gc: cannot install its signal handler");
    stw.installed = 1;
}

static void signal_one(hpi_thread_t *t, void *arg)
{
    int self = *(int *)arg;
    atomic_store(&t->gc_sp, 0);
    if (t->tid == self || atomic_load(&t->gc_exempt)) return;
    int parked = PARK_PARKED;
    if (atomic_compare_exchange_strong(&t->gc_park, &parked, PARK_HELD)) return;
    if (syscall(SYS_tgkill, getpid(), t->tid, HPI_GC_SIGNAL) == 0) stw.nsignaled++;
}

static void release_one(hpi_thread_t *t, void *arg)
{
    (void)arg;
    int held = PARK_HELD;
    if (atomic_compare_exchange_strong(&t->gc_park, &held, PARK_PARKED))
        hpi_futex_wake(&t->gc_park, 1);
}

int hpi_gc_stop_world(void)
{
    int self = hpi_gettid();
    hpi_threads_lock();
    atomic_store(&stw.nstopped, 0);
    stw.nsignaled = 0;
    hpi_threads_foreach_locked(signal_one, &self);
    uint64_t start = hpi_nanotime(), warned = 0;
    /* A running thread answers within microseconds: a sleep here would add
     * the collector's own wake-up to the pause. */
    for (unsigned i = 1; atomic_load(&stw.nstopped) < stw.nsignaled; i++) {
        hpi_cpu_relax();
        if (i % 64 == 0 && hpi_nanotime() - start > STOP_SPIN_NS) break;
    }
    for (int n; (n = atomic_load(&stw.nstopped)) < stw.nsignaled;) {
        hpi_futex_wait(&stw.nstopped, n, 1000000);
        uint64_t waited = hpi_nanotime() - start;
        if (waited > STOP_WARN_NS * (warned + 1)) {
            warned++;
            hpi_printf_err("gc: %d of %d threads have not stopped after %llu s", stw.nsignaled - n,
                           stw.nsignaled, (unsigned long long)(waited / 1000000000));
        }
    }
    return stw.nsignaled;
}

void hpi_gc_start_world(void)
{
    hpi_threads_foreach_locked(release_one, NULL);
    atomic_fetch_add(&stw.resume_gen, 1);
    hpi_futex_wake(&stw.resume_gen, INT32_MAX);
    hpi_threads_unlock();
}

typedef struct stacks_arg {
    hpi_gc_stack_fn fn;
    void *arg;
} stacks_arg_t;

static void visit_stack(hpi_thread_t *t, void *arg)
{
    stacks_arg_t *a = arg;
    uintptr_t sp = atomic_load(&t->gc_park) == PARK_HELD ? atomic_load(&t->gc_park_sp)
                                                          : atomic_load(&t->gc_sp);
    if (sp == 0) return; /* the collector, or an exempt thread */
    if (sp < t->stack_lo || sp >= t->stack_hi) {
        static _Atomic int warned;
        if (!atomic_exchange(&warned, 1))
            hpi_printf_err("gc: thread %d runs on a stack hotpath does not know: not scanned",
                           t->tid);
        return;
    }
    a->fn(sp, t->stack_hi, a->arg);
}

void hpi_gc_stopped_stacks(hpi_gc_stack_fn fn, void *arg)
{
    stacks_arg_t a = {fn, arg};
    hpi_threads_foreach_locked(visit_stack, &a);
}

void hpi_gc_exempt_self(void)
{
    hpi_gc_tls.worker = 1;
    hpi_thread_gc_exempt();
}

/* The registers are spilled into this frame, which stays live while fn
 * runs, so the scan from it covers them and every frame of the caller. */
void hpi_gc_blocking(void (*fn)(void *), void *arg)
{
    hpi_thread_t *t = hpi_thread_self();
    if (t == NULL || hpi_gc_tls.worker || hpi_gc_tls.crit) {
        fn(arg);
        return;
    }
    volatile uintptr_t regs[7];
    SPILL_CALLEE_SAVED(regs);
    regs[6] = (uintptr_t)arg;
    atomic_store(&t->gc_park_sp, (uintptr_t)regs);
    atomic_store(&t->gc_park, PARK_PARKED);
    fn(arg);
    for (;;) { /* held by a stop: wait for the restart */
        int parked = PARK_PARKED;
        if (atomic_compare_exchange_strong(&t->gc_park, &parked, PARK_RUNNING)) break;
        hpi_futex_wait(&t->gc_park, PARK_HELD, 0);
    }
    atomic_store(&t->gc_park_sp, 0);
    (void)regs[0];
}

void hpi_gc_stw_fork_child(void)
{
    atomic_store(&stw.nstopped, 0);
}

/* ---- keeping the signal unblocked ---- */

typedef int (*mask_fn)(int, const sigset_t *, sigset_t *);
static mask_fn real_pthread_sigmask, real_sigprocmask;

HPI_CORE __attribute__((constructor)) static void resolve_masks(void)
{
    real_pthread_sigmask = (mask_fn)dlsym(RTLD_NEXT, "pthread_sigmask");
    real_sigprocmask = (mask_fn)dlsym(RTLD_NEXT, "sigprocmask");
}

HPI_CORE static const sigset_t *without_gc_signal(int how, const sigset_t *set, sigset_t *copy)
{
    if (set == NULL || how == SIG_UNBLOCK || !sigismember(set, HPI_GC_SIGNAL)) return set;
    *copy = *set;
    sigdelset(copy, HPI_GC_SIGNAL);
    return copy;
}

static int raw_mask(int how, const sigset_t *set, sigset_t *old)
{
    if (syscall(SYS_rt_sigprocmask, how, set, old, _NSIG / 8) != 0) return errno;
    return 0;
}

HP_API HPI_CORE int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t copy;
    set = without_gc_signal(how, set, &copy);
    if (real_pthread_sigmask != NULL) return real_pthread_sigmask(how, set, old);
    return raw_mask(how, set, old);
}

HP_API HPI_CORE int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t copy;
    set = without_gc_signal(how, set, &copy);
    if (real_sigprocmask != NULL) return real_sigprocmask(how, set, old);
    int err = raw_mask(how, set, old);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}
