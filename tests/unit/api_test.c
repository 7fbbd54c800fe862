/* api_test: conformance of every function hotpath replaces in the malloc family.
 *
 * Built twice from this one file: api_test links libhotpath.so; api_test_preload
 * links only libc and runs with LD_PRELOAD naming libhotpath.so.  Either way the
 * program first proves that hotpath really is the allocator (hp_read_memstats is
 * reachable through dlsym, malloc lives in libhotpath, and the mallocs counter
 * rises when malloc is called) and fails if it is not: a run against glibc's
 * malloc would pass the rest and prove nothing.
 *
 * Usage: api_test   (no arguments; prints "N passed, N failed")
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hotpath/memstats.h"
#include "test.h"

typedef void (*read_memstats_fn)(hp_memstats_t *);
typedef size_t (*good_size_fn)(size_t);

static read_memstats_fn read_memstats;

/* Sizes go through a volatile so that the compiler neither folds malloc calls
 * nor warns about sizes it can see are too large. */
static volatile size_t huge_sizes[] = {
    SIZE_MAX,       SIZE_MAX - 1,         SIZE_MAX - 4095,      SIZE_MAX - (1u << 20),
    SIZE_MAX / 2,   SIZE_MAX / 2 + 1,     (size_t)1 << 62,      (size_t)PTRDIFF_MAX + 1,
};
#define NHUGE (sizeof huge_sizes / sizeof huge_sizes[0])

static int is_aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* The alignment C requires of malloc(size): max_align_t (16) for any object
 * that could hold one, 8 for smaller blocks. */
static size_t min_align(size_t size) { return size >= 16 ? 16 : 8; }

static unsigned char pattern_byte(size_t i, unsigned salt) { return (unsigned char)(i * 31 + salt); }

static void fill(void *p, size_t n, unsigned salt)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++) b[i] = pattern_byte(i, salt);
}

/* Returns the index of the first byte that differs from the pattern, or n. */
static size_t verify(const void *p, size_t n, unsigned salt)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern_byte(i, salt)) return i;
    return n;
}

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i < n && ((uintptr_t)(b + i) & 7); i++)
        if (b[i]) return 0;
    for (; i + 8 <= n; i += 8)
        if (*(const uint64_t *)(const void *)(b + i)) return 0;
    for (; i < n; i++)
        if (b[i]) return 0;
    return 1;
}

static uint64_t mallocs_now(void)
{
    hp_memstats_t st;
    read_memstats(&st);
    return st.mallocs;
}

/* --- Is hotpath the allocator? ------------------------------------------- */

static int check_hotpath_is_allocator(void)
{
    read_memstats = (read_memstats_fn)dlsym(RTLD_DEFAULT, "hp_read_memstats");
    if (!CHECK_MSG(read_memstats != NULL, "hp_read_memstats not found: libhotpath is not loaded"))
        return 0;

    Dl_info info;
    void *(*volatile m)(size_t) = malloc;
    CHECK_MSG(dladdr((void *)m, &info) && info.dli_fname && strstr(info.dli_fname, "libhotpath"),
              "malloc resolves to %s, not libhotpath", info.dli_fname ? info.dli_fname : "?");

    uint64_t before = mallocs_now();
    void *p = malloc(100);
    uint64_t after = mallocs_now();
    free(p);
    return CHECK_MSG(after == before + 1,
                     "malloc did not go through hotpath: mallocs %llu -> %llu",
                     (unsigned long long)before, (unsigned long long)after);
}

/* --- malloc ---------------------------------------------------------------- */

static void test_malloc_zero(void)
{
    enum { N = 64 };
    void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = malloc(0);
        CHECK(p[i] != NULL);
        for (int j = 0; j < i; j++) CHECK(p[i] != p[j]);
    }
    for (int i = 0; i < N; i++) free(p[i]);
}

