/* meta.c: memory for the allocator's own metadata (span structs, mcaches,
 * arena page maps).  A bump allocator over chunks mapped straight from the
 * OS: nothing here is ever freed (callers recycle their structs), and
 * nothing calls malloc, so the allocator never recurses into itself. */
#include <string.h>

#include "alloc/internal.h"

#define META_CHUNK ((size_t)1 << 20)
#define META_ALIGN ((size_t)HPI_CACHE_LINE)

static struct {
    hpi_lock_t lock;
    uintptr_t next, end; /* lock: the current chunk's unused part */
    uint64_t sys;        /* lock: bytes mapped for metadata */
} meta = {HPI_LOCK_INIT, 0, 0, 0};

/* Zeroed, cache-line aligned memory for metadata; NULL when out of memory. */
HPI_CORE void *hpi_meta_alloc(size_t size)
{
    size = (size + META_ALIGN - 1) & ~(META_ALIGN - 1);
    hpi_lock(&meta.lock);
    if (meta.end - meta.next < size) {
        size_t chunk = size > META_CHUNK ? size : META_CHUNK;
        void *mem;
        if (hpi_os_reserve(chunk, 4096, &mem) != 0) {
            hpi_unlock(&meta.lock);
            return NULL;
        }
        meta.next = (uintptr_t)mem;
        meta.end = meta.next + chunk;
        meta.sys += chunk;
    }
    void *p = (void *)meta.next;
    meta.next += size;
    hpi_unlock(&meta.lock);
    return p;
}

uint64_t hpi_meta_sys(void)
{
    hpi_lock(&meta.lock);
    uint64_t v = meta.sys;
    hpi_unlock(&meta.lock);
    return v;
}

void hpi_meta_fork_prepare(void) { hpi_lock(&meta.lock); }
void hpi_meta_fork_parent(void) { hpi_unlock(&meta.lock); }
void hpi_meta_fork_child(void) { hpi_lock_reinit(&meta.lock); }
