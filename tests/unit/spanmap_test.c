/* spanmap_test: any pointer into an object maps to its span and to the
 * object's start in O(1) (what the GC will use for conservative roots), and
 * pointers hotpath does not own map to nothing.
 *
 * Built from the library's objects (not the shared library) so that it can
 * call the internal hpi_span_of_checked and hpi_object_start.  For objects of
 * every size class and of several large sizes, every 8th byte offset (and the
 * last byte) of the object must map to a span of state SMALL or LARGE whose
 * class matches the object and whose object_start is the object itself.
 * The page info (hpi_arena_t.info, realloc's and malloc_usable_size's way
 * around the span) must agree with the span at every one of those offsets,
 * be cleared when a large object is freed and grown with it in place, and
 * never be set for GC objects, which realloc must refuse.
 *
 * First, in the fresh process: a new span's objects are carved an OS page
 * at a time, so that malloc of one object of a class with a 14-page span
 * leaves the pages it does not reach untouched (mincore), and the span's
 * other objects still come out one by one, distinct and in the span.
 *
 * Usage: spanmap_test   (prints "N passed, N failed")
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc/internal.h"
#include "hotpath/gc.h"
#include "hotpath/hotpath.h"
#include "hotpath/prof.h"
#include "test.h"

/* What the page info says of q in span s: the usable bytes from q, or 0. */
static size_t info_usable(const void *q)
{
    uint32_t info = hpi_page_info(q);
    return info != 0 ? hpi_info_usable(q, info) : 0;
}

/* The page info of q, in-use span s, agrees with s. */
static int info_wrong(hpi_span_t *s, const char *q)
{
    if (s->sizeclass != 0)
        return info_usable(q) != s->elemsize - (size_t)(q - (char *)hpi_object_start(s, q));
    if ((uintptr_t)q == s->base) return hpi_page_info(q) != (HPI_INFO_LARGE | s->npages);
    return info_usable(q) != 0; /* inside a large object: the span tells */
}

static void check_object(void *p, size_t size)
{
    hpi_span_t *s0 = hpi_span_of_checked(p);
    if (!CHECK_MSG(s0 != NULL, "malloc(%zu) = %p has no span", size, p)) return;
    size_t usable = hp_usable_size(p);
    CHECK_GE(usable, size);
    int bad = 0, bad_info = 0;
    for (size_t off = 0; off <= usable; off += 8) {
        char *q = (char *)p + (off < usable ? off : usable - 1); /* ... and the last byte */
        hpi_span_t *s = hpi_span_of_checked(q);
        bad += s != s0 || hpi_object_start(s, q) != p;
        bad_info += info_wrong(s0, q);
    }
    CHECK_MSG(bad == 0, "malloc(%zu): %d interior pointers map elsewhere", size, bad);
    CHECK_MSG(bad_info == 0, "malloc(%zu): page info wrong at %d offsets", size, bad_info);
    CHECK_EQ(s0->sizeclass, size <= HPI_MAX_SMALL ? hpi_size_class(size) : 0u);
    CHECK(s0->state == (size <= HPI_MAX_SMALL ? HPI_SPAN_SMALL : HPI_SPAN_LARGE));
    CHECK(atomic_load(&s0->gc) == NULL); /* malloc spans are not GC spans */
}

/* A large object grown and shrunk in place keeps its page info exact. */
static void test_large_resize(void)
{
    void *block = malloc(8 << 20), *p = malloc(100000);
    free(block); /* likely free pages after p, to grow into */
    for (size_t size = 100000; size < (4 << 20); size = size * 3 / 2) {
        p = realloc(p, size);
        if (!CHECK(p != NULL)) return;
        check_object(p, size);
    }
    p = realloc(p, 40000);
    check_object(p, 40000);
    free(p);
}

/* GC objects have no page info (their spans are the GC's): realloc refuses
 * them, and malloc_usable_size goes through the span. */
static void test_gc_objects(void)
{
    char *g = hp_gc_alloc(100);
    if (!CHECK(g != NULL)) return;
    CHECK_EQ(hpi_page_info(g), 0u);
    CHECK_GE(hp_usable_size(g), 100);
    errno = 0;
    CHECK(realloc(g, 90) == NULL && errno == EINVAL);
    CHECK(realloc(g, 1000) == NULL && errno == EINVAL);
}

/* Resident OS pages of [base, base + len). */
static size_t resident_pages(uintptr_t base, size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = len / pg, in = 0;
    unsigned char vec[64];
    if (n > sizeof vec || mincore((void *)base, len, vec) != 0) return (size_t)-1;
    for (size_t i = 0; i < n; i++)
        in += vec[i] & 1;
    return in;
}

static void test_fresh_span_untouched(void)
{
    /* A class whose span has many more pages than one object reaches
     * (4352 bytes: 13 objects in 56 KiB), not used before in this process. */
    unsigned c = hpi_size_class(4352);
    /* A sampled object would come from a span of its own. */
    int64_t rate = hp_set_memprofile_rate(0);
    void *p = malloc(4352);
    hpi_span_t *s = hpi_span_of_checked(p);
    if (!CHECK(s != NULL && s->sizeclass == c && s->npages >= 4)) return;
    size_t len = s->npages << HPI_PAGE_SHIFT;
    /* Object 0 and the link of object 1 lie in the first two 4 KiB pages. */
    size_t in = resident_pages(s->base, len);
    CHECK_MSG(in <= 2, "one object of a fresh %zu-byte span made %zu pages resident", len, in);
    void *o[64];
    size_t n = 0;
    while (n < (size_t)s->nelems - 1 && hpi_span_of_checked(o[n] = malloc(4352)) == s)
        n++;
    CHECK_EQ(n, (size_t)s->nelems - 1);
    for (size_t i = 0; i < n; i++) {
        CHECK(o[i] != p && (uintptr_t)o[i] >= s->base && (uintptr_t)o[i] < s->base + len);
        for (size_t j = 0; j < i; j++) CHECK(o[i] != o[j]);
    }
    for (size_t i = 0; i <= n && i < 64; i++) free(o[i]);
    free(p);
    hp_set_memprofile_rate(rate);
}

int main(void)
{
    test_fresh_span_untouched();
    void *keep[HPI_NUM_CLASSES][3];
    for (unsigned c = 1; c < HPI_NUM_CLASSES; c++) {
        for (int i = 0; i < 3; i++) {
            keep[c][i] = malloc(hpi_class_size[c]);
            check_object(keep[c][i], hpi_class_size[c]);
        }
    }
    size_t large[] = {HPI_MAX_SMALL + 1, 100000, 1 << 20, (5 << 20) + 3};
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
        void *p = malloc(large[i]);
        check_object(p, large[i]);
        free(p);
        /* Freed: the pages are no in-use span any more. */
        CHECK(hpi_span_of_checked(p) == NULL);
        CHECK_EQ(hpi_page_info(p), 0u);
    }
    test_large_resize();
    test_gc_objects();
    for (unsigned c = 1; c < HPI_NUM_CLASSES; c++)
        for (int i = 0; i < 3; i++) free(keep[c][i]);
    /* Not ours: a stack address, a static, NULL, a kernel-half address. */
    int local;
    static int global;
    CHECK(hpi_span_of_checked(&local) == NULL);
    CHECK(hpi_span_of_checked(&global) == NULL);
    CHECK(hpi_span_of_checked(NULL) == NULL);
    CHECK(hpi_span_of_checked((void *)(uintptr_t)0xffff800000001000ull) == NULL);
    return TEST_DONE();
}