/* One block of `size`: aligned, usable >= size, writable over the usable size. */
static void check_block(void *p, size_t size)
{
    if (!CHECK_MSG(p != NULL, "malloc(%zu) returned NULL", size)) return;
    CHECK_MSG(is_aligned(p, min_align(size)), "malloc(%zu) = %p is misaligned", size, p);
    size_t usable = malloc_usable_size(p);
    CHECK_MSG(usable >= size, "malloc_usable_size(malloc(%zu)) = %zu", size, usable);
    memset(p, 0x5c, usable);
}

/* Sizes 1..40000 with a window of live blocks, each filled with its own
 * pattern over its whole usable size and verified when it leaves the window:
 * a block that overlapped another would be caught. */
static void test_malloc_sizes(void)
{
    enum { WINDOW = 64 };
    void *live[WINDOW] = {0};
    size_t live_size[WINDOW] = {0};
    unsigned k = 0;
    for (size_t size = 1; size <= 40000; size += size < 1024 ? 1 : 7, k++) {
        unsigned w = k % WINDOW;
        if (live[w]) {
            size_t bad = verify(live[w], live_size[w], w);
            CHECK_MSG(bad == live_size[w], "block of usable size %zu corrupted at byte %zu",
                      live_size[w], bad);
            free(live[w]);
        }
        void *p = malloc(size);
        check_block(p, size);
        live[w] = p;
        live_size[w] = p ? malloc_usable_size(p) : 0;
        if (p) fill(p, live_size[w], w);
    }
    for (unsigned w = 0; w < WINDOW; w++) {
        if (live[w]) CHECK_EQ(verify(live[w], live_size[w], w), live_size[w]);
        free(live[w]);
    }
}

static void test_malloc_powers_of_two(void)
{
    for (int k = 0; k <= 26; k++) {
        for (int d = -1; d <= 1; d++) {
            size_t size = ((size_t)1 << k) + d;
            if (size == 0) continue;
            void *p = malloc(size);
            check_block(p, size);
            free(p);
        }
    }
}

static void test_malloc_huge(void)
{
    for (size_t i = 0; i < NHUGE; i++) {
        errno = 0;
        void *p = malloc(huge_sizes[i]);
        CHECK_MSG(p == NULL, "malloc(%#zx) = %p", huge_sizes[i], p);
        CHECK_MSG(errno == ENOMEM, "malloc(%#zx): errno %d", huge_sizes[i], errno);
        free(p);
    }
    /* The allocator still works after refusing. */
    void *p = malloc(64);
    CHECK(p != NULL);
    free(p);
}

static void test_free_null_and_usable_null(void)
{
    free(NULL);
    CHECK_EQ(malloc_usable_size(NULL), 0);
}

/* --- calloc ---------------------------------------------------------------- */

static const size_t calloc_sizes[] = {1,    8,    16,   24,    48,    100,   256,   1000, 1024,
                                      2049, 4096, 5000, 10000, 32767, 32768, 32769, 40000, 100000,
                                      262144};

static void test_calloc_basic(void)
{
    for (size_t i = 0; i < sizeof calloc_sizes / sizeof calloc_sizes[0]; i++) {
        size_t s = calloc_sizes[i];
        void *p = calloc(1, s), *q = calloc(s, 1);
        CHECK(p && q && p != q);
        if (p) CHECK_MSG(all_zero(p, s), "calloc(1, %zu) not zeroed", s);
        if (q) CHECK_MSG(all_zero(q, s), "calloc(%zu, 1) not zeroed", s);
        CHECK(is_aligned(p, min_align(s)) && is_aligned(q, min_align(s)));
        free(p);
        free(q);
    }
    void *z = calloc(0, 0);
    CHECK(z != NULL);
    free(z);
}

