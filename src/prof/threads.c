/* threads.c: the thread registry, pthread_create interposition, and the
 * capture of every thread's stack for the goroutine profile.  See threads.h
 * and prof.h; the profiles themselves are written by goroutine.c.
 *
 * 1. Registration.  pthread_create is defined here (the C library's is
 *    found with dlsym(RTLD_NEXT)): it takes a record, stores the creator's
 *    stack (the threadcreate profile) and labels (inherited, as goroutines
 *    inherit theirs), and starts the thread in thread_start, which registers
 *    it (kernel tid, stack bounds), calls the
 *    on_start hook and then the user's routine under a pthread cleanup
 *    handler, so a return, pthread_exit or cancellation all unregister it.
 *    The main thread is registered by a constructor; any other thread when
 *    it first asks (hpi_thread_register_self), and a pthread key's
 *    destructor unregisters those.  A thread that has unregistered is never
 *    registered again (its TLS destructors may still run profiling calls).
 *
 * 2. Records come from hpi_meta_alloc and are recycled through a free list,
 *    never freed.  A record is reachable from its thread's TLS pointer
 *    (tls_self) only while registered; tls_self is cleared under the
 *    registry lock before the record goes on the free list, so a late
 *    signal handler never writes into a record another thread reuses.
 *    No memory is allocated under the registry lock, which keeps its fork
 *    handler free of lock-order problems with the allocator's.
 *
 * 3. Stacks of other threads.  A thread can only walk its own stack, so the
 *    goroutine profile asks each thread with a real-time signal,
 *    HPI_THREADS_SIGNAL (SIGRTMIN+7), whose handler captures the
 *    interrupted stack into the thread's record and bumps a futex word.  It
 *    walks with libunwind whenever libunwind can be loaded, whatever
 *    HOTPATH_UNWIND says: the threads it interrupts are mostly blocked in
 *    the C library, built without frame pointers, which would hide every
 *    caller from the frame-pointer walker.  The writer, holding the registry lock so that no
 *    thread can leave meanwhile, signals every thread, then waits at most
 *    HPI_THREADS_WAIT_NS (100 ms) in all; a thread that did not answer, or
 *    blocks the signal (checked in /proc/self/task/<tid>/status first), is
 *    reported as the frame hotpath.stackUnavailable.  At most one signal is
 *    outstanding per thread: a real-time signal queues, and one that stays
 *    pending answers a later request.  The handler is installed at the
 *    first profile only if the program has not taken the signal itself.
 *    Like every signal-based profiler, the signal makes a few system calls
 *    of the target thread return early (nanosleep with EINTR).
 *
 * 4. fork: the child holds only the forking thread, so its atfork handler
 *    moves every other record to the free list.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc/internal.h"
#include "prof/goroutine.h"
#include "prof/prof.h"
#include "prof/threads.h"

/* A thread's record: the shared part first, so that hpi_thread_t * and
 * rec_t * convert into each other. */
typedef struct rec {
    hpi_thread_t t;
    /* Stack capture.  req: set by the writer (registry lock); the thread's
     * signal handler fills pcs and npcs, then sets done = req (release). */
    _Atomic unsigned req, done;
    _Atomic int outstanding; /* a signal was sent and not yet handled */
    int asked;               /* registry lock: this round expects an answer */
    int npcs;
    uintptr_t pcs[HPI_STACK_MAX];
    /* Set by the creator before the thread starts. */
    void *(*start_fn)(void *);
    void *start_arg;
    struct rec *free_next; /* registry lock: the free list */
} rec_t;

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static struct {
    hpi_lock_t lock;
    rec_t *head;           /* lock: registered threads, linked by t.next/t.prev */
    rec_t *free;           /* lock: records to reuse */
    _Atomic int64_t count; /* written under lock: registered threads */
    unsigned round;        /* lock: the last capture request */
    int handler;           /* lock: 0 not yet, 1 installed, -1 signal is the program's */
    _Atomic int answers;   /* futex word, bumped by every handler that answers */
    _Atomic int walker;    /* the handler's enum hpi_unwind_mode */
    _Atomic(hpi_thread_hook_t) on_start, on_exit;
    _Atomic(pthread_create_fn) real_create;
    _Atomic int init_state; /* 0 not yet, 1 being initialized, 2 done */
    pthread_key_t key;      /* unregisters threads registered by register_self */
} reg = {.lock = HPI_LOCK_INIT};

