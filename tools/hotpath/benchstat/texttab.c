/* tools/hotpath/benchstat/texttab.c: laying out a text table.
 *
 * cmd/benchstat/internal/texttab.  Cells sit at (row, column) and may span
 * several columns; each has a left margin (" " by default, none in column
 * 0 or for an empty value) and an alignment.  Layout:
 *   1. each column's margin width is the widest margin of its cells;
 *   2. widths are found from cells in order of increasing span: a
 *      one-column cell widens its column; a wider cell that does not fit
 *      spreads the missing width over its spanned columns, widest first,
 *      rounding up, never widening a "shrink" column;
 *   3. rows are printed cell by cell, padding to each column's offset,
 *      skipping cells whose value and margin are both blank so that rows
 *      carry no trailing spaces.
 * Widths count runes.  Step 2 depends on the order of cells of equal span,
 * which is the order Go's unstable sort leaves them in (gosort.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bs.h"

typedef struct texttab_cell {
    int row, col, span;
    char *value, *margin;
    int align;
} texttab_cell_t;

struct hpcli_bs_tt {
    texttab_cell_t *cells;
    size_t n, cap;
    int cols;
    unsigned char *shrink;
    size_t nshrink;
    int cur_row, cur_col;
};

static char *texttab_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = hpcli_bs_xrealloc(NULL, n);
    memcpy(p, s, n);
    return p;
}

hpcli_bs_tt_t *hpcli_bs_tt_new(void)
{
    hpcli_bs_tt_t *t = calloc(1, sizeof *t);
    if (t == NULL) hpcli_bs_oom();
    return t;
}

void hpcli_bs_tt_free(hpcli_bs_tt_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->cells[i].value);
        free(t->cells[i].margin);
    }
    free(t->cells);
    free(t->shrink);
    free(t);
}

void hpcli_bs_tt_row(hpcli_bs_tt_t *t)
{
    if (t->n > 0) t->cur_row++;
    t->cur_col = 0;
}

void hpcli_bs_tt_col(hpcli_bs_tt_t *t, int col)
{
    /* Moving left is a bug in the caller, as in Go (which panics). */
    if (col > t->cur_col) t->cur_col = col;
}

int hpcli_bs_tt_cur_col(const hpcli_bs_tt_t *t)
{
    return t->cur_col;
}

void hpcli_bs_tt_span(hpcli_bs_tt_t *t, int span, const char *value, int align, const char *margin)
{
    if (margin == NULL) margin = t->cur_col == 0 || value[0] == '\0' ? "" : " ";
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->cells = hpcli_bs_xrealloc(t->cells, t->cap * sizeof *t->cells);
    }
    t->cells[t->n++] = (texttab_cell_t){t->cur_row, t->cur_col, span, texttab_strdup(value),
                                   texttab_strdup(margin), align};
    t->cur_col += span;
    if (t->cur_col > t->cols) t->cols = t->cur_col;
}

void hpcli_bs_tt_set_shrink(hpcli_bs_tt_t *t, int col)
{
    if ((size_t)col >= t->nshrink) {
        t->shrink = hpcli_bs_xrealloc(t->shrink, (size_t)col + 1);
        memset(t->shrink + t->nshrink, 0, (size_t)col + 1 - t->nshrink);
        t->nshrink = (size_t)col + 1;
    }
    t->shrink[col] = 1;
}

static int texttab_is_shrink(const hpcli_bs_tt_t *t, int col)
{
    return (size_t)col < t->nshrink && t->shrink[col];
}

static void texttab_swap(void *ctx, size_t i, size_t j)
{
    texttab_cell_t *c = ctx, x = c[i];
    c[i] = c[j];
    c[j] = x;
}

static int texttab_less_span(void *ctx, size_t i, size_t j)
{
    const texttab_cell_t *c = ctx;
    return c[i].span < c[j].span;
}

static int texttab_less_pos(void *ctx, size_t i, size_t j)
{
    const texttab_cell_t *c = ctx;
    return c[i].row != c[j].row ? c[i].row < c[j].row : c[i].col < c[j].col;
}

static int texttab_less_int_desc(void *ctx, size_t i, size_t j)
{
    const int *const *p = ctx; /* p[0]: column list, p[1]: widths */
    return p[1][p[0][i]] > p[1][p[0][j]];
}

static void texttab_swap_int(void *ctx, size_t i, size_t j)
{
    int *cols = *(int **)ctx, x = cols[i];
    cols[i] = cols[j];
    cols[j] = x;
}

