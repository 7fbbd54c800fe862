/* tools/hotpath/benchstat/numfmt.c: numbers and strings spelled the way Go spells them.
 *
 * benchstat's output is compared byte for byte with Go's, so the few Go
 * conversions it relies on are reproduced here:
 *   - strconv.ParseFloat's grammar (decimal and hex mantissas, "_" digit
 *     separators, inf/infinity/nan), with "value out of range" on overflow
 *     only; the conversion itself is strtod's, which is correctly rounded
 *     like Go's;
 *   - strconv.Atoi's grammar and its two error texts;
 *   - fmt's %v of a float64: the shortest digits that read back to the same
 *     double, printed in %e form when the decimal exponent is < -4 or >= 6
 *     (so 1e+06 and 2.2530000000000016e-06, but 123456 and 0.0001);
 *   - fmt's %.Nf, whose only difference from C is "+Inf", "-Inf", "NaN";
 *   - strconv.Quote, for error messages that quote a token.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs.h"

static int numfmt_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Length of the case-insensitive common prefix of s[0..n) and word. */
static size_t numfmt_prefix_fold(const char *s, size_t n, const char *word)
{
    size_t i = 0;
    while (i < n && word[i] != '\0' && numfmt_lower((unsigned char)s[i]) == word[i]) i++;
    return i;
}

/* inf, infinity (optionally signed) and nan, as the whole of s. */
static int numfmt_special(const char *s, size_t n, double *out)
{
    size_t i = 0;
    double sign = 1;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        sign = s[0] == '-' ? -1 : 1;
        i = 1;
    } else if (n == 3 && numfmt_prefix_fold(s, n, "nan") == 3) {
        *out = NAN;
        return 1;
    }
    size_t k = numfmt_prefix_fold(s + i, n - i, "infinity");
    if ((k == 3 || k == 8) && i + k == n) {
        *out = sign * INFINITY;
        return 1;
    }
    return 0;
}

/* Go's underscoreOK: "_" only between digits, or after a base prefix. */
static int numfmt_underscore_ok(const char *s, size_t n)
{
    char saw = '^';
    size_t i = 0;
    if (n >= 1 && (s[0] == '-' || s[0] == '+')) s++, n--;
    int hex = 0;
    if (n >= 2 && s[0] == '0' && strchr("box", numfmt_lower((unsigned char)s[1])) != NULL &&
        s[1] != '\0') {
        i = 2;
        saw = '0';
        hex = numfmt_lower((unsigned char)s[1]) == 'x';
    }
    for (; i < n; i++) {
        int c = numfmt_lower((unsigned char)s[i]);
        if ((c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f')) {
            saw = '0';
        } else if (c == '_') {
            if (saw != '0') return 0;
            saw = '_';
        } else {
            if (saw == '_') return 0;
            saw = '!';
        }
    }
    return saw != '_';
}

/* Go's readFloat, as a syntax check: returns how many bytes form a float
 * literal (0 if none) and whether it used "_". */
static size_t numfmt_scan_float(const char *s, size_t n, int *underscores)
{
    size_t i = 0;
    int hex = 0, sawdot = 0, sawdigits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if (i + 2 < n && s[i] == '0' && numfmt_lower((unsigned char)s[i + 1]) == 'x') {
        hex = 1;
        i += 2;
    }
    for (; i < n; i++) {
        int c = numfmt_lower((unsigned char)s[i]);
        if (c == '_') {
            *underscores = 1;
        } else if (c == '.') {
            if (sawdot) break;
            sawdot = 1;
        } else if ((c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f')) {
            sawdigits = 1;
        } else {
            break;
        }
    }
    if (!sawdigits) return 0;
    if (i < n && numfmt_lower((unsigned char)s[i]) == (hex ? 'p' : 'e')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_'); i++)
            if (s[i] == '_') *underscores = 1;
    } else if (hex) {
        return 0; /* a hex mantissa needs a p exponent */
    }
    return i;
}

int hpcli_bs_parse_float(const char *s, size_t n, double *out)
{
    *out = 0;
    if (numfmt_special(s, n, out)) return HPCLI_BS_NUM_OK;
    int underscores = 0;
    if (n == 0 || numfmt_scan_float(s, n, &underscores) != n) return HPCLI_BS_NUM_SYNTAX;
    if (underscores && !numfmt_underscore_ok(s, n)) return HPCLI_BS_NUM_SYNTAX;
    char small[64];
    char *clean = n < sizeof small ? small : hpcli_bs_xrealloc(NULL, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != '_') clean[k++] = s[i];
    clean[k] = '\0';
    errno = 0;
    double v = strtod(clean, NULL);
    int overflow = errno == ERANGE && isinf(v);
    if (clean != small) free(clean);
    *out = v;
    return overflow ? HPCLI_BS_NUM_RANGE : HPCLI_BS_NUM_OK;
}

int hpcli_bs_parse_int(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    int neg = 0;
    *out = 0;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n) return HPCLI_BS_NUM_SYNTAX;
    unsigned long long u = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return HPCLI_BS_NUM_SYNTAX;
        unsigned d = (unsigned)(s[i] - '0');
        if (u > (~0ull - d) / 10) return HPCLI_BS_NUM_RANGE;
        u = u * 10 + d;
    }
    if (!neg && u > 9223372036854775807ull) return HPCLI_BS_NUM_RANGE;
    if (neg && u > 9223372036854775808ull) return HPCLI_BS_NUM_RANGE;
    *out = neg ? (long long)(0 - u) : (long long)u;
    return HPCLI_BS_NUM_OK;
}

