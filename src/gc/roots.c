/* roots.c: the roots of marking.  See gc.c for the design.
 *
 * Roots are the writable segments (data, bss) of every loaded module, the
 * ranges given to hp_gc_add_roots, and the stacks of the stopped threads
 * from their saved stack pointers up (which holds their registers, see
 * stw.c).  hotpath's own data is left out (its page maps are large and hold
 * no pointers to GC objects): the whole module when hotpath is a shared
 * library, the arena map when it is linked statically.
 *
 * While the world is stopped the roots are copied into a snapshot buffer,
 * so that marking can read them after the threads run on: that is the
 * snapshot the write barrier's deletion rule (gc.c) relies on.  The module
 * list is read with dl_iterate_phdr before the stop, because the loader's
 * lock may be held by a stopped thread.  The snapshot buffer is kept from
 * cycle to cycle (mmap'd, grown when needed) so that copying does not fault
 * pages in while the world waits.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>

#include "gc/internal.h"
#include "hotpath/gc.h"

typedef struct range {
    uintptr_t lo, hi;
} range_t;

/* A growable array of ranges in mmap'd memory. */
typedef struct ranges {
    range_t *v;
    size_t n, cap;
} ranges_t;

static bool ranges_add(ranges_t *r, uintptr_t lo, uintptr_t hi)
{
    if (hi <= lo) return true;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        void *m = mmap(NULL, cap * sizeof(range_t), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return false;
        if (r->n) memcpy(m, r->v, r->n * sizeof(range_t));
        if (r->v) munmap(r->v, r->cap * sizeof(range_t));
        r->v = m;
        r->cap = cap;
    }
    r->v[r->n++] = (range_t){lo, hi};
    return true;
}

static struct {
    hpi_lock_t lock;      /* taken inside crit only */
    ranges_t user;        /* lock: hp_gc_add_roots */
    ranges_t modules;     /* collector: writable segments, read before a stop */
    ranges_t snap;        /* collector: where each copied range lies in buf */
    char *buf;            /* collector: the snapshot */
    size_t buf_cap, buf_len;
    uint64_t stack_bytes, global_bytes; /* collector: the last snapshot's */
} roots = {.lock = HPI_LOCK_INIT};

/* ---- registered ranges ---- */

HP_API int hp_gc_add_roots(void *ptr, size_t len)
{
    uintptr_t lo = (uintptr_t)ptr, hi;
    if (ptr == NULL || len == 0 || __builtin_add_overflow(lo, len, &hi)) return EINVAL;
    hpi_gc_init();
    int err = 0;
    hpi_gc_enter();
    hpi_lock(&roots.lock);
    for (size_t i = 0; i < roots.user.n; i++)
        if (lo < roots.user.v[i].hi && roots.user.v[i].lo < hi) err = EINVAL;
    if (err == 0 && !ranges_add(&roots.user, lo, hi)) err = ENOMEM;
    hpi_unlock(&roots.lock);
    hpi_gc_leave();
    return err;
}

HP_API int hp_gc_remove_roots(void *ptr)
{
    int err = ENOENT;
    hpi_gc_enter();
    hpi_lock(&roots.lock);
    for (size_t i = 0; i < roots.user.n; i++)
        if (roots.user.v[i].lo == (uintptr_t)ptr) {
            roots.user.v[i] = roots.user.v[--roots.user.n];
            err = 0;
            break;
        }
    hpi_unlock(&roots.lock);
    hpi_gc_leave();
    return err;
}

/* ---- modules ---- */

static uintptr_t own_base(void)
{
    Dl_info info;
    if (dladdr((void *)own_base, &info) == 0) return 0;
    return (uintptr_t)info.dli_fbase;
}

