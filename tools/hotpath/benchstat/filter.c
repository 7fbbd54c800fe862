/* tools/hotpath/benchstat/filter.c: -filter expressions.
 *
 * golang.org/x/perf/benchproc's Filter and its parser.  The grammar:
 *
 *     expr    = and { "OR" and }
 *     and     = match { ["AND"] match }
 *     match   = "(" expr ")" | "-" match | "*"
 *             | key ":" value | key ":" "(" value { "OR" value } ")"
 *     value   = word | "quoted" | /regexp/
 *
 * A term key:value tests one extracted field of a result (extract.c), as
 * a literal or a regexp, except .unit, which tests each measurement's unit
 * (tidied or as written) separately.  So evaluation yields either one
 * verdict for the whole result or a bit mask over its measurements; AND,
 * OR and NOT combine verdicts and masks, a whole-result verdict
 * short-circuiting.  Applying a filter keeps the matching measurements and
 * drops the result when none is left.  Projections with a fixed order
 * ("/size@(1k 4k)") add terms that keep only the listed values.  Unlike
 * Go, nesting of "(" and "-" is limited to 1000 levels.
 */
#include <stdlib.h>
#include <string.h>

#include "bs.h"

enum { F_AND, F_OR, F_NOT, F_MATCH, F_UNIT, F_FIXED };

struct hpcli_bs_fnode {
    int op;
    hpcli_bs_fnode_t **kids;
    size_t n, cap;
    size_t off;                 /* MATCH/UNIT: offset of the key */
    const char *key, *lit;      /* lit when re == NULL */
    hpcli_bs_regex_t *re;
    hpcli_bs_extractor_t *ext;  /* MATCH, FIXED */
    hpcli_bs_map_t *fixed;      /* FIXED */
};

struct hpcli_bs_filter {
    hpcli_bs_arena_t *arena;
    hpcli_bs_fnode_t *root;
    hpcli_bs_buf_t scratch;
};

/* ---- parsing ------------------------------------------------------------- */

/* Nesting deeper than this is refused rather than risking the C stack
 * (Go's growable stacks have no such limit). */
#define FILTER_MAX_DEPTH 1000

typedef struct filter_parser {
    hpcli_bs_arena_t *arena;
    int depth; /* of "(" and "-" being parsed */
} filter_parser_t;

static hpcli_bs_fnode_t *filter_node(hpcli_bs_arena_t *a, int op)
{
    hpcli_bs_fnode_t *n = hpcli_bs_alloc(a, sizeof *n);
    n->op = op;
    return n;
}

static void filter_node_add(hpcli_bs_arena_t *a, hpcli_bs_fnode_t *n, hpcli_bs_fnode_t *kid)
{
    n->kids = hpcli_bs_grow(a, n->kids, &n->cap, n->n + 1, sizeof *n->kids);
    n->kids[n->n++] = kid;
}

static hpcli_bs_fnode_t *filter_node_match(hpcli_bs_arena_t *a, size_t off, const char *key,
                                     const hpcli_bs_tok_t *val)
{
    hpcli_bs_fnode_t *n = filter_node(a, F_MATCH);
    n->off = off;
    n->key = key;
    if (val->kind == 'r') n->re = val->re;
    else n->lit = val->tok;
    return n;
}

/* Records an error at *t and moves *t to the end. */
static hpcli_bs_fnode_t *filter_parse_error(hpcli_bs_tokenizer_t *t, const char *msg)
{
    hpcli_bs_tokenizer_t rest;
    hpcli_bs_tok_error(t, msg, &rest);
    *t = rest;
    return NULL;
}

static hpcli_bs_fnode_t *filter_parse_expr(filter_parser_t *p, hpcli_bs_tokenizer_t *t);

/* key:(v1 OR v2 ...), after the "(". */
static hpcli_bs_fnode_t *filter_parse_values(filter_parser_t *p, hpcli_bs_tokenizer_t *t, size_t off,
                                       const char *key)
{
    hpcli_bs_fnode_t *or = filter_node(p->arena, F_OR);
    hpcli_bs_tokenizer_t next;
    for (;;) {
        hpcli_bs_tok_t v = hpcli_bs_tok_next(t, 1, &next);
        if (v.kind != 'w' && v.kind != 'q' && v.kind != 'r') return filter_parse_error(t, "expected value");
        filter_node_add(p->arena, or, filter_node_match(p->arena, off, key, &v));
        *t = next;
        v = hpcli_bs_tok_next(t, 1, &next);
        if (v.kind == ')') {
            *t = next;
            return or;
        }
        if (v.kind != 'O') return filter_parse_error(t, "value list must be separated by OR");
        *t = next;
    }
}

static hpcli_bs_fnode_t *filter_parse_match(filter_parser_t *p, hpcli_bs_tokenizer_t *t);

