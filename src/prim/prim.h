/* prim.h: the platform layer, a written contract.
 *
 * Everything hotpath needs from the OS goes through these primitives, so the
 * rest of the code is OS-neutral.  Each primitive that can fail returns 0 or an
 * errno value and states its preconditions; none of them allocates with malloc,
 * and the ones marked "signal-safe" may run inside a signal handler.
 * One implementation per platform: linux.c.
 */
#ifndef HPI_PRIM_H
#define HPI_PRIM_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if defined(HP_BUILDING_LIBRARY)
#define HPI_INTERNAL __attribute__((visibility("hidden")))
#define HP_API __attribute__((visibility("default")))
#else
#define HPI_INTERNAL
#define HP_API
#endif

#define HPI_LIKELY(x) __builtin_expect(!!(x), 1)
#define HPI_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HPI_CACHE_LINE 64

/* HPI_CORE marks the code every program runs: start-up, thread start and
 * exit, the allocation paths down to the page heap, heap sampling and the
 * lock wrappers' pass-through.  The shared library's linker script
 * (src/core.ld) gives it a segment of its own, so that the kernel's
 * fault-around (16 pages around each fault, within the mapping) maps that
 * code and not the rest: a small program keeps 32 KiB of hotpath's code
 * resident instead of 64 (docs/PERFORMANCE.md).  A function left unmarked
 * costs pages, never correctness.  In the static library the section is
 * an orphan that the program's link places after its .text. */
#define HPI_CORE __attribute__((section(".hpi_core")))

/* Reserve `size` bytes of readable, writable, zeroed address space aligned
 * to `align` (a power of two >= the OS page size).  Pages are committed by the
 * OS on first touch.  Returns 0 and sets *out, or ENOMEM. */
HPI_INTERNAL int hpi_os_reserve(size_t size, size_t align, void **out);

/* Give the pages in [p, p+size) back to the OS; they read as zero afterwards
 * and stay mapped.  p and size are multiples of the OS page size.  0 or errno. */
HPI_INTERNAL int hpi_os_release(void *p, size_t size);

/* Unmap [p, p+size).  0 or errno. */
HPI_INTERNAL int hpi_os_unmap(void *p, size_t size);

/* Register fork handlers, as pthread_atfork does.  (pthread_atfork itself
 * is a stub that libc_nonshared.a links in after all of our code: calling
 * glibc's __register_atfork, as the stub does, keeps start-up inside the
 * HPI_CORE pages.) */
HPI_INTERNAL void hpi_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

/* Monotonic time in nanoseconds.  Signal-safe. */
HPI_INTERNAL uint64_t hpi_nanotime(void);

/* Wall-clock time in nanoseconds since the Unix epoch.  Signal-safe. */
HPI_INTERNAL int64_t hpi_unix_nanos(void);

/* The calling thread's kernel id.  Signal-safe. */
HPI_INTERNAL int hpi_gettid(void);

/* Write a message to standard error with one write(2).  Formats with
 * vsnprintf into a stack buffer (no malloc for %s %d %u %x %p and sizes). */
HPI_INTERNAL void hpi_printf_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "hotpath: fatal: <msg>" and abort.  For broken invariants. */
HPI_INTERNAL _Noreturn void hpi_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A small mutex for internal use: a futex word, never calls malloc, never
 * interposed.  0 unlocked, 1 locked, 2 locked with waiters. */
typedef struct hpi_lock {
    _Atomic int state;
} hpi_lock_t;
#define HPI_LOCK_INIT {0}

HPI_INTERNAL void hpi_lock_slow(hpi_lock_t *l);
HPI_INTERNAL void hpi_unlock_wake(hpi_lock_t *l);

static inline void hpi_lock(hpi_lock_t *l)
{
    int zero = 0;
    if (!atomic_compare_exchange_strong_explicit(&l->state, &zero, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        hpi_lock_slow(l);
}

static inline void hpi_unlock(hpi_lock_t *l)
{
    if (atomic_exchange_explicit(&l->state, 0, memory_order_release) == 2) hpi_unlock_wake(l);
}

static inline void hpi_lock_reinit(hpi_lock_t *l) { atomic_store(&l->state, 0); }

/* Sleep on a futex word until it is woken or `ns` pass (0 = no limit). */
HPI_INTERNAL void hpi_futex_wait(_Atomic int *word, int expect, uint64_t ns);
HPI_INTERNAL void hpi_futex_wake(_Atomic int *word, int n);

/* Tell the processor this is a spin-wait loop. */
static inline void hpi_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

#endif /* HPI_PRIM_H */
