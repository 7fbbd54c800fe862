/* cpuprof.c: the CPU profiler, Go's StartCPUProfile / StopCPUProfile for C.
 * See prof.h for the profiling design; cpuring.c holds the sample buffer.
 *
 * 1. Timers.  Every registered thread (threads.h) gets its own POSIX timer on
 *    its own CPU-time clock (timer_create on the thread's CLOCK_THREAD_CPUTIME
 *    clock, SIGEV_THREAD_ID), which sends SIGPROF to that very thread each
 *    1/hz seconds of CPU it uses: samples are charged to the thread that
 *    burned the time, as in Go since 1.18.  hp_cpuprofile_start arms one for
 *    each thread already registered; threads that start later get theirs in
 *    the registry's start hook, and exiting threads delete theirs in its exit
 *    hook.  Threads that block SIGPROF when they start (hotpath's own
 *    background threads) get none.
 *
 * 2. Rate limit.  The kernel checks CPU-time timers at its scheduler tick
 *    (CONFIG_HZ, 250 on the kernels this was built for), so they fire at most
 *    that often per CPU-second whatever is asked.  Writing period = 1e9/hz
 *    for a faster rate would under-report CPU time, so a rate above
 *    CPUPROF_MAX_HZ is clamped, with a warning once, and the period written
 *    is 1e9 / (the rate used).
 *
 * 3. The SIGPROF handler captures the interrupted stack (stack.c: pcs[0] is
 *    the interrupted PC, so no frame of the handler is ever recorded) and
 *    the thread's labels straight into a slot of the lock-free ring; a full
 *    ring counts a lost sample.  Atomics only: no lock, no malloc, errno
 *    saved.  SIGPROF signals that are not from our timers go to the handler
 *    the program had installed, if any.
 *
 * 4. A background thread, hp-cpuprof, drains the ring every DRAIN_NS into the
 *    profile being built (pprof.c), one sample of {1, period} per record,
 *    and charges lost samples to the frame "hotpath.lostProfileEvent" (Go:
 *    runtime/pprof.lostProfileEvent).  It blocks every signal.  It also
 *    carries out what the environment's signal handlers ask for (point 6),
 *    since a signal handler can only set a flag and wake it.
 *
 * 5. Stop clears `running`, deletes the timers, waits for handlers already
 *    past their check of `running`, drains the rest, and writes the profile
 *    to the fd given to start.  Sample and period types are Go's:
 *    samples/count and cpu/nanoseconds; time_nanos is the start,
 *    duration_nanos the length.
 *
 * 6. The environment.  HOTPATH_CPUPROFILE=path profiles the whole run from
 *    library start-up: the profile is written at exit (atexit), and on
 *    SIGTERM when the program has no SIGTERM handler of its own (ours wakes
 *    hp-cpuprof, which writes, restores SIG_DFL and re-raises the signal).
 *    With HOTPATH_CPUPROFILESIGNAL=n as well, profiling starts off and
 *    signal n toggles it; each stop writes <path>.<k>, k = 0, 1, 2...
 *    (gperftools' CPUPROFILESIGNAL).  A forked child drops the parent's
 *    samples (timers are not inherited and hp-cpuprof is gone); when the
 *    parent profiled from the environment it starts again into
 *    <path>.<childpid> (toggled: <path>.<childpid>.<k>).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc/internal.h"
#include "hotpath/prof.h"
#include "prof/cpuprof.h"
#include "prof/memprof.h"
#include "prof/cpuring.h"
#include "prof/labels.h"
#include "prof/pprof.h"
#include "prof/prof.h"
#include "prof/stack.h"
#include "prof/threads.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define CPUPROF_MAX_HZ 250        /* the kernel tick: CPU-time timers go no faster */
#define RING_RECS 2048            /* about 1 MiB; 8 s of one thread at 250 Hz */
#define DRAIN_NS 20000000u        /* hp-cpuprof empties the ring this often */
#define MAX_LABELS 32             /* labels written per sample */
#define CPUPROF_CTOR_PRIORITY 150 /* after init.c (101) and the registry (threads.c) */

