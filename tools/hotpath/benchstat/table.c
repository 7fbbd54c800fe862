/* tools/hotpath/benchstat/table.c: the text form of benchstat's tables.
 *
 * cmd/benchstat/internal/benchtab's ToText.  Before each table come the
 * "key: value" lines of its table key that changed since the previous
 * table (all of them before the first; never .unit, which the table
 * shows).  Tables are separated by a blank line.  A table looks like:
 *
 *                       │   old.txt   │               new.txt               │
 *                       │   sec/op    │   sec/op     vs base                │
 *   Encode/format=json    1.718µ ± 1%   1.423µ ± 1%  -17.20% (p=0.000 n=10)
 *   geomean               2.295µ        2.090µ        -8.94%
 *   ¹ note
 *
 * Header rows show the column keys as a tree (one row per column field,
 * equal neighbouring values merged), then the unit over each column and
 * "vs base" over every column but the first.  Each column is three text
 * columns (centre, ± range, notes), plus three more after the first
 * (delta, "(p=... n=...)", notes); interior ones are "shrink" columns, so
 * spare width goes to the outer ones.  Values in one row share one scale
 * (units.c).  Notes become superscript footnote numbers, one per distinct
 * message, listed after the table.  The geomean row appears when there is
 * more than one row.
 */
#include <stdio.h>
#include <string.h>

#include "bs.h"

enum { LABEL_COLS = 1, CENTER_COLS = 3, DELTA_COLS = 3 };

typedef struct table_text {
    hpcli_bs_arena_t *arena;
    hpcli_bs_tt_t *tt;
    hpcli_bs_map_t *note_index; /* message -> number */
    hpcli_bs_strs_t notes;
} table_text_t;

static int table_start_col(size_t exp)
{
    if (exp == 0) return LABEL_COLS;
    return LABEL_COLS + CENTER_COLS + (int)(exp - 1) * (CENTER_COLS + DELTA_COLS);
}

static void table_superscript(hpcli_bs_buf_t *b, size_t i)
{
    static const char *const digits[] = {"⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"};
    char dec[32];
    int n = snprintf(dec, sizeof dec, "%zu", i);
    for (int k = 0; k < n; k++) hpcli_bs_buf_adds(b, digits[dec[k] - '0']);
}

/* One cell listing the footnote numbers of the given messages. */
static void table_notes(table_text_t *tx, const hpcli_bs_strs_t *const *lists, size_t nlists)
{
    hpcli_bs_buf_t b = {0};
    hpcli_bs_buf_add(&b, "", 0);
    for (size_t l = 0; l < nlists; l++) {
        for (size_t i = 0; i < lists[l]->n; i++) {
            const char *msg = lists[l]->v[i];
            int created;
            void **slot = hpcli_bs_map_put(tx->note_index, msg, strlen(msg), &created);
            if (created) {
                hpcli_bs_strs_add(tx->arena, &tx->notes, msg);
                *slot = (void *)(uintptr_t)tx->notes.n;
            }
            if (b.len > 0) hpcli_bs_buf_addc(&b, ' ');
            table_superscript(&b, (size_t)(uintptr_t)*slot);
        }
    }
    hpcli_bs_tt_span(tx->tt, 1, b.p, HPCLI_BS_LEFT, NULL);
    hpcli_bs_buf_free(&b);
}

