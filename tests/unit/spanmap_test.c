/* spanmap_test: any pointer into an object maps to its span and to the
 * object's start in O(1) (what the GC will use for conservative roots), and
 * pointers hotpath does not own map to nothing.
 *
 * Built from the library's objects (not the shared library) so that it can
 * call the internal hpi_span_of_checked and hpi_object_start.  For objects of
 * every size class and of several large sizes, every 8th byte offset (and the
 * last byte) of the object must map to a span of state SMALL or LARGE whose
 * class matches the object and whose object_start is the object itself.
 *
 * Usage: spanmap_test   (prints "N passed, N failed")
 */
#include <stdint.h>
#include <stdlib.h>

#include "alloc/internal.h"
#include "hotpath/hotpath.h"
#include "test.h"

static void check_object(void *p, size_t size)
{
    hpi_span_t *s0 = hpi_span_of_checked(p);
    if (!CHECK_MSG(s0 != NULL, "malloc(%zu) = %p has no span", size, p)) return;
    size_t usable = hp_usable_size(p);
    CHECK_GE(usable, size);
    int bad = 0;
    for (size_t off = 0; off <= usable; off += 8) {
        char *q = (char *)p + (off < usable ? off : usable - 1); /* ... and the last byte */
        hpi_span_t *s = hpi_span_of_checked(q);
        bad += s != s0 || hpi_object_start(s, q) != p;
    }
    CHECK_MSG(bad == 0, "malloc(%zu): %d interior pointers map elsewhere", size, bad);
    CHECK_EQ(s0->sizeclass, size <= HPI_MAX_SMALL ? hpi_size_class(size) : 0u);
    CHECK(s0->state == (size <= HPI_MAX_SMALL ? HPI_SPAN_SMALL : HPI_SPAN_LARGE));
    CHECK(atomic_load(&s0->gc) == NULL); /* malloc spans are not GC spans */
}

int main(void)
{
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
    }
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