enum { REQ_TERM = 1, REQ_TOGGLE = 2 };                     /* cpu.req bits */
enum { ENV_NONE, ENV_RUN, ENV_SIGNAL };                    /* cpu.env_mode */
enum { TIMER_NONE = 0, TIMER_ARMED = 1, TIMER_GONE = -1 }; /* has_cpu_timer */

static struct {
    /* ctl serializes start, stop, the environment's requests and fork; it
     * protects every field marked "ctl". */
    hpi_lock_t ctl;
    int fd;                    /* ctl: where stop writes */
    int own_fd;                /* ctl: fd was opened here: close it after writing */
    int64_t start_wall;        /* ctl: start, ns since the epoch */
    uint64_t start_mono;       /* ctl: start, hpi_nanotime */
    int ring_ready;            /* ctl: ring mapped */
    int handler_installed;     /* ctl: our SIGPROF handler is in place */
    struct sigaction old_prof; /* ctl (read by the handler once installed) */
    pthread_t drainer;         /* ctl: hp-cpuprof, when drainer_pid == getpid() */
    int toggles;               /* ctl: next k of <path>.<k> */
    /* The timers: `timers` protects every thread's cpu_timer/has_cpu_timer
     * and the writes of running and period (taken inside the registry lock
     * by hpi_threads_foreach callbacks). */
    hpi_lock_t timers;
    int64_t period;         /* timers (fixed while running): ns per sample */
    _Atomic int running;    /* written under ctl + timers; read anywhere */
    _Atomic int in_handler; /* handlers past their check of running */
    /* The profile being built, and the ring's consumer side: build lock. */
    hpi_lock_t build;
    hpi_pprof_t *prof;  /* build */
    hpi_cpuring_t ring; /* producers: handlers; consumer: holder of build */
    /* Requests to hp-cpuprof, from signal handlers. */
    _Atomic int wake;        /* futex word: nonzero = look at req */
    _Atomic int req;         /* REQ_* bits */
    _Atomic int drainer_pid; /* process whose hp-cpuprof runs (0: none) */
    /* Settings. */
    _Atomic int hz_next;   /* hp_set_cpuprofile_rate; 0: HOTPATH_CPUPROFILE_HZ */
    _Atomic int warned_hz; /* the rate limit was reported */
    _Atomic int inited;    /* hpi_cpuprof_init ran (or runs) */
    int env_mode;          /* ENV_*; fixed by init (and a fork child) */
    int term_installed;    /* fixed by init: our SIGTERM handler is in place */
    char path[PATH_MAX];   /* fixed by init: HOTPATH_CPUPROFILE */
    int child_pid;         /* ctl: in a fork child profiling from the environment,
                              its pid (files get ".<pid>"); else 0 */
} cpu; /* all zero: in .bss, no page of the library file (fd is set before use) */

/* ---- The SIGPROF handler (async-signal-safe) ---- */

static void chain_prof(int sig, siginfo_t *info, void *uc)
{
    const struct sigaction *old = &cpu.old_prof;
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction != NULL) old->sa_sigaction(sig, info, uc);
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
    }
}

/* weight: the periods of CPU time this signal stands for.  A CPU-time timer
 * that expires again while its signal is pending counts an overrun instead
 * of queueing a second signal (under load, or above the tick rate), so the
 * sample carries 1 + si_overrun periods and the profile's CPU time stays
 * true. */
static void record_sample(const void *uc, uint32_t weight)
{
    hpi_cpurec_t *rec = hpi_cpuring_reserve(&cpu.ring);
    if (rec == NULL) return; /* full: counted as lost */
    rec->weight = weight;
    rec->npcs = hpi_stack_from_signal(uc, rec->pcs, HPI_STACK_MAX);
    hpi_thread_t *t = hpi_thread_self();
    rec->labels = t != NULL ? atomic_load_explicit(&t->labels, memory_order_relaxed) : NULL;
    hpi_cpuring_publish(&cpu.ring, rec);
}