/* The column-key tree: one header row per column field. */
static void table_header(table_text_t *tx, const hpcli_bs_table_t *t)
{
    size_t nf;
    hpcli_bs_field_t **fields = hpcli_bs_proj_flat(t->cols[0]->proj, &nf);
    int redge = table_start_col(t->ncols + 1);
    /* A node of level l covers columns [start, end) with equal values of
     * fields 0..l; nodes of one level are the runs within the parent. */
    size_t *bounds = hpcli_bs_alloc(tx->arena, (t->ncols + 1) * sizeof *bounds);
    unsigned char *cut = hpcli_bs_alloc(tx->arena, t->ncols + 1);
    cut[0] = cut[t->ncols] = 1;
    for (size_t level = 0; level < nf; level++) {
        for (size_t i = 1; i < t->ncols; i++)
            if (strcmp(hpcli_bs_key_get(t->cols[i], fields[level]),
                       hpcli_bs_key_get(t->cols[i - 1], fields[level])) != 0)
                cut[i] = 1;
        size_t nb = 0;
        for (size_t i = 0; i <= t->ncols; i++)
            if (cut[i]) bounds[nb++] = i;
        hpcli_bs_tt_row(tx->tt);
        for (size_t k = 0; k + 1 < nb; k++) {
            int l = table_start_col(bounds[k]), r = table_start_col(bounds[k + 1]);
            hpcli_bs_tt_col(tx->tt, l);
            hpcli_bs_tt_span(tx->tt, r - l, hpcli_bs_key_get(t->cols[bounds[k]], fields[level]),
                             HPCLI_BS_CENTER, " │ ");
        }
        hpcli_bs_tt_col(tx->tt, redge);
        hpcli_bs_tt_span(tx->tt, 1, "", HPCLI_BS_LEFT, " │");
    }
    hpcli_bs_tt_row(tx->tt);
    for (size_t i = 0; i < t->ncols; i++) {
        int l = table_start_col(i);
        hpcli_bs_tt_col(tx->tt, l);
        hpcli_bs_tt_span(tx->tt, CENTER_COLS, t->unit, HPCLI_BS_CENTER, " │ ");
        if (i > 0) hpcli_bs_tt_span(tx->tt, DELTA_COLS, "vs base", HPCLI_BS_LEFT, "  ");
        for (int j = l + 1; j < hpcli_bs_tt_cur_col(tx->tt); j++) hpcli_bs_tt_set_shrink(tx->tt, j);
    }
    hpcli_bs_tt_col(tx->tt, redge);
    hpcli_bs_tt_span(tx->tt, 1, "", HPCLI_BS_LEFT, " │");
}

static void table_cell(table_text_t *tx, hpcli_bs_cell_t *c, size_t exp, hpcli_bs_scaler_t sc)
{
    hpcli_bs_buf_t b = {0};
    hpcli_bs_tt_col(tx->tt, table_start_col(exp));
    hpcli_bs_scale_fmt(&b, sc, c->summary.center);
    hpcli_bs_tt_span(tx->tt, 1, b.p, HPCLI_BS_RIGHT, NULL);
    hpcli_bs_buf_reset(&b);
    hpcli_bs_pct_range(&b, &c->summary);
    hpcli_bs_tt_span(tx->tt, 1, b.p, HPCLI_BS_RIGHT, " ± ");
    const hpcli_bs_strs_t *w[] = {&c->sample_warnings, &c->summary.warnings};
    table_notes(tx, w, 2);
    if (exp > 0 && c->baseline != NULL) {
        hpcli_bs_buf_reset(&b);
        hpcli_bs_format_delta(&b, &c->cmp, c->baseline->summary.center, c->summary.center);
        hpcli_bs_tt_span(tx->tt, 1, b.p, HPCLI_BS_RIGHT, NULL);
        hpcli_bs_buf_reset(&b);
        hpcli_bs_buf_addc(&b, '(');
        hpcli_bs_comparison_string(&b, &c->cmp);
        hpcli_bs_buf_addc(&b, ')');
        hpcli_bs_tt_span(tx->tt, 1, b.p, HPCLI_BS_LEFT, NULL);
        const hpcli_bs_strs_t *cw[] = {&c->cmp.warnings};
        table_notes(tx, cw, 1);
    }
    hpcli_bs_buf_free(&b);
}

static void table_body(table_text_t *tx, const hpcli_bs_table_t *t, int cls)
{
    double *centers = hpcli_bs_alloc(tx->arena, t->ncols * sizeof *centers);
    for (size_t r = 0; r < t->nrows; r++) {
        hpcli_bs_tt_row(tx->tt);
        hpcli_bs_tt_span(tx->tt, 1, hpcli_bs_key_string_values(tx->arena, t->rows[r]),
                         HPCLI_BS_LEFT, NULL);
        size_t n = 0;
        for (size_t i = 0; i < t->ncols; i++) {
            hpcli_bs_cell_t *c = hpcli_bs_table_cell(t, t->rows[r], t->cols[i]);
            if (c != NULL) centers[n++] = c->summary.center;
        }
        hpcli_bs_scaler_t sc = hpcli_bs_common_scale(centers, n, cls);
        for (size_t i = 0; i < t->ncols; i++) {
            hpcli_bs_cell_t *c = hpcli_bs_table_cell(t, t->rows[r], t->cols[i]);
            if (c != NULL) table_cell(tx, c, i, sc);
        }
    }
}

