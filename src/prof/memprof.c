/* memprof.c: the heap profile's store and writer.  See prof.h; the sampling
 * decision is in alloc/sample.c.
 *
 * A bucket counts the sampled objects of one (stack, size) pair: allocated
 * and freed objects and bytes, as in Go's mprof.go.  The size in the key is
 * rounded, as Go's is: to the size class, and above 32 KiB to 1/8 of its
 * power of two, so that a stack allocating sizes of every value still makes
 * a bounded number of buckets (at most ~68 + 8 per power of two).  Buckets are found
 * through a hash table and never freed; a table of live sampled objects
 * (open addressing with backward-shift deletion) maps each object to its
 * bucket so that its free is counted.  One lock guards both; it is taken only
 * on sampled allocations and frees of sampled objects (1 per 512 KiB
 * allocated by default), never in a signal handler.  Memory comes from
 * hpi_meta_alloc, so recording never calls malloc.
 *
 * Bytes counted are the bytes asked for (malloc's argument), which the
 * countdown in the allocator also counts, so the unsampling below is
 * unbiased; each live object's slot keeps its size for the free.  (Go
 * counts size-class bytes.)  A sample's "bytes" label is its bucket's mean
 * object size, exact when a stack always asks for one size.
 *
 * When figures count.  malloc's objects count at once: there is no cycle
 * to wait for.  GC objects (hotpath/gc.h) count as of the last completed
 * collection, as in Go: an allocation made in epoch e (after e mark
 * terminations) and the frees the sweep after termination e+1 finds wait
 * in the bucket's pend[e % 3] and are added to its counters together once
 * that sweep is done (hpi_memprof_gc_publish), so the profile shows the
 * heap as the last collection found it, not garbage made since.
 */
#define _GNU_SOURCE
#include "prof/memprof.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "alloc/internal.h"
#include "hotpath/memstats.h"
#include "prof/buckets.h"
#include "prof/pprof.h"
#include "prof/prof.h"
#include "prof/stack.h"
#include "prof/symbolize.h"

/* Counters of a heap bucket (buckets.h): objects and bytes allocated and
 * freed; the bucket's key is the rounded object size (size_key). */
enum { ALLOCS, ALLOC_BYTES, FREES, FREE_BYTES };
/* Live sampled objects: open addressing; addr 0 = empty slot. */
typedef struct obj_slot {
    uintptr_t addr;
    hpi_bucket_t *bucket;
    size_t size; /* the bytes asked for */
} obj_slot_t;

/* A bucket's GC events waiting for their cycle (bucket->ext). */
typedef struct gc_pend {
    struct gc_pend *next; /* store lock: mp.pend */
    hpi_bucket_t *b;
    double v[3][HPI_BUCKET_VALUES]; /* store lock: by epoch % 3 */
} gc_pend_t;

/* The buckets' lock (store.lock) also guards the object table. */
static struct {
    hpi_buckets_t store;
    gc_pend_t *pend;            /* store.lock: every bucket with GC events */
    uint64_t published;         /* store.lock: the last epoch published */
    obj_slot_t *objs;           /* store.lock: capacity `cap`, a power of two */
    size_t cap, nobjs;          /* lock */
    uintptr_t self_lo, self_hi; /* libhotpath's text, when it is a shared library */
} mp;

/* log and exp without libm, which the library then need not load into every
 * process (about 400 KiB of resident memory).  Enough precision for
 * sampling distances and their correction. */
#define LN2 0.6931471805599453

/* Natural logarithm of a normal x > 0: x = m * 2^e with m in [1, 2), and
 * log m = 2 atanh(s), s = (m - 1) / (m + 1) in [0, 1/3): the series to s^11
 * errs by less than 1e-7. */
static double ln(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7ff) - 1023;
    bits = (bits & ((UINT64_C(1) << 52) - 1)) | (UINT64_C(1023) << 52);
    double m;
    memcpy(&m, &bits, sizeof m);
    double s = (m - 1) / (m + 1), s2 = s * s;
    double t =
        s *
        (2 + s2 * (2.0 / 3 + s2 * (2.0 / 5 + s2 * (2.0 / 7 + s2 * (2.0 / 9 + s2 * (2.0 / 11))))));
    return t + e * LN2;
}

