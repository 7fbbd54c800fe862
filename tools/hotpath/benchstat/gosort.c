/* tools/hotpath/benchstat/gosort.c: Go's sort order, ties included.
 *
 * Go's sort.Slice and sort.Sort are not stable: they are pattern-defeating
 * quicksort (Orson Peters, "Pattern-defeating Quicksort", 2021), with
 * insertion sort for runs of at most 12, ninther pivots from 50 elements
 * up, a partial insertion sort for nearly sorted input, a deterministic
 * xorshift shuffle when partitions come out unbalanced and heapsort once
 * the recursion budget (bit length of n) is spent.  benchstat's text table
 * lays out its cells in the order Go's sort leaves cells of equal span in,
 * and that order shows in column widths; so this file reproduces the same
 * sequence of comparisons and swaps, which gives the same permutation.
 */
#include <stdint.h>

#include "bs.h"

typedef struct gosort {
    void *ctx;
    hpcli_bs_less_fn less;
    hpcli_bs_swap_fn swap;
} gosort_t;

enum { GOSORT_UNKNOWN, GOSORT_INCREASING, GOSORT_DECREASING };

static int gosort_less(const gosort_t *s, size_t i, size_t j)
{
    return s->less(s->ctx, i, j);
}

static void gosort_swap(const gosort_t *s, size_t i, size_t j)
{
    s->swap(s->ctx, i, j);
}

static int gosort_bitlen(size_t x)
{
    int n = 0;
    while (x) {
        n++;
        x >>= 1;
    }
    return n;
}

static void gosort_insertion(const gosort_t *s, size_t a, size_t b)
{
    for (size_t i = a + 1; i < b; i++)
        for (size_t j = i; j > a && gosort_less(s, j, j - 1); j--) gosort_swap(s, j, j - 1);
}

static void gosort_sift_down(const gosort_t *s, size_t lo, size_t hi, size_t first)
{
    size_t root = lo;
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= hi) return;
        if (child + 1 < hi && gosort_less(s, first + child, first + child + 1)) child++;
        if (!gosort_less(s, first + root, first + child)) return;
        gosort_swap(s, first + root, first + child);
        root = child;
    }
}

static void gosort_heap(const gosort_t *s, size_t a, size_t b)
{
    size_t hi = b - a;
    for (size_t i = (hi - 1) / 2 + 1; i-- > 0;) gosort_sift_down(s, i, hi, a);
    for (size_t i = hi; i-- > 0;) {
        gosort_swap(s, a, a + i);
        gosort_sift_down(s, 0, i, a);
    }
}

static size_t gosort_partition(const gosort_t *s, size_t a, size_t b, size_t pivot, int *already)
{
    gosort_swap(s, a, pivot);
    /* i and j bound the unpartitioned middle, inclusive; j may go to a. */
    size_t i = a + 1, j = b - 1;
    while (i <= j && gosort_less(s, i, a)) i++;
    while (i <= j && !gosort_less(s, j, a)) j--;
    if (i > j) {
        gosort_swap(s, j, a);
        *already = 1;
        return j;
    }
    gosort_swap(s, i, j);
    i++;
    j--;
    for (;;) {
        while (i <= j && gosort_less(s, i, a)) i++;
        while (i <= j && !gosort_less(s, j, a)) j--;
        if (i > j) break;
        gosort_swap(s, i, j);
        i++;
        j--;
    }
    gosort_swap(s, j, a);
    *already = 0;
    return j;
}

static size_t gosort_partition_equal(const gosort_t *s, size_t a, size_t b, size_t pivot)
{
    gosort_swap(s, a, pivot);
    size_t i = a + 1, j = b - 1;
    for (;;) {
        while (i <= j && !gosort_less(s, a, i)) i++;
        while (i <= j && gosort_less(s, a, j)) j--;
        if (i > j) break;
        gosort_swap(s, i, j);
        i++;
        j--;
    }
    return i;
}

static int gosort_partial_insertion(const gosort_t *s, size_t a, size_t b)
{
    const int max_steps = 5;
    const size_t shortest_shifting = 50;
    size_t i = a + 1;
    for (int step = 0; step < max_steps; step++) {
        while (i < b && !gosort_less(s, i, i - 1)) i++;
        if (i == b) return 1;
        if (b - a < shortest_shifting) return 0;
        gosort_swap(s, i, i - 1);
        if (i - a >= 2) {
            for (size_t j = i - 1; j >= 1; j--) {
                if (!gosort_less(s, j, j - 1)) break;
                gosort_swap(s, j, j - 1);
            }
        }
        if (b - i >= 2) {
            for (size_t j = i + 1; j < b; j++) {
                if (!gosort_less(s, j, j - 1)) break;
                gosort_swap(s, j, j - 1);
            }
        }
    }
    return 0;
}

