/* sizeclasses_test: the generated size-class table keeps its promises.
 *
 * (That src/alloc/sizeclasses.h is what tools/mksizeclasses.c generates today
 * is the separate ctest sizeclasses_uptodate.)  Here the committed table is
 * checked against the rules tools/mksizeclasses.c states:
 *   - class 0 is "large"; sizes strictly increase up to HPI_MAX_SMALL (32 KiB);
 *     every class from 16 bytes up is a multiple of 16 (max_align_t);
 *   - each span holds nobjs = span / size objects and its tail is at most 1/8
 *     of the span;
 *   - divmagic finds the object index of every offset in the span;
 *   - the lookup table maps every size to the smallest class holding it;
 *   - 1, 2 and 4 KiB plus a small header have a class of their own (rule 5);
 *   - the comment's per-class rows (size, span, objects, tail, max waste) are
 *     the table's own numbers, the waste recomputed from them;
 *   - the public header reserves a by_size entry per class;
 * and the running allocator agrees with the table: hp_good_size(s) is the
 * class size for every small s and hp_read_memstats reports the same classes.
 *
 * Usage: sizeclasses_test path/to/src/alloc/sizeclasses.h
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The test's own copy of the tables (the library's are hidden). */
#define HPI_SIZECLASSES_DEFINE
#include "alloc/sizeclasses.h"
#include "hotpath/hotpath.h"
#include "test.h"

enum { HP_PAGE = 8192 };

static int class_for(size_t size)
{
    return hpi_size_to_class8[(size + 7) >> 3];
}

static void test_sizes(void)
{
    CHECK_EQ(hpi_class_size[0], 0);
    CHECK_EQ(HPI_MAX_SMALL, 32768);
    CHECK_EQ(hpi_class_size[HPI_NUM_CLASSES - 1], HPI_MAX_SMALL);
    CHECK_MSG(HPI_NUM_CLASSES == HP_NUM_SIZE_CLASSES,
              "sizeclasses.h has %d classes, hotpath/memstats.h HP_NUM_SIZE_CLASSES says %d",
              HPI_NUM_CLASSES, HP_NUM_SIZE_CLASSES);
    CHECK_LE(HPI_NUM_CLASSES, HP_NUM_SIZE_CLASSES);
    for (int c = 1; c < HPI_NUM_CLASSES; c++) {
        uint32_t s = hpi_class_size[c];
        if (c > 1) CHECK_MSG(s > hpi_class_size[c - 1], "class %d: %u not increasing", c, s);
        if (s >= 16) CHECK_MSG(s % 16 == 0, "class %d: size %u not a multiple of 16", c, s);
        uint32_t span = hpi_class_npages[c] * HP_PAGE;
        CHECK_MSG(hpi_class_npages[c] > 0, "class %d has no pages", c);
        CHECK_MSG(hpi_class_nobjs[c] == span / s, "class %d: nobjs %u, span/size %u", c,
                  hpi_class_nobjs[c], span / s);
        CHECK_MSG(span - hpi_class_nobjs[c] * s <= span / 8, "class %d: tail %u > span/8", c,
                  span - hpi_class_nobjs[c] * s);
    }
}

static void test_divmagic(void)
{
    for (int c = 1; c < HPI_NUM_CLASSES; c++) {
        uint64_t m = hpi_class_divmagic[c], size = hpi_class_size[c];
        uint64_t span = (uint64_t)hpi_class_npages[c] * HP_PAGE;
        int bad = 0;
        for (uint64_t off = 0; off < span; off++) bad += ((off * m) >> 32) != off / size;
        CHECK_MSG(bad == 0, "class %d: divmagic wrong at %d offsets", c, bad);
    }
}