/* e^x for x <= 0: x = k ln 2 + r with |r| <= ln 2 / 2, e^r by its series to
 * r^13, 2^k built in the exponent bits. */
static double exp_neg(double x)
{
    if (x < -700) return 0;
    int k = (int)(x / LN2 - 0.5);
    double r = x - k * LN2, term = 1, sum = 1;
    for (int i = 1; i < 14; i++) {
        term *= r / i;
        sum += term;
    }
    uint64_t bits = (uint64_t)(k + 1023) << 52;
    double p;
    memcpy(&p, &bits, sizeof p);
    return sum * p;
}

HPI_CORE int64_t hpi_memprof_next_sample(int64_t rate, uint64_t *seed)
{
    if (rate <= 0) return INT64_MAX;
    if (rate == 1) return 0;
    uint64_t x = *seed; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *seed = x;
    double u = (double)((x * 0x2545F4914F6CDD1DULL) >> 11) * 0x1.0p-53; /* [0, 1) */
    double d = -ln(1 - u) * (double)rate; /* Exp(mean rate); 1 - u >= 2^-53 */
    return d >= 0x1.0p62 ? INT64_MAX / 2 : (int64_t)d;
}

static size_t slot_of(uintptr_t addr, size_t cap)
{
    return (size_t)((addr >> 4) * 0x9E3779B97F4A7C15ULL >> 20) & (cap - 1);
}

static bool objs_grow_locked(void)
{
    size_t cap = mp.cap ? mp.cap * 2 : 1024;
    obj_slot_t *t = hpi_meta_alloc(cap * sizeof *t);
    if (t == NULL) return false;
    for (size_t i = 0; i < mp.cap; i++) {
        if (mp.objs[i].addr == 0) continue;
        size_t j = slot_of(mp.objs[i].addr, cap);
        while (t[j].addr != 0)
            j = (j + 1) & (cap - 1);
        t[j] = mp.objs[i];
    }
    mp.objs = t; /* the old table stays in metadata memory (never reused) */
    mp.cap = cap;
    return true;
}

HPI_CORE static void objs_insert_locked(uintptr_t addr, hpi_bucket_t *b, size_t size)
{
    if (2 * (mp.nobjs + 1) > mp.cap && !objs_grow_locked()) return;
    size_t j = slot_of(addr, mp.cap);
    while (mp.objs[j].addr != 0 && mp.objs[j].addr != addr)
        j = (j + 1) & (mp.cap - 1);
    if (mp.objs[j].addr == 0) mp.nobjs++;
    mp.objs[j] = (obj_slot_t){addr, b, size};
}

/* Remove addr; its bucket (and *size), or NULL when it was not recorded. */
HPI_CORE static hpi_bucket_t *objs_remove_locked(uintptr_t addr, size_t *size)
{
    if (mp.cap == 0) return NULL;
    size_t mask = mp.cap - 1, j = slot_of(addr, mp.cap);
    while (mp.objs[j].addr != addr) {
        if (mp.objs[j].addr == 0) return NULL;
        j = (j + 1) & mask;
    }
    hpi_bucket_t *b = mp.objs[j].bucket;
    *size = mp.objs[j].size;
    mp.nobjs--;
    for (size_t k = (j + 1) & mask; mp.objs[k].addr != 0; k = (k + 1) & mask) {
        size_t home = slot_of(mp.objs[k].addr, mp.cap);
        /* Move k into the hole at j unless its home lies in (j, k]. */
        bool stays = j <= k ? (home > j && home <= k) : (home > j || home <= k);
        if (stays) continue;
        mp.objs[j] = mp.objs[k];
        j = k;
    }
    mp.objs[j].addr = 0;
    return b;
}