/* Add [lo, hi) less the arena map (a statically linked hotpath). */
static void add_segment(uintptr_t lo, uintptr_t hi)
{
    uintptr_t mlo = (uintptr_t)hpi_arena_map, mhi = mlo + sizeof hpi_arena_map;
    if (mhi <= lo || mlo >= hi) {
        ranges_add(&roots.modules, lo, hi);
        return;
    }
    ranges_add(&roots.modules, lo, mlo > lo ? mlo : lo);
    ranges_add(&roots.modules, mhi < hi ? mhi : hi, hi);
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t self = *(uintptr_t *)arg;
    const char *name = info->dlpi_name;
    /* The main program's base may be 0 (non-PIE); a library's never is. */
    if (self != 0 && info->dlpi_addr == self && name != NULL && name[0] != 0) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        add_segment(lo, lo + ph->p_memsz);
    }
    return 0;
}

static bool buf_reserve(size_t need)
{
    if (need <= roots.buf_cap) return true;
    size_t cap = roots.buf_cap ? roots.buf_cap : (1 << 20);
    while (cap < need) cap *= 2;
    /* Populated: a page fault while the world waits would lengthen the pause. */
    void *m = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    if (m == MAP_FAILED) return false;
    if (roots.buf) munmap(roots.buf, roots.buf_cap);
    roots.buf = m;
    roots.buf_cap = cap;
    return true;
}

static size_t total(const ranges_t *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) n += r->v[i].hi - r->v[i].lo;
    return n;
}

/* Read the module list and size the snapshot buffer for the modules, the
 * last snapshot's stacks and registered ranges with room to grow, and
 * 1 MiB more (before the world stops). */
void hpi_gc_roots_prepare(void)
{
    static uintptr_t self;
    if (self == 0) self = own_base();
    roots.modules.n = 0;
    dl_iterate_phdr(module_cb, &self);
    size_t last = roots.stack_bytes + roots.global_bytes;
    buf_reserve(total(&roots.modules) + last + last / 2 + (1 << 20));
}

static void stack_size(uintptr_t lo, uintptr_t hi, void *arg) { *(size_t *)arg += hi - lo; }

static void copy_range(uintptr_t lo, uintptr_t hi)
{
    lo &= ~(uintptr_t)7;
    size_t len = hi - lo;
    if (roots.buf_len + len > roots.buf_cap) return; /* cannot happen: sized first */
    memcpy(roots.buf + roots.buf_len, (const void *)lo, len);
    uintptr_t at = (uintptr_t)roots.buf + roots.buf_len;
    ranges_add(&roots.snap, at, at + len);
    roots.buf_len += (len + 7) & ~(size_t)7;
}

static void copy_stack(uintptr_t lo, uintptr_t hi, void *arg)
{
    (void)arg;
    copy_range(lo, hi);
}

int hpi_gc_roots_snapshot(void)
{
    size_t stacks = 0;
    hpi_gc_stopped_stacks(stack_size, &stacks);
    size_t globals = total(&roots.modules) + total(&roots.user);
    /* + 8 per range for alignment slack */
    size_t slack = 8 * (roots.modules.n + roots.user.n + 1024);
    if (!buf_reserve(stacks + globals + slack)) return ENOMEM;
    roots.buf_len = 0;
    roots.snap.n = 0;
    for (size_t i = 0; i < roots.modules.n; i++) copy_range(roots.modules.v[i].lo, roots.modules.v[i].hi);
    for (size_t i = 0; i < roots.user.n; i++) copy_range(roots.user.v[i].lo, roots.user.v[i].hi);
    hpi_gc_stopped_stacks(copy_stack, NULL);
    roots.stack_bytes = stacks;
    roots.global_bytes = globals;
    return 0;
}

void hpi_gc_roots_scan(void)
{
    for (size_t i = 0; i < roots.snap.n; i++) hpi_gc_scan_range(roots.snap.v[i].lo, roots.snap.v[i].hi);
    roots.snap.n = 0;
}

uint64_t hpi_gc_roots_stack_bytes(void) { return roots.stack_bytes; }
uint64_t hpi_gc_roots_global_bytes(void) { return roots.global_bytes; }

void hpi_gc_roots_fork_prepare(void) { hpi_lock(&roots.lock); }
void hpi_gc_roots_fork_parent(void) { hpi_unlock(&roots.lock); }
void hpi_gc_roots_fork_child(void) { hpi_lock_reinit(&roots.lock); }