/* Dirty memory freed and handed out again by calloc must come back zeroed. */
static void test_calloc_after_dirty_free(void)
{
    enum { BATCH = 200 };
    static void *blocks[BATCH];
    for (size_t i = 0; i < sizeof calloc_sizes / sizeof calloc_sizes[0]; i++) {
        size_t s = calloc_sizes[i];
        int dirty = 0;
        for (int round = 0; round < 20; round++) {
            void *p = malloc(s);
            if (!CHECK(p != NULL)) return;
            memset(p, 0xAA, malloc_usable_size(p));
            free(p);
            p = calloc(1, s);
            if (!CHECK(p != NULL)) return;
            dirty += !all_zero(p, s);
            free(p);
        }
        int nb = s > 40000 ? 16 : BATCH;
        for (int b = 0; b < nb; b++) {
            blocks[b] = malloc(s);
            if (blocks[b]) memset(blocks[b], 0xAA, malloc_usable_size(blocks[b]));
        }
        for (int b = 0; b < nb; b++) free(blocks[b]);
        for (int b = 0; b < nb; b++) {
            blocks[b] = calloc(s, 1);
            dirty += !blocks[b] || !all_zero(blocks[b], s);
        }
        for (int b = 0; b < nb; b++) free(blocks[b]);
        CHECK_MSG(dirty == 0, "calloc(%zu) returned %d blocks that were not zeroed", s, dirty);
    }
}

static void test_calloc_large_after_dirty_free(void)
{
    for (size_t mib = 1; mib <= 64; mib *= 2) {
        size_t sizes[2] = {mib << 20, (mib << 20) + 12345};
        for (int j = 0; j < 2; j++) {
            size_t s = sizes[j];
            void *p = malloc(s);
            if (!CHECK(p != NULL)) return;
            memset(p, 0xAA, s);
            free(p);
            p = calloc(1, s);
            if (!CHECK(p != NULL)) return;
            CHECK_MSG(all_zero(p, s), "calloc(1, %zu) after a dirty free not zeroed", s);
            memset(p, 0xAA, s); /* dirty again for the next round */
            free(p);
        }
    }
}

static void test_calloc_overflow(void)
{
    volatile size_t a[][2] = {
        {SIZE_MAX, SIZE_MAX},
        {SIZE_MAX / 2 + 1, 2},
        {(size_t)1 << 32, (size_t)1 << 32},
        {SIZE_MAX, 2},
        {3, SIZE_MAX / 3 + 1},
        {SIZE_MAX / 16, 17},
        {1, SIZE_MAX}, /* no overflow, just too large */
    };
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
        errno = 0;
        void *p = calloc(a[i][0], a[i][1]);
        CHECK_MSG(p == NULL && errno == ENOMEM, "calloc(%#zx, %#zx) = %p errno %d", a[i][0],
                  a[i][1], p, errno);
        free(p);
    }
}

/* --- realloc --------------------------------------------------------------- */

static void test_realloc_null_is_malloc(void)
{
    uint64_t before = mallocs_now();
    void *p = realloc(NULL, 200);
    uint64_t after = mallocs_now();
    CHECK(p != NULL);
    CHECK(is_aligned(p, 16));
    CHECK_GE(malloc_usable_size(p), 200);
    CHECK_EQ(after, before + 1);
    free(p);

    p = realloc(NULL, 0); /* malloc(0): a unique non-NULL block */
    CHECK(p != NULL);
    free(p);
}

/* Grow then shrink through small and large sizes; the common prefix survives
 * each move. */
static void test_realloc_keeps_contents(void)
{
    static const size_t steps[] = {1,         7,      16,     17,       100,     1000,
                                   5000,      32768,  32769,  100000,   1 << 20, (5 << 20) + 3,
                                   (1 << 20), 100000, 40000,  32768,    32767,   1000,
                                   17,        3,      200000, 12 << 20, 64,      1};
    size_t n = 0;
    void *p = NULL;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        size_t s = steps[i], keep = n < s ? n : s;
        void *q = realloc(p, s);
        if (!CHECK_MSG(q != NULL, "realloc(%p, %zu) failed", p, s)) break;
        CHECK(is_aligned(q, min_align(s)));
        CHECK_GE(malloc_usable_size(q), s);
        size_t bad = verify(q, keep, 0x3d);
        CHECK_MSG(bad == keep, "realloc %zu -> %zu lost contents at byte %zu", n, s, bad);
        fill(q, s, 0x3d);
        p = q;
        n = s;
    }
    free(p);
}

