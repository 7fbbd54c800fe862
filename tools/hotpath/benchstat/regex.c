/* tools/hotpath/benchstat/regex.c: key:/regexp/ terms of -filter.
 *
 * benchstat's regexps are Go's (RE2 syntax) and match anywhere in the
 * value.  This file maps the common part of that syntax onto POSIX
 * extended regexps (regcomp/regexec, match-only):
 *   - \d \w \s and their negations become bracket expressions, also
 *     inside brackets (the negations only outside them);
 *   - \A and \z become ^ and $; \t \n \r \f \v and \xHH become the byte;
 *     any other escaped punctuation stands for itself;
 *   - inside brackets a backslash escapes the next character (POSIX has no
 *     escapes there), so brackets are rebuilt with "]" first and "-" last;
 *   - lazy quantifiers (*? +? ?? {n,m}?) become greedy, which matches the
 *     same strings; (?:...) becomes a plain group; a leading (?i) makes the
 *     match case-insensitive and other leading flags are ignored.
 * Anything else (named classes \pL, \b, \Q...\E, other (?...) groups) is
 * refused with "error parsing regexp: ...".  Unlike Go, "." matches one
 * byte, not one rune; this only shows with counted repetitions of "."
 * over non-ASCII text.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "bs.h"

struct hpcli_bs_regex {
    regex_t re;
};

static const char *regex_class(char c)
{
    switch (c) {
    case 'd': return "0-9";
    case 'w': return "0-9A-Za-z_";
    case 's': return "\t\n\f\r ";
    }
    return NULL;
}

static int regex_hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A single byte escape (\t, \x41, \.), or -1. */
static int regex_escape_byte(const char *s, size_t *used)
{
    static const char in[] = "tnrfva", out[] = "\t\n\r\f\v\a";
    *used = 2;
    const char *e = s[1] ? strchr(in, s[1]) : NULL;
    if (e != NULL) return out[e - in];
    if (s[1] == 'x' && regex_hex(s[2]) >= 0 && regex_hex(s[3]) >= 0) {
        *used = 4;
        return regex_hex(s[2]) * 16 + regex_hex(s[3]);
    }
    unsigned char c = (unsigned char)s[1];
    if (c != '\0' && c < 0x80 && strchr("\\.+*?()|[]{}^$/-:\"'#&~!%,;<=>@`_ ", c) != NULL)
        return c;
    return -1;
}

/* Rebuilds the bracket expression at s (just after "[") for POSIX; returns
 * the bytes consumed, through the closing "]", or 0 on error. */
static size_t regex_bracket(const char *s, hpcli_bs_buf_t *out, const char **err)
{
    hpcli_bs_buf_t items = {0};
    int neg = 0, rbracket = 0, dash = 0, caret = 0;
    size_t i = 0;
    if (s[i] == '^') neg = 1, i++;
    for (int first = 1; s[i] != '\0' && (s[i] != ']' || first); first = 0) {
        if (s[i] == '[' && s[i + 1] == ':') { /* [:alpha:] passes through */
            const char *end = strstr(s + i + 2, ":]");
            if (end == NULL) break;
            hpcli_bs_buf_add(&items, s + i, (size_t)(end + 2 - (s + i)));
            i = (size_t)(end + 2 - s);
            continue;
        }
        int c = (unsigned char)s[i];
        size_t used = 1;
        if (c == '\\') {
            const char *cls = regex_class(s[i + 1]);
            if (cls != NULL) {
                hpcli_bs_buf_adds(&items, cls);
                i += 2;
                continue;
            }
            c = regex_escape_byte(s + i, &used);
            if (c < 0) {
                *err = "unsupported escape in character class";
                hpcli_bs_buf_free(&items);
                return 0;
            }
        }
        if (s[i + used] == '-' && s[i + used + 1] != ']' && s[i + used + 1] != '\0') {
            /* A range; its end may be escaped too. */
            size_t used2 = 1;
            int hi = (unsigned char)s[i + used + 1];
            if (hi == '\\') hi = regex_escape_byte(s + i + used + 1, &used2);
            if (hi < 0) break;
            hpcli_bs_buf_printf(&items, "%c-%c", c, hi);
            i += used + 1 + used2;
            continue;
        }
        if (c == ']') rbracket = 1;
        else if (c == '-') dash = 1;
        else if (c == '^') caret = 1;
        else hpcli_bs_buf_addc(&items, (char)c);
        i += used;
    }
    if (s[i] != ']') {
        *err = "missing closing ]";
        hpcli_bs_buf_free(&items);
        return 0;
    }
    hpcli_bs_buf_adds(out, neg ? "[^" : "[");
    if (rbracket) hpcli_bs_buf_addc(out, ']');
    if (items.len) hpcli_bs_buf_adds(out, items.p);
    if (caret) hpcli_bs_buf_addc(out, '^');
    if (dash) hpcli_bs_buf_addc(out, '-');
    if (!rbracket && !items.len && !caret && !dash) hpcli_bs_buf_adds(out, "\x01-\x01");
    hpcli_bs_buf_addc(out, ']');
    hpcli_bs_buf_free(&items);
    return i + 1;
}

