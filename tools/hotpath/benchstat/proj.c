/* tools/hotpath/benchstat/proj.c: projections (-table, -row, -col, -ignore).
 *
 * golang.org/x/perf/benchproc's Projection, ProjectionParser and Key.  A
 * projection is a list of fields ("goos,/size@num,.name") and maps each
 * result to a key, the tuple of those fields' values; benchstat groups
 * results by table key, row key and column key.
 *
 *   - Fields.  .name, .fullname, /key and file keys are single fields.
 *     .config is a group field that grows one sub-field per file
 *     configuration key it meets, at the first result that has it.  -table
 *     also gets a .unit field, so that every unit has its own table.
 *   - Exclusion.  The projections parsed by one parser are exclusive: a
 *     file key named anywhere is left out of .config, and a /key or .name
 *     named anywhere is cut out of .fullname (extract.c), whatever the
 *     order of parsing.  The residue projection covers what is left (the
 *     rest of .config and .fullname) and shows when a cell mixes results
 *     that differ in it ("benchmarks vary in ...").
 *   - Keys.  Keys are interned per projection, so equal keys are the same
 *     pointer.  A key stores values by field index, trailing "" trimmed,
 *     so keys made before a group grew stay equal to keys made after.
 *   - Order.  Keys sort field by field in flattened order (group fields
 *     expanded), each field by its order: "first" (order of first
 *     observation, the default), "alpha", "num" (numbers with SI/IEC
 *     prefixes first, numerically) or a fixed list "@(a b c)", which also
 *     filters out other values.  Equal-ranked distinct values fall back to
 *     byte order.  Observation order is only recorded for top-level
 *     fields, so .config's keys sort alphabetically, as in Go.
 */
#include <math.h>
#include <string.h>

#include "bs.h"

enum { P_CONFIG, P_FULLNAME, P_EXT };

typedef struct proj_projector {
    int kind;
    hpcli_bs_field_t *field; /* FULLNAME, EXT */
    hpcli_bs_field_t *group; /* CONFIG */
    hpcli_bs_map_t *seen;    /* CONFIG: config key -> field */
    int order;               /* CONFIG: order of new sub-fields */
    hpcli_bs_extractor_t *ext;
} proj_projector_t;

struct hpcli_bs_proj {
    hpcli_bs_arena_t *arena;
    hpcli_bs_pparser_t *parser;
    hpcli_bs_field_t *root;
    int nfields;
    hpcli_bs_field_t *unit_field;
    proj_projector_t *projs;
    size_t nprojs, capprojs;
    const char **row; /* nfields values being projected */
    size_t caprow;
    hpcli_bs_field_t **flat;
    size_t nflat, capflat;
    int flat_valid;
    hpcli_bs_map_t *interns; /* value strings */
    hpcli_bs_map_t *keys;    /* encoded row -> key */
    hpcli_bs_buf_t scratch, enc;
};

struct hpcli_bs_pparser {
    hpcli_bs_arena_t *arena;
    hpcli_bs_map_t *config_keys;  /* file keys named by some projection */
    const char **fullname_keys;   /* .name and /keys named by some projection */
    size_t nfull, capfull;
    int have_config, have_fullname;
    hpcli_bs_extractor_t *full_ext; /* built at the first result */
};

/* One parsed field of a projection expression. */
typedef struct proj_spec {
    const char *key, *order;
    size_t key_off, order_off;
    const char **fixed;
    size_t nfixed, capfixed;
} proj_spec_t;

static void proj_free_bufs(void *p)
{
    hpcli_bs_proj_t *pj = p;
    hpcli_bs_buf_free(&pj->scratch);
    hpcli_bs_buf_free(&pj->enc);
}

static hpcli_bs_proj_t *proj_new(hpcli_bs_pparser_t *parser)
{
    hpcli_bs_arena_t *a = parser->arena;
    hpcli_bs_proj_t *pj = hpcli_bs_alloc(a, sizeof *pj);
    pj->arena = a;
    pj->parser = parser;
    pj->root = hpcli_bs_alloc(a, sizeof *pj->root);
    pj->root->idx = -1;
    pj->root->proj = pj;
    pj->interns = hpcli_bs_map_new(a);
    pj->keys = hpcli_bs_map_new(a);
    hpcli_bs_arena_defer(a, proj_free_bufs, pj);
    return pj;
}