static void prof_handler(int sig, siginfo_t *info, void *uc)
{
    if (info == NULL || info->si_code != SI_TIMER || info->si_value.sival_ptr != (void *)&cpu) {
        chain_prof(sig, info, uc);
        return;
    }
    int saved = errno;
    /* Pairs with stop: either stop sees in_handler > 0 and waits, or this
     * handler sees running == 0 (both sequentially consistent). */
    atomic_fetch_add(&cpu.in_handler, 1);
    uint32_t overrun = info->si_overrun > 0 ? (uint32_t)info->si_overrun : 0;
    if (atomic_load(&cpu.running)) record_sample(uc, 1 + overrun);
    atomic_fetch_sub(&cpu.in_handler, 1);
    errno = saved;
}

static int install_prof_handler_locked(void)
{
    if (cpu.handler_installed) return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = prof_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGPROF, NULL, &cpu.old_prof) != 0) return errno;
    if (sigaction(SIGPROF, &sa, NULL) != 0) return errno;
    cpu.handler_installed = 1; /* kept: a late SIGPROF must never kill */
    return 0;
}

/* ---- Per-thread timers ---- */

static struct timespec timespec_of(int64_t ns)
{
    return (struct timespec){.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
}

/* Arm t's timer on clock clk (creating it if needed).  timers lock held. */
static void timer_arm_locked(hpi_thread_t *t, clockid_t clk)
{
    if (t->has_cpu_timer == TIMER_GONE) return;
    if (t->has_cpu_timer == TIMER_NONE) {
        struct sigevent sev;
        memset(&sev, 0, sizeof sev);
        sev.sigev_notify = SIGEV_THREAD_ID;
        sev.sigev_signo = SIGPROF;
        sev.sigev_value.sival_ptr = &cpu;
        sev.sigev_notify_thread_id = t->tid;
        timer_t id;
        if (timer_create(clk, &sev, &id) != 0) return; /* thread exiting, or no timers left */
        t->cpu_timer = id;
        t->has_cpu_timer = TIMER_ARMED;
    }
    /* The first expiry at a thread-dependent point of the period, so that
     * threads started together do not all take their first sample at once. */
    uint64_t hash = (uint64_t)(uint32_t)t->tid * 2654435761u;
    int64_t first = 1 + (int64_t)(hash % (uint64_t)cpu.period);
    struct itimerspec its = {.it_interval = timespec_of(cpu.period),
                             .it_value = timespec_of(first)};
    timer_settime((timer_t)t->cpu_timer, 0, &its, NULL);
}

static void timer_delete_locked(hpi_thread_t *t)
{
    if (t->has_cpu_timer == TIMER_ARMED) {
        timer_delete((timer_t)t->cpu_timer);
        t->has_cpu_timer = TIMER_NONE;
    }
}

/* hpi_threads_foreach callbacks, under the registry lock. */
static void foreach_arm(hpi_thread_t *t, void *arg)
{
    (void)arg;
    clockid_t clk;
    if (pthread_equal(t->self, cpu.drainer) && atomic_load(&cpu.drainer_pid) == (int)getpid())
        return;
    if (pthread_getcpuclockid(t->self, &clk) != 0) return;
    hpi_lock(&cpu.timers);
    if (atomic_load(&cpu.running)) timer_arm_locked(t, clk);
    hpi_unlock(&cpu.timers);
}

static void foreach_delete(hpi_thread_t *t, void *arg)
{
    (void)arg;
    hpi_lock(&cpu.timers);
    timer_delete_locked(t);
    hpi_unlock(&cpu.timers);
}

static int sigprof_blocked(void)
{
    sigset_t cur;
    return pthread_sigmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGPROF) == 1;
}

/* Registry hooks, on the thread itself.  The registry adds a thread to its
 * list before on_start, so a thread that sees running == 0 here is covered
 * by the foreach of a start that sets it later. */
