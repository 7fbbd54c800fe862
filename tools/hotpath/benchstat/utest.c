/* tools/hotpath/benchstat/utest.c: the Mann-Whitney U test, as go-moremath computes it.
 *
 * U counts, over all pairs (x from the first sample, y from the second),
 * the pairs with x > y, plus one half for each tie; it is computed from the
 * ranks of the merged sample, tied values sharing their average rank.  The
 * two-sided p-value is twice the lower tail at min(U, n1*n2 - U), or 1 when
 * U sits exactly at the centre.
 *
 * The distribution of U under the null hypothesis is computed exactly for
 * small samples and approximated by a normal distribution otherwise:
 *   - no ties, both n <= 50: the recurrence of Mann and Whitney (1947),
 *       p(n,m,U) = (n p(n-1,m,U-m) + m p(n,m-1,U)) / (n+m),
 *     evaluated row by row in place, summing whichever tail is shorter;
 *   - ties, both n <= 25: the cumulative counts of Cheung and Klotz (1997),
 *     "The Mann Whitney Wilcoxon Distribution Using Linked Lists", driven
 *     top-down over the tie groups to find the (n1, 2U) states needed and
 *     filled bottom-up, here with a hash table per level;
 *   - otherwise: N(n1 n2 / 2, sigma) with the tie correction
 *     sigma^2 = n1 n2 ((N+1) - sum(t^3 - t)/(N(N-1))) / 12 and a continuity
 *     correction of 1/2 towards the centre.
 * All values equal is an error ("all samples are equal"), as is an empty
 * sample.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bs.h"

#define UTEST_EXACT_LIMIT 50
#define UTEST_TIES_EXACT_LIMIT 25

double hpcli_bs_choose(int n, int k)
{
    if (k == 0 || k == n) return 1;
    if (k < 0 || n < k) return 0;
    if (n <= 20) {
        /* n!/(n-k)! fits in 64 bits; divide by k! exactly. */
        int64_t numer = 1, fact = 1;
        for (int64_t i = n - (k - 1); i <= n; i++) numer *= i;
        for (int64_t i = 2; i <= k; i++) fact *= i;
        return (double)(numer / fact);
    }
    return hpcli_bs_go_exp(hpcli_bs_go_lgamma(n + 1.0) - hpcli_bs_go_lgamma(k + 1.0) -
                           hpcli_bs_go_lgamma(n - k + 1.0));
}

/* ---- no ties: the Mann-Whitney recurrence -------------------------------- */

/* p(N1, N2, u) for u in [0, U], into a fresh array of U+1 doubles. */
static double *utest_p(int n1, int n2, int U)
{
    int N = n1 < n2 ? n1 : n2, M = n1 < n2 ? n2 : n1;
    size_t row = (size_t)U + 1;
    double *memo = calloc((size_t)(N + 1) * row, sizeof *memo);
    if (memo == NULL) hpcli_bs_oom();
    for (int m = 0; m <= M; m++) {
        memo[0] = 1;
        int nlim = N < m ? N : m;
        for (int n = 1; n <= nlim; n++) {
            const double *lp = memo + (size_t)(n - 1) * row;
            const double *rp = memo + (size_t)(n <= m - 1 ? n : m - 1) * row;
            double *out = memo + (size_t)n * row;
            int ulim = n * m < U ? n * m : U;
            for (int u = ulim; u >= 0; u--) {
                double l = u - m >= 0 ? n * lp[u - m] : 0.0;
                out[u] = (l + m * rp[u]) / (n + m);
            }
        }
    }
    double *res = malloc(row * sizeof *res);
    if (res == NULL) hpcli_bs_oom();
    memcpy(res, memo + (size_t)N * row, row * sizeof *res);
    free(memo);
    return res;
}

static double utest_cdf_noties(int n1, int n2, double U)
{
    int ui = (int)floor(U);
    int flip = ui >= (n1 * n2 + 1) / 2;
    if (flip) ui = n1 * n2 - ui - 1;
    double *pdf = utest_p(n1, n2, ui), p = 0;
    for (int i = 0; i <= ui; i++) p += pdf[i];
    free(pdf);
    return flip ? 1 - p : p;
}

/* ---- ties: Cheung and Klotz ---------------------------------------------- */

/* A set of states (n1, 2U), each with a count; open addressing. */
typedef struct utest_memo {
    int *n1, *twou;
    double *val;
    unsigned char *used;
    size_t n, cap;
} utest_memo_t;

static size_t utest_memo_slot(const utest_memo_t *m, int n1, int twou)
{
    uint64_t h = (uint64_t)(uint32_t)n1 * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uint32_t)twou;
    h *= 0xff51afd7ed558ccdull;
    size_t i = (size_t)(h ^ (h >> 29)) & (m->cap - 1);
    while (m->used[i] && (m->n1[i] != n1 || m->twou[i] != twou)) i = (i + 1) & (m->cap - 1);
    return i;
}