hpcli_bs_pparser_t *hpcli_bs_pparser_new(hpcli_bs_arena_t *a)
{
    hpcli_bs_pparser_t *p = hpcli_bs_alloc(a, sizeof *p);
    p->arena = a;
    p->config_keys = hpcli_bs_map_new(a);
    return p;
}

static void proj_add_sub(hpcli_bs_proj_t *pj, hpcli_bs_field_t *group, hpcli_bs_field_t *f)
{
    group->sub = hpcli_bs_grow(pj->arena, group->sub, &group->capsub, group->nsub + 1,
                               sizeof *group->sub);
    group->sub[group->nsub++] = f;
    pj->flat_valid = 0;
}

static hpcli_bs_field_t *proj_add_field(hpcli_bs_proj_t *pj, hpcli_bs_field_t *group,
                                        const char *name, int order, hpcli_bs_map_t *fixed)
{
    hpcli_bs_field_t *f = hpcli_bs_alloc(pj->arena, sizeof *f);
    f->name = name;
    f->idx = pj->nfields++;
    f->proj = pj;
    f->order = order;
    if (order == HPCLI_BS_ORDER_FIRST) f->seen = hpcli_bs_map_new(pj->arena);
    f->fixed = fixed;
    proj_add_sub(pj, group, f);
    pj->row = hpcli_bs_grow(pj->arena, pj->row, &pj->caprow, (size_t)pj->nfields,
                            sizeof *pj->row);
    pj->row[f->idx] = "";
    return f;
}

static void proj_add_projector(hpcli_bs_proj_t *pj, proj_projector_t p)
{
    pj->projs = hpcli_bs_grow(pj->arena, pj->projs, &pj->capprojs, pj->nprojs + 1,
                              sizeof *pj->projs);
    pj->projs[pj->nprojs++] = p;
}

/* ---- parsing ------------------------------------------------------------- */

static void proj_spec_error(hpcli_bs_tokenizer_t *t, const char *msg)
{
    hpcli_bs_tokenizer_t rest;
    hpcli_bs_tok_error(t, msg, &rest);
    *t = rest;
}

/* "@(a b c)" after the "(". */
static void proj_parse_fixed(hpcli_bs_arena_t *a, hpcli_bs_tokenizer_t *t, proj_spec_t *f)
{
    for (;;) {
        hpcli_bs_tokenizer_t next;
        hpcli_bs_tok_t k = hpcli_bs_tok_next(t, 0, &next);
        if (k.kind == 'w' || k.kind == 'q') {
            *t = next;
            f->fixed = hpcli_bs_grow(a, f->fixed, &f->capfixed, f->nfixed + 1, sizeof *f->fixed);
            f->fixed[f->nfixed++] = k.tok;
        } else if (k.kind == ')') {
            if (f->nfixed == 0) proj_spec_error(t, "nothing to match");
            else *t = next;
            return;
        } else {
            proj_spec_error(t, "missing )");
            return;
        }
    }
}

static void proj_parse_field(hpcli_bs_arena_t *a, hpcli_bs_tokenizer_t *t, proj_spec_t *f)
{
    hpcli_bs_tokenizer_t next;
    hpcli_bs_tok_t key = hpcli_bs_tok_next(t, 0, &next);
    if (key.kind != 'w' && key.kind != 'q') {
        proj_spec_error(t, "expected key");
        return;
    }
    *t = next;
    f->key = key.tok;
    f->key_off = key.off;
    f->order = "first";
    f->order_off = key.off + strlen(key.tok);
    if (hpcli_bs_tok_next(t, 0, &next).kind != '@') return;
    *t = next;
    hpcli_bs_tok_t order = hpcli_bs_tok_next(t, 0, &next);
    f->order_off = order.off;
    if (order.kind == 'w' || order.kind == 'q') {
        f->order = order.tok;
        *t = next;
    } else if (order.kind == '(') {
        f->order = "fixed";
        *t = next;
        proj_parse_fixed(a, t, f);
    } else {
        proj_spec_error(t, "expected named sort order or parenthesized list");
    }
}