/* Translates one escape outside brackets; 0 on error. */
static size_t regex_escape(const char *s, hpcli_bs_buf_t *out)
{
    char c = s[1];
    const char *cls = regex_class((char)(c | 0x20));
    if (cls != NULL && (c == 'd' || c == 'w' || c == 's' || c == 'D' || c == 'W' || c == 'S')) {
        hpcli_bs_buf_printf(out, "[%s%s]", c >= 'a' ? "" : "^", cls);
        return 2;
    }
    if (c == 'A' || c == 'z') {
        hpcli_bs_buf_addc(out, c == 'A' ? '^' : '$');
        return 2;
    }
    size_t used;
    int b = regex_escape_byte(s, &used);
    if (b < 0) return 0;
    if (strchr(".[]()*+?{}|^$\\", b) != NULL && b != 0) hpcli_bs_buf_addc(out, '\\');
    hpcli_bs_buf_addc(out, (char)b);
    return used;
}

/* Go syntax to POSIX ERE; NULL with *err on what cannot be translated. */
static char *regex_translate(hpcli_bs_arena_t *a, const char *expr, int *icase, const char **err)
{
    hpcli_bs_buf_t out = {0};
    hpcli_bs_buf_add(&out, "", 0);
    size_t i = 0;
    *icase = 0;
    while (expr[i] == '(' && expr[i + 1] == '?' && strchr("imsU", expr[i + 2] ? expr[i + 2] : 'x')) {
        size_t j = i + 2;
        while (expr[j] != '\0' && strchr("imsU", expr[j]) != NULL) {
            if (expr[j] == 'i') *icase = 1;
            j++;
        }
        if (expr[j] != ')') break;
        i = j + 1;
    }
    for (*err = NULL; expr[i] != '\0' && *err == NULL;) {
        char c = expr[i];
        size_t used = 1;
        if (c == '\\') {
            used = regex_escape(expr + i, &out);
            if (used == 0) *err = "invalid or unsupported escape sequence";
        } else if (c == '[') {
            used = 1 + regex_bracket(expr + i + 1, &out, err);
        } else if (c == '(' && expr[i + 1] == '?') {
            if (expr[i + 2] != ':') *err = "unsupported group flags";
            hpcli_bs_buf_addc(&out, '(');
            used = 3;
        } else if (c == '?' && i > 0 && strchr("*+?}", expr[i - 1]) != NULL &&
                   (i < 2 || expr[i - 2] != '\\')) {
            /* lazy quantifier: same matches, so drop the "?" */
        } else {
            hpcli_bs_buf_addc(&out, c);
        }
        i += used;
    }
    char *r = *err ? NULL : hpcli_bs_strdup(a, out.p);
    hpcli_bs_buf_free(&out);
    return r;
}

static void regex_free(void *p)
{
    regfree(&((hpcli_bs_regex_t *)p)->re);
}

hpcli_bs_regex_t *hpcli_bs_regex_compile(hpcli_bs_arena_t *a, const char *expr, const char **err)
{
    int icase;
    const char *why;
    char *posix = regex_translate(a, expr, &icase, &why);
    if (posix == NULL) {
        *err = hpcli_bs_sprintf(a, "error parsing regexp: %s: `%s`", why, expr);
        return NULL;
    }
    hpcli_bs_regex_t *re = hpcli_bs_alloc(a, sizeof *re);
    int rc = regcomp(&re->re, posix, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
    if (rc != 0) {
        char msg[256];
        regerror(rc, &re->re, msg, sizeof msg);
        *err = hpcli_bs_sprintf(a, "error parsing regexp: %s: `%s`", msg, expr);
        return NULL;
    }
    hpcli_bs_arena_defer(a, regex_free, re);
    return re;
}

int hpcli_bs_regex_match(const hpcli_bs_regex_t *re, const char *s, size_t n)
{
    char small[256];
    char *z = n < sizeof small ? small : hpcli_bs_xrealloc(NULL, n + 1);
    memcpy(z, s, n);
    z[n] = '\0';
    int m = regexec(&re->re, z, 0, NULL, 0) == 0;
    if (z != small) free(z);
    return m;
}