static void gosort_break_patterns(const gosort_t *s, size_t a, size_t b)
{
    size_t length = b - a;
    if (length < 8) return;
    uint64_t random = length;
    size_t modulus = (size_t)1 << gosort_bitlen(length);
    for (size_t idx = a + (length / 4) * 2 - 1; idx <= a + (length / 4) * 2 + 1; idx++) {
        random ^= random << 13;
        random ^= random >> 17;
        random ^= random << 5;
        size_t other = (size_t)random & (modulus - 1);
        if (other >= length) other -= length;
        gosort_swap(s, idx, a + other);
    }
}

static void gosort_order2(const gosort_t *s, size_t *a, size_t *b, int *swaps)
{
    if (gosort_less(s, *b, *a)) {
        size_t t = *a;
        *a = *b;
        *b = t;
        (*swaps)++;
    }
}

static size_t gosort_median(const gosort_t *s, size_t a, size_t b, size_t c, int *swaps)
{
    gosort_order2(s, &a, &b, swaps);
    gosort_order2(s, &b, &c, swaps);
    gosort_order2(s, &a, &b, swaps);
    return b;
}

static size_t gosort_choose_pivot(const gosort_t *s, size_t a, size_t b, int *hint)
{
    size_t l = b - a;
    int swaps = 0;
    size_t i = a + l / 4 * 1, j = a + l / 4 * 2, k = a + l / 4 * 3;
    if (l >= 8) {
        if (l >= 50) {
            i = gosort_median(s, i - 1, i, i + 1, &swaps);
            j = gosort_median(s, j - 1, j, j + 1, &swaps);
            k = gosort_median(s, k - 1, k, k + 1, &swaps);
        }
        j = gosort_median(s, i, j, k, &swaps);
    }
    *hint = swaps == 0 ? GOSORT_INCREASING : swaps == 12 ? GOSORT_DECREASING : GOSORT_UNKNOWN;
    return j;
}

static void gosort_reverse(const gosort_t *s, size_t a, size_t b)
{
    for (size_t i = a, j = b - 1; i < j; i++, j--) gosort_swap(s, i, j);
}

static void gosort_pdq(const gosort_t *s, size_t a, size_t b, int limit)
{
    int was_balanced = 1, was_partitioned = 1;
    for (;;) {
        size_t length = b - a;
        if (length <= 12) {
            gosort_insertion(s, a, b);
            return;
        }
        if (limit == 0) {
            gosort_heap(s, a, b);
            return;
        }
        if (!was_balanced) {
            gosort_break_patterns(s, a, b);
            limit--;
        }
        int hint;
        size_t pivot = gosort_choose_pivot(s, a, b, &hint);
        if (hint == GOSORT_DECREASING) {
            gosort_reverse(s, a, b);
            pivot = (b - 1) - (pivot - a);
            hint = GOSORT_INCREASING;
        }
        if (was_balanced && was_partitioned && hint == GOSORT_INCREASING &&
            gosort_partial_insertion(s, a, b))
            return;
        if (a > 0 && !gosort_less(s, a - 1, pivot)) {
            a = gosort_partition_equal(s, a, b, pivot);
            continue;
        }
        int already;
        size_t mid = gosort_partition(s, a, b, pivot, &already);
        was_partitioned = already;
        size_t left = mid - a, right = b - mid, threshold = length / 8;
        if (left < right) {
            was_balanced = left >= threshold;
            gosort_pdq(s, a, mid, limit);
            a = mid + 1;
        } else {
            was_balanced = right >= threshold;
            gosort_pdq(s, mid + 1, b, limit);
            b = mid;
        }
    }
}

void hpcli_bs_gosort(void *ctx, size_t n, hpcli_bs_less_fn less, hpcli_bs_swap_fn swap)
{
    gosort_t s = {ctx, less, swap};
    if (n <= 1) return;
    gosort_pdq(&s, 0, n, gosort_bitlen(n));
}

static int gosort_float_less(void *ctx, size_t i, size_t j)
{
    const double *x = ctx;
    return x[i] < x[j] || (x[i] != x[i] && x[j] == x[j]);
}

static void gosort_float_swap(void *ctx, size_t i, size_t j)
{
    double *x = ctx, t = x[i];
    x[i] = x[j];
    x[j] = t;
}

void hpcli_bs_sort_floats(double *x, size_t n)
{
    hpcli_bs_gosort(x, n, gosort_float_less, gosort_float_swap);
}