static proj_spec_t *proj_parse_specs(hpcli_bs_arena_t *a, const char *q, size_t *n,
                                     hpcli_bs_synerr_t **err)
{
    hpcli_bs_errt_t et;
    hpcli_bs_tokenizer_t t = hpcli_bs_tok_init(&et, a, q), next;
    proj_spec_t *v = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        hpcli_bs_tok_t k = hpcli_bs_tok_next(&t, 0, &next);
        if (k.kind == 0) break;
        if (k.kind == ',' && *n > 0) t = next;
        v = hpcli_bs_grow(a, v, &cap, *n + 1, sizeof *v);
        memset(&v[*n], 0, sizeof v[*n]);
        proj_parse_field(a, &t, &v[(*n)++]);
    }
    hpcli_bs_tok_end(&t);
    *err = et.err;
    return v;
}

/* The order of a parsed field; a fixed order also gets its value map. */
static hpcli_bs_synerr_t *proj_order(hpcli_bs_arena_t *a, const char *q, const proj_spec_t *f,
                                     int *order, hpcli_bs_map_t **fixed)
{
    *fixed = NULL;
    if (strcmp(f->order, "fixed") == 0) {
        *order = HPCLI_BS_ORDER_FIXED;
        *fixed = hpcli_bs_map_new(a);
        for (size_t i = 0; i < f->nfixed; i++)
            *hpcli_bs_map_put(*fixed, f->fixed[i], strlen(f->fixed[i]), NULL) =
                (void *)(uintptr_t)(i + 1);
    } else if (strcmp(f->order, "first") == 0) {
        *order = HPCLI_BS_ORDER_FIRST;
    } else if (strcmp(f->order, "alpha") == 0) {
        *order = HPCLI_BS_ORDER_ALPHA;
    } else if (strcmp(f->order, "num") == 0) {
        *order = HPCLI_BS_ORDER_NUM;
    } else {
        hpcli_bs_buf_t b = {0};
        hpcli_bs_buf_adds(&b, "unknown order ");
        hpcli_bs_quote(&b, f->order);
        hpcli_bs_synerr_t *e = hpcli_bs_synerr(a, q, f->order_off, hpcli_bs_strdup(a, b.p));
        hpcli_bs_buf_free(&b);
        return e;
    }
    return NULL;
}

/* Adds one parsed field to pj; a fixed order also yields a filter node. */
static hpcli_bs_synerr_t *proj_make(hpcli_bs_proj_t *pj, const char *q, const proj_spec_t *f,
                                    hpcli_bs_fnode_t **filter)
{
    hpcli_bs_pparser_t *p = pj->parser;
    hpcli_bs_arena_t *a = pj->arena;
    int order;
    hpcli_bs_map_t *fixed;
    *filter = NULL;
    hpcli_bs_synerr_t *e = proj_order(a, q, f, &order, &fixed);
    if (e != NULL) return e;
    proj_projector_t pr = {0};
    if (strcmp(f->key, ".config") == 0) {
        if (order == HPCLI_BS_ORDER_FIXED)
            return hpcli_bs_synerr(a, q, f->order_off, "fixed order not allowed for .config");
        p->have_config = 1;
        pr.kind = P_CONFIG;
        pr.group = hpcli_bs_alloc(a, sizeof *pr.group);
        pr.group->name = ".config";
        pr.group->is_tuple = 1;
        pr.group->idx = -1;
        pr.group->proj = pj;
        proj_add_sub(pj, pj->root, pr.group);
        pr.seen = hpcli_bs_map_new(a);
        pr.order = order;
    } else if (strcmp(f->key, ".fullname") == 0) {
        p->have_fullname = 1;
        pr.kind = P_FULLNAME;
        pr.field = proj_add_field(pj, pj->root, ".fullname", order, fixed);
        if (fixed) {
            const char *unused;
            *filter = hpcli_bs_fnode_fixed(a, hpcli_bs_extractor_new(a, ".fullname", &unused), fixed);
        }
    } else if (strcmp(f->key, ".unit") == 0) {
        return hpcli_bs_synerr(a, q, f->key_off, ".unit is only allowed in filters");
    } else {
        if (strcmp(f->key, ".name") == 0 || f->key[0] == '/') {
            p->fullname_keys = hpcli_bs_grow(a, p->fullname_keys, &p->capfull, p->nfull + 1,
                                             sizeof *p->fullname_keys);
            p->fullname_keys[p->nfull++] = f->key;
        } else {
            *hpcli_bs_map_put(p->config_keys, f->key, strlen(f->key), NULL) = (void *)1;
        }
        const char *err;
        pr.ext = hpcli_bs_extractor_new(a, f->key, &err);
        if (pr.ext == NULL) return hpcli_bs_synerr(a, q, f->key_off, err);
        pr.kind = P_EXT;
        pr.field = proj_add_field(pj, pj->root, f->key, order, fixed);
        if (fixed) *filter = hpcli_bs_fnode_fixed(a, pr.ext, fixed);
    }
    proj_add_projector(pj, pr);
    return NULL;
}

