/* interpose.c: the exported names.  malloc & co replace the C library's when
 * libhotpath is linked or preloaded; the hp_ names are the same functions
 * under names that no other library defines.  C++ operator new/delete are in
 * interpose_cxx.c.
 *
 * Semantics follow glibc and POSIX: failures return NULL with errno ENOMEM
 * (EINVAL for a bad alignment), except posix_memalign, which returns the error
 * and leaves errno and *memptr alone; free(NULL) and realloc(NULL, n) work;
 * realloc(p, 0) frees p and returns NULL, as glibc does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>

#include "alloc/fastpath.h"
#include "alloc/malloc.h"
#include "hotpath/alloc.h"
#include "hotpath/memstats.h"

#define OS_PAGE ((size_t)4096)

static bool is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

HP_API HPI_CORE void *malloc(size_t size) { return hpi_malloc_inline(size); }

HP_API HPI_CORE void free(void *p) { hpi_free_inline(p); }

HP_API HPI_CORE void *calloc(size_t n, size_t size) { return hpi_calloc(n, size); }

HP_API HPI_CORE void *realloc(void *p, size_t size) { return hpi_realloc(p, size); }

HP_API HPI_CORE void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return hpi_realloc(p, total);
}

HP_API HPI_CORE int posix_memalign(void **memptr, size_t align, size_t size)
{
    if (!is_pow2(align) || align % sizeof(void *) != 0) return EINVAL;
    int saved = errno;
    void *p = hpi_malloc_aligned(align, size);
    if (p == NULL) {
        errno = saved;
        return ENOMEM;
    }
    *memptr = p;
    return 0;
}

HP_API HPI_CORE void *aligned_alloc(size_t align, size_t size)
{
    if (!is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return hpi_malloc_aligned(align, size);
}

/* glibc's memalign accepts any alignment and rounds it up to a power of two. */
HP_API HPI_CORE void *memalign(size_t align, size_t size)
{
    if (align > HPI_MAX_ALLOC) {
        errno = ENOMEM;
        return NULL;
    }
    size_t a = 1;
    while (a < align) a <<= 1;
    return hpi_malloc_aligned(a, size);
}

HP_API HPI_CORE void *valloc(size_t size) { return hpi_malloc_aligned(OS_PAGE, size); }

HP_API HPI_CORE void *pvalloc(size_t size)
{
    if (size > HPI_MAX_ALLOC) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = size == 0 ? OS_PAGE : (size + OS_PAGE - 1) & ~(OS_PAGE - 1);
    return hpi_malloc_aligned(OS_PAGE, rounded);
}

HP_API HPI_CORE size_t malloc_usable_size(void *p) { return hpi_usable_size(p); }

/* Free pages go back to the OS now rather than after the scavenger's delay. */
HP_API int malloc_trim(size_t pad)
{
    (void)pad;
    return hp_release_memory() > 0;
}

/* ---- the hp_ names ---- */

HP_API HPI_CORE void *hp_malloc(size_t size) { return hpi_malloc_inline(size); }

HP_API HPI_CORE void hp_free(void *p) { hpi_free_inline(p); }

HP_API HPI_CORE void *hp_calloc(size_t n, size_t size) { return hpi_calloc(n, size); }

HP_API HPI_CORE void *hp_realloc(void *p, size_t size) { return hpi_realloc(p, size); }

HP_API HPI_CORE void *hp_aligned_alloc(size_t align, size_t size)
{
    return aligned_alloc(align, size);
}

HP_API HPI_CORE size_t hp_usable_size(const void *p) { return hpi_usable_size(p); }

HP_API HPI_CORE size_t hp_good_size(size_t size) { return hpi_good_size(size); }