static __thread rec_t *tls_self; /* this thread's record while registered */
static __thread int tls_exited;  /* unregistered: never again */

static void key_exit(void *arg);

/* ---- Start-up ---- */

static void fork_prepare(void);
static void fork_parent(void);
static void fork_child(void);

HPI_CORE static void threads_ensure_init(void)
{
    if (atomic_load_explicit(&reg.init_state, memory_order_acquire) == 2) return;
    int zero = 0;
    if (atomic_compare_exchange_strong(&reg.init_state, &zero, 1)) {
        if (pthread_key_create(&reg.key, key_exit) != 0)
            hpi_fatal("threads: pthread_key_create failed");
        hpi_atfork(fork_prepare, fork_parent, fork_child);
        atomic_store_explicit(&reg.init_state, 2, memory_order_release);
        return;
    }
    while (atomic_load_explicit(&reg.init_state, memory_order_acquire) != 2)
        sched_yield();
}

HPI_CORE static pthread_create_fn real_create(void)
{
    pthread_create_fn f = atomic_load_explicit(&reg.real_create, memory_order_acquire);
    if (f != NULL) return f;
    f = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    if (f == NULL) hpi_fatal("threads: the C library's pthread_create is not found");
    atomic_store_explicit(&reg.real_create, f, memory_order_release);
    return f;
}

/* ---- Records ---- */

HPI_CORE static rec_t *rec_alloc(void)
{
    hpi_lock(&reg.lock);
    rec_t *r = reg.free;
    if (r != NULL) reg.free = r->free_next;
    hpi_unlock(&reg.lock);
    if (r == NULL) r = hpi_meta_alloc(sizeof *r);
    if (r != NULL) memset(r, 0, sizeof *r);
    return r;
}

static void rec_free(rec_t *r)
{
    hpi_lock(&reg.lock);
    r->free_next = reg.free;
    reg.free = r;
    hpi_unlock(&reg.lock);
}

/* ---- Registration ---- */

/* The hexadecimal number at *s; *s is left after its last digit.  Not
 * strtoul: in a small program that would be the only use of libc's number
 * parsing and its locale tables, two more 64 KiB windows of libc mapped at
 * start-up (docs/PERFORMANCE.md). */
static uintptr_t parse_hex(const char **s)
{
    uintptr_t v = 0;
    for (;; (*s)++) {
        unsigned c = (unsigned char)**s, d;
        if (c - '0' < 10)
            d = c - '0';
        else if ((c | 0x20) - 'a' < 6)
            d = (c | 0x20) - 'a' + 10;
        else
            return v;
        v = v << 4 | d;
    }
}

/* Parse one /proc/self/maps line: its range in [*a, *b); 0 if malformed. */
static int maps_line_range(const char *line, uintptr_t *a, uintptr_t *b)
{
    const char *p = line;
    *a = parse_hex(&p);
    if (p == line || *p != '-') return 0;
    const char *q = ++p;
    *b = parse_hex(&p);
    return p != q;
}

/* The mapping that holds addr, and the end of the mapping below it, read
 * from /proc/self/maps with no malloc (pthread_getattr_np allocates and
 * reads the file through stdio: every process would map stdio's and
 * scanf's code and a FILE's spans for it, and every thread start, hotpath's
 * own included, would show in the allocator's statistics). */
HPI_CORE static void mapping_bounds(uintptr_t addr, uintptr_t *lo, uintptr_t *hi, uintptr_t *below)
{
    char buf[4096];
    size_t have = 0;
    uintptr_t a, b;
    *below = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0) break;
        have += (size_t)n;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = 0;
            if (maps_line_range(line, &a, &b)) {
                if (addr >= a && addr < b) {
                    *lo = a, *hi = b;
                    goto out;
                }
                if (b <= addr) *below = b;
            }
            line = nl + 1;
        }
        have = strlen(line); /* a partial line: keep it */
        memmove(buf, line, have);
        if (have == sizeof buf - 1) have = 0; /* absurdly long line: drop it */
    }
out:
    close(fd);
}

/* A thread's stack is one mapping above its guard page.  The main thread's
 * grows down to RLIMIT_STACK below its top, or to the mapping below (the
 * bounds pthread_getattr_np gives it). */