static void test_lookup(void)
{
    CHECK_EQ(sizeof hpi_size_to_class8, HPI_MAX_SMALL / 8 + 1);
    int bad = 0;
    for (size_t s = 1; s <= HPI_MAX_SMALL; s++) {
        int c = class_for(s);
        int ok = c > 0 && c < HPI_NUM_CLASSES && hpi_class_size[c] >= s &&
                 (c == 1 || hpi_class_size[c - 1] < s);
        if (!ok && bad++ < 5) fprintf(stderr, "size %zu maps to class %d\n", s, c);
    }
    CHECK_MSG(bad == 0, "%d sizes map to the wrong class", bad);
}

/* Rule 5: 1, 2 and 4 KiB plus a header of up to a sixteenth have their own
 * class, with a tail of at most 1/64 of the span. */
static void test_header_classes(void)
{
    for (size_t pow2 = 1024; pow2 <= 4096; pow2 *= 2) {
        int c = class_for(pow2 + 8);
        CHECK_MSG(hpi_class_size[c] == pow2 + pow2 / 16, "%zu + 8 bytes: class of %u bytes",
                  pow2, hpi_class_size[c]);
        uint32_t span = hpi_class_npages[c] * HP_PAGE;
        CHECK_MSG(span - hpi_class_nobjs[c] * hpi_class_size[c] <= span / 64,
                  "class %d: tail %u > span/64", c, span - hpi_class_nobjs[c] * hpi_class_size[c]);
    }
}

/* The comment rows: " *     c      size       span     nobjs      tail     waste%". */
static void test_comment(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!CHECK_MSG(f != NULL, "cannot open %s", path)) return;
    char line[256];
    int rows = 0;
    uint32_t prev = 0;
    while (fgets(line, sizeof line, f)) {
        int c;
        unsigned size, span, nobjs, tail;
        double waste;
        if (sscanf(line, " * %d %u %u %u %u %lf%%", &c, &size, &span, &nobjs, &tail, &waste) != 6)
            continue;
        rows++;
        if (!CHECK_MSG(c == rows && c < HPI_NUM_CLASSES, "comment row %d names class %d", rows, c))
            break;
        CHECK_EQ(size, hpi_class_size[c]);
        CHECK_EQ(span, hpi_class_npages[c] * HP_PAGE);
        CHECK_EQ(nobjs, hpi_class_nobjs[c]);
        CHECK_EQ(tail, span - nobjs * size);
        /* Worst case: every object one byte over the previous class. */
        double want = 100.0 * ((double)(size - prev - 1) * nobjs + tail) / span;
        CHECK_MSG(fabs(waste - want) < 0.006, "class %d: stated max waste %.2f%%, actual %.2f%%",
                  c, waste, want);
        prev = size;
    }
    fclose(f);
    CHECK_EQ(rows, HPI_NUM_CLASSES - 1);
}

static void test_runtime_agrees(void)
{
    int bad = 0;
    for (size_t s = 1; s <= HPI_MAX_SMALL; s++) {
        size_t g = hp_good_size(s);
        if (g != hpi_class_size[class_for(s)] && bad++ < 5)
            fprintf(stderr, "hp_good_size(%zu) = %zu, table says %u\n", s, g,
                    hpi_class_size[class_for(s)]);
    }
    CHECK_MSG(bad == 0, "hp_good_size disagrees with the table for %d sizes", bad);
    CHECK_GT(hp_good_size(HPI_MAX_SMALL + 1), HPI_MAX_SMALL);

    hp_memstats_t st;
    hp_read_memstats(&st);
    for (int c = 0; c < HPI_NUM_CLASSES && c < HP_NUM_SIZE_CLASSES; c++)
        CHECK_MSG(st.by_size[c].size == hpi_class_size[c], "by_size[%d].size %u, table %u", c,
                  st.by_size[c].size, hpi_class_size[c]);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: sizeclasses_test path/to/sizeclasses.h\n");
        return 2;
    }
    test_sizes();
    test_divmagic();
    test_lookup();
    test_header_classes();
    test_comment(argv[1]);
    test_runtime_agrees();
    return TEST_DONE();
}
