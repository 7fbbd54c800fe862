/* coretext_test: what a small program runs of libhotpath.so is all in the
 * core code segment (HPI_CORE, src/core.ld), so that the rest of the
 * library's code never becomes resident in it.
 *
 * The kernel maps a file's pages around each fault (fault-around, up to 16
 * pages within the mapping): one call into a function left outside the
 * core segment makes up to 64 KiB of code resident, which on a small
 * program is most of the 10% RSS margin to glibc that issue 2 asks for
 * (pair-batch peaked at 1700 KiB instead of 1564 when one such function,
 * called when a span's objects have all come back, was not marked).
 *
 * The program runs the allocation patterns of small programs (pairs, batch
 * rounds, many sizes, calloc, realloc growth, aligned and large objects,
 * threads that allocate and exit, cross-thread frees), then reads
 * /proc/self/pagemap for the library's executable segments: the one holding
 * malloc must have pages present (else the method sees nothing), and every
 * other one none.  A failure names a present page's offset in the library
 * (addr2line -f -e libhotpath.so 0xOFFSET names the function).
 *
 * Usage: coretext_test   (linked with libhotpath.so; prints "N passed, N failed")
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"

#define SLOTS 1000

static void *slot[SLOTS];
static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void pairs_and_batches(void)
{
    for (int i = 0; i < 200000; i++) {
        char *volatile p = malloc(32);
        p[0] = 1;
        free(p);
    }
    for (int r = 0; r < 50; r++) {
        for (int i = 0; i < SLOTS; i++)
            slot[i] = malloc(32);
        for (int i = 0; i < SLOTS; i++)
            free(slot[i]);
    }
}

static void many_sizes(void)
{
    for (int i = 0; i < 50000; i++) {
        size_t k = next_rand() % SLOTS;
        free(slot[k]);
        slot[k] = malloc(1 + next_rand() % 4096);
        memset(slot[k], 1, 1);
    }
    for (int i = 0; i < SLOTS; i++) {
        free(slot[i]);
        slot[i] = NULL;
    }
}

static void other_entry_points(void)
{
    for (int b = 0; b < 10; b++) {
        char *p = calloc(1, 1);
        for (size_t n = 1; n < 65536; n += 1 + next_rand() % 32) {
            char *q = realloc(p, n);
            if (q == NULL) break;
            p = q;
            p[n - 1] = 1;
        }
        free(p);
    }
    void *a = NULL;
    if (posix_memalign(&a, 64, 100) == 0) free(a);
    free(aligned_alloc(256, 512));
    char *big = malloc(100 << 10), *huge = malloc(1 << 20);
    CHECK(big != NULL && huge != NULL && malloc_usable_size(big) >= (100 << 10));
    free(big);
    free(huge);
}

/* A thread allocates objects that main frees (remote frees), and exits. */
static void *producer(void *arg)
{
    void **out = arg;
    for (int i = 0; i < SLOTS; i++)
        out[i] = malloc(48);
    return NULL;
}

static void threads(void)
{
    for (int t = 0; t < 4; t++) {
        pthread_t th;
        if (!CHECK(pthread_create(&th, NULL, producer, slot) == 0)) return;
        pthread_join(th, NULL);
        for (int i = 0; i < SLOTS; i++)
            free(slot[i]);
    }
}

/* Pages of [start, end) present in this process (pagemap bit 63); the
 * offset of the first one from base goes to *first. */
static size_t present_pages(int fd, uintptr_t start, uintptr_t end, uintptr_t base,
                            uintptr_t *first)
{
    size_t n = 0, ps = (size_t)sysconf(_SC_PAGESIZE);
    for (uintptr_t a = start & ~(ps - 1); a < end; a += ps) {
        uint64_t e = 0;
        if (pread(fd, &e, sizeof e, (off_t)(a / ps * sizeof e)) != (ssize_t)sizeof e) continue;
        if (e >> 63 && n++ == 0) *first = a - base;
    }
    return n;
}

typedef struct {
    uintptr_t lib_base, malloc_addr;
    int fd, segments, core_seen;
} walk_t;

static int check_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    walk_t *w = arg;
    if (info->dlpi_addr != w->lib_base) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        uintptr_t start = w->lib_base + ph->p_vaddr, end = start + ph->p_memsz, first = 0;
        size_t n = present_pages(w->fd, start, end, w->lib_base, &first);
        w->segments++;
        if (w->malloc_addr >= start && w->malloc_addr < end) {
            w->core_seen = 1;
            CHECK(n > 0); /* the method sees the code that ran */
            continue;
        }
        if (!CHECK_EQ(n, 0))
            fprintf(stderr, "    %zu pages of code outside the core segment [%#lx, %#lx) "
                            "are resident; the first at offset %#lx\n",
                    n, (unsigned long)ph->p_vaddr, (unsigned long)(ph->p_vaddr + ph->p_memsz),
                    (unsigned long)first);
    }
    return 1;
}

int main(void)
{
    pairs_and_batches();
    many_sizes();
    other_entry_points();
    threads();

    walk_t w = {0};
    Dl_info di;
    w.malloc_addr = (uintptr_t)dlsym(RTLD_DEFAULT, "malloc");
    if (!CHECK(dladdr((void *)w.malloc_addr, &di) != 0 && strstr(di.dli_fname, "libhotpath")))
        return TEST_DONE();
    w.lib_base = (uintptr_t)di.dli_fbase;
    w.fd = open("/proc/self/pagemap", O_RDONLY);
    if (!CHECK(w.fd >= 0)) return TEST_DONE();
    dl_iterate_phdr(check_segments, &w);
    close(w.fd);
    CHECK(w.core_seen);
    CHECK_EQ(w.segments, 2); /* core code and the rest */
    printf("coretext: %d executable segments of %s checked\n", w.segments, di.dli_fname);
    return TEST_DONE();
}