static void stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t below;
    *lo = *hi = 0;
    mapping_bounds((uintptr_t)__builtin_frame_address(0), lo, hi, &below);
    if (*hi == 0 || hpi_gettid() != getpid()) return;
    struct rlimit rl;
    uintptr_t max = *hi - below;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < max)
        max = rl.rlim_cur;
    if (*hi - *lo < max) *lo = *hi - max;
}

/* Register the calling thread with record r, then call the on_start hook. */
HPI_CORE static void thread_register(rec_t *r)
{
    r->t.tid = hpi_gettid();
    r->t.self = pthread_self();
    stack_bounds(&r->t.stack_lo, &r->t.stack_hi);
    hpi_lock(&reg.lock);
    r->t.prev = NULL;
    r->t.next = reg.head != NULL ? &reg.head->t : NULL;
    if (reg.head != NULL) reg.head->t.prev = &r->t;
    reg.head = r;
    atomic_store_explicit(&reg.count, reg.count + 1, memory_order_relaxed);
    tls_self = r;
    hpi_unlock(&reg.lock);
    hpi_thread_hook_t hook = atomic_load(&reg.on_start);
    if (hook != NULL) hook(&r->t);
}

static void unlink_locked(rec_t *r)
{
    if (r->t.prev != NULL)
        r->t.prev->next = r->t.next;
    else
        reg.head = (rec_t *)r->t.next;
    if (r->t.next != NULL) r->t.next->prev = r->t.prev;
    r->t.next = r->t.prev = NULL;
}

/* The calling thread leaves: on_exit hook, off the list, record freed. */
HPI_CORE static void thread_unregister(rec_t *r)
{
    hpi_thread_hook_t hook = atomic_load(&reg.on_exit);
    if (hook != NULL) hook(&r->t);
    hpi_lock(&reg.lock);
    unlink_locked(r);
    atomic_store_explicit(&reg.count, reg.count - 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    tls_self = NULL; /* from here on this thread's handler leaves r alone */
    tls_exited = 1;
    atomic_signal_fence(memory_order_seq_cst);
    r->free_next = reg.free;
    reg.free = r;
    hpi_unlock(&reg.lock);
}

static void key_exit(void *arg)
{
    if (arg != NULL && tls_self == arg) thread_unregister(arg);
}

HPI_CORE static void thread_cleanup(void *arg)
{
    if (tls_self == arg) thread_unregister(arg);
}

HPI_CORE static void *thread_start(void *arg)
{
    rec_t *r = arg;
    void *(*fn)(void *) = r->start_fn;
    void *fn_arg = r->start_arg;
    thread_register(r);
    void *ret;
    pthread_cleanup_push(thread_cleanup, r);
    ret = fn(fn_arg);
    pthread_cleanup_pop(1);
    return ret;
}

/* The interposed pthread_create: the new thread starts in thread_start. */
HP_API HPI_CORE int pthread_create(pthread_t *restrict th, const pthread_attr_t *restrict attr,
                                   void *(*fn)(void *), void *restrict arg)
{
    threads_ensure_init();
    pthread_create_fn create = real_create();
    rec_t *r = rec_alloc();
    if (r == NULL) return create(th, attr, fn, arg); /* runs unregistered */
    r->t.create_npcs = hpi_stack_here(r->t.create_pcs, HPI_STACK_MAX, 1);
    hpi_thread_t *me = hpi_thread_self();
    if (me != NULL) atomic_init(&r->t.labels, atomic_load(&me->labels));
    r->start_fn = fn;
    r->start_arg = arg;
    int err = create(th, attr, thread_start, r);
    if (err != 0) rec_free(r);
    return err;
}

HPI_CORE hpi_thread_t *hpi_thread_self(void)
{
    rec_t *r = tls_self;
    return r != NULL ? &r->t : NULL;
}

HPI_CORE void hpi_thread_gc_exempt(void)
{
    hpi_thread_t *t = hpi_thread_register_self();
    if (t != NULL) atomic_store(&t->gc_exempt, 1);
}

HPI_CORE hpi_thread_t *hpi_thread_register_self(void)
{
    if (tls_self != NULL) return &tls_self->t;
    if (tls_exited) return NULL;
    threads_ensure_init();
    rec_t *r = rec_alloc();
    if (r == NULL) return NULL;
    thread_register(r);
    pthread_setspecific(reg.key, r);
    return &r->t;
}

HPI_CORE void hpi_threads_set_hooks(hpi_thread_hook_t on_start, hpi_thread_hook_t on_exit)
{
    atomic_store(&reg.on_start, on_start);
    atomic_store(&reg.on_exit, on_exit);
}

int hpi_threads_foreach(void (*fn)(hpi_thread_t *t, void *arg), void *arg)
{
    int n = 0;
    hpi_lock(&reg.lock);
    for (rec_t *r = reg.head; r != NULL; r = (rec_t *)r->t.next, n++)
        fn(&r->t, arg);
    hpi_unlock(&reg.lock);
    return n;
}

void hpi_threads_lock(void) { hpi_lock(&reg.lock); }
void hpi_threads_unlock(void) { hpi_unlock(&reg.lock); }

int hpi_threads_foreach_locked(void (*fn)(hpi_thread_t *t, void *arg), void *arg)
{
    int n = 0;
    for (rec_t *r = reg.head; r != NULL; r = (rec_t *)r->t.next, n++)
        fn(&r->t, arg);
    return n;
}

int64_t hpi_threads_count(void)
{
    return atomic_load_explicit(&reg.count, memory_order_relaxed);
}

/* ---- fork ---- */

static void fork_prepare(void)
{
    hpi_lock(&reg.lock);
}

static void fork_parent(void)
{
    hpi_unlock(&reg.lock);
}

/* Only the forking thread lives on in the child. */
static void fork_child(void)
{
    rec_t *me = tls_self, *next;
    for (rec_t *r = reg.head; r != NULL; r = next) {
        next = (rec_t *)r->t.next;
        if (r == me) continue;
        r->free_next = reg.free;
        reg.free = r;
    }
    reg.head = me;
    if (me != NULL) {
        me->t.next = me->t.prev = NULL;
        me->t.tid = hpi_gettid();
        atomic_store(&me->outstanding, 0);
    }
    atomic_store(&reg.count, me != NULL ? 1 : 0);
    atomic_store(&reg.answers, 0);
    hpi_lock_reinit(&reg.lock);
}

/* ---- Capturing other threads' stacks ---- */

static void capture_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    int saved = errno;
    rec_t *r = tls_self;
    if (r != NULL) {
        unsigned want = atomic_load_explicit(&r->req, memory_order_acquire);
        if (atomic_load_explicit(&r->done, memory_order_relaxed) != want) {
            r->npcs =
                hpi_stack_from_signal_mode(uc, r->pcs, HPI_STACK_MAX, atomic_load(&reg.walker));
            atomic_store_explicit(&r->done, want, memory_order_release);
        }
        atomic_store(&r->outstanding, 0);
        atomic_fetch_add(&reg.answers, 1);
        hpi_futex_wake(&reg.answers, 1);
    }
    errno = saved;
}

