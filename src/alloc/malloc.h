/* malloc.h: the allocator's entry points below the exported names
 * (interpose.c exports them as malloc & co and as hp_*).  See malloc.c. */
#ifndef HPI_ALLOC_MALLOC_H
#define HPI_ALLOC_MALLOC_H

#include <stddef.h>

#include "prim/prim.h"

HPI_INTERNAL void *hpi_malloc_aligned(size_t align, size_t size);
HPI_INTERNAL void *hpi_calloc(size_t n, size_t size);
HPI_INTERNAL void *hpi_realloc(void *p, size_t size);
HPI_INTERNAL size_t hpi_usable_size(const void *p);
HPI_INTERNAL size_t hpi_good_size(size_t size);

#endif /* HPI_ALLOC_MALLOC_H */