HPI_CORE static void thread_on_start(hpi_thread_t *t)
{
    if (!atomic_load(&cpu.running) || sigprof_blocked()) return;
    hpi_lock(&cpu.timers);
    if (atomic_load(&cpu.running)) timer_arm_locked(t, CLOCK_THREAD_CPUTIME_ID);
    hpi_unlock(&cpu.timers);
}

HPI_CORE static void thread_on_exit(hpi_thread_t *t)
{
    hpi_lock(&cpu.timers);
    timer_delete_locked(t);
    t->has_cpu_timer = TIMER_GONE; /* no start may arm it any more */
    hpi_unlock(&cpu.timers);
}

/* ---- Building the profile (build lock) ---- */

static int64_t period_of(int64_t hz)
{
    return 1000000000 / hz;
}

static int rate_hz(void)
{
    int hz = atomic_load(&cpu.hz_next);
    if (hz <= 0) hz = (int)hpi_options.cpuprofile_hz;
    if (hz > CPUPROF_MAX_HZ) {
        if (!atomic_exchange(&cpu.warned_hz, 1))
            hpi_printf_err("CPU profile rate %d Hz is above the kernel's timer tick: CPU-time "
                           "timers fire at most %d times per CPU-second; using %d Hz",
                           hz, CPUPROF_MAX_HZ, CPUPROF_MAX_HZ);
        hz = CPUPROF_MAX_HZ;
    }
    return hz;
}

static hpi_pprof_t *new_profile(int64_t period, int64_t start_wall)
{
    static const hpi_pprof_vtype_t types[] = {{"samples", "count"}, {"cpu", "nanoseconds"}};
    hpi_pprof_t *p = hpi_pprof_new(types, 2, NULL);
    if (p == NULL) return NULL;
    hpi_pprof_set_period(p, types[1], period);
    hpi_pprof_set_time(p, start_wall, 0);
    return p;
}

static void add_record_locked(const hpi_cpurec_t *rec)
{
    int64_t values[2] = {rec->weight, (int64_t)rec->weight * cpu.period};
    hpi_pprof_label_t labels[MAX_LABELS];
    int nlabels = hpi_labels_to_pprof(rec->labels, labels, MAX_LABELS);
    if (rec->npcs > 0)
        hpi_pprof_add(cpu.prof, rec->pcs, rec->npcs, true, values, labels, nlabels);
    else
        hpi_pprof_add_synthetic(cpu.prof, "hotpath._UnknownStack", values, labels, nlabels);
}

/* Move every published record into the profile.  build lock held. */
static void drain_locked(void)
{
    if (cpu.prof == NULL) return;
    hpi_prof_internal_enter();
    hpi_cpurec_t *rec;
    while ((rec = hpi_cpuring_peek(&cpu.ring)) != NULL) {
        add_record_locked(rec);
        hpi_cpuring_release(&cpu.ring, rec);
    }
    uint64_t lost = hpi_cpuring_take_lost(&cpu.ring);
    if (lost > 0) {
        int64_t values[2] = {(int64_t)lost, (int64_t)lost * cpu.period};
        hpi_pprof_add_synthetic(cpu.prof, "hotpath.lostProfileEvent", values, NULL, 0);
    }
    hpi_prof_internal_leave();
}

static void drain(void)
{
    hpi_lock(&cpu.build);
    drain_locked();
    hpi_unlock(&cpu.build);
}

/* ---- hp-cpuprof: the drainer ---- */

static void env_toggle(void);
static void env_term(void);

static void *drainer_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "hp-cpuprof");
    hpi_thread_gc_exempt();
    for (;;) {
        uint64_t ns = atomic_load(&cpu.running) ? DRAIN_NS : 0;
        hpi_futex_wait(&cpu.wake, 0, ns);
        atomic_store(&cpu.wake, 0);
        int req = atomic_exchange(&cpu.req, 0);
        if (req & REQ_TERM) env_term(); /* does not return */
        if (req & REQ_TOGGLE) env_toggle();
        drain();
    }
    return NULL;
}

