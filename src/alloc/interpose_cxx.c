/* interpose_cxx.c: C++ operator new and delete in every form (plain, array,
 * nothrow, sized, aligned), written in C under their mangled names, so that
 * the library needs no C++ runtime: a C program that preloads it does not
 * load libstdc++ (about 1 MiB of RSS and a slower start).
 *
 * Failure follows the standard.  A throwing new calls the installed
 * new_handler and retries while there is one, then throws std::bad_alloc;
 * both come from libstdc++, referenced weakly (a program that calls operator
 * new has libstdc++ loaded; a C program never calls these).  A nothrow new
 * must return NULL where the throwing one would throw, even when a handler
 * throws, and C cannot catch an exception: so after its own attempt fails it
 * hands over to libstdc++'s nothrow new (found with dlsym(RTLD_NEXT)), which
 * calls our throwing new inside a try block.  Only out-of-memory takes that
 * path.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

#include "alloc/fastpath.h"
#include "alloc/malloc.h"

typedef void (*new_handler_fn)(void);
extern new_handler_fn _ZSt15get_new_handlerv(void) __attribute__((weak));
extern _Noreturn void _ZSt17__throw_bad_allocv(void) __attribute__((weak));

static inline void *try_alloc(size_t size, size_t align)
{
    if (align <= 16) return hpi_malloc_inline(size);
    return hpi_malloc_aligned(align, size);
}

static void *new_slow(size_t size, size_t align)
{
    for (;;) {
        new_handler_fn h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
        if (h == NULL) break;
        h();
        void *p = try_alloc(size, align);
        if (p != NULL) return p;
    }
    if (_ZSt17__throw_bad_allocv) _ZSt17__throw_bad_allocv();
    hpi_fatal("operator new(%zu): out of memory, and no C++ runtime to throw bad_alloc", size);
}

static inline void *new_throwing(size_t size, size_t align)
{
    void *p = try_alloc(size, align);
    if (HPI_LIKELY(p != NULL)) return p;
    return new_slow(size, align);
}

/* libstdc++'s nothrow form `name` runs the throwing one (ours) in a try
 * block.  NULL when there is no C++ runtime, and so no handler to call. */
typedef void *(*nothrow_fn)(size_t, ...);

static void *nothrow_slow(const char *name, size_t size, size_t align, const void *tag)
{
    nothrow_fn next = (nothrow_fn)dlsym(RTLD_NEXT, name);
    if (next == NULL) return NULL;
    return align ? next(size, align, tag) : next(size, tag);
}

#define NOTHROW(name, size, align, tag)                                                          \
    do {                                                                                         \
        void *p_ = try_alloc((size), (align));                                                   \
        return HPI_LIKELY(p_ != NULL) ? p_ : nothrow_slow(name, (size), (align), (tag));         \
    } while (0)

#define API HP_API HPI_CORE

API void *_Znwm(size_t n) { return new_throwing(n, 0); }
API void *_Znam(size_t n) { return new_throwing(n, 0); }
API void *_ZnwmSt11align_val_t(size_t n, size_t a) { return new_throwing(n, a); }
API void *_ZnamSt11align_val_t(size_t n, size_t a) { return new_throwing(n, a); }
API void *_ZnwmRKSt9nothrow_t(size_t n, const void *t) { NOTHROW(__func__, n, 0, t); }
API void *_ZnamRKSt9nothrow_t(size_t n, const void *t) { NOTHROW(__func__, n, 0, t); }
API void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t)
{
    NOTHROW(__func__, n, a, t);
}
API void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t)
{
    NOTHROW(__func__, n, a, t);
}

/* Every delete is free(): the allocator finds the size itself. */
API void _ZdlPv(void *p) { hpi_free_inline(p); }
API void _ZdaPv(void *p) { hpi_free_inline(p); }
API void _ZdlPvm(void *p, size_t n) { (void)n, hpi_free_inline(p); }
API void _ZdaPvm(void *p, size_t n) { (void)n, hpi_free_inline(p); }
API void _ZdlPvRKSt9nothrow_t(void *p, const void *t) { (void)t, hpi_free_inline(p); }
API void _ZdaPvRKSt9nothrow_t(void *p, const void *t) { (void)t, hpi_free_inline(p); }
API void _ZdlPvSt11align_val_t(void *p, size_t a) { (void)a, hpi_free_inline(p); }
API void _ZdaPvSt11align_val_t(void *p, size_t a) { (void)a, hpi_free_inline(p); }
API void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) { (void)n, (void)a, hpi_free_inline(p); }
API void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) { (void)n, (void)a, hpi_free_inline(p); }
API void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t)
{
    (void)a, (void)t, hpi_free_inline(p);
}
API void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t)
{
    (void)a, (void)t, hpi_free_inline(p);
}
