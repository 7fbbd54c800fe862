/* tools/hotpath/benchstat/tok.c: the lexer of filter and projection expressions.
 *
 * This is the tokenizer of golang.org/x/perf/benchproc/internal/parse.
 * Tokens are:
 *   - operators ( ) : @ , and, at the start of a word only, - and *
 *     (so "a-b" and "a*b" are words);
 *   - bare words, up to white space or one of ( ) : @ , ; "AND" and "OR"
 *     are the operators 'A' and 'O';
 *   - quoted words, in Go's double-quoted string syntax;
 *   - where a value is expected, /regexp/ (regex.c), which must be followed
 *     by white space, an operator or the end.
 * A tokenizer is a position in the query, copied freely so that a parser
 * can look ahead and back off.  Skipping white space moves the tokenizer
 * the call was made on, as it does in Go, and that decides where error
 * carets point.  Only the first error is kept.  An error message shows the
 * query with a caret under the offending rune:
 *
 *     syntax error: expected key:value
 *         a :b c
 *           ^
 */
#include <string.h>

#include "bs.h"

static int tok_is_op(uint32_t c)
{
    return c == '(' || c == ')' || c == ':' || c == '@' || c == ',';
}

static int tok_is_start_op(uint32_t c)
{
    return tok_is_op(c) || c == '-' || c == '*';
}

hpcli_bs_tokenizer_t hpcli_bs_tok_init(hpcli_bs_errt_t *e, hpcli_bs_arena_t *a, const char *q)
{
    e->orig = q;
    e->len = strlen(q);
    e->err = NULL;
    e->arena = a;
    return (hpcli_bs_tokenizer_t){0, e};
}

static hpcli_bs_tok_t tok_make(const hpcli_bs_tokenizer_t *t, char kind, const char *text,
                               size_t consumed, hpcli_bs_tokenizer_t *rest)
{
    hpcli_bs_tok_t k = {kind, t->off, text, NULL};
    *rest = (hpcli_bs_tokenizer_t){t->off + consumed, t->errt};
    return k;
}

hpcli_bs_synerr_t *hpcli_bs_synerr(hpcli_bs_arena_t *a, const char *q, size_t off, const char *msg)
{
    hpcli_bs_synerr_t *e = hpcli_bs_alloc(a, sizeof *e);
    e->query = q;
    e->off = off;
    e->msg = msg;
    return e;
}

hpcli_bs_tok_t hpcli_bs_tok_error(hpcli_bs_tokenizer_t *t, const char *msg, hpcli_bs_tokenizer_t *rest)
{
    hpcli_bs_errt_t *e = t->errt;
    if (e->err == NULL) e->err = hpcli_bs_synerr(e->arena, e->orig, t->off, msg);
    hpcli_bs_tok_t k = {0, e->len, "", NULL};
    *rest = (hpcli_bs_tokenizer_t){e->len, e};
    return k;
}

/* The width of the white-space rune at s, or 0. */
static size_t tok_space(const char *s, size_t n)
{
    size_t w;
    if (s[0] == ' ') return 1;
    return hpcli_bs_rune_is_space(hpcli_bs_rune(s, n, &w)) ? w : 0;
}

/* Go's strconv.Unquote of a double-quoted string s[0..n) (quotes
 * included); 0 on a bad escape. */
static int tok_unquote(const char *s, size_t n, hpcli_bs_buf_t *out)
{
    static const char esc_in[] = "abfnrtv\\\"", esc_out[] = "\a\b\f\n\r\t\v\\\"";
    size_t i = 1, end = n - 1, w;
    while (i < end) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '"') return 0;
        if (c != '\\') {
            uint32_t r = hpcli_bs_rune(s + i, end - i, &w);
            if (r == 0xfffd && w == 1) hpcli_bs_buf_add_rune(out, r);
            else hpcli_bs_buf_add(out, s + i, w);
            i += w;
            continue;
        }
        if (++i >= end) return 0;
        c = (unsigned char)s[i];
        const char *e = c ? strchr(esc_in, c) : NULL;
        if (e != NULL) {
            hpcli_bs_buf_addc(out, esc_out[e - esc_in]);
            i++;
            continue;
        }
        int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : (c >= '0' && c <= '7') ? 3 : 0;
        int base = c >= '0' && c <= '7' ? 8 : 16;
        if (digits == 0) return 0;
        if (base == 16) i++;
        uint32_t v = 0;
        for (int d = 0; d < digits; d++, i++) {
            if (i >= end) return 0;
            int x = s[i];
            int dv = x >= '0' && x <= '9' ? x - '0' : (x | 0x20) >= 'a' && (x | 0x20) <= 'f' ? (x | 0x20) - 'a' + 10 : 99;
            if (dv >= base) return 0;
            v = v * (uint32_t)base + (uint32_t)dv;
        }
        if (c == 'x' || base == 8) {
            if (v > 255) return 0;
            hpcli_bs_buf_addc(out, (char)v);
        } else {
            if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
            hpcli_bs_buf_add_rune(out, v);
        }
    }
    return 1;
}