/* Install the handler unless the program uses the signal; 1 when ours. */
static int handler_install_locked(void)
{
    if (reg.handler != 0) return reg.handler > 0;
    struct sigaction old, sa;
    memset(&sa, 0, sizeof sa);
    if (sigaction(HPI_THREADS_SIGNAL, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
        (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)) {
        hpi_printf_err("signal %d is the program's: goroutine profiles cannot show other "
                       "threads' stacks",
                       HPI_THREADS_SIGNAL);
        reg.handler = -1;
        return 0;
    }
    sa.sa_sigaction = capture_handler;
    /* SA_NODEFER: the signal stays unblocked while the handler runs, so that
     * SigBlk shows only the program's mask (a handler that just answered
     * must not look like a thread blocking the signal).  The handler does
     * not nest: at most one signal is outstanding per thread. */
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    reg.handler = sigaction(HPI_THREADS_SIGNAL, &sa, NULL) == 0 ? 1 : -1;
    return reg.handler > 0;
}

/* Whether thread tid blocks sig, from its /proc status (SigBlk). */
static int signal_blocked(int tid, int sig)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1; /* gone */
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 1;
    buf[n] = 0;
    const char *p = strstr(buf, "\nSigBlk:");
    if (p == NULL) return 0;
    unsigned long long mask = strtoull(p + 8, NULL, 16);
    return sig <= 64 && ((mask >> (sig - 1)) & 1);
}

