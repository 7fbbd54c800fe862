/* linux.c: the platform layer for Linux (see prim.h for the contract). */
#define _GNU_SOURCE
#include "prim/prim.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

HPI_CORE int hpi_os_reserve(size_t size, size_t align, void **out)
{
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    size_t span = size + align;
    if (span < size) return ENOMEM;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED) return errno ? errno : ENOMEM;
    uintptr_t start = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)p, tail = span - head - size;
    if (head) munmap(p, head);
    if (tail) munmap((char *)start + size, tail);
    *out = (void *)start;
    return 0;
}

int hpi_os_release(void *p, size_t size)
{
    return madvise(p, size, MADV_DONTNEED) == 0 ? 0 : errno;
}

int hpi_os_unmap(void *p, size_t size) { return munmap(p, size) == 0 ? 0 : errno; }

/* glibc's, exported since 2.3.2; the handlers go with the object that
 * registered them (__dso_handle) if it is unloaded. */
extern int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *);
extern void *__dso_handle;

HPI_CORE void hpi_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    __register_atfork(prepare, parent, child, __dso_handle);
}

HPI_CORE uint64_t hpi_nanotime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t hpi_unix_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

HPI_CORE int hpi_gettid(void) { return (int)syscall(SYS_gettid); }

static void vprint_err(const char *prefix, const char *fmt, va_list ap)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s", prefix);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof buf - 2) len = sizeof buf - 2;
    buf[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, len);
    (void)w;
}

void hpi_printf_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_err("hotpath: ", fmt, ap);
    va_end(ap);
}

void hpi_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_err("hotpath: fatal: ", fmt, ap);
    va_end(ap);
    abort();
}

HPI_CORE void hpi_futex_wait(_Atomic int *word, int expect, uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expect, ns ? &ts : NULL, NULL, 0);
}

HPI_CORE void hpi_futex_wake(_Atomic int *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

HPI_CORE void hpi_lock_slow(hpi_lock_t *l)
{
    for (int spin = 0; spin < 100; spin++) {
        int zero = 0;
        if (atomic_load_explicit(&l->state, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&l->state, &zero, 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
        hpi_cpu_relax();
    }
    while (atomic_exchange_explicit(&l->state, 2, memory_order_acquire) != 0)
        hpi_futex_wait(&l->state, 2, 0);
}

HPI_CORE void hpi_unlock_wake(hpi_lock_t *l) { hpi_futex_wake(&l->state, 1); }
