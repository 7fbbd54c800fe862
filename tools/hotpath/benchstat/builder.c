/* tools/hotpath/benchstat/builder.c: results into tables of cells.
 *
 * cmd/benchstat/internal/benchtab's Builder.  Each measurement of each
 * result goes to the table of its table key (which includes the unit),
 * and within it to the cell at (row key, column key).  A cell also
 * remembers the residue keys of its results, to warn when it mixes
 * results that differ in something no projection shows.
 *
 * Finishing sorts tables, rows and columns by key order, then for every
 * cell: sorts its values, summarizes them (stats.c) and compares them with
 * the cell of the first column in the same row, the baseline.  The last
 * row summarizes each column: the geometric mean of its cells' centres and
 * of their ratios to the baseline (the mean of ratios, not the ratio of
 * means, so that columns with different benchmark sets still compare
 * sensibly, with a warning).  Ratios 0/0 count as 1; x/0 makes the ratio
 * unavailable.
 */
#include <math.h>
#include <string.h>

#include "bs.h"

typedef struct builder_table {
    hpcli_bs_key_t *key;
    hpcli_bs_map_t *rows, *cols; /* key pointer sets */
    hpcli_bs_map_t *cells;       /* (row, col) -> cell */
} builder_table_t;

struct hpcli_bs_builder {
    hpcli_bs_arena_t *arena;
    hpcli_bs_proj_t *table_by, *row_by, *col_by, *residue;
    hpcli_bs_map_t *tables; /* table key -> builder_table_t */
    hpcli_bs_key_t **keybuf;
    size_t capkeybuf;
};

hpcli_bs_builder_t *hpcli_bs_builder_new(hpcli_bs_arena_t *a, hpcli_bs_proj_t *table_by,
                                         hpcli_bs_proj_t *row_by, hpcli_bs_proj_t *col_by,
                                         hpcli_bs_proj_t *residue)
{
    hpcli_bs_builder_t *b = hpcli_bs_alloc(a, sizeof *b);
    b->arena = a;
    b->table_by = table_by;
    b->row_by = row_by;
    b->col_by = col_by;
    b->residue = residue;
    b->tables = hpcli_bs_map_new(a);
    return b;
}

static void *builder_ptr_set(hpcli_bs_map_t *m, const void *p)
{
    return hpcli_bs_map_put(m, &p, sizeof p, NULL);
}

static hpcli_bs_cell_t **builder_cell_slot(hpcli_bs_map_t *cells, hpcli_bs_key_t *row,
                                           hpcli_bs_key_t *col, int create)
{
    hpcli_bs_key_t *pair[2] = {row, col};
    if (!create) return (hpcli_bs_cell_t **)hpcli_bs_map_get(cells, pair, sizeof pair);
    return (hpcli_bs_cell_t **)hpcli_bs_map_put(cells, pair, sizeof pair, NULL);
}

hpcli_bs_cell_t *hpcli_bs_table_cell(const hpcli_bs_table_t *t, hpcli_bs_key_t *row,
                                     hpcli_bs_key_t *col)
{
    hpcli_bs_cell_t **slot = builder_cell_slot(t->cells, row, col, 0);
    return slot ? *slot : NULL;
}

void hpcli_bs_builder_add(hpcli_bs_builder_t *b, const hpcli_bs_result_t *r)
{
    hpcli_bs_arena_t *a = b->arena;
    b->keybuf = hpcli_bs_grow(a, b->keybuf, &b->capkeybuf, r->nvalues + 1, sizeof *b->keybuf);
    hpcli_bs_proj_project_values(b->table_by, r, b->keybuf);
    hpcli_bs_key_t *row = hpcli_bs_proj_project(b->row_by, r);
    hpcli_bs_key_t *col = hpcli_bs_proj_project(b->col_by, r);
    hpcli_bs_key_t *res = hpcli_bs_proj_project(b->residue, r);
    for (size_t i = 0; i < r->nvalues; i++) {
        hpcli_bs_key_t *tk = b->keybuf[i];
        void **ts = hpcli_bs_map_put(b->tables, &tk, sizeof tk, NULL);
        builder_table_t *t = *ts;
        if (t == NULL) {
            t = hpcli_bs_alloc(a, sizeof *t);
            t->key = tk;
            t->rows = hpcli_bs_map_new(a);
            t->cols = hpcli_bs_map_new(a);
            t->cells = hpcli_bs_map_new(a);
            *ts = t;
        }
        hpcli_bs_cell_t **cs = builder_cell_slot(t->cells, row, col, 1);
        if (*cs == NULL) {
            *cs = hpcli_bs_alloc(a, sizeof **cs);
            (*cs)->residue = hpcli_bs_map_new(a);
            builder_ptr_set(t->rows, row);
            builder_ptr_set(t->cols, col);
        }
        hpcli_bs_cell_t *c = *cs;
        c->vals = hpcli_bs_grow(a, c->vals, &c->cap, c->n + 1, sizeof *c->vals);
        c->vals[c->n++] = r->values[i].value;
        builder_ptr_set(c->residue, res);
    }
}

/* The keys of a pointer set, sorted. */
static hpcli_bs_key_t **builder_sorted_keys(hpcli_bs_arena_t *a, hpcli_bs_map_t *set, size_t *n)
{
    *n = hpcli_bs_map_len(set);
    hpcli_bs_key_t **v = hpcli_bs_alloc(a, (*n ? *n : 1) * sizeof *v);
    for (size_t i = 0; i < *n; i++) memcpy(&v[i], hpcli_bs_map_key_at(set, i, NULL), sizeof v[i]);
    hpcli_bs_sort_keys(v, *n);
    return v;
}