static void utest_memo_init(utest_memo_t *m, size_t cap)
{
    m->n = 0;
    m->cap = cap;
    m->n1 = malloc(cap * sizeof *m->n1);
    m->twou = malloc(cap * sizeof *m->twou);
    m->val = malloc(cap * sizeof *m->val);
    m->used = calloc(cap, 1);
    if (!m->n1 || !m->twou || !m->val || !m->used) hpcli_bs_oom();
}

static void utest_memo_free(utest_memo_t *m)
{
    free(m->n1);
    free(m->twou);
    free(m->val);
    free(m->used);
}

static void utest_memo_add(utest_memo_t *m, int n1, int twou)
{
    if ((m->n + 1) * 2 > m->cap) {
        utest_memo_t big;
        utest_memo_init(&big, m->cap * 2);
        for (size_t i = 0; i < m->cap; i++)
            if (m->used[i]) utest_memo_add(&big, m->n1[i], m->twou[i]);
        utest_memo_free(m);
        *m = big;
    }
    size_t i = utest_memo_slot(m, n1, twou);
    if (m->used[i]) return;
    m->used[i] = 1;
    m->n1[i] = n1;
    m->twou[i] = twou;
    m->val[i] = 0;
    m->n++;
}

static int utest_memo_get(const utest_memo_t *m, int n1, int twou, double *v)
{
    size_t i = utest_memo_slot(m, n1, twou);
    if (!m->used[i]) return 0;
    *v = m->val[i];
    return 1;
}

static int utest_imax(int a, int b) { return a > b ? a : b; }
static int utest_imin(int a, int b) { return a < b ? a : b; }

/* The least and greatest 2U reachable with n1 of the first sample among
 * the tie groups t[0..k). */
static int utest_twou_min(int n1, const int *t, int k, const int *a)
{
    int twou = -n1 * n1;
    for (int j = 1; j <= k; j++) {
        int take = utest_imin(n1, t[j - 1]);
        twou += take * a[j];
        n1 -= take;
    }
    return twou;
}

static int utest_twou_max(int n1, const int *t, int k, const int *a)
{
    int twou = -n1 * n1;
    for (int j = k; j > 0; j--) {
        int take = utest_imin(n1, t[j - 1]);
        twou += take * a[j];
        n1 -= take;
    }
    return twou;
}

/* Top-down: the states of level k needed by the states of level k+1. */
static void utest_memo_states(utest_memo_t *A, const int *t, int K, const int *a)
{
    int tsum = 0;
    for (int j = 0; j < K; j++) tsum += t[j];
    for (int k = K - 1; k >= 2; k--) {
        tsum -= t[k];
        utest_memo_init(&A[k], 16);
        const utest_memo_t *up = &A[k + 1];
        for (size_t i = 0; i < up->cap; i++) {
            if (!up->used[i]) continue;
            int n1 = up->n1[i], twou = up->twou[i];
            for (int rk = utest_imax(0, n1 - tsum); rk <= utest_imin(n1, t[k]); rk++) {
                int twou_k = twou - rk * (a[k + 1] - 2 * n1 + rk), n1_k = n1 - rk;
                if (utest_twou_min(n1_k, t, k, a) <= twou_k &&
                    twou_k <= utest_twou_max(n1_k, t, k, a))
                    utest_memo_add(&A[k], n1_k, twou_k);
            }
        }
    }
}

/* Bottom-up: the number of arrangements with 2U' <= 2U for every state. */
static void utest_memo_fill(utest_memo_t *A, const int *t, int K, const int *a)
{
    utest_memo_t *A2 = &A[2];
    for (size_t i = 0; i < A2->cap; i++) {
        if (!A2->used[i]) continue;
        int n1 = A2->n1[i], twou = A2->twou[i];
        double sum = 0;
        int hi = (twou - n1 * (t[0] - n1)) / (t[0] + t[1]);
        for (int r2 = utest_imax(0, n1 - t[0]); r2 <= hi; r2++)
            sum += hpcli_bs_choose(t[0], n1 - r2) * hpcli_bs_choose(t[1], r2);
        A2->val[i] = sum;
    }
    int tsum = t[0];
    for (int k = 3; k <= K; k++) {
        tsum += t[k - 2];
        utest_memo_t *Ak = &A[k];
        for (size_t i = 0; i < Ak->cap; i++) {
            if (!Ak->used[i]) continue;
            int n1 = Ak->n1[i], twou = Ak->twou[i];
            double sum = 0;
            for (int rk = utest_imax(0, n1 - tsum); rk <= utest_imin(n1, t[k - 1]); rk++) {
                int twou_p = twou - rk * (a[k] - 2 * n1 + rk), n1_p = n1 - rk;
                double x = 0;
                if (!utest_memo_get(&A[k - 1], n1_p, twou_p, &x) &&
                    utest_twou_max(n1_p, t, k - 1, a) < twou_p)
                    x = hpcli_bs_choose(tsum, n1_p);
                sum += x * hpcli_bs_choose(t[k - 1], rk);
            }
            Ak->val[i] = sum;
        }
    }
}

