/* tools/hotpath/benchstat/gomath.c: Go's math.Log and math.Exp, bit for bit.
 *
 * The CSV form prints geometric means at full precision, and they come
 * from exp(mean(log(x))); glibc's correctly rounded log and exp differ
 * from Go's in the last bit often enough to show ("7" against
 * "6.999999999999999").  So the geomean uses Go's own algorithms, as Go
 * runs them on x86-64:
 *   - Log: the FreeBSD e_log.c reduction x = 2^k (1+f) with
 *     sqrt(2)/2 <= 1+f < sqrt(2), s = f/(2+f), and the degree-14 minimax
 *     polynomial in s^2, with ln 2 split in a high and a low part;
 *   - Exp: Shibata's method (from SLEEF): x = k ln 2 + r with k rounded to
 *     nearest, r/16 through a degree-8 Taylor polynomial, squared back four
 *     times as y(y+2), then scaled by 2^k.  Go uses fused multiply-adds
 *     here when the CPU has AVX and FMA, which changes the last bit, so
 *     this does the same.
 *   - Lgamma, for x >= 2 (what binomial coefficients need): FreeBSD's
 *     e_lgamma_r.c, a rational approximation on [2, 3) stepped up by
 *     log((y+2)(y+3)...) below 8 and Stirling's series from 8 on.  The
 *     median's confidence interval grows towards the likelier side and
 *     breaks ties to the left, and C(n, k) against C(n, n-k) from glibc's
 *     lgamma can differ in the last bit where Go's are equal.
 * Each expression below keeps Go's order of operations.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "bs.h"

static uint64_t gomath_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static double gomath_from(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

double hpcli_bs_go_log(double x)
{
    static const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
    static const double l1 = 6.666666666666735130e-01, l2 = 3.999999999940941908e-01,
                        l3 = 2.857142874366239149e-01, l4 = 2.222219843214978396e-01,
                        l5 = 1.818357216161805012e-01, l6 = 1.531383769920937332e-01,
                        l7 = 1.479819860511658591e-01;
    uint64_t b = gomath_bits(x);
    if ((b & ~(1ull << 63)) == 0) return -INFINITY;
    if ((int64_t)b < 0) return NAN;
    if (b >= 0x7ff0000000000000ull) return x;
    double f1 = gomath_from((b & 0x000fffffffffffffull) | gomath_bits(0.5));
    double k = (double)((int)((b >> 52) & 0x7ff) - 0x3fe);
    if (f1 <= 7.07106781186547524401e-01) {
        f1 *= 2;
        k -= 1;
    }
    double f = f1 - 1;
    double s = f / (2.0 + f), s2 = s * s, s4 = s2 * s2;
    double t1 = s2 * (((l7 * s4 + l5) * s4 + l3) * s4 + l1);
    double t2 = s4 * ((l6 * s4 + l4) * s4 + l2);
    double R = t1 + t2, hfsq = 0.5 * f * f;
    return k * ln2hi - ((hfsq - (s * (hfsq + R) + k * ln2lo)) - f);
}

/* 2^e * y, as Go builds the scale factor from exponent bits. */
static double gomath_scale(double y, int e)
{
    int biased = e + 0x3ff;
    if (biased >= 0x7ff) return INFINITY;
    if (biased <= 0) {
        if (biased < -52) return 0;
        y *= gomath_from((uint64_t)(biased + 0x3fe) << 52);
        biased = 1;
    }
    return y * gomath_from((uint64_t)biased << 52);
}

/* Whether Go's Exp would take its FMA path on this CPU (x86-64 only; other
 * architectures take the plain path here). */
static int gomath_has_fma(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return __builtin_cpu_supports("avx") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

double hpcli_bs_go_exp(double x)
{
    static const double log2e = 1.4426950408889634073599246810018920;
    static const double ln2u = 0.69314718055966295651160180568695068359375;
    static const double ln2l = 0.28235290563031577122588448175013436025525412068e-12;
    static const double c[] = {2.4801587301587301587e-5, 1.9841269841269841270e-4,
                               1.3888888888888888889e-3, 8.3333333333333333333e-3,
                               4.1666666666666666667e-2, 1.6666666666666666667e-1, 0.5, 1.0};
    if (isnan(x) || x == INFINITY) return x;
    if (x == -INFINITY) return 0;
    if (x > 7.09782712893384e+02) return INFINITY;
    double ke = x * log2e;
    if (ke < -2147483648.0 || ke > 2147483647.0) return ke < 0 ? 0 : INFINITY;
    int e = (int)lrint(ke);
    double k = (double)e, y, p;
    int use_fma = gomath_has_fma();
    if (use_fma) {
        y = fma(-k, ln2u, x);
        y = fma(-k, ln2l, y);
        y *= 0.0625;
        p = c[0];
        for (int i = 1; i < 8; i++) p = fma(p, y, c[i]);
        y *= p;
        for (int i = 0; i < 3; i++) y *= y + 2.0;
        y = fma(y, y + 2.0, 1.0);
    } else {
        volatile double t; /* keep each product rounded on its own */
        t = k * ln2u;
        y = x - t;
        t = k * ln2l;
        y = y - t;
        y *= 0.0625;
        p = c[0];
        for (int i = 1; i < 8; i++) {
            t = p * y;
            p = t + c[i];
        }
        y *= p;
        for (int i = 0; i < 4; i++) y *= y + 2.0;
        y += 1.0;
    }
    return gomath_scale(y, e);
}

double hpcli_bs_go_lgamma(double x)
{
    static const double S[] = {-7.72156649015328655494e-02, 2.14982415960608852501e-01,
                               3.25778796408930981787e-01, 1.46350472652464452805e-01,
                               2.66422703033638609560e-02, 1.84028451407337715652e-03,
                               3.19475326584100867617e-05};
    static const double R[] = {1.0, 1.39200533467621045958e+00, 7.21935547567138069525e-01,
                               1.71933865632803078993e-01, 1.86459191715652901344e-02,
                               7.77942496381893596434e-04, 7.32668430744625636189e-06};
    static const double W[] = {4.18938533204672725052e-01, 8.33333333333329678849e-02,
                               -2.77777777728775536470e-03, 7.93650558643019558500e-04,
                               -5.95187557450339963135e-04, 8.36339918996282139126e-04,
                               -1.63092934096575273989e-03};
    if (x == 1 || x == 2) return 0;
    if (!(x > 2) || isinf(x)) return lgamma(x); /* not needed by benchstat */
    if (x < 8) {
        int i = (int)x;
        double y = x - i;
        double p = y * (S[0] + y * (S[1] + y * (S[2] + y * (S[3] + y * (S[4] + y * (S[5] + y * S[6]))))));
        double q = 1 + y * (R[1] + y * (R[2] + y * (R[3] + y * (R[4] + y * (R[5] + y * R[6])))));
        double lg = 0.5 * y + p / q, z = 1.0;
        for (int k = i; k >= 3; k--) z *= y + (k - 1);
        if (i >= 3) lg += hpcli_bs_go_log(z);
        return lg;
    }
    if (x < 0x1p58) {
        double t = hpcli_bs_go_log(x), z = 1 / x, y = z * z;
        double w = W[0] + z * (W[1] + y * (W[2] + y * (W[3] + y * (W[4] + y * (W[5] + y * W[6])))));
        return (x - 0.5) * (t - 1) + w;
    }
    return x * (hpcli_bs_go_log(x) - 1);
}