/* "benchmarks vary in f1, f2" when the cell's residues differ. */
static void builder_residue_warning(hpcli_bs_arena_t *a, hpcli_bs_cell_t *c)
{
    size_t nk, nf;
    hpcli_bs_key_t **keys = builder_sorted_keys(a, c->residue, &nk);
    hpcli_bs_field_t **fields = hpcli_bs_nonsingular(a, keys, nk, &nf);
    if (nf == 0) return;
    hpcli_bs_buf_t w = {0};
    hpcli_bs_buf_adds(&w, "benchmarks vary in ");
    for (size_t i = 0; i < nf; i++) {
        if (i > 0) hpcli_bs_buf_adds(&w, ", ");
        hpcli_bs_buf_adds(&w, fields[i]->name);
    }
    hpcli_bs_strs_add(a, &c->sample_warnings, hpcli_bs_strdup(a, w.p));
    hpcli_bs_buf_free(&w);
}

static void builder_summarize_col(hpcli_bs_arena_t *a, hpcli_bs_table_t *t, size_t ci,
                                  size_t nbase)
{
    hpcli_bs_colsum_t *s = &t->sums[ci];
    double *sums = hpcli_bs_alloc(a, (t->nrows ? t->nrows : 1) * sizeof *sums);
    double *ratios = hpcli_bs_alloc(a, (t->nrows ? t->nrows : 1) * sizeof *ratios);
    size_t ns = 0, nr = 0;
    int bad_ratio = 0;
    for (size_t r = 0; r < t->nrows; r++) {
        hpcli_bs_cell_t *c = hpcli_bs_table_cell(t, t->rows[r], t->cols[ci]);
        if (c == NULL) continue;
        sums[ns++] = c->summary.center;
        if (c->baseline == NULL) continue;
        double x = c->summary.center, y = c->baseline->summary.center;
        if (x == y) {
            ratios[nr++] = 1;
        } else if (y == 0) {
            bad_ratio = 1;
            ratios[nr++] = 0;
        } else {
            ratios[nr++] = x / y;
        }
    }
    int is_base = ci == 0;
    if (!is_base && nbase != nr)
        hpcli_bs_strs_add(a, &s->warnings,
                          "benchmark set differs from baseline; geomeans may not be comparable");
    double gm = hpcli_bs_geomean(sums, ns);
    if (isnan(gm)) {
        hpcli_bs_strs_add(a, &s->warnings, "summaries must be >0 to compute geomean");
    } else {
        s->has_summary = 1;
        s->summary = gm;
    }
    if (is_base || bad_ratio) return;
    gm = hpcli_bs_geomean(ratios, nr);
    if (isnan(gm)) {
        hpcli_bs_strs_add(a, &s->warnings, "ratios must be >0 to compute geomean");
    } else {
        s->has_ratio = 1;
        s->ratio = gm;
    }
}

static void builder_finish_table(hpcli_bs_builder_t *b, hpcli_bs_reader_t *units,
                                 builder_table_t *bt, hpcli_bs_table_t *t, double confidence,
                                 double alpha)
{
    hpcli_bs_arena_t *a = b->arena;
    t->key = bt->key;
    t->unit = hpcli_bs_key_get(bt->key, hpcli_bs_proj_unit_field(b->table_by));
    int exact = hpcli_bs_reader_unit_exact(units, t->unit);
    t->rows = builder_sorted_keys(a, bt->rows, &t->nrows);
    t->cols = builder_sorted_keys(a, bt->cols, &t->ncols);
    t->cells = bt->cells;
    size_t ncells = hpcli_bs_map_len(t->cells);
    for (size_t i = 0; i < ncells; i++) {
        hpcli_bs_cell_t *c = hpcli_bs_map_value_at(t->cells, i);
        hpcli_bs_sort_floats(c->vals, c->n);
    }
    for (size_t i = 0; i < ncells; i++) {
        hpcli_bs_cell_t *c = hpcli_bs_map_value_at(t->cells, i);
        hpcli_bs_key_t *const *rc = hpcli_bs_map_key_at(t->cells, i, NULL);
        hpcli_bs_key_t *row, *col;
        memcpy(&row, &rc[0], sizeof row);
        memcpy(&col, (const char *)rc + sizeof row, sizeof col);
        if (col != t->cols[0]) c->baseline = hpcli_bs_table_cell(t, row, t->cols[0]);
        hpcli_bs_summarize(a, c->vals, c->n, exact, confidence, &c->summary);
        if (c->baseline != NULL)
            hpcli_bs_compare(a, c->baseline->vals, c->baseline->n, c->vals, c->n, exact, alpha,
                             &c->cmp);
        builder_residue_warning(a, c);
    }
    size_t nbase = 0;
    for (size_t r = 0; r < t->nrows; r++)
        if (hpcli_bs_table_cell(t, t->rows[r], t->cols[0]) != NULL) nbase++;
    t->sums = hpcli_bs_alloc(a, t->ncols * sizeof *t->sums);
    for (size_t ci = 0; ci < t->ncols; ci++) builder_summarize_col(a, t, ci, nbase);
}

void hpcli_bs_builder_tables(hpcli_bs_builder_t *b, hpcli_bs_reader_t *units, double confidence,
                             double alpha, hpcli_bs_tables_t *out)
{
    size_t n;
    hpcli_bs_key_t **keys = builder_sorted_keys(b->arena, b->tables, &n);
    out->n = n;
    out->table_by = b->table_by;
    out->v = hpcli_bs_alloc(b->arena, (n ? n : 1) * sizeof *out->v);
    for (size_t i = 0; i < n; i++) {
        builder_table_t *bt = *hpcli_bs_map_get(b->tables, &keys[i], sizeof keys[i]);
        builder_finish_table(b, units, bt, &out->v[i], confidence, alpha);
    }
}