static void test_realloc_same_class(void)
{
    char *p = malloc(100);
    if (!CHECK(p != NULL)) return;
    fill(p, 100, 9);
    char *q = realloc(p, 90);
    CHECK_MSG(q == p, "realloc(100 bytes, 90) moved the block: %p -> %p", (void *)p, (void *)q);
    CHECK_EQ(verify(q, 90, 9), 90);
    /* Growing within the usable size stays in place too. */
    size_t usable = malloc_usable_size(q);
    char *r = realloc(q, usable);
    CHECK(r == q);
    free(r);
}

/* Growing by less than a quarter moves to a block a quarter larger than the
 * old one (so small steps do not move at every size class); growing by more
 * gets just the size asked for, rounded up to its class or pages. */
static void test_realloc_growth_headroom(void)
{
    static const size_t sizes[] = {48, 1024, 5000, 30000, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = malloc(sizes[i]);
        if (!CHECK(p != NULL)) return;
        size_t usable = malloc_usable_size(p);
        fill(p, usable, 21);
        char *q = realloc(p, usable + 1);
        if (!CHECK(q != NULL)) return;
        /* (A large block may instead grow in place, by pages.) */
        CHECK_MSG(q == p ? sizes[i] > 32768 : malloc_usable_size(q) >= usable + usable / 4,
                  "realloc(%zu usable, +1): %zu usable, not a quarter more", usable,
                  malloc_usable_size(q));
        CHECK_EQ(verify(q, usable, 21), usable);
        char *r = realloc(q, 4 * usable);
        if (!CHECK(r != NULL)) return;
        CHECK_MSG(malloc_usable_size(r) < 4 * usable + 4 * usable / 4,
                  "realloc(%zu) has %zu usable bytes", 4 * usable, malloc_usable_size(r));
        CHECK_EQ(verify(r, usable, 21), usable);
        free(r);
    }
}

static void test_realloc_huge_fails(void)
{
    size_t sizes[] = {100, 50000, 3 << 20};
    for (int j = 0; j < 3; j++) {
        void *p = malloc(sizes[j]);
        if (!CHECK(p != NULL)) return;
        fill(p, sizes[j], 77);
        for (size_t i = 0; i < NHUGE; i++) {
            errno = 0;
            void *q = realloc(p, huge_sizes[i]);
            CHECK_MSG(q == NULL && errno == ENOMEM, "realloc(%zu bytes, %#zx) = %p errno %d",
                      sizes[j], huge_sizes[i], q, errno);
            if (q) p = q;
        }
        CHECK_MSG(verify(p, sizes[j], 77) == sizes[j], "failed realloc damaged the old block");
        CHECK_GE(malloc_usable_size(p), sizes[j]);
        free(p);
    }
}

static void test_realloc_zero_frees(void)
{
    size_t sizes[] = {10, 1000, 100000};
    for (int j = 0; j < 3; j++) {
        void *p = malloc(sizes[j]);
        if (!CHECK(p != NULL)) return;
        hp_memstats_t a, b;
        read_memstats(&a);
        void *q = realloc(p, 0);
        read_memstats(&b);
        CHECK_MSG(q == NULL, "realloc(p, 0) returned %p, glibc returns NULL", q);
        CHECK_MSG(b.frees == a.frees + 1, "realloc(p, 0) did not free p: frees %llu -> %llu",
                  (unsigned long long)a.frees, (unsigned long long)b.frees);
        CHECK_EQ(b.heap_objects + 1, a.heap_objects);
        if (q) free(q);
    }
}

/* Called through a pointer the compiler cannot see through, so that GCC's
 * -Wuse-after-free does not object to reading a block whose reallocation the
 * test expects to fail. */