static void wake_drainer(void)
{
    atomic_store(&cpu.wake, 1);
    hpi_futex_wake(&cpu.wake, 1);
}

/* Start hp-cpuprof in this process unless it runs.  ctl held. */
static int drainer_ensure_locked(void)
{
    if (atomic_load(&cpu.drainer_pid) == (int)getpid()) return 0;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* inherited: no signal, no timer */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&cpu.drainer, &attr, drainer_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) return err;
    atomic_store(&cpu.drainer_pid, (int)getpid());
    return 0;
}

/* ---- Start and stop ---- */

static int64_t wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int prepare_locked(void)
{
    if (!cpu.ring_ready) {
        int err = hpi_cpuring_init(&cpu.ring, RING_RECS);
        if (err != 0) return err;
        cpu.ring_ready = 1;
    }
    int err = install_prof_handler_locked();
    if (err == 0) err = drainer_ensure_locked();
    return err;
}

static int start_locked(int fd, int own_fd)
{
    if (atomic_load(&cpu.running)) return EBUSY;
    if (fd < 0) return EBADF;
    int err = prepare_locked();
    if (err != 0) return err;
    int64_t period = period_of(rate_hz());
    cpu.start_wall = wall_now();
    cpu.start_mono = hpi_nanotime();
    hpi_prof_internal_enter();
    hpi_pprof_t *p = new_profile(period, cpu.start_wall);
    hpi_prof_internal_leave();
    if (p == NULL) return ENOMEM;
    hpi_lock(&cpu.build);
    cpu.prof = p;
    hpi_unlock(&cpu.build);
    cpu.fd = fd;
    cpu.own_fd = own_fd;
    hpi_lock(&cpu.timers);
    cpu.period = period;
    atomic_store(&cpu.running, 1);
    hpi_unlock(&cpu.timers);
    hpi_threads_foreach(foreach_arm, NULL);
    wake_drainer(); /* it now drains on a timer */
    return 0;
}

/* Stop sampling and take the finished profile out of cpu.prof. */
static hpi_pprof_t *stop_sampling_locked(void)
{
    hpi_lock(&cpu.timers);
    atomic_store(&cpu.running, 0);
    hpi_unlock(&cpu.timers);
    hpi_threads_foreach(foreach_delete, NULL);
    while (atomic_load(&cpu.in_handler) != 0)
        sched_yield();
    hpi_lock(&cpu.build);
    drain_locked();
    hpi_pprof_t *p = cpu.prof;
    cpu.prof = NULL;
    hpi_unlock(&cpu.build);
    return p;
}

static int stop_locked(void)
{
    if (!atomic_load(&cpu.running)) return ENOENT;
    hpi_pprof_t *p = stop_sampling_locked();
    hpi_prof_internal_enter();
    hpi_pprof_set_time(p, cpu.start_wall, (int64_t)(hpi_nanotime() - cpu.start_mono));
    int err = hpi_pprof_write(p, cpu.fd);
    hpi_pprof_free(p);
    hpi_prof_internal_leave();
    if (cpu.own_fd) close(cpu.fd);
    cpu.fd = -1;
    cpu.own_fd = 0;
    return err;
}

HP_API int hp_cpuprofile_start(int fd)
{
    hpi_cpuprof_init();
    hpi_lock(&cpu.ctl);
    int err = start_locked(fd, 0);
    hpi_unlock(&cpu.ctl);
    return err;
}

HP_API int hp_cpuprofile_stop(void)
{
    hpi_lock(&cpu.ctl);
    int err = stop_locked();
    hpi_unlock(&cpu.ctl);
    return err;
}

HP_API void hp_set_cpuprofile_rate(int hz)
{
    atomic_store(&cpu.hz_next, hz > 0 ? hz : 0);
}

/* ---- The environment ---- */