/* "(" expr ")" and "-" match, with the nesting bounded. */
static hpcli_bs_fnode_t *filter_parse_nested(filter_parser_t *p, hpcli_bs_tokenizer_t *t, int paren)
{
    if (p->depth >= FILTER_MAX_DEPTH) return filter_parse_error(t, "expression nested too deeply");
    p->depth++;
    hpcli_bs_fnode_t *q = paren ? filter_parse_expr(p, t) : filter_parse_match(p, t);
    p->depth--;
    return q;
}

static hpcli_bs_fnode_t *filter_parse_match(filter_parser_t *p, hpcli_bs_tokenizer_t *t)
{
    hpcli_bs_tokenizer_t start = *t, rest, next;
    hpcli_bs_tok_t k = hpcli_bs_tok_next(&start, 0, &rest);
    hpcli_bs_fnode_t *q;
    switch (k.kind) {
    case '(':
        q = filter_parse_nested(p, &rest, 1);
        if (hpcli_bs_tok_next(&rest, 0, &next).kind != ')') {
            *t = rest;
            return filter_parse_error(t, "missing \")\"");
        }
        *t = next;
        return q;
    case '-':
        q = filter_node(p->arena, F_NOT);
        filter_node_add(p->arena, q, filter_parse_nested(p, &rest, 0));
        *t = rest;
        return q;
    case '*':
        *t = rest;
        return filter_node(p->arena, F_AND);
    case 'w':
    case 'q':
        if (hpcli_bs_tok_next(&rest, 0, &next).kind != ':') {
            *t = start;
            return filter_parse_error(t, "expected key:value");
        }
        rest = next;
        hpcli_bs_tok_t v = hpcli_bs_tok_next(&rest, 1, &next);
        if (v.kind == 'w' || v.kind == 'q' || v.kind == 'r') {
            *t = next;
            return filter_node_match(p->arena, k.off, k.tok, &v);
        }
        if (v.kind == '(') {
            *t = next;
            return filter_parse_values(p, t, k.off, k.tok);
        }
        *t = start;
        return filter_parse_error(t, "expected key:value");
    }
    *t = start;
    return filter_parse_error(t, "expected key:value or subexpression");
}

static hpcli_bs_fnode_t *filter_parse_and(filter_parser_t *p, hpcli_bs_tokenizer_t *t)
{
    hpcli_bs_fnode_t *and = filter_node(p->arena, F_AND);
    filter_node_add(p->arena, and, filter_parse_match(p, t));
    for (;;) {
        hpcli_bs_tokenizer_t next;
        hpcli_bs_tok_t op = hpcli_bs_tok_next(t, 0, &next);
        if (op.kind == 'A') {
            *t = next;
        } else if (op.kind && strchr("(-*wq", op.kind) != NULL) {
            filter_node_add(p->arena, and, filter_parse_match(p, t));
        } else if (op.kind == ')' || op.kind == 'O' || op.kind == 0) {
            break;
        } else {
            hpcli_bs_buf_t b = {0};
            hpcli_bs_buf_adds(&b, "unexpected ");
            hpcli_bs_quote(&b, op.tok);
            filter_parse_error(t, hpcli_bs_strdup(p->arena, b.p));
            hpcli_bs_buf_free(&b);
            return NULL;
        }
    }
    return and->n == 1 ? and->kids[0] : and;
}

static hpcli_bs_fnode_t *filter_parse_expr(filter_parser_t *p, hpcli_bs_tokenizer_t *t)
{
    hpcli_bs_fnode_t *or = filter_node(p->arena, F_OR);
    for (;;) {
        filter_node_add(p->arena, or, filter_parse_and(p, t));
        hpcli_bs_tokenizer_t next;
        if (hpcli_bs_tok_next(t, 0, &next).kind != 'O') break;
        *t = next;
    }
    return or->n == 1 ? or->kids[0] : or;
}

/* Attaches extractors; the first problem found depth-first is an error. */
static hpcli_bs_synerr_t *filter_compile(hpcli_bs_arena_t *a, const char *query, hpcli_bs_fnode_t *n,
                                   hpcli_bs_map_t *exts)
{
    for (size_t i = 0; i < n->n; i++) {
        hpcli_bs_synerr_t *e = filter_compile(a, query, n->kids[i], exts);
        if (e != NULL) return e;
    }
    if (n->op != F_MATCH) return NULL;
    if (strcmp(n->key, ".unit") == 0) {
        n->op = F_UNIT;
        return NULL;
    }
    if (strcmp(n->key, ".config") == 0)
        return hpcli_bs_synerr(a, query, n->off, ".config is only allowed in projections");
    int created;
    void **slot = hpcli_bs_map_put(exts, n->key, strlen(n->key), &created);
    if (created) {
        const char *err;
        *slot = hpcli_bs_extractor_new(a, n->key, &err);
        if (*slot == NULL) return hpcli_bs_synerr(a, query, n->off, err);
    }
    n->ext = *slot;
    return NULL;
}

static void filter_free_scratch(void *p)
{
    hpcli_bs_buf_free(p);
}