/* Ask every thread but me for its stack. */
static void capture_send_locked(rec_t *me, unsigned round)
{
    int ok = handler_install_locked();
    pid_t pid = getpid();
    for (rec_t *r = reg.head; r != NULL; r = (rec_t *)r->t.next) {
        r->asked = 0;
        if (r == me) continue;
        atomic_store_explicit(&r->req, round, memory_order_release);
        if (!ok || signal_blocked(r->t.tid, HPI_THREADS_SIGNAL)) continue;
        r->asked = 1;
        if (atomic_exchange(&r->outstanding, 1)) continue; /* a pending one will answer */
        if (syscall(SYS_tgkill, pid, r->t.tid, HPI_THREADS_SIGNAL) != 0) {
            atomic_store(&r->outstanding, 0);
            r->asked = 0;
        }
    }
}

static int capture_missing_locked(unsigned round)
{
    int missing = 0;
    for (rec_t *r = reg.head; r != NULL; r = (rec_t *)r->t.next)
        if (r->asked && atomic_load_explicit(&r->done, memory_order_acquire) != round) missing++;
    return missing;
}

/* Wait until every asked thread answered, or the time is up. */
static void capture_wait_locked(unsigned round)
{
    uint64_t deadline = hpi_nanotime() + HPI_THREADS_WAIT_NS;
    for (;;) {
        int seen = atomic_load(&reg.answers);
        if (capture_missing_locked(round) == 0) return;
        uint64_t now = hpi_nanotime();
        if (now >= deadline) return;
        hpi_futex_wait(&reg.answers, seen, deadline - now);
    }
}

static void snap_fill(hpi_thread_snap_t *s, rec_t *r)
{
    s->tid = r->t.tid;
    s->labels = atomic_load(&r->t.labels);
    s->create_npcs = r->t.create_npcs;
    memcpy(s->create_pcs, r->t.create_pcs, sizeof(uintptr_t) * (size_t)r->t.create_npcs);
}

/* Fill s[1...] from the registry (s[0] is the caller); returns the count. */
static int snapshot_locked(hpi_thread_snap_t *s, rec_t *me, bool with_stacks)
{
    unsigned round = ++reg.round;
    if (round == 0) round = ++reg.round; /* 0 is every new record's `done` */
    if (with_stacks) {
        capture_send_locked(me, round);
        capture_wait_locked(round);
    }
    int n = 1;
    for (rec_t *r = reg.head; r != NULL; r = (rec_t *)r->t.next) {
        if (r == me) continue;
        hpi_thread_snap_t *o = &s[n++];
        memset(o, 0, sizeof *o);
        snap_fill(o, r);
        o->npcs = -1;
        if (with_stacks && atomic_load_explicit(&r->done, memory_order_acquire) == round) {
            o->exact_leaf = r->npcs > 0;
            o->npcs = r->npcs;
            memcpy(o->pcs, r->pcs, sizeof(uintptr_t) * (size_t)r->npcs);
        }
    }
    return n;
}

__attribute__((noinline)) int hpi_threads_snapshot(bool with_stacks, hpi_thread_snap_t **out)
{
    rec_t *me = (rec_t *)hpi_thread_register_self();
    if (with_stacks) /* loads it outside the lock: dlopen allocates */
        atomic_store(&reg.walker,
                     hpi_stack_load_libunwind() == 0 ? HPI_UNWIND_LIBUNWIND : HPI_UNWIND_FP);
    hpi_thread_snap_t *s = NULL;
    int64_t cap = 0;
    for (;;) {
        int64_t want = hpi_threads_count() + 1; /* +1: the caller when unregistered */
        if (want > cap) {
            hpi_thread_snap_t *grown = realloc(s, sizeof *s * (size_t)(want + 8));
            if (grown == NULL) {
                free(s);
                return -ENOMEM;
            }
            s = grown;
            cap = want + 8;
        }
        hpi_lock(&reg.lock);
        if (reg.count + 1 <= cap) break;
        hpi_unlock(&reg.lock);
    }
    memset(&s[0], 0, sizeof s[0]);
    if (me != NULL) snap_fill(&s[0], me);
    s[0].tid = hpi_gettid();
    s[0].self = true;
    int n = snapshot_locked(s, me, with_stacks);
    hpi_unlock(&reg.lock);
    if (with_stacks) s[0].npcs = hpi_stack_here(s[0].pcs, HPI_STACK_MAX, 1);
    *out = s;
    return n;
}

/* The main thread, at start-up (before cpuprof.c's constructor, 150). */
HPI_CORE __attribute__((constructor(104))) static void threads_ctor(void)
{
    threads_ensure_init();
    real_create();
    hpi_thread_register_self();
}