hpcli_bs_proj_t *hpcli_bs_proj_parse(hpcli_bs_pparser_t *p, const char *q, hpcli_bs_filter_t *filter,
                                     int with_unit, hpcli_bs_synerr_t **err)
{
    size_t n;
    proj_spec_t *specs = proj_parse_specs(p->arena, q, &n, err);
    if (*err != NULL) return NULL;
    hpcli_bs_proj_t *pj = proj_new(p);
    hpcli_bs_fnode_t **parts = hpcli_bs_alloc(p->arena, (n ? n : 1) * sizeof *parts);
    size_t nparts = 0;
    for (size_t i = 0; i < n; i++) {
        *err = proj_make(pj, q, &specs[i], &parts[nparts]);
        if (*err != NULL) return NULL;
        if (parts[nparts] != NULL) nparts++;
    }
    if (nparts > 0) hpcli_bs_filter_and(filter, parts, nparts);
    if (with_unit) pj->unit_field = proj_add_field(pj, pj->root, ".unit", HPCLI_BS_ORDER_FIRST, NULL);
    return pj;
}

hpcli_bs_proj_t *hpcli_bs_proj_residue(hpcli_bs_pparser_t *p)
{
    hpcli_bs_proj_t *pj = proj_new(p);
    hpcli_bs_fnode_t *unused;
    proj_spec_t config = {.key = ".config", .order = "first"};
    proj_spec_t full = {.key = ".fullname", .order = "first"};
    if (!p->have_config) proj_make(pj, "", &config, &unused);
    if (!p->have_fullname) proj_make(pj, "", &full, &unused);
    return pj;
}

/* ---- projecting ------------------------------------------------------------ */

static const char *proj_intern(hpcli_bs_proj_t *pj, const char *s, size_t n)
{
    int created;
    void **slot = hpcli_bs_map_put(pj->interns, s, n, &created);
    if (created) *slot = hpcli_bs_strndup(pj->arena, s, n);
    return *slot;
}

static void proj_run_config(hpcli_bs_proj_t *pj, proj_projector_t *pr, const hpcli_bs_result_t *r)
{
    for (size_t i = 0; i < r->nconfig; i++) {
        const hpcli_bs_config_t *c = &r->config[i];
        if (!c->file) continue;
        size_t klen = strlen(c->key);
        void **slot = hpcli_bs_map_get(pr->seen, c->key, klen);
        hpcli_bs_field_t *f = slot ? *slot : NULL;
        if (f == NULL) {
            if (hpcli_bs_map_get(pj->parser->config_keys, c->key, klen) != NULL) continue;
            f = proj_add_field(pj, pr->group, c->key, pr->order, NULL);
            *hpcli_bs_map_put(pr->seen, c->key, klen, NULL) = f;
        }
        pj->row[f->idx] = proj_intern(pj, c->val, strlen(c->val));
    }
}

static void proj_populate(hpcli_bs_proj_t *pj, const hpcli_bs_result_t *r)
{
    hpcli_bs_pparser_t *p = pj->parser;
    for (int i = 0; i < pj->nfields; i++) pj->row[i] = "";
    for (size_t i = 0; i < pj->nprojs; i++) {
        proj_projector_t *pr = &pj->projs[i];
        const hpcli_bs_extractor_t *ext = pr->ext;
        size_t len;
        if (pr->kind == P_CONFIG) {
            proj_run_config(pj, pr, r);
            continue;
        }
        if (pr->kind == P_FULLNAME) {
            if (p->full_ext == NULL)
                p->full_ext = hpcli_bs_extractor_fullname(p->arena, p->fullname_keys, p->nfull);
            ext = p->full_ext;
        }
        const char *v = hpcli_bs_extract(ext, r, &pj->scratch, &len);
        pj->row[pr->field->idx] = proj_intern(pj, v, len);
    }
}