hpcli_bs_filter_t *hpcli_bs_filter_new(hpcli_bs_arena_t *a, const char *query,
                                       hpcli_bs_synerr_t **err)
{
    hpcli_bs_errt_t et;
    hpcli_bs_tokenizer_t t = hpcli_bs_tok_init(&et, a, query);
    filter_parser_t p = {a, 0};
    hpcli_bs_fnode_t *root = filter_parse_expr(&p, &t);
    hpcli_bs_tok_end(&t);
    *err = et.err;
    if (*err == NULL) *err = filter_compile(a, query, root, hpcli_bs_map_new(a));
    if (*err != NULL) return NULL;
    hpcli_bs_filter_t *f = hpcli_bs_alloc(a, sizeof *f);
    f->arena = a;
    f->root = root;
    hpcli_bs_arena_defer(a, filter_free_scratch, &f->scratch);
    return f;
}

hpcli_bs_fnode_t *hpcli_bs_fnode_fixed(hpcli_bs_arena_t *a, hpcli_bs_extractor_t *ext,
                                       hpcli_bs_map_t *vals)
{
    hpcli_bs_fnode_t *n = filter_node(a, F_FIXED);
    n->ext = ext;
    n->fixed = vals;
    return n;
}

void hpcli_bs_filter_and(hpcli_bs_filter_t *f, hpcli_bs_fnode_t **parts, size_t n)
{
    hpcli_bs_fnode_t *and = filter_node(f->arena, F_AND);
    for (size_t i = 0; i < n; i++) filter_node_add(f->arena, and, parts[i]);
    filter_node_add(f->arena, and, f->root);
    f->root = and;
}

/* ---- evaluation ------------------------------------------------------------ */

/* A verdict: mask == NULL means *x applies to the whole result; otherwise
 * the mask (heap, nwords words) marks the matching measurements. */
typedef struct filter_verdict {
    uint32_t *mask;
    int x;
} filter_verdict_t;

static int filter_match_value(const hpcli_bs_fnode_t *n, const char *v, size_t len)
{
    if (n->re != NULL) return hpcli_bs_regex_match(n->re, v, len);
    return strlen(n->lit) == len && memcmp(n->lit, v, len) == 0;
}

static filter_verdict_t filter_eval(hpcli_bs_filter_t *f, const hpcli_bs_fnode_t *n, const hpcli_bs_result_t *r)
{
    size_t nw = (r->nvalues + 31) / 32, len;
    filter_verdict_t out = {NULL, 0};
    switch (n->op) {
    case F_UNIT:
        out.mask = calloc(nw ? nw : 1, sizeof *out.mask);
        if (out.mask == NULL) hpcli_bs_oom();
        for (size_t i = 0; i < r->nvalues; i++) {
            const hpcli_bs_value_t *v = &r->values[i];
            if (filter_match_value(n, v->unit, strlen(v->unit)) ||
                (v->orig_unit[0] != '\0' && filter_match_value(n, v->orig_unit, strlen(v->orig_unit))))
                out.mask[i / 32] |= 1u << (i % 32);
        }
        return out;
    case F_MATCH: {
        const char *v = hpcli_bs_extract(n->ext, r, &f->scratch, &len);
        out.x = filter_match_value(n, v, len);
        return out;
    }
    case F_FIXED: {
        const char *v = hpcli_bs_extract(n->ext, r, &f->scratch, &len);
        out.x = hpcli_bs_map_get(n->fixed, v, len) != NULL;
        return out;
    }
    case F_NOT:
        out = filter_eval(f, n->kids[0], r);
        if (out.mask == NULL) out.x = !out.x;
        for (size_t i = 0; out.mask != NULL && i < nw; i++) out.mask[i] = ~out.mask[i];
        return out;
    }
    /* AND and OR: whole-result verdicts short-circuit; masks combine. */
    int is_and = n->op == F_AND;
    for (size_t k = 0; k < n->n; k++) {
        filter_verdict_t v = filter_eval(f, n->kids[k], r);
        if (v.mask == NULL) {
            if (v.x != is_and) {
                free(out.mask);
                return (filter_verdict_t){NULL, v.x};
            }
        } else if (out.mask == NULL) {
            out.mask = v.mask;
        } else {
            for (size_t i = 0; i < nw; i++) out.mask[i] = is_and ? out.mask[i] & v.mask[i]
                                                                 : out.mask[i] | v.mask[i];
            free(v.mask);
        }
    }
    out.x = is_and;
    return out;
}

static int filter_mask_test(const uint32_t *m, size_t i)
{
    return (m[i / 32] >> (i % 32)) & 1;
}

int hpcli_bs_filter_apply(hpcli_bs_filter_t *f, hpcli_bs_result_t *r)
{
    filter_verdict_t v = filter_eval(f, f->root, r);
    if (v.mask == NULL) {
        if (!v.x) r->nvalues = 0;
        return v.x;
    }
    size_t j = 0;
    for (size_t i = 0; i < r->nvalues; i++)
        if (filter_mask_test(v.mask, i)) r->values[j++] = r->values[i];
    free(v.mask);
    r->nvalues = j;
    return j > 0;
}
