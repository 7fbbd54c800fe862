/* finalizer.c: finalizers.  See gc.c for the design.
 *
 * A finalizer is an entry (object, function) in an open-addressing hash
 * table, plus the object's fin bit in its span, which lets the sweeper find
 * dead objects with finalizers without a lookup per object.  As in Go:
 *
 *   - every cycle, the contents of each object with a finalizer are scanned
 *     (not the object itself), so what a finalizer will see stays alive;
 *   - the sweeper finds the object dead, keeps it (marks it), and moves the
 *     entry to the queue; the finalizer thread runs fn(obj) once;
 *   - with its finalizer gone, the object is freed by a later cycle once it
 *     is unreachable again.
 *
 * The queue is a root (its objects are greyed at the root snapshot).  Table
 * and queue live in mmap'd memory under one lock, taken inside crit only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "gc/internal.h"

typedef struct fin {
    uintptr_t obj; /* 0: empty; 1: deleted */
    void (*fn)(void *);
} fin_t;

static struct {
    hpi_lock_t lock;
    fin_t *tab;          /* lock */
    size_t cap, n, used; /* lock: slots, live entries, live + deleted */
    fin_t *queue;        /* lock: waiting to run */
    size_t qn, qcap;     /* lock */
    _Atomic int qgen;    /* bumped when the queue grows */
    _Atomic int started;
} fins = {.lock = HPI_LOCK_INIT};

static void *map(size_t bytes)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