/* Widens the columns under a spanning cell that needs w (margin included). */
static void texttab_fit_span(const hpcli_bs_tt_t *t, const texttab_cell_t *c, int w, int *ws, int *tmp)
{
    int total = 0, n = 0;
    for (int col = c->col; col < c->col + c->span; col++) total += ws[col];
    if (total >= w) return;
    for (int col = c->col; col < c->col + c->span; col++) {
        if (texttab_is_shrink(t, col)) w -= ws[col];
        else tmp[n++] = col;
    }
    int *ctx[2] = {tmp, ws};
    hpcli_bs_gosort(ctx, (size_t)n, texttab_less_int_desc, texttab_swap_int);
    for (int k = 0, span = n; k < n; k++, span--) {
        int col = tmp[k];
        /* Go's integer division truncates toward zero. */
        int avg = (w + span - 1) / span;
        if (ws[col] < avg) ws[col] = avg;
        w -= ws[col];
    }
}

static void texttab_pad(hpcli_bs_buf_t *out, int n)
{
    /* Go's "%*s" with a negative width pads to the absolute width. */
    for (int i = 0, m = n < 0 ? -n : n; i < m; i++) hpcli_bs_buf_addc(out, ' ');
}

static void texttab_emit_cell(hpcli_bs_buf_t *out, const texttab_cell_t *c, const int *offs,
                         const int *lmargin, int *off)
{
    int spaces = offs[c->col] - *off;
    texttab_pad(out, spaces);
    texttab_pad(out, lmargin[c->col] - (int)hpcli_bs_runes(c->margin));
    hpcli_bs_buf_adds(out, c->margin);
    *off += spaces + lmargin[c->col];
    int tw = offs[c->col + c->span] - offs[c->col] - lmargin[c->col];
    int len = (int)hpcli_bs_runes(c->value), pad = 0;
    if (c->align == HPCLI_BS_CENTER) pad = (tw - len) / 2;
    if (c->align == HPCLI_BS_RIGHT) pad = tw - len > 0 ? tw - len : 0;
    if (c->align != HPCLI_BS_LEFT) texttab_pad(out, pad);
    hpcli_bs_buf_adds(out, c->value);
    *off += (c->align == HPCLI_BS_LEFT ? 0 : (pad < 0 ? -pad : pad)) + len;
}

static int texttab_blank(const char *s)
{
    return s[strspn(s, " \t\n\v\f\r")] == '\0';
}

void hpcli_bs_tt_format(hpcli_bs_tt_t *t, hpcli_bs_buf_t *out)
{
    size_t ncols = (size_t)t->cols;
    int *lmargin = calloc(ncols + 1, sizeof *lmargin), *ws = calloc(ncols + 1, sizeof *ws);
    int *offs = calloc(ncols + 1, sizeof *offs), *tmp = calloc(ncols + 1, sizeof *tmp);
    if (!lmargin || !ws || !offs || !tmp) hpcli_bs_oom();
    for (size_t i = 0; i < t->n; i++) {
        int m = (int)hpcli_bs_runes(t->cells[i].margin);
        if (m > lmargin[t->cells[i].col]) lmargin[t->cells[i].col] = m;
    }
    hpcli_bs_gosort(t->cells, t->n, texttab_less_span, texttab_swap);
    for (size_t i = 0; i < t->n; i++) {
        const texttab_cell_t *c = &t->cells[i];
        int w = (int)hpcli_bs_runes(c->value) + lmargin[c->col];
        if (c->span == 1) {
            if (w > ws[c->col]) ws[c->col] = w;
        } else {
            texttab_fit_span(t, c, w, ws, tmp);
        }
    }
    for (size_t i = 0, off = 0; i <= ncols; i++) {
        offs[i] = (int)off;
        if (i < ncols) off += (size_t)ws[i];
    }
    hpcli_bs_gosort(t->cells, t->n, texttab_less_pos, texttab_swap);
    int row = 0, off = 0;
    for (size_t i = 0; i < t->n; i++) {
        const texttab_cell_t *c = &t->cells[i];
        if (texttab_blank(c->value) && texttab_blank(c->margin)) continue;
        for (; c->row > row; row++) {
            hpcli_bs_buf_addc(out, '\n');
            off = 0;
        }
        texttab_emit_cell(out, c, offs, lmargin, &off);
    }
    if (t->n > 0) hpcli_bs_buf_addc(out, '\n');
    free(lmargin);
    free(ws);
    free(offs);
    free(tmp);
}
