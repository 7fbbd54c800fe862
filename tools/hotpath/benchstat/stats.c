/* tools/hotpath/benchstat/stats.c: summaries and comparisons of samples.
 *
 * This is golang.org/x/perf/benchmath with the parts of
 * github.com/aclements/go-moremath/stats it uses.  A unit is either
 * "assume nothing" (the default) or "assume exact" (Unit metadata
 * `assume=exact`).
 *
 * Assume nothing: the summary is the sample median (the R8 quantile
 * estimator, which for q=1/2 is the usual median) and its confidence
 * interval is a pair of order statistics.  The number of sample values
 * below the population median is Binomial(n, 1/2), so for n <= 30 the
 * interval is grown from the mode of that distribution outwards, adding
 * the likelier neighbour (the left one on ties) until the covered mass
 * reaches the confidence level; above 30 the normal approximation with a
 * continuity correction gives a symmetric interval, made one order
 * narrower on the right when that still covers the level.  Orders that
 * fall outside the sample are infinite bounds, shown as "±∞" with the
 * note "need >= N samples", N being the least n whose interval is finite.
 * Comparisons use the two-sided Mann-Whitney U test (utest.c); when the
 * difference is not significant and both samples are smaller than the
 * least size at which the U test can reach alpha at all, a note says so.
 *
 * Assume exact: the summary is the mode, the range the sample's extremes
 * (with a warning when they differ), and a comparison has p = 0, so a
 * change is always shown, from a single value if need be.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bs.h"

/* The confidence interval of the median of n values, as orders. */
typedef struct stats_ci {
    int lo, hi; /* 1-based order statistics; outside [1, n] is infinite */
} stats_ci_t;

static double stats_binom_pmf(int n, double p, int k)
{
    if (k < 0 || k > n) return 0;
    return hpcli_bs_choose(n, k) * pow(p, k) * pow(1 - p, n - k);
}

static double stats_norm_cdf(double mu, double sigma, double x)
{
    return erfc(-(x - mu) / (sigma * M_SQRT2)) / 2;
}

/* The inverse normal CDF: Acklam's rational approximation, refined by one
 * Halley step. */
