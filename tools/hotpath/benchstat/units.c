/* tools/hotpath/benchstat/units.c: benchmark units, as golang.org/x/perf/benchunit has them.
 *
 * Tidying.  The testing package reports "ns/op" and "MB/s"; scaling those
 * would give nonsense such as "µns/op", so every value is first converted
 * to base units: each "ns" token in the numerator becomes "sec" (x 1e-9)
 * and each "MB" token becomes "B" (x 1e6).  A unit is a sequence of tokens
 * separated by "-", white space, "*" and "/"; a "/" puts the following
 * tokens in the denominator until a "*" ends it.  So "x-ns/op" is
 * "x-sec/op", "MB*MB/s" is "B*B/s" (x 1e12) and "op/ns" is left alone.
 *
 * Class.  A unit whose numerator holds "B", "MB" or "bytes" counts in
 * binary prefixes (Ki, Mi, Gi, Ti); every other unit in SI prefixes
 * (n, µ, m, k, M, G, T).
 *
 * Scaling.  A row of a table shares one scale, chosen from the smallest
 * non-zero magnitude: the largest prefix under which that value shows as
 * at least 1 when rounded to four significant digits, with 1, 2 or 3
 * decimals so that four digits show (100.0, 10.00, 1.000).  Values below
 * the smallest prefix (n, or none for binary) get more decimals instead,
 * up to 10.  The thresholds are the decimal numbers 99.995, 9.9995 and
 * .99995 at each power, so that a value is never shown as "1000.0" of one
 * prefix when it would round to "1.000" of the next.
 */
#include <math.h>
#include <string.h>

#include "bs.h"

/* One token of a unit: [pos, pos+len), and whether it is a denominator. */
typedef struct unit_tok {
    size_t pos, len;
    int denom;
} unit_tok_t;

static int units_is_sep(uint32_t r)
{
    return r == '*' || r == '/' || r == '-' || hpcli_bs_rune_is_space(r);
}

/* The next token at or after *pos; 0 at the end.  *denom carries the
 * numerator/denominator state across calls. */
static int units_next(const char *u, size_t n, size_t *pos, int *denom, unit_tok_t *t)
{
    size_t i = *pos, w;
    while (i < n) {
        uint32_t r = hpcli_bs_rune(u + i, n - i, &w);
        if (r == '*') {
            *denom = 0;
        } else if (r == '/') {
            *denom = 1;
        } else if (!(r == '-' || hpcli_bs_rune_is_space(r))) {
            break;
        }
        i += w;
    }
    if (i >= n) {
        *pos = n;
        return 0;
    }
    size_t start = i;
    while (i < n) {
        uint32_t r = hpcli_bs_rune(u + i, n - i, &w);
        if (units_is_sep(r)) break;
        i += w;
    }
    t->pos = start;
    t->len = i - start;
    t->denom = *denom;
    *pos = i;
    return 1;
}

static int units_tok_is(const char *u, const unit_tok_t *t, const char *word)
{
    return t->len == strlen(word) && memcmp(u + t->pos, word, t->len) == 0;
}

int hpcli_bs_unit_class(const char *unit)
{
    size_t n = strlen(unit), pos = 0;
    int denom = 0;
    unit_tok_t t;
    while (units_next(unit, n, &pos, &denom, &t)) {
        if (!t.denom && (units_tok_is(unit, &t, "B") || units_tok_is(unit, &t, "MB") ||
                         units_tok_is(unit, &t, "bytes")))
            return HPCLI_BS_BINARY;
    }
    return HPCLI_BS_DECIMAL;
}

const char *hpcli_bs_tidy_unit(hpcli_bs_arena_t *a, const char *unit, double *factor)
{
    *factor = 1;
    if (strcmp(unit, "ns/op") == 0) {
        *factor = 1e-9;
        return "sec/op";
    }
    if (strcmp(unit, "MB/s") == 0) {
        *factor = 1e6;
        return "B/s";
    }
    if (strstr(unit, "ns") == NULL && strstr(unit, "MB") == NULL) return unit;
    hpcli_bs_buf_t out = {0};
    size_t n = strlen(unit), pos = 0, copied = 0;
    int denom = 0;
    unit_tok_t t;
    while (units_next(unit, n, &pos, &denom, &t)) {
        if (t.denom) continue;
        const char *repl = NULL;
        if (units_tok_is(unit, &t, "ns")) {
            repl = "sec";
            *factor /= 1e9;
        } else if (units_tok_is(unit, &t, "MB")) {
            repl = "B";
            *factor *= 1e6;
        }
        if (repl == NULL) continue;
        hpcli_bs_buf_add(&out, unit + copied, t.pos - copied);
        hpcli_bs_buf_adds(&out, repl);
        copied = t.pos + t.len;
    }
    hpcli_bs_buf_add(&out, unit + copied, n - copied);
    const char *r = hpcli_bs_strdup(a, out.p);
    hpcli_bs_buf_free(&out);
    return r;
}