static void *(*volatile reallocarray_fn)(void *, size_t, size_t) = reallocarray;

static void test_reallocarray(void)
{
    int *p = reallocarray_fn(NULL, 10, sizeof(int));
    if (!CHECK(p != NULL)) return;
    for (int i = 0; i < 10; i++) p[i] = i * i;
    int *q = reallocarray_fn(p, 100000, sizeof(int));
    if (!CHECK(q != NULL)) {
        free(p);
        return;
    }
    p = q;
    int ok = 1;
    for (int i = 0; i < 10; i++) ok &= p[i] == i * i;
    CHECK(ok);
    volatile size_t big = SIZE_MAX / 2 + 2;
    errno = 0;
    q = reallocarray_fn(p, big, 2);
    CHECK(q == NULL && errno == ENOMEM);
    ok = 1;
    for (int i = 0; i < 10; i++) ok &= p[i] == i * i;
    CHECK_MSG(ok, "failed reallocarray damaged the old block");
    free(p);
}

/* --- aligned allocation ---------------------------------------------------- */

static void test_posix_memalign(void)
{
    static const size_t sizes[] = {0,     1,     8,     16,      17,      100,      1000,
                                   4096,  8192,  32768, 32769,   65536,   1 << 20,  2 << 20,
                                   12345, 40000, 4095,  (1 << 20) + 1, (2 << 20) - 1};
    for (size_t a = 8; a <= (1 << 20); a *= 2) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t s = sizes[i];
            void *p = (void *)1;
            int rc = posix_memalign(&p, a, s);
            CHECK_MSG(rc == 0, "posix_memalign(%zu, %zu) = %d", a, s, rc);
            if (rc) continue;
            CHECK_MSG(is_aligned(p, a), "posix_memalign(%zu, %zu) = %p misaligned", a, s, p);
            CHECK(s == 0 || p != NULL);
            if (p) {
                CHECK_GE(malloc_usable_size(p), s);
                memset(p, 0x11, s);
            }
            free(p);
        }
    }
}

static void test_posix_memalign_bad_alignment(void)
{
    size_t bad[] = {0, 1, 2, 3, 4, 12, 24, 48, 100, 4097, ((size_t)1 << 20) + 8, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *sentinel = (void *)&bad[i], *p = sentinel;
        int rc = posix_memalign(&p, bad[i], 64);
        CHECK_MSG(rc == EINVAL, "posix_memalign(alignment %zu) = %d, want EINVAL", bad[i], rc);
        CHECK_MSG(p == sentinel, "posix_memalign(alignment %zu) changed *memptr", bad[i]);
    }
    /* Good alignment, impossible size: ENOMEM, *memptr untouched too. */
    for (size_t i = 0; i < NHUGE; i++) {
        void *sentinel = (void *)&huge_sizes[i], *p = sentinel;
        int rc = posix_memalign(&p, 64, huge_sizes[i]);
        CHECK_MSG(rc == ENOMEM, "posix_memalign(64, %#zx) = %d, want ENOMEM", huge_sizes[i], rc);
        CHECK(p == sentinel);
    }
}

