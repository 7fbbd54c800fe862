/* hotpath/alloc.h: the allocator's own entry points.
 *
 * Linking libhotpath (or preloading it) replaces malloc, free, calloc,
 * realloc, reallocarray, posix_memalign, aligned_alloc, memalign, valloc,
 * pvalloc, malloc_usable_size and C++ operator new/delete.  The hp_ names
 * below are the same functions under names that are never interposed, for
 * code that wants to call hotpath explicitly.
 */
#ifndef HOTPATH_ALLOC_H
#define HOTPATH_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *hp_malloc(size_t size);
void hp_free(void *p);
void *hp_calloc(size_t n, size_t size);
void *hp_realloc(void *p, size_t size);
void *hp_aligned_alloc(size_t alignment, size_t size);
size_t hp_usable_size(const void *p);

/* The size an allocation of `size` bytes really takes (its size class, or
 * whole pages above 32 KiB); 0 if size is too large to allocate. */
size_t hp_good_size(size_t size);

#ifdef __cplusplus
}
#endif
#endif /* HOTPATH_ALLOC_H */