/* The file the next environment-started profile goes to.  ctl held. */
static void env_file_locked(char *buf, size_t size)
{
    int n = snprintf(buf, size, "%s", cpu.path);
    if (cpu.child_pid != 0) n += snprintf(buf + n, size - n, ".%d", cpu.child_pid);
    if (cpu.env_mode == ENV_SIGNAL) snprintf(buf + n, size - n, ".%d", cpu.toggles++);
}

static void env_start_locked(void)
{
    char file[PATH_MAX + 16];
    env_file_locked(file, sizeof file);
    int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        hpi_printf_err("cannot create CPU profile %s: %s", file, strerror(errno));
        return;
    }
    int err = start_locked(fd, 1);
    if (err != 0) {
        close(fd);
        hpi_printf_err("cannot start CPU profile %s: %s", file, strerror(err));
    }
}

static void env_stop_locked(void)
{
    if (!atomic_load(&cpu.running)) return;
    int err = stop_locked();
    if (err != 0) hpi_printf_err("cannot write CPU profile (%s): %s", cpu.path, strerror(err));
}

static void env_toggle(void)
{
    hpi_lock(&cpu.ctl);
    if (atomic_load(&cpu.running))
        env_stop_locked();
    else
        env_start_locked();
    hpi_unlock(&cpu.ctl);
}

/* On hp-cpuprof after SIGTERM: write, then die of SIGTERM as if we had never
 * caught it (every signal stays blocked here, so another thread takes it). */
static void env_term(void)
{
    hpi_lock(&cpu.ctl);
    if (cpu.env_mode != ENV_NONE) env_stop_locked();
    hpi_unlock(&cpu.ctl);
    hpi_memprofile_at_exit(); /* HOTPATH_MEMPROFILE's heap profile too */
    signal(SIGTERM, SIG_DFL);
    kill(getpid(), SIGTERM);
    for (;;)
        pause();
}

static void env_exit(void)
{
    hpi_lock(&cpu.ctl);
    env_stop_locked();
    hpi_unlock(&cpu.ctl);
}

/* SIGTERM and the toggle signal: wake hp-cpuprof.  Without hp-cpuprof in
 * this process (a fork child that could not restart), SIGTERM does what it
 * would have done without us. */
static void env_signal_handler(int sig)
{
    int saved = errno;
    if (atomic_load(&cpu.drainer_pid) != (int)getpid()) {
        if (sig == SIGTERM) {
            struct sigaction dfl;
            memset(&dfl, 0, sizeof dfl);
            dfl.sa_handler = SIG_DFL;
            sigaction(SIGTERM, &dfl, NULL);
            raise(SIGTERM);
        }
    } else {
        atomic_fetch_or(&cpu.req, sig == SIGTERM ? REQ_TERM : REQ_TOGGLE);
        wake_drainer();
    }
    errno = saved;
}

/* Install env_signal_handler for sig; only_if_default: leave a program's
 * own handler (or SIG_IGN) alone. */