static void test_aligned_alloc_and_memalign(void)
{
    for (size_t a = 1; a <= (4 << 20); a *= 2) {
        size_t sizes[] = {a, 3 * a, 100, 1};
        for (int i = 0; i < 4; i++) {
            void *p = aligned_alloc(a, sizes[i]);
            CHECK_MSG(p && is_aligned(p, a), "aligned_alloc(%zu, %zu) = %p", a, sizes[i], p);
            if (p) {
                CHECK_GE(malloc_usable_size(p), sizes[i]);
                memset(p, 0x22, sizes[i]);
            }
            free(p);
            p = memalign(a, sizes[i]);
            CHECK_MSG(p && is_aligned(p, a), "memalign(%zu, %zu) = %p", a, sizes[i], p);
            if (p) {
                CHECK_GE(malloc_usable_size(p), sizes[i]);
                memset(p, 0x33, sizes[i]);
            }
            free(p);
        }
    }
    size_t bad[] = {3, 24, 48, 100, 4097, 3 << 20};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        void *p = aligned_alloc(bad[i], bad[i] * 4);
        CHECK_MSG(p == NULL && errno == EINVAL, "aligned_alloc(%zu, ...) = %p errno %d", bad[i],
                  p, errno);
        free(p);
    }
    for (size_t i = 0; i < NHUGE; i++) {
        errno = 0;
        void *p = aligned_alloc(4096, huge_sizes[i]);
        CHECK_MSG(p == NULL && errno == ENOMEM, "aligned_alloc(4096, %#zx) = %p errno %d",
                  huge_sizes[i], p, errno);
        free(p);
        errno = 0;
        p = memalign(1 << 20, huge_sizes[i]);
        CHECK_MSG(p == NULL && errno == ENOMEM, "memalign(1 MiB, %#zx) = %p errno %d",
                  huge_sizes[i], p, errno);
        free(p);
    }
}

static void test_valloc_pvalloc(void)
{
    size_t sizes[] = {1, 100, 4095, 4096, 4097, 5000, 40000, 100000, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        void *p = valloc(s);
        CHECK_MSG(p && is_aligned(p, 4096), "valloc(%zu) = %p", s, p);
        if (p) {
            CHECK_GE(malloc_usable_size(p), s);
            memset(p, 0x44, s);
        }
        free(p);
        p = pvalloc(s);
        CHECK_MSG(p && is_aligned(p, 4096), "pvalloc(%zu) = %p", s, p);
        if (p) {
            size_t usable = malloc_usable_size(p);
            CHECK_MSG(usable >= (s + 4095) / 4096 * 4096 && usable % 4096 == 0,
                      "pvalloc(%zu): usable size %zu", s, usable);
            memset(p, 0x55, usable);
        }
        free(p);
    }
    void *p = pvalloc(0);
    CHECK(p != NULL && is_aligned(p, 4096));
    free(p);
}

/* The hp_ names are the same allocator under names never interposed. */
static void test_hp_names(void)
{
    void *(*hp_malloc_)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "hp_malloc");
    void (*hp_free_)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "hp_free");
    size_t (*hp_usable_)(const void *) =
        (size_t(*)(const void *))dlsym(RTLD_DEFAULT, "hp_usable_size");
    good_size_fn good = (good_size_fn)dlsym(RTLD_DEFAULT, "hp_good_size");
    if (!CHECK(hp_malloc_ && hp_free_ && hp_usable_ && good)) return;
    void *p = hp_malloc_(300);
    CHECK(p != NULL);
    CHECK_EQ(hp_usable_(p), malloc_usable_size(p));
    CHECK_GE(good(300), 300);
    free(p); /* hp_malloc and free share one heap */
    p = malloc(300);
    hp_free_(p);
    for (size_t i = 0; i < NHUGE; i++) CHECK_EQ(good(huge_sizes[i]), 0);
}

int main(void)
{
    if (!check_hotpath_is_allocator()) {
        fprintf(stderr, "api_test: hotpath is not the allocator of this process\n");
        return TEST_DONE() | 1;
    }
    test_malloc_zero();
    test_malloc_sizes();
    test_malloc_powers_of_two();
    test_malloc_huge();
    test_free_null_and_usable_null();
    test_calloc_basic();
    test_calloc_after_dirty_free();
    test_calloc_large_after_dirty_free();
    test_calloc_overflow();
    test_realloc_null_is_malloc();
    test_realloc_keeps_contents();
    test_realloc_same_class();
    test_realloc_growth_headroom();
    test_realloc_huge_fails();
    test_realloc_zero_frees();
    test_reallocarray();
    test_posix_memalign();
    test_posix_memalign_bad_alignment();
    test_aligned_alloc_and_memalign();
    test_valloc_pvalloc();
    test_hp_names();
    return TEST_DONE();
}