static hpcli_bs_key_t *proj_intern_row(hpcli_bs_proj_t *pj)
{
    size_t n = (size_t)pj->nfields;
    while (n > 0 && pj->row[n - 1][0] == '\0') n--;
    hpcli_bs_buf_reset(&pj->enc);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(pj->row[i]);
        hpcli_bs_buf_add(&pj->enc, (const char *)&len, sizeof len);
        hpcli_bs_buf_add(&pj->enc, pj->row[i], len);
    }
    int created;
    void **slot = hpcli_bs_map_put(pj->keys, pj->enc.p ? pj->enc.p : "", pj->enc.len, &created);
    if (!created) return *slot;
    /* A new key: record first observations of top-level fields. */
    for (size_t i = 0; i < pj->root->nsub; i++) {
        hpcli_bs_field_t *f = pj->root->sub[i];
        if (f->seen == NULL) continue;
        const char *v = (size_t)f->idx < n ? pj->row[f->idx] : "";
        int fresh;
        void **o = hpcli_bs_map_put(f->seen, v, strlen(v), &fresh);
        if (fresh) *o = (void *)(uintptr_t)hpcli_bs_map_len(f->seen);
    }
    hpcli_bs_key_t *k = hpcli_bs_alloc(pj->arena, sizeof *k);
    k->proj = pj;
    k->n = n;
    k->vals = hpcli_bs_alloc(pj->arena, (n ? n : 1) * sizeof *k->vals);
    if (n > 0) memcpy(k->vals, pj->row, n * sizeof *k->vals);
    *slot = k;
    return k;
}

hpcli_bs_key_t *hpcli_bs_proj_project(hpcli_bs_proj_t *pj, const hpcli_bs_result_t *r)
{
    proj_populate(pj, r);
    return proj_intern_row(pj);
}

void hpcli_bs_proj_project_values(hpcli_bs_proj_t *pj, const hpcli_bs_result_t *r,
                                  hpcli_bs_key_t **out)
{
    proj_populate(pj, r);
    if (pj->unit_field == NULL) {
        hpcli_bs_key_t *k = proj_intern_row(pj);
        for (size_t i = 0; i < r->nvalues; i++) out[i] = k;
        return;
    }
    for (size_t i = 0; i < r->nvalues; i++) {
        pj->row[pj->unit_field->idx] = r->values[i].unit;
        out[i] = proj_intern_row(pj);
    }
}

/* ---- keys -------------------------------------------------------------------- */

static void proj_flatten(hpcli_bs_proj_t *pj, hpcli_bs_field_t *f)
{
    if (f->idx != -1) {
        pj->flat = hpcli_bs_grow(pj->arena, pj->flat, &pj->capflat, pj->nflat + 1,
                                 sizeof *pj->flat);
        pj->flat[pj->nflat++] = f;
        return;
    }
    for (size_t i = 0; i < f->nsub; i++) proj_flatten(pj, f->sub[i]);
}

hpcli_bs_field_t **hpcli_bs_proj_flat(hpcli_bs_proj_t *pj, size_t *n)
{
    if (!pj->flat_valid) {
        pj->nflat = 0;
        proj_flatten(pj, pj->root);
        pj->flat_valid = 1;
    }
    *n = pj->nflat;
    return pj->flat;
}

hpcli_bs_field_t *hpcli_bs_proj_unit_field(hpcli_bs_proj_t *pj)
{
    return pj->unit_field;
}

const char *hpcli_bs_key_get(const hpcli_bs_key_t *k, const hpcli_bs_field_t *f)
{
    return (size_t)f->idx < k->n ? k->vals[f->idx] : "";
}

char *hpcli_bs_key_string_values(hpcli_bs_arena_t *a, const hpcli_bs_key_t *k)
{
    size_t nf;
    hpcli_bs_field_t **flat = hpcli_bs_proj_flat(k->proj, &nf);
    hpcli_bs_buf_t b = {0};
    hpcli_bs_buf_add(&b, "", 0);
    for (size_t i = 0; i < nf; i++) {
        const char *v = hpcli_bs_key_get(k, flat[i]);
        if (v[0] == '\0') continue;
        if (b.len > 0) hpcli_bs_buf_addc(&b, ' ');
        hpcli_bs_buf_adds(&b, v);
    }
    char *s = hpcli_bs_strdup(a, b.p);
    hpcli_bs_buf_free(&b);
    return s;
}