static double stats_norm_inv(double mu, double sigma, double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    const double plow = 0.02425, phigh = 1 - plow;
    double x;
    if (p < 0 || p > 1) return NAN;
    if (p == 0) return -INFINITY;
    if (p == 1) return INFINITY;
    if (p < plow || phigh < p) {
        double q = sqrt(-2 * log(p < plow ? p : 1 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        if (p >= plow) x = -x;
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    double e = 0.5 * erfc(-x / M_SQRT2) - p;
    double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    x = x - u / (1 + x * u / 2);
    return x * sigma + mu;
}

/* Small n: accumulate the binomial mass outwards from the (left) mode. */
static stats_ci_t stats_ci_exact(int n, double q, double confidence)
{
    int x = (int)(ceil((n + 1) * q) - 1);
    if (q == 0) x = 0;
    double accum = stats_binom_pmf(n, q, x);
    int l = x, r = x + 1;
    double lp = stats_binom_pmf(n, q, l - 1), rp = stats_binom_pmf(n, q, r);
    while (accum < confidence && (lp > 0 || rp > 0)) {
        if (lp >= rp) {
            accum += lp;
            l--;
            lp = stats_binom_pmf(n, q, l - 1);
        } else {
            accum += rp;
            r++;
            rp = stats_binom_pmf(n, q, r);
        }
    }
    return (stats_ci_t){l, r};
}

/* Large n: the normal approximation, rounded out to whole orders. */
static stats_ci_t stats_ci_normal(int n, double q, double confidence)
{
    double mu = n * q, sigma = sqrt(n * q * (1 - q));
    double l1 = stats_norm_inv(mu, sigma, (1 - confidence) / 2);
    double r1 = 2 * mu - l1;
    int l = (int)floor(floor(l1 - 0.5) + 0.5) + 1;
    int r = (int)floor(ceil(r1 - 0.5) + 0.5) + 1;
    double conf = stats_norm_cdf(mu, sigma, r - 0.5) - stats_norm_cdf(mu, sigma, l - 0.5);
    double biased = stats_norm_cdf(mu, sigma, r - 1 - 0.5) - stats_norm_cdf(mu, sigma, l - 0.5);
    if (biased >= confidence && biased < conf) r--;
    return (stats_ci_t){l, r};
}

static stats_ci_t stats_median_ci(int n, double confidence)
{
    stats_ci_t ci;
    if (confidence >= 1) {
        ci = (stats_ci_t){0, n + 1};
    } else if (n <= 30) {
        ci = stats_ci_exact(n, 0.5, confidence);
    } else {
        ci = stats_ci_normal(n, 0.5, confidence);
    }
    if (ci.lo < 0) ci.lo = 0;
    if (ci.hi > n + 1) ci.hi = n + 1;
    return ci;
}

/* The R8 quantile of a sorted sample. */
static double stats_quantile(const double *x, size_t n, double q)
{
    if (n == 0) return NAN;
    if (q <= 0) return x[0];
    if (q >= 1) return x[n - 1];
    double pos = 1 / 3.0 + q * (n + 1 / 3.0);
    double kf, frac = modf(pos, &kf);
    long k = (long)kf;
    if (k <= 0) return x[0];
    if ((size_t)k >= n) return x[n - 1];
    return x[k - 1] + frac * (x[k] - x[k - 1]);
}

static void stats_summarize_median(hpcli_bs_arena_t *a, const double *x, size_t n,
                                   double confidence, hpcli_bs_summary_t *out)
{
    stats_ci_t ci = stats_median_ci((int)n, confidence);
    out->center = stats_quantile(x, n, 0.5);
    out->lo = ci.lo < 1 ? -INFINITY : x[ci.lo - 1];
    out->hi = (size_t)(ci.hi - 1) >= n ? INFINITY : x[ci.hi - 1];
    if (!isinf(out->lo) && !isinf(out->hi)) return;
    /* The least sample size with a finite interval at this level. */
    const char *op = ">";
    int need = 50;
    for (int m = 2; m <= 50; m++) {
        stats_ci_t c = stats_median_ci(m, confidence);
        if (0 < c.lo && c.hi <= m) {
            op = ">=";
            need = m;
            break;
        }
    }
    hpcli_bs_buf_t b = {0};
    hpcli_bs_buf_printf(&b, "need %s %d samples for confidence interval at level ", op, need);
    hpcli_bs_fmt_v(&b, confidence);
    hpcli_bs_strs_add(a, &out->warnings, hpcli_bs_strdup(a, b.p));
    hpcli_bs_buf_free(&b);
}

static void stats_summarize_exact(hpcli_bs_arena_t *a, const double *x, size_t n,
                                  hpcli_bs_summary_t *out)
{
    double val = x[0], mode = x[0];
    size_t count = 1, mode_count = 1;
    for (size_t i = 1; i < n; i++) {
        if (x[i] == val) {
            if (++count > mode_count) mode = val, mode_count = count;
        } else {
            val = x[i];
            count = 1;
        }
    }
    out->center = mode;
    out->lo = x[0];
    out->hi = x[n - 1];
    if (mode_count == n) return;
    hpcli_bs_buf_t b = {0};
    hpcli_bs_buf_adds(&b, "exact distribution expected, but values range from ");
    hpcli_bs_fmt_v(&b, x[0]);
    hpcli_bs_buf_adds(&b, " to ");
    hpcli_bs_fmt_v(&b, x[n - 1]);
    hpcli_bs_strs_add(a, &out->warnings, hpcli_bs_strdup(a, b.p));
    hpcli_bs_buf_free(&b);
}

void hpcli_bs_summarize(hpcli_bs_arena_t *a, const double *x, size_t n, int exact,
                        double confidence, hpcli_bs_summary_t *out)
{
    memset(out, 0, sizeof *out);
    if (exact) {
        stats_summarize_exact(a, x, n, out);
    } else {
        stats_summarize_median(a, x, n, confidence, out);
    }
}

/* The least n at which n values against n others can reach p <= alpha:
 * the smallest p of the U test for n vs n is 2 / C(2n, n). */
static const double stats_utest_min_p[] = {
    0, 1, 0.3333333333333333, 0.1, 0.02857142857142857, 0.007936507936507936,
    0.0021645021645021645, 0.0005827505827505828, 0.0001554001554001554,
    4.113533525298231e-05,
};

void hpcli_bs_compare(hpcli_bs_arena_t *a, const double *x1, size_t n1, const double *x2,
                      size_t n2, int exact, double alpha, hpcli_bs_comparison_t *out)
{
    memset(out, 0, sizeof *out);
    out->n1 = n1;
    out->n2 = n2;
    if (exact) return; /* p = 0 and alpha = 0: always a change */
    out->alpha = alpha;
    int rc = hpcli_bs_utest(x1, n1, x2, n2, &out->p);
    if (rc != HPCLI_BS_UTEST_OK) {
        out->p = 1;
        hpcli_bs_strs_add(a, &out->warnings,
                          rc == HPCLI_BS_UTEST_EQUAL ? "all samples are equal"
                                                     : "sample is too small");
        return;
    }
    if (!(out->p > alpha)) return;
    const char *op = ">";
    size_t need = sizeof stats_utest_min_p / sizeof stats_utest_min_p[0];
    for (size_t m = 1; m < sizeof stats_utest_min_p / sizeof stats_utest_min_p[0]; m++) {
        if (stats_utest_min_p[m] <= alpha) {
            op = ">=";
            need = m;
            break;
        }
    }
    if (n1 < need && n2 < need) {
        hpcli_bs_buf_t b = {0};
        hpcli_bs_buf_printf(&b, "need %s %zu samples to detect a difference at alpha level ", op,
                            need);
        hpcli_bs_fmt_v(&b, alpha);
        hpcli_bs_strs_add(a, &out->warnings, hpcli_bs_strdup(a, b.p));
        hpcli_bs_buf_free(&b);
    }
}

static double stats_sign(double x)
{
    if (x == 0) return 0;
    if (x < 0) return -1;
    if (x > 0) return 1;
    return NAN;
}

double hpcli_bs_go_max(double a, double b)
{
    if (isinf(a) && a > 0) return a;
    if (isinf(b) && b > 0) return b;
    if (isnan(a) || isnan(b)) return NAN;
    if (a == 0 && b == 0) return signbit(a) ? b : a;
    return a > b ? a : b;
}

void hpcli_bs_pct_range(hpcli_bs_buf_t *b, const hpcli_bs_summary_t *s)
{
    if (isinf(s->lo) || isinf(s->hi)) {
        hpcli_bs_buf_adds(b, "∞");
        return;
    }
    double cs = stats_sign(s->center);
    /* NaN signs compare unequal to everything, as in Go. */
    if (!(cs == stats_sign(s->lo)) || !(cs == stats_sign(s->hi))) {
        hpcli_bs_buf_adds(b, "?");
        return;
    }
    if (s->center == 0) {
        hpcli_bs_buf_adds(b, "0%");
        return;
    }
    double v = hpcli_bs_go_max(s->hi / s->center - 1, 1 - s->lo / s->center);
    hpcli_bs_fmt_f(b, 100 * v, 0, 0);
    hpcli_bs_buf_addc(b, '%');
}

void hpcli_bs_format_delta(hpcli_bs_buf_t *b, const hpcli_bs_comparison_t *c, double old,
                           double new_)
{
    if (c->p > c->alpha) {
        hpcli_bs_buf_adds(b, "~");
    } else if (old == new_) {
        hpcli_bs_buf_adds(b, "0.00%");
    } else if (old == 0) {
        hpcli_bs_buf_adds(b, "?");
    } else {
        hpcli_bs_fmt_f(b, ((new_ / old) - 1.0) * 100.0, 2, 1);
        hpcli_bs_buf_addc(b, '%');
    }
}

void hpcli_bs_comparison_string(hpcli_bs_buf_t *b, const hpcli_bs_comparison_t *c)
{
    if (c->p != 0) {
        hpcli_bs_buf_adds(b, "p=");
        hpcli_bs_fmt_f(b, c->p, 3, 0);
        hpcli_bs_buf_addc(b, ' ');
    }
    if (c->n1 == c->n2) {
        hpcli_bs_buf_printf(b, "n=%zu", c->n1);
    } else {
        hpcli_bs_buf_printf(b, "n=%zu+%zu", c->n1, c->n2);
    }
}

double hpcli_bs_geomean(const double *x, size_t n)
{
    if (n == 0) return NAN;
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(x[i] > 0)) return NAN;
        m += (hpcli_bs_go_log(x[i]) - m) / (double)(i + 1);
    }
    return hpcli_bs_go_exp(m);
}