static hpcli_bs_tok_t tok_quoted(hpcli_bs_tokenizer_t *t, hpcli_bs_tokenizer_t *rest)
{
    const char *q = t->errt->orig + t->off;
    size_t n = t->errt->len - t->off, pos = 1;
    while (pos < n && (q[pos] != '"' || q[pos - 1] == '\\')) pos++;
    if (pos == n) return hpcli_bs_tok_error(t, "missing end quote", rest);
    hpcli_bs_buf_t b = {0};
    hpcli_bs_buf_add(&b, "", 0);
    int ok = tok_unquote(q, pos + 1, &b);
    const char *word = hpcli_bs_strndup(t->errt->arena, b.p, b.len);
    hpcli_bs_buf_free(&b);
    if (!ok) return hpcli_bs_tok_error(t, "bad escape sequence", rest);
    return tok_make(t, 'q', word, pos + 1, rest);
}

static hpcli_bs_tok_t tok_bare(hpcli_bs_tokenizer_t *t, hpcli_bs_tokenizer_t *rest)
{
    const char *q = t->errt->orig + t->off;
    size_t n = t->errt->len - t->off, end = 0, w;
    while (end < n) {
        uint32_t r = hpcli_bs_rune(q + end, n - end, &w);
        if (hpcli_bs_rune_is_space(r) || tok_is_op(r)) break;
        end += w;
    }
    const char *word = hpcli_bs_strndup(t->errt->arena, q, end);
    char kind = strcmp(word, "AND") == 0 ? 'A' : strcmp(word, "OR") == 0 ? 'O' : 'w';
    return tok_make(t, kind, word, end, rest);
}

/* The end of the regexp starting at s: the first "/" outside brackets and
 * parentheses (a backslash escapes the next byte); n if none. */
static size_t tok_regexp_end(const char *s, size_t n)
{
    int cs = 0, cp = 0;
    for (size_t i = 0; i < n; i++) {
        if (cs == 0 && cp == 0 && s[i] == '/') return i;
        switch (s[i]) {
        case '[': cs++; break;
        case ']': if (--cs < 0) cs = 0; break;
        case '(': if (cs == 0) cp++; break;
        case ')': if (cs == 0) cp--; break;
        case '\\': i++; break;
        }
    }
    return n;
}

static hpcli_bs_tok_t tok_regexp(hpcli_bs_tokenizer_t *t, hpcli_bs_tokenizer_t *rest)
{
    hpcli_bs_arena_t *a = t->errt->arena;
    const char *q = t->errt->orig + t->off;
    size_t n = t->errt->len - t->off;
    size_t end = 1 + tok_regexp_end(q + 1, n - 1);
    if (end >= n) return hpcli_bs_tok_error(t, "missing close \"/\"", rest);
    const char *expr = hpcli_bs_strndup(a, q + 1, end - 1), *err = NULL;
    hpcli_bs_regex_t *re = hpcli_bs_regex_compile(a, expr, &err);
    if (re == NULL) return hpcli_bs_tok_error(t, err, rest);
    /* After the close "/", space or an operator must follow.  Go looks at
     * the byte as if it were a rune, so 0x85 and 0xa0 count as space. */
    size_t after = end + 1;
    if (after < n) {
        unsigned char c = (unsigned char)q[after];
        if (!hpcli_bs_rune_is_space(c) && !tok_is_start_op(c)) {
            hpcli_bs_tokenizer_t at = {t->off + after, t->errt};
            return hpcli_bs_tok_error(
                &at, "regexp must be followed by space or an operator (unescaped \"/\"?)", rest);
        }
    }
    hpcli_bs_tok_t k = tok_make(t, 'r', expr, after, rest);
    k.re = re;
    return k;
}

hpcli_bs_tok_t hpcli_bs_tok_next(hpcli_bs_tokenizer_t *t, int allow_re, hpcli_bs_tokenizer_t *rest)
{
    const char *orig = t->errt->orig;
    size_t len = t->errt->len, sp;
    while (t->off < len) {
        unsigned char c = (unsigned char)orig[t->off];
        if (tok_is_start_op(c)) {
            const char *text = hpcli_bs_strndup(t->errt->arena, &orig[t->off], 1);
            return tok_make(t, (char)c, text, 1, rest);
        }
        if ((sp = tok_space(orig + t->off, len - t->off)) > 0) {
            t->off += sp;
        } else if (allow_re && c == '/') {
            return tok_regexp(t, rest);
        } else if (c == '"') {
            return tok_quoted(t, rest);
        } else {
            return tok_bare(t, rest);
        }
    }
    return tok_make(t, 0, "", 0, rest);
}

void hpcli_bs_tok_end(hpcli_bs_tokenizer_t *t)
{
    hpcli_bs_tokenizer_t rest;
    hpcli_bs_tok_t k = hpcli_bs_tok_next(t, 0, &rest);
    if (k.kind == 0) return;
    hpcli_bs_buf_t b = {0};
    hpcli_bs_buf_adds(&b, "unexpected ");
    hpcli_bs_quote(&b, k.tok);
    hpcli_bs_tok_error(t, hpcli_bs_strdup(t->errt->arena, b.p), &rest);
    hpcli_bs_buf_free(&b);
}

char *hpcli_bs_synerr_string(hpcli_bs_arena_t *a, const hpcli_bs_synerr_t *e)
{
    /* The caret sits under the rune at e->off, counting graphic runes. */
    size_t pos = 0, n = strlen(e->query), w;
    for (size_t i = 0; i < n && i < e->off; i += w)
        if (hpcli_bs_rune_is_graphic(hpcli_bs_rune(e->query + i, n - i, &w))) pos++;
    return hpcli_bs_sprintf(a, "syntax error: %s\n\t%s\n\t%*s^", e->msg, e->query, (int)pos, "");
}