/* Drop the allocator's own frames from the leaf end of a stack. */
HPI_CORE static int skip_own_frames(uintptr_t *pcs, int n)
{
    int i = 0;
    while (i < n - 1 && pcs[i] >= mp.self_lo && pcs[i] < mp.self_hi)
        i++;
    if (i > 0) memmove(pcs, pcs + i, (size_t)(n - i) * sizeof pcs[0]);
    return n - i;
}

/* The size in a bucket's key: the size class's size, or above 32 KiB the
 * size rounded up to a multiple of 1/8 of its power of two. */
static uint64_t size_key(size_t size)
{
    if (size <= HPI_MAX_SMALL) return hpi_class_size[hpi_size_class(size)];
    size_t step = ((size_t)1 << (63 - __builtin_clzll((unsigned long long)size))) / 8;
    return (size + step - 1) & ~(step - 1);
}

static gc_pend_t *pend_of_locked(hpi_bucket_t *b)
{
    if (b->ext == NULL) {
        gc_pend_t *g = hpi_meta_alloc(sizeof *g);
        if (g == NULL) return NULL;
        memset(g, 0, sizeof *g);
        g->b = b;
        g->next = mp.pend;
        mp.pend = g;
        b->ext = g;
    }
    return b->ext;
}

/* The counters an event of b's counts in: its own (malloc's objects), or
 * the waiting ones of an epoch (GC objects); NULL when out of memory. */
HPI_CORE static double *counters_locked(hpi_bucket_t *b, bool gc, uint64_t epoch)
{
    if (!gc) return b->v;
    gc_pend_t *g = pend_of_locked(b);
    return g != NULL ? g->v[epoch % 3] : NULL;
}

/* Inlined into its callers, so that the stack has no frame of its own to
 * drop when the library is linked statically (drop_frames cuts hpi_.*). */
static inline __attribute__((always_inline)) void record_alloc(void *p, size_t size, bool gc,
                                                                uint64_t epoch)
{
    uintptr_t pcs[HPI_STACK_MAX];
    /* From the sampling function's frame (which the entry point may have
     * tail-called), drop the allocator's frames by address when the library
     * is a shared object; when it is linked statically, the profile's
     * drop_frames does it by name. */
    int n = skip_own_frames(pcs, hpi_stack_here(pcs, HPI_STACK_MAX, 0));
    hpi_lock(&mp.store.lock);
    hpi_bucket_t *b = hpi_buckets_find_locked(&mp.store, pcs, n, size_key(size));
    double *v = b != NULL ? counters_locked(b, gc, epoch) : NULL;
    if (v != NULL) {
        v[ALLOCS] += 1;
        v[ALLOC_BYTES] += (double)size;
        objs_insert_locked((uintptr_t)p, b, size);
    }
    hpi_unlock(&mp.store.lock);
}

/* A GC object's free is counted with the allocations of the epoch before
 * the sweep's. */
HPI_CORE static void record_free(void *p, bool gc, uint64_t epoch)
{
    hpi_lock(&mp.store.lock);
    size_t size;
    hpi_bucket_t *b = objs_remove_locked((uintptr_t)p, &size);
    double *v = b != NULL ? counters_locked(b, gc, epoch + 2) : NULL;
    if (v != NULL) {
        v[FREES] += 1;
        v[FREE_BYTES] += (double)size;
    }
    hpi_unlock(&mp.store.lock);
}

HPI_CORE void hpi_memprof_alloc(void *p, size_t size) { record_alloc(p, size, false, 0); }
HPI_CORE void hpi_memprof_free(void *p) { record_free(p, false, 0); }
void hpi_memprof_alloc_gc(void *p, size_t size, uint64_t epoch) { record_alloc(p, size, true, epoch); }
void hpi_memprof_free_gc(void *p, uint64_t epoch) { record_free(p, true, epoch); }

void hpi_memprof_gc_publish(uint64_t epoch)
{
    if (epoch == 0) return;
    hpi_lock(&mp.store.lock);
    for (; mp.published < epoch; mp.published++) {
        unsigned k = (unsigned)(mp.published % 3); /* the epoch before mp.published + 1 */
        for (gc_pend_t *g = mp.pend; g != NULL; g = g->next)
            for (int i = 0; i < HPI_BUCKET_VALUES; i++) {
                g->b->v[i] += g->v[k][i];
                g->v[k][i] = 0;
            }
    }
    hpi_unlock(&mp.store.lock);
}