/* Go's "num" order: a float, or digits with an SI/IEC prefix and an
 * optional B ("4k", "1MiB"); 0 if x is neither. */
static int proj_parse_num(const char *x, double *v)
{
    size_t n = strlen(x);
    if (hpcli_bs_parse_float(x, n, v) == HPCLI_BS_NUM_OK) return 1;
    size_t i = strcspn(x, "0123456789.");
    if (i == n) return 0;
    size_t j = i + strspn(x + i, "0123456789.");
    if (hpcli_bs_parse_float(x + i, j - i, v) != HPCLI_BS_NUM_OK) return 0;
    static const char prefixes[] = "KMGTPEZY";
    char pre = x[j];
    if (pre == '\0' || strchr("k" "KMGTPEZY", pre) == NULL) return 1;
    int exp = 1 + (int)(strchr(prefixes, pre == 'k' ? 'K' : pre) - prefixes);
    *v *= pow(x[j + 1] == 'i' ? 1024 : 1000, exp);
    return 1;
}

static int proj_cmp_num(const char *a, const char *b)
{
    double x, y;
    int oka = proj_parse_num(a, &x), okb = proj_parse_num(b, &y);
    if (oka && okb) {
        if (x < y || (!isnan(x) && isnan(y))) return -1;
        if (x > y || (isnan(x) && !isnan(y))) return 1;
        return 0;
    }
    if (!oka && !okb) return 0;
    return oka ? -1 : 1;
}

static long proj_rank(hpcli_bs_map_t *m, const char *v)
{
    void **slot = m ? hpcli_bs_map_get(m, v, strlen(v)) : NULL;
    return slot ? (long)(uintptr_t)*slot - 1 : 0;
}

static int proj_cmp(const hpcli_bs_field_t *f, const char *a, const char *b)
{
    long d;
    switch (f->order) {
    case HPCLI_BS_ORDER_FIRST:
        d = proj_rank(f->seen, a) - proj_rank(f->seen, b);
        return (d > 0) - (d < 0);
    case HPCLI_BS_ORDER_FIXED:
        d = proj_rank(f->fixed, a) - proj_rank(f->fixed, b);
        return (d > 0) - (d < 0);
    case HPCLI_BS_ORDER_ALPHA:
        return strcmp(a, b);
    default:
        return proj_cmp_num(a, b);
    }
}

static int proj_key_less(const hpcli_bs_key_t *a, const hpcli_bs_key_t *b)
{
    size_t nf;
    hpcli_bs_field_t **flat = hpcli_bs_proj_flat(a->proj, &nf);
    for (size_t i = 0; i < nf; i++) {
        const char *x = hpcli_bs_key_get(a, flat[i]), *y = hpcli_bs_key_get(b, flat[i]);
        int s = strcmp(x, y);
        if (s == 0) continue;
        int c = proj_cmp(flat[i], x, y);
        return c != 0 ? c < 0 : s < 0;
    }
    return 0;
}

static int proj_sort_less(void *ctx, size_t i, size_t j)
{
    hpcli_bs_key_t **k = ctx;
    return proj_key_less(k[i], k[j]);
}

static void proj_sort_swap(void *ctx, size_t i, size_t j)
{
    hpcli_bs_key_t **k = ctx, *t = k[i];
    k[i] = k[j];
    k[j] = t;
}

void hpcli_bs_sort_keys(hpcli_bs_key_t **keys, size_t n)
{
    hpcli_bs_gosort(keys, n, proj_sort_less, proj_sort_swap);
}

hpcli_bs_field_t **hpcli_bs_nonsingular(hpcli_bs_arena_t *a, hpcli_bs_key_t **keys, size_t n,
                                        size_t *nout)
{
    *nout = 0;
    if (n <= 1) return NULL;
    size_t nf;
    hpcli_bs_field_t **flat = hpcli_bs_proj_flat(keys[0]->proj, &nf);
    hpcli_bs_field_t **out = hpcli_bs_alloc(a, (nf ? nf : 1) * sizeof *out);
    for (size_t i = 0; i < nf; i++) {
        const char *base = hpcli_bs_key_get(keys[0], flat[i]);
        for (size_t k = 1; k < n; k++) {
            if (strcmp(hpcli_bs_key_get(keys[k], flat[i]), base) != 0) {
                out[(*nout)++] = flat[i];
                break;
            }
        }
    }
    return out;
}