/* One prefix and its thresholds: 99.995, 9.9995 and .99995 of it.  The
 * decimal literals round exactly as Go's ParseFloat of the same text. */
typedef struct units_factor {
    double factor;
    const char *prefix;
    double t100, t10, t1;
} units_factor_t;

static const units_factor_t units_si[] = {
    {1e12, "T", 99.995e12, 9.9995e12, .99995e12},
    {1e9, "G", 99.995e9, 9.9995e9, .99995e9},
    {1e6, "M", 99.995e6, 9.9995e6, .99995e6},
    {1e3, "k", 99.995e3, 9.9995e3, .99995e3},
    {1, "", 99.995, 9.9995, .99995},
    {1e-3, "m", 99.995e-3, 9.9995e-3, .99995e-3},
    {1e-6, "µ", 99.995e-6, 9.9995e-6, .99995e-6},
    {1e-9, "n", 99.995e-9, 9.9995e-9, .99995e-9},
};

/* For IEC prefixes the same fractions, as hex mantissas scaled by 2^k. */
static const units_factor_t units_iec[] = {
    {0x1p40, "Ti", 0x1.8ffae147ae148p46, 0x1.3ffbe76c8b439p43, 0x1.fff972474538fp39},
    {0x1p30, "Gi", 0x1.8ffae147ae148p36, 0x1.3ffbe76c8b439p33, 0x1.fff972474538fp29},
    {0x1p20, "Mi", 0x1.8ffae147ae148p26, 0x1.3ffbe76c8b439p23, 0x1.fff972474538fp19},
    {0x1p10, "Ki", 0x1.8ffae147ae148p16, 0x1.3ffbe76c8b439p13, 0x1.fff972474538fp9},
    {1, "", 0x1.8ffae147ae148p6, 0x1.3ffbe76c8b439p3, 0x1.fff972474538fp-1},
};

/* Below the smallest prefix, a value >= sigfigs[i] gets i+3 decimals. */
static const double units_sigfigs[] = {9.9995e-1, 9.9995e-2, 9.9995e-3, 9.9995e-4,
                                       9.9995e-5, 9.9995e-6, 9.9995e-7, 9.9995e-8};

hpcli_bs_scaler_t hpcli_bs_common_scale(const double *vals, size_t n, int cls)
{
    double min = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs(vals[i]);
        if (v != 0 && (min == 0 || v < min)) min = v;
    }
    hpcli_bs_scaler_t s = {3, 1, ""};
    if (min == 0) return s;
    const units_factor_t *f = cls == HPCLI_BS_BINARY ? units_iec : units_si;
    size_t nf = cls == HPCLI_BS_BINARY ? sizeof units_iec / sizeof units_iec[0]
                                       : sizeof units_si / sizeof units_si[0];
    for (size_t i = 0; i < nf; i++) {
        s.factor = f[i].factor;
        s.prefix = f[i].prefix;
        if (min >= f[i].t100) {
            s.prec = 1;
            return s;
        }
        if (min >= f[i].t10) {
            s.prec = 2;
            return s;
        }
        if (min >= f[i].t1) {
            s.prec = 3;
            return s;
        }
    }
    /* Below the smallest prefix: one more decimal per decade, 3 to 10. */
    double val = min / f[nf - 1].factor;
    size_t ns = sizeof units_sigfigs / sizeof units_sigfigs[0];
    for (size_t i = 0; i < ns; i++) {
        if (val >= units_sigfigs[i] || i == ns - 1) {
            s.prec = (int)i + 3;
            return s;
        }
    }
    return s;
}

void hpcli_bs_scale_fmt(hpcli_bs_buf_t *b, hpcli_bs_scaler_t s, double v)
{
    hpcli_bs_fmt_f(b, v / s.factor, s.prec, 0);
    hpcli_bs_buf_adds(b, s.prefix);
}