int64_t hpi_memprof_count(void)
{
    return hpi_buckets_count(&mp.store);
}

/* ---- writing ---- */

/* Go's scaleHeapSample: from sampled (count, bytes) to an estimate of the
 * true figures, given that an object of `avg` bytes is sampled with
 * probability 1 - exp(-avg / rate). */
static void unsample(double count, double bytes, int64_t rate, int64_t *oc, int64_t *ob)
{
    if (count == 0 || bytes == 0) {
        *oc = *ob = 0;
        return;
    }
    if (rate <= 1) {
        *oc = (int64_t)count;
        *ob = (int64_t)bytes;
        return;
    }
    double avg = bytes / count;
    double scale = 1 / (1 - exp_neg(-avg / (double)rate));
    *oc = (int64_t)((double)count * scale);
    *ob = (int64_t)((double)bytes * scale);
}

/* Frames that are the allocator's own when it is linked statically (in a
 * shared library they are cut at capture): pprof cuts them and everything
 * leaf-ward, so the allocating function is the leaf, as in Go. */
#define ALLOC_FRAMES                                                                               \
    "malloc|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|"     \
    "_Zn[wa]m.*|hpi_.*"

static int write_pprof(int fd, int allocs, const hpi_bucket_copy_t *r, size_t n, int64_t rate)
{
    static const hpi_pprof_vtype_t types[] = {{"alloc_objects", "count"},
                                              {"alloc_space", "bytes"},
                                              {"inuse_objects", "count"},
                                              {"inuse_space", "bytes"}};
    hpi_pprof_t *p = hpi_pprof_new(types, 4, allocs ? "alloc_space" : NULL);
    if (p == NULL) return ENOMEM;
    hpi_pprof_set_period(p, (hpi_pprof_vtype_t){"space", "bytes"}, rate);
    hpi_pprof_set_time(p, hpi_unix_nanos(), 0);
    hpi_pprof_set_drop_frames(p, ALLOC_FRAMES);
    int err = 0;
    for (size_t i = 0; i < n && err == 0; i++) {
        int64_t v[4];
        const double *c = r[i].v;
        if (c[ALLOCS] == 0) continue; /* GC objects not published yet */
        unsample(c[ALLOCS], c[ALLOC_BYTES], rate, &v[0], &v[1]);
        unsample(c[ALLOCS] - c[FREES], c[ALLOC_BYTES] - c[FREE_BYTES], rate, &v[2], &v[3]);
        int64_t mean = c[ALLOCS] > 0 ? (int64_t)(c[ALLOC_BYTES] / c[ALLOCS] + 0.5) : 0;
        hpi_pprof_label_t bytes = {"bytes", NULL, mean, NULL};
        err = hpi_pprof_add(p, r[i].b->pcs, r[i].b->npcs, false, v, &bytes, 1);
    }
    if (err == 0) err = hpi_pprof_write(p, fd);
    hpi_pprof_free(p);
    return err;
}

/* Go's legacy text form: a header of totals, then per record
 * "inuse_objects: inuse_bytes [alloc_objects: alloc_bytes] @ pcs" and one
 * "#" line per frame.  Counts are the sampled ones, as Go prints them; the
 * "heap/2*rate" tag tells pprof how to unsample them. */
static void text_frames(int fd, hpi_symtab_t *t, const uintptr_t *pcs, int npcs)
{
    hpi_frame_t fr[8];
    for (int i = 0; i < npcs; i++) {
        uint64_t pc = pcs[i] - 1;
        int nf = t != NULL ? hpi_symtab_lookup(t, pc, fr, 8) : 0;
        for (int k = 0; k < nf; k++)
            dprintf(fd, "#\t%#" PRIx64 "\t%s\t%s:%" PRId64 "\n", pc, fr[k].func, fr[k].file,
                    fr[k].line);
    }
}