static void table_geomean(table_text_t *tx, const hpcli_bs_table_t *t, int cls)
{
    hpcli_bs_buf_t b = {0};
    hpcli_bs_tt_row(tx->tt);
    hpcli_bs_tt_span(tx->tt, 1, "geomean", HPCLI_BS_LEFT, NULL);
    for (size_t i = 0; i < t->ncols; i++) {
        const hpcli_bs_colsum_t *s = &t->sums[i];
        if (s->has_summary) {
            hpcli_bs_buf_reset(&b);
            hpcli_bs_scale_fmt(&b, hpcli_bs_common_scale(&s->summary, 1, cls), s->summary);
            hpcli_bs_tt_col(tx->tt, table_start_col(i));
            hpcli_bs_tt_span(tx->tt, 1, b.p, HPCLI_BS_RIGHT, NULL);
        }
        if (i > 0) {
            hpcli_bs_tt_col(tx->tt, table_start_col(i) + CENTER_COLS);
            hpcli_bs_buf_reset(&b);
            if (s->has_ratio) {
                hpcli_bs_fmt_f(&b, (s->ratio - 1) * 100, 2, 1);
                hpcli_bs_buf_addc(&b, '%');
                hpcli_bs_tt_span(tx->tt, 1, b.p, HPCLI_BS_RIGHT, NULL);
            } else {
                hpcli_bs_tt_span(tx->tt, 1, "?", HPCLI_BS_LEFT, NULL);
            }
        }
        hpcli_bs_tt_col(tx->tt, table_start_col(i + 1) - 1);
        const hpcli_bs_strs_t *w[] = {&s->warnings};
        table_notes(tx, w, 1);
    }
    hpcli_bs_buf_free(&b);
}

static void table_text(hpcli_bs_arena_t *a, const hpcli_bs_table_t *t, hpcli_bs_buf_t *out)
{
    table_text_t tx = {a, hpcli_bs_tt_new(), hpcli_bs_map_new(a), {0}};
    int cls = hpcli_bs_unit_class(t->unit);
    table_header(&tx, t);
    table_body(&tx, t, cls);
    if (t->nrows > 1) table_geomean(&tx, t, cls);
    hpcli_bs_tt_format(tx.tt, out);
    hpcli_bs_tt_free(tx.tt);
    for (size_t i = 0; i < tx.notes.n; i++) {
        table_superscript(out, i + 1);
        hpcli_bs_buf_printf(out, " %s\n", tx.notes.v[i]);
    }
}

void hpcli_bs_table_config_lines(const hpcli_bs_tables_t *ts, size_t i,
                                 void (*line)(void *ctx, const char *s), void *ctx)
{
    size_t nf;
    hpcli_bs_field_t **fields = hpcli_bs_proj_flat(ts->table_by, &nf);
    hpcli_bs_buf_t b = {0};
    for (size_t k = 0; k < nf; k++) {
        if (strcmp(fields[k]->name, ".unit") == 0) continue;
        const char *v = hpcli_bs_key_get(ts->v[i].key, fields[k]);
        if (i > 0 && strcmp(v, hpcli_bs_key_get(ts->v[i - 1].key, fields[k])) == 0) continue;
        hpcli_bs_buf_reset(&b);
        hpcli_bs_buf_printf(&b, "%s: %s", fields[k]->name, v);
        line(ctx, b.p);
    }
    hpcli_bs_buf_free(&b);
}

static void table_line(void *ctx, const char *s)
{
    hpcli_bs_buf_printf(ctx, "%s\n", s);
}

void hpcli_bs_tables_text(hpcli_bs_arena_t *a, const hpcli_bs_tables_t *ts, hpcli_bs_buf_t *out)
{
    for (size_t i = 0; i < ts->n; i++) {
        if (i > 0) hpcli_bs_buf_addc(out, '\n');
        hpcli_bs_table_config_lines(ts, i, table_line, out);
        table_text(a, &ts->v[i], out);
    }
}