static size_t slot_of(uintptr_t obj, size_t cap)
{
    return (size_t)((obj >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
}

static fin_t *lookup_locked(uintptr_t obj)
{
    if (fins.cap == 0) return NULL;
    for (size_t i = slot_of(obj, fins.cap);; i = (i + 1) & (fins.cap - 1)) {
        if (fins.tab[i].obj == obj) return &fins.tab[i];
        if (fins.tab[i].obj == 0) return NULL;
    }
}

static bool grow_locked(void)
{
    size_t cap = fins.cap ? fins.cap * 2 : 1024;
    if (fins.n * 2 < fins.cap) cap = fins.cap; /* only deleted slots to clear */
    fin_t *t = map(cap * sizeof(fin_t));
    if (t == NULL) return false;
    for (size_t i = 0; i < fins.cap; i++) {
        if (fins.tab[i].obj <= 1) continue;
        size_t j = slot_of(fins.tab[i].obj, cap);
        while (t[j].obj != 0) j = (j + 1) & (cap - 1);
        t[j] = fins.tab[i];
    }
    if (fins.tab) munmap(fins.tab, fins.cap * sizeof(fin_t));
    fins.tab = t;
    fins.cap = cap;
    fins.used = fins.n;
    return true;
}

static int insert_locked(uintptr_t obj, void (*fn)(void *))
{
    fin_t *f = lookup_locked(obj);
    if (f != NULL) {
        f->fn = fn;
        return 0;
    }
    if ((fins.used + 1) * 4 > fins.cap * 3 && !grow_locked()) return ENOMEM;
    size_t i = slot_of(obj, fins.cap);
    while (fins.tab[i].obj > 1) i = (i + 1) & (fins.cap - 1);
    if (fins.tab[i].obj == 0) fins.used++;
    fins.tab[i] = (fin_t){obj, fn};
    fins.n++;
    return 0;
}

static void remove_locked(fin_t *f)
{
    f->obj = 1;
    f->fn = NULL;
    fins.n--;
}

static void *finalizer_main(void *arg);

/* Start the finalizer thread if it is not running (outside crit). */

void hpi_gc_finalizer_ensure(void)
{
    if (atomic_exchange(&fins.started, 1)) return;
    pthread_t th;
    if (pthread_create(&th, NULL, finalizer_main, NULL) != 0) {
        atomic_store(&fins.started, 0);
        return;
    }
    pthread_detach(th);
}

int hpi_gc_finalizer_set(void *obj, void (*fn)(void *))
{
    uintptr_t a = (uintptr_t)obj;
    hpi_gcspan_t *g = hpi_gcspan_of(a);
    if (g == NULL) return EINVAL;
    int64_t i = hpi_gc_index(g, a);
    if (i < 0 || g->base + (uintptr_t)i * g->elemsize != a || !hpi_gc_allocated(g, (uint64_t)i))
        return EINVAL;
    if (fn != NULL) hpi_gc_finalizer_ensure();
    int err = 0;
    uint64_t bit = 1ull << (i & 63);
    hpi_gc_enter();
    hpi_lock(&fins.lock);
    if (fn == NULL) {
        fin_t *f = lookup_locked(a);
        if (f != NULL) remove_locked(f);
        atomic_fetch_and(&g->fin[i >> 6], ~bit);
    } else {
        err = insert_locked(a, fn);
        if (err == 0) atomic_fetch_or(&g->fin[i >> 6], bit);
    }
    hpi_unlock(&fins.lock);
    hpi_gc_leave();
    return err;
}

/* Called by the sweeper, inside crit. */
void hpi_gc_finalizer_queue(void *obj)
{
    hpi_lock(&fins.lock);
    fin_t *f = lookup_locked((uintptr_t)obj);
    if (f != NULL) {
        if (fins.qn == fins.qcap) {
            size_t cap = fins.qcap ? fins.qcap * 2 : 4096;
            fin_t *q = map(cap * sizeof(fin_t));
            if (q == NULL) hpi_fatal("gc: out of memory for the finalizer queue");
            if (fins.qn) memcpy(q, fins.queue, fins.qn * sizeof(fin_t));
            if (fins.queue) munmap(fins.queue, fins.qcap * sizeof(fin_t));
            fins.queue = q;
            fins.qcap = cap;
        }
        fins.queue[fins.qn++] = *f;
        remove_locked(f);
    }
    hpi_unlock(&fins.lock);
}

void hpi_gc_finalizer_wake(void)
{
    atomic_fetch_add(&fins.qgen, 1);
    hpi_futex_wake(&fins.qgen, 1);
}

/* Mark roots (world stopped, so nobody holds the lock): the queue's
 * objects are greyed, the other finalizer objects' contents scanned. */
void hpi_gc_finalizer_roots(void)
{
    for (size_t i = 0; i < fins.qn; i++) hpi_gc_shade(fins.queue[i].obj);
    for (size_t i = 0; i < fins.cap; i++)
        if (fins.tab[i].obj > 1) hpi_gc_scan_object_of((void *)fins.tab[i].obj);
}

static bool pop(fin_t *out)
{
    bool got = false;
    hpi_gc_enter();
    hpi_lock(&fins.lock);
    if (fins.qn > 0) {
        *out = fins.queue[--fins.qn];
        got = true;
    }
    hpi_unlock(&fins.lock);
    hpi_gc_leave();
    return got;
}

/* Run the queued finalizers; false when the queue was empty.  Its frame is
 * gone when it returns, so no copy of an object stays in the finalizer
 * thread's registers. */
static __attribute__((noinline)) bool run_queued(void)
{
    fin_t f;
    if (!pop(&f)) return false;
    f.fn((void *)f.obj);
    return true;
}

/* Overwrite the dead stack below the caller, where run_queued's frames
 * held the objects: the stack is scanned from where the thread sleeps. */
static __attribute__((noinline)) void wipe_stack(void)
{
    volatile char pad[8192];
    memset((char *)pad, 0, sizeof pad);
    __asm__ volatile("" : : "r"(pad) : "memory");
}

static void wait_queue(void *gen)
{
    hpi_futex_wait(&fins.qgen, *(int *)gen, 0);
}

static void *finalizer_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "hp-gc-finalizer");
    for (;;) {
        int gen = atomic_load(&fins.qgen);
        bool ran = false;
        while (run_queued()) ran = true;
        if (ran) wipe_stack();
        hpi_gc_blocking(wait_queue, &gen); /* a stop need not wake it */
    }
    return NULL;
}

void hpi_gc_finalizer_fork_prepare(void) { hpi_lock(&fins.lock); }
void hpi_gc_finalizer_fork_parent(void) { hpi_unlock(&fins.lock); }
void hpi_gc_finalizer_fork_child(void)
{
    hpi_lock_reinit(&fins.lock);
    atomic_store(&fins.started, 0); /* the thread is gone; gc.c starts a new one */
}