static int write_text(int fd, const hpi_bucket_copy_t *r, size_t n, int64_t rate)
{
    int64_t tot[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        const double *c = r[i].v;
        tot[0] += (int64_t)(c[ALLOCS] - c[FREES]);
        tot[1] += (int64_t)(c[ALLOC_BYTES] - c[FREE_BYTES]);
        tot[2] += (int64_t)c[ALLOCS];
        tot[3] += (int64_t)c[ALLOC_BYTES];
    }
    if (dprintf(fd,
                "heap profile: %" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64 "] @ heap/%" PRId64
                "\n",
                tot[0], tot[1], tot[2], tot[3], 2 * rate) < 0)
        return errno;
    hpi_symtab_t *t = hpi_symtab_open();
    for (size_t i = 0; i < n; i++) {
        const hpi_bucket_t *b = r[i].b;
        const double *c = r[i].v;
        if (c[ALLOCS] == 0) continue; /* GC objects not published yet */
        dprintf(fd, "%.0f: %.0f [%.0f: %.0f] @", c[ALLOCS] - c[FREES],
                c[ALLOC_BYTES] - c[FREE_BYTES], c[ALLOCS], c[ALLOC_BYTES]);
        for (int k = 0; k < b->npcs; k++)
            dprintf(fd, " %#" PRIxPTR, b->pcs[k] - 1);
        dprintf(fd, "\n");
        text_frames(fd, t, b->pcs, b->npcs);
    }
    if (t != NULL) hpi_symtab_close(t);
    hp_memstats_t ms;
    hp_read_memstats(&ms);
    if (dprintf(fd,
                "\n# hotpath MemStats\n# Alloc = %" PRIu64 "\n# TotalAlloc = %" PRIu64
                "\n# Sys = %" PRIu64 "\n# Mallocs = %" PRIu64 "\n# Frees = %" PRIu64
                "\n# HeapAlloc = %" PRIu64 "\n# HeapSys = %" PRIu64 "\n# HeapIdle = %" PRIu64
                "\n# HeapInuse = %" PRIu64 "\n# HeapReleased = %" PRIu64
                "\n# HeapObjects = %" PRIu64 "\n",
                ms.alloc, ms.total_alloc, ms.sys, ms.mallocs, ms.frees, ms.heap_alloc, ms.heap_sys,
                ms.heap_idle, ms.heap_inuse, ms.heap_released, ms.heap_objects) < 0)
        return errno;
    return 0;
}

int hpi_memprof_write(int fd, int debug, int allocs)
{
    if (debug < 0) return EINVAL;
    hpi_prof_internal_enter();
    hpi_bucket_copy_t *r;
    size_t n;
    int64_t rate = hpi_options.memprofile_rate;
    int err = hpi_buckets_copy(&mp.store, &r, &n);
    if (err == 0) {
        err = debug == 0 ? write_pprof(fd, allocs, r, n, rate) : write_text(fd, r, n, rate);
        free(r);
    }
    hpi_prof_internal_leave();
    return err;
}

void hpi_memprof_fork_prepare(void)
{
    hpi_lock(&mp.store.lock);
}
void hpi_memprof_fork_parent(void)
{
    hpi_unlock(&mp.store.lock);
}
void hpi_memprof_fork_child(void)
{
    hpi_lock_reinit(&mp.store.lock);
}

/* Find libhotpath's executable segment, if it is a shared object, so that
 * its frames can be dropped from sampled stacks.  At start-up: never in the
 * sampled path, which must not take the loader's lock. */
HPI_CORE static int find_self(struct dl_phdr_info *info, size_t sz, void *arg)
{
    (void)sz;
    uintptr_t me = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (me < lo || me >= hi) continue;
        if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0') return 1; /* static */
        mp.self_lo = lo;
        mp.self_hi = hi;
        return 1;
    }
    return 0;
}

HPI_CORE __attribute__((constructor(102))) static void memprof_init(void)
{
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&memprof_init);
}
