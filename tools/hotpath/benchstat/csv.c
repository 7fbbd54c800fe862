/* tools/hotpath/benchstat/csv.c: the CSV form of benchstat's tables.
 *
 * cmd/benchstat/internal/benchtab's ToCSV, written as Go's encoding/csv
 * writes (a field is quoted when it holds a comma, a quote, CR or LF, or
 * starts with white space; quotes are doubled).  Per table: one row per
 * column field with the column keys, a row of headers ("unit", "CI",
 * then "vs base", "P" after the first column), a row per benchmark with
 * the centre at full precision (Go's %v), the range, the delta and the
 * p-value, and the geomean row.  Notes go to the warning stream instead,
 * prefixed with the spreadsheet cell they belong to ("B6: ..."), counting
 * rows from 1 at the first line of output.
 */
#include <string.h>

#include "bs.h"

typedef struct csv_out {
    hpcli_bs_arena_t *arena;
    hpcli_bs_buf_t *out, *warn;
    hpcli_bs_strs_t row; /* the record being built */
    size_t line;         /* number of the record being built, from 1 */
} csv_out_t;

static void csv_field(hpcli_bs_buf_t *b, const char *f)
{
    size_t w;
    int quote = strcmp(f, "\\.") == 0 || strpbrk(f, ",\"\r\n") != NULL ||
                (f[0] != '\0' && hpcli_bs_rune_is_space(hpcli_bs_rune(f, strlen(f), &w)));
    if (!quote) {
        hpcli_bs_buf_adds(b, f);
        return;
    }
    hpcli_bs_buf_addc(b, '"');
    for (; *f; f++) {
        if (*f == '"') hpcli_bs_buf_addc(b, '"');
        hpcli_bs_buf_addc(b, *f);
    }
    hpcli_bs_buf_addc(b, '"');
}

static void csv_emit(csv_out_t *o)
{
    for (size_t i = 0; i < o->row.n; i++) {
        if (i > 0) hpcli_bs_buf_addc(o->out, ',');
        csv_field(o->out, o->row.v[i]);
    }
    hpcli_bs_buf_addc(o->out, '\n');
    o->row.n = 0;
    o->line++;
}

static void csv_add(csv_out_t *o, const char *s)
{
    hpcli_bs_strs_add(o->arena, &o->row, s);
}

static void csv_add_buf(csv_out_t *o, hpcli_bs_buf_t *b)
{
    csv_add(o, hpcli_bs_strdup(o->arena, b->p ? b->p : ""));
    hpcli_bs_buf_reset(b);
}

static void csv_clear_to(csv_out_t *o, size_t col)
{
    while (o->row.n < col) csv_add(o, "");
}

static size_t csv_start_col(size_t exp)
{
    return exp == 0 ? 1 : 1 + 2 + (exp - 1) * 4;
}

/* Notes for the cell about to be added, named like "B6". */
static void csv_warn(csv_out_t *o, const hpcli_bs_strs_t *msgs)
{
    char name[32];
    size_t pos = sizeof name - 1;
    name[pos] = '\0';
    for (size_t x = o->row.n; x > 0; x /= 26) name[--pos] = (char)('A' + x % 26);
    if (pos == sizeof name - 1) name[--pos] = 'A';
    for (size_t i = 0; i < msgs->n; i++)
        hpcli_bs_buf_printf(o->warn, "%s%zu: %s\n", name + pos, o->line, msgs->v[i]);
}

static void csv_header(csv_out_t *o, const hpcli_bs_table_t *t)
{
    size_t nf;
    hpcli_bs_field_t **fields = hpcli_bs_proj_flat(t->cols[0]->proj, &nf);
    for (size_t f = 0; f < nf; f++) {
        for (size_t i = 0; i < t->ncols; i++) {
            csv_clear_to(o, csv_start_col(i));
            csv_add(o, hpcli_bs_key_get(t->cols[i], fields[f]));
        }
        csv_clear_to(o, csv_start_col(t->ncols));
        csv_emit(o);
    }
    for (size_t i = 0; i < t->ncols; i++) {
        csv_clear_to(o, csv_start_col(i));
        csv_add(o, t->unit);
        csv_add(o, "CI");
        if (i > 0) {
            csv_add(o, "vs base");
            csv_add(o, "P");
        }
    }
    csv_emit(o);
}

static void csv_body(csv_out_t *o, const hpcli_bs_table_t *t, hpcli_bs_buf_t *b)
{
    for (size_t r = 0; r < t->nrows; r++) {
        csv_add(o, hpcli_bs_key_string_values(o->arena, t->rows[r]));
        for (size_t i = 0; i < t->ncols; i++) {
            hpcli_bs_cell_t *c = hpcli_bs_table_cell(t, t->rows[r], t->cols[i]);
            if (c == NULL) continue;
            csv_clear_to(o, csv_start_col(i));
            csv_warn(o, &c->sample_warnings);
            csv_warn(o, &c->summary.warnings);
            hpcli_bs_fmt_v(b, c->summary.center);
            csv_add_buf(o, b);
            hpcli_bs_pct_range(b, &c->summary);
            csv_add_buf(o, b);
            if (i > 0 && c->baseline != NULL) {
                csv_warn(o, &c->cmp.warnings);
                hpcli_bs_format_delta(b, &c->cmp, c->baseline->summary.center, c->summary.center);
                csv_add_buf(o, b);
                hpcli_bs_comparison_string(b, &c->cmp);
                csv_add_buf(o, b);
            }
        }
        csv_emit(o);
    }
}

static void csv_geomean(csv_out_t *o, const hpcli_bs_table_t *t, hpcli_bs_buf_t *b)
{
    csv_add(o, "geomean");
    for (size_t i = 0; i < t->ncols; i++) {
        const hpcli_bs_colsum_t *s = &t->sums[i];
        csv_clear_to(o, csv_start_col(i));
        csv_warn(o, &s->warnings);
        if (s->has_summary) {
            hpcli_bs_fmt_v(b, s->summary);
            csv_add_buf(o, b);
        }
        if (i == 0) continue;
        csv_clear_to(o, csv_start_col(i) + 2);
        if (s->has_ratio) {
            hpcli_bs_fmt_f(b, (s->ratio - 1) * 100, 2, 1);
            hpcli_bs_buf_addc(b, '%');
            csv_add_buf(o, b);
        } else {
            csv_add(o, "?");
        }
    }
    csv_clear_to(o, csv_start_col(t->ncols));
    csv_emit(o);
}

static void csv_config_line(void *ctx, const char *s)
{
    csv_out_t *o = ctx;
    csv_add(o, hpcli_bs_strdup(o->arena, s));
    csv_emit(o);
}

void hpcli_bs_tables_csv(hpcli_bs_arena_t *a, const hpcli_bs_tables_t *ts, hpcli_bs_buf_t *out,
                         hpcli_bs_buf_t *warn)
{
    csv_out_t o = {a, out, warn, {0}, 1};
    hpcli_bs_buf_t b = {0};
    for (size_t i = 0; i < ts->n; i++) {
        if (i > 0) {
            csv_add(&o, "");
            csv_emit(&o);
        }
        hpcli_bs_table_config_lines(ts, i, csv_config_line, &o);
        csv_header(&o, &ts->v[i]);
        csv_body(&o, &ts->v[i], &b);
        csv_geomean(&o, &ts->v[i], &b);
    }
    hpcli_bs_buf_free(&b);
}