const char *hpcli_bs_num_error(int code)
{
    return code == HPCLI_BS_NUM_RANGE ? "value out of range" : "invalid syntax";
}

/* Shortest decimal digits of a finite v > 0 that read back exactly:
 * digits into d (NUL-terminated), returns the decimal exponent of the
 * first digit. */
static int numfmt_shortest(double v, char d[32])
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v || prec == 17) break;
    }
    /* tmp is "D.DDDDe+XX" or "De+XX". */
    char *e = strchr(tmp, 'e');
    int exp = atoi(e + 1);
    size_t k = 0;
    for (char *p = tmp; p < e; p++)
        if (*p != '.') d[k++] = *p;
    while (k > 1 && d[k - 1] == '0') k--;
    d[k] = '\0';
    return exp;
}

void hpcli_bs_fmt_v(hpcli_bs_buf_t *b, double v)
{
    if (isnan(v)) {
        hpcli_bs_buf_adds(b, "NaN");
        return;
    }
    if (isinf(v)) {
        hpcli_bs_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (signbit(v)) hpcli_bs_buf_addc(b, '-');
    v = fabs(v);
    if (v == 0) {
        hpcli_bs_buf_addc(b, '0');
        return;
    }
    char d[32];
    int exp = numfmt_shortest(v, d);
    int nd = (int)strlen(d);
    if (exp < -4 || exp >= 6) {
        hpcli_bs_buf_addc(b, d[0]);
        if (nd > 1) {
            hpcli_bs_buf_addc(b, '.');
            hpcli_bs_buf_adds(b, d + 1);
        }
        hpcli_bs_buf_printf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return;
    }
    int dp = exp + 1; /* digits before the decimal point */
    if (dp <= 0) {
        hpcli_bs_buf_adds(b, "0.");
        for (int i = 0; i < -dp; i++) hpcli_bs_buf_addc(b, '0');
        hpcli_bs_buf_adds(b, d);
    } else if (dp >= nd) {
        hpcli_bs_buf_adds(b, d);
        for (int i = nd; i < dp; i++) hpcli_bs_buf_addc(b, '0');
    } else {
        hpcli_bs_buf_add(b, d, (size_t)dp);
        hpcli_bs_buf_addc(b, '.');
        hpcli_bs_buf_adds(b, d + dp);
    }
}

void hpcli_bs_fmt_f(hpcli_bs_buf_t *b, double v, int prec, int plus)
{
    if (isnan(v)) {
        hpcli_bs_buf_adds(b, plus ? "+NaN" : "NaN");
    } else if (isinf(v)) {
        hpcli_bs_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
    } else {
        hpcli_bs_buf_printf(b, plus ? "%+.*f" : "%.*f", prec, v);
    }
}

static int numfmt_is_print(uint32_t r)
{
    if (r == ' ') return 1;
    return hpcli_bs_rune_is_graphic(r) && !hpcli_bs_rune_is_space(r);
}

void hpcli_bs_quote(hpcli_bs_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s), w;
    hpcli_bs_buf_addc(b, '"');
    for (size_t i = 0; i < n; i += w) {
        uint32_t r = hpcli_bs_rune(s + i, n - i, &w);
        unsigned char c = (unsigned char)s[i];
        if (r == 0xfffd && w == 1) {
            hpcli_bs_buf_printf(b, "\\x%c%c", hex[c >> 4], hex[c & 15]);
        } else if (r == '"' || r == '\\') {
            hpcli_bs_buf_addc(b, '\\');
            hpcli_bs_buf_addc(b, (char)r);
        } else if (numfmt_is_print(r)) {
            hpcli_bs_buf_add(b, s + i, w);
        } else if (r < 0x80 && strchr("\a\b\f\n\r\t\v", (int)r) != NULL && r != 0) {
            hpcli_bs_buf_addc(b, '\\');
            hpcli_bs_buf_addc(b, "abtnvfr"[strchr("\a\b\t\n\v\f\r", (int)r) - "\a\b\t\n\v\f\r"]);
        } else if (r < ' ' || r == 0x7f) {
            hpcli_bs_buf_printf(b, "\\x%c%c", hex[r >> 4], hex[r & 15]);
        } else if (r < 0x10000) {
            hpcli_bs_buf_printf(b, "\\u%04x", (unsigned)r);
        } else {
            hpcli_bs_buf_printf(b, "\\U%08x", (unsigned)r);
        }
    }
    hpcli_bs_buf_addc(b, '"');
}