static double utest_cdf_ties(int n1, int n2, const int *t, int K, double U)
{
    int twou = (int)(2 * U);
    int *a = calloc((size_t)K + 1, sizeof *a);
    utest_memo_t *A = calloc((size_t)K + 1, sizeof *A);
    if (a == NULL || A == NULL) hpcli_bs_oom();
    a[1] = t[0];
    for (int k = 2; k <= K; k++) a[k] = a[k - 1] + t[k - 2] + t[k - 1];
    utest_memo_init(&A[K], 16);
    utest_memo_add(&A[K], n1, twou);
    utest_memo_states(A, t, K, a);
    utest_memo_fill(A, t, K, a);
    double count = 0;
    utest_memo_get(&A[K], n1, twou, &count);
    for (int k = 2; k <= K; k++) utest_memo_free(&A[k]);
    free(A);
    free(a);
    return count / hpcli_bs_choose(n1 + n2, n1);
}

/* ---- the test ------------------------------------------------------------ */

static double utest_std_normal_cdf(double x)
{
    return erfc(-x / M_SQRT2) / 2;
}

/* The exact CDF of U at u (tie groups t[0..K)). */
static double utest_cdf(int n1, int n2, const int *t, int K, int has_ties, double u)
{
    if (u < 0) return 0;
    if (u >= (double)(n1 * n2)) return 1;
    return has_ties ? utest_cdf_ties(n1, n2, t, K, u) : utest_cdf_noties(n1, n2, u);
}

/* Merges the sorted samples (x1 only when strictly smaller, as Go does) and
 * returns the rank sum of x1; T gets the size of each group of equal
 * values.  A NaN forms a group of its own. */
static double utest_ranks(const double *x1, size_t n1, const double *x2, size_t n2, int *T,
                          int *K, int *has_ties)
{
    size_t N = n1 + n2;
    double *merged = malloc(N * sizeof *merged);
    unsigned char *from1 = malloc(N);
    if (merged == NULL || from1 == NULL) hpcli_bs_oom();
    size_t i = 0, j = 0, o = 0;
    while (i < n1 || j < n2) {
        int take1 = i < n1 && (j >= n2 || x1[i] < x2[j]);
        merged[o] = take1 ? x1[i] : x2[j];
        from1[o++] = (unsigned char)take1;
        take1 ? i++ : j++;
    }
    double R1 = 0;
    *K = 0;
    *has_ties = 0;
    for (i = 0; i < N;) {
        size_t rank1 = i + 1, nx1 = 0;
        double v = merged[i];
        do {
            nx1 += from1[i];
            i++;
        } while (i < N && merged[i] == v);
        if (nx1 != 0) R1 += (double)(i + rank1) / 2 * (double)nx1;
        T[(*K)++] = (int)(i - rank1 + 1);
        if (i > rank1) *has_ties = 1;
    }
    free(merged);
    free(from1);
    return R1;
}

int hpcli_bs_utest(const double *x1, size_t n1, const double *x2, size_t n2, double *p)
{
    *p = 1;
    if (n1 == 0 || n2 == 0) return HPCLI_BS_UTEST_SIZE;
    int *T = malloc((n1 + n2) * sizeof *T);
    if (T == NULL) hpcli_bs_oom();
    int K, has_ties;
    double R1 = utest_ranks(x1, n1, x2, n2, T, &K, &has_ties);
    double U1 = R1 - (double)(n1 * (n1 + 1)) / 2;
    double U2 = (double)(n1 * n2) - U1;
    double Usmall = U1 < U2 ? U1 : U2;
    int rc = HPCLI_BS_UTEST_OK;
    int exact = has_ties ? n1 <= UTEST_TIES_EXACT_LIMIT && n2 <= UTEST_TIES_EXACT_LIMIT
                         : n1 <= UTEST_EXACT_LIMIT && n2 <= UTEST_EXACT_LIMIT;
    if (exact) {
        if (K == 1) {
            rc = HPCLI_BS_UTEST_EQUAL;
        } else if (U1 == U2) {
            *p = 1; /* the centre: the whole distribution */
        } else {
            *p = utest_cdf((int)n1, (int)n2, T, K, has_ties, Usmall) * 2;
        }
    } else {
        double t = 0, N = (double)(n1 + n2);
        for (int k = 0; k < K; k++) t += (double)T[k] * T[k] * T[k] - T[k];
        double mu = (double)(n1 * n2) / 2;
        double sigma = sqrt((double)(n1 * n2) * ((N + 1) - t / (N * (N - 1))) / 12);
        if (sigma == 0) {
            rc = HPCLI_BS_UTEST_EQUAL;
        } else {
            double numer = U1 - mu;
            numer -= (numer > 0 ? 1 : numer < 0 ? -1 : 0) * 0.5;
            double z = numer / sigma, c = utest_std_normal_cdf(z);
            *p = 2 * (c < 1 - c ? c : 1 - c);
        }
    }
    free(T);
    return rc;
}