static int env_catch(int sig, int only_if_default)
{
    struct sigaction sa, old;
    if (sigaction(sig, NULL, &old) != 0) return -1;
    if (only_if_default && (old.sa_flags & SA_SIGINFO || old.sa_handler != SIG_DFL)) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = env_signal_handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

static void env_init_signal(int sig)
{
    if (sig == SIGPROF || sig == SIGTERM || env_catch(sig, 0) != 0) {
        hpi_printf_err("ignoring HOTPATH_CPUPROFILESIGNAL=%d: cannot use that signal", sig);
        cpu.env_mode = ENV_RUN;
        return;
    }
    hpi_lock(&cpu.ctl);
    int err = drainer_ensure_locked();
    hpi_unlock(&cpu.ctl);
    if (err != 0) hpi_printf_err("cannot start the CPU profiler's thread: %s", strerror(err));
}

/* Catch SIGTERM (unless the program has its own handler) so that the
 * profiles of the run are written before the process ends; hp-cpuprof does
 * the writing. */
static void env_init_term(void)
{
    cpu.term_installed = env_catch(SIGTERM, 1) == 0;
    if (!cpu.term_installed) return;
    hpi_lock(&cpu.ctl);
    int err = drainer_ensure_locked();
    hpi_unlock(&cpu.ctl);
    if (err != 0) hpi_printf_err("cannot start the CPU profiler's thread: %s", strerror(err));
}

static void env_init(void)
{
    const char *path = hpi_options.cpuprofile;
    int sig = (int)hpi_options.cpuprofile_signal;
    if (path == NULL) {
        if (sig != 0) hpi_printf_err("HOTPATH_CPUPROFILESIGNAL needs HOTPATH_CPUPROFILE=path");
        if (hpi_options.memprofile != NULL) env_init_term(); /* the heap profile on SIGTERM */
        return;
    }
    if (strlen(path) >= sizeof cpu.path - 24) {
        hpi_printf_err("ignoring HOTPATH_CPUPROFILE: path too long");
        return;
    }
    strcpy(cpu.path, path);
    cpu.env_mode = sig != 0 ? ENV_SIGNAL : ENV_RUN;
    if (sig != 0) env_init_signal(sig);
    env_init_term();
    atexit(env_exit);
    if (cpu.env_mode == ENV_RUN) {
        hpi_lock(&cpu.ctl);
        env_start_locked();
        hpi_unlock(&cpu.ctl);
    }
}

/* ---- fork ---- */

static void fork_prepare(void)
{
    hpi_lock(&cpu.ctl);
    hpi_lock(&cpu.build);
}

static void fork_parent(void)
{
    hpi_unlock(&cpu.build);
    hpi_unlock(&cpu.ctl);
}

static void foreach_forget(hpi_thread_t *t, void *arg)
{
    (void)arg;
    if (t->has_cpu_timer == TIMER_ARMED) t->has_cpu_timer = TIMER_NONE;
}

/* The child: no timers, no hp-cpuprof, only the forking thread.  Drop the
 * parent's samples; profile the child when the parent did so from the
 * environment. */
static void fork_child(void)
{
    hpi_lock_reinit(&cpu.timers);
    int was_running = atomic_exchange(&cpu.running, 0);
    atomic_store(&cpu.in_handler, 0);
    atomic_store(&cpu.drainer_pid, 0);
    atomic_store(&cpu.req, 0);
    atomic_store(&cpu.wake, 0);
    hpi_threads_foreach(foreach_forget, NULL);
    if (cpu.ring_ready) hpi_cpuring_reset(&cpu.ring);
    hpi_pprof_t *p = cpu.prof;
    cpu.prof = NULL;
    hpi_unlock(&cpu.build);
    if (p != NULL) {
        hpi_prof_internal_enter();
        hpi_pprof_free(p);
        hpi_prof_internal_leave();
    }
    if (cpu.own_fd) close(cpu.fd);
    cpu.fd = -1;
    cpu.own_fd = 0;
    if (cpu.env_mode != ENV_NONE) {
        cpu.child_pid = (int)getpid();
        cpu.toggles = 0;
        if (cpu.env_mode == ENV_RUN && was_running) env_start_locked();
        if (cpu.env_mode == ENV_SIGNAL) drainer_ensure_locked();
    }
    hpi_unlock(&cpu.ctl);
}

/* ---- Start-up ---- */

HPI_CORE void hpi_cpuprof_init(void)
{
    int zero = 0;
    if (atomic_load(&cpu.inited) || !atomic_compare_exchange_strong(&cpu.inited, &zero, 1)) return;
    hpi_options_init();
    hpi_threads_set_hooks(thread_on_start, thread_on_exit);
    hpi_atfork(fork_prepare, fork_parent, fork_child);
    env_init();
}

/* After the allocator's options (101) and the thread registry (threads.c),
 * so that the main thread is registered when the environment starts a
 * profile. */
HPI_CORE __attribute__((constructor(CPUPROF_CTOR_PRIORITY))) static void cpuprof_ctor(void)
{
    hpi_cpuprof_init();
}
