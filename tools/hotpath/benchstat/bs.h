/* tools/hotpath/benchstat/bs.h: what the files of `hotpath benchstat` share.
 *
 * `hotpath benchstat` reimplements golang.org/x/perf/cmd/benchstat (the v2
 * benchstat) in C.  The pipeline, and the file that owns each stage:
 *
 *   main.c      flags, the driver loop, errors
 *   parse.c     the Go benchmark format reader (benchfmt): inputs, config
 *               lines, benchmark lines, Unit metadata lines
 *   tok.c       the lexer shared by filters and projections, syntax errors
 *   filter.c    -filter expressions, compiled to a tree and applied to results
 *   regex.c     key:/regexp/ terms (Go regexp syntax mapped to POSIX)
 *   extract.c   pulling .name, .fullname, /key and file keys out of a result
 *   proj.c      -table/-row/-col/-ignore projections, fields, interned keys
 *   builder.c   results into tables of cells; summaries and comparisons
 *   stats.c     median and its confidence interval, exact summaries, geomean
 *   utest.c     the Mann-Whitney U test (exact and normal approximation)
 *   gomath.c    Go's Log and Exp, for geomeans printed at full precision
 *   units.c     unit tidying (ns -> sec, MB -> B) and SI/IEC scaling
 *   texttab.c   column layout of text tables
 *   table.c     the text rendering of a table (headers, footnotes)
 *   csv.c       the CSV rendering
 *   numfmt.c    Go-compatible number parsing/formatting and quoting
 *   utf8.c      UTF-8 decoding and the few Unicode classes the format needs
 *   gosort.c    Go's pattern-defeating quicksort, for identical tie order
 *   arena.c     the arena, a byte-keyed hash map and a growable buffer
 *
 * Memory: everything that lives as long as the command lives in one arena
 * (freed at exit); allocation failure prints a message and exits.  Strings
 * are NUL-terminated; a NUL byte inside an input line ends that field.
 */
#ifndef HOTPATH_TOOLS_BENCHSTAT_BS_H
#define HOTPATH_TOOLS_BENCHSTAT_BS_H

#include <stddef.h>
#include <stdint.h>

/* ---- arena.c ---------------------------------------------------------- */

typedef struct hpcli_bs_arena hpcli_bs_arena_t;

hpcli_bs_arena_t *hpcli_bs_arena_new(void);
void hpcli_bs_arena_free(hpcli_bs_arena_t *a);
/* Zeroed memory that lives until the arena is freed. */
void *hpcli_bs_alloc(hpcli_bs_arena_t *a, size_t n);
char *hpcli_bs_strndup(hpcli_bs_arena_t *a, const char *s, size_t n);
char *hpcli_bs_strdup(hpcli_bs_arena_t *a, const char *s);
char *hpcli_bs_sprintf(hpcli_bs_arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Runs fn(p) when the arena is freed (latest first). */
void hpcli_bs_arena_defer(hpcli_bs_arena_t *a, void (*fn)(void *), void *p);
/* Returns v (or a copy of it) with room for at least need elements of size
 * elem; *cap is updated.  The old block is abandoned to the arena. */
void *hpcli_bs_grow(hpcli_bs_arena_t *a, void *v, size_t *cap, size_t need, size_t elem);
/* malloc/realloc that exit with a message on failure (for buffers that are
 * reused and freed, such as the line buffer). */
void *hpcli_bs_xrealloc(void *p, size_t n);
void hpcli_bs_oom(void) __attribute__((noreturn));

/* A hash map from byte strings to pointers.  Keys are copied into the
 * arena.  Entries are kept in insertion order. */
typedef struct hpcli_bs_map hpcli_bs_map_t;
hpcli_bs_map_t *hpcli_bs_map_new(hpcli_bs_arena_t *a);
/* The value slot for key, or NULL when key is absent. */
void **hpcli_bs_map_get(const hpcli_bs_map_t *m, const void *key, size_t klen);
/* The value slot for key, created (holding NULL) when absent; *created says
 * which (created may be NULL). */
void **hpcli_bs_map_put(hpcli_bs_map_t *m, const void *key, size_t klen, int *created);
size_t hpcli_bs_map_len(const hpcli_bs_map_t *m);
/* The i'th entry in insertion order. */
void *hpcli_bs_map_value_at(const hpcli_bs_map_t *m, size_t i);
const void *hpcli_bs_map_key_at(const hpcli_bs_map_t *m, size_t i, size_t *klen);

/* A growable, NUL-terminated byte buffer on the C heap. */
typedef struct hpcli_bs_buf {
    char *p;
    size_t len, cap;
} hpcli_bs_buf_t;
void hpcli_bs_buf_reset(hpcli_bs_buf_t *b);
void hpcli_bs_buf_add(hpcli_bs_buf_t *b, const char *s, size_t n);
void hpcli_bs_buf_adds(hpcli_bs_buf_t *b, const char *s);
void hpcli_bs_buf_addc(hpcli_bs_buf_t *b, char c);
void hpcli_bs_buf_printf(hpcli_bs_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void hpcli_bs_buf_free(hpcli_bs_buf_t *b);

/* A list of warning messages (arena strings). */
typedef struct hpcli_bs_strs {
    const char **v;
    size_t n, cap;
} hpcli_bs_strs_t;
void hpcli_bs_strs_add(hpcli_bs_arena_t *a, hpcli_bs_strs_t *l, const char *s);

/* ---- utf8.c ----------------------------------------------------------- */

/* Decodes one rune from s[0..n); invalid or truncated input decodes as
 * U+FFFD of width 1, as Go's utf8.DecodeRune does.  n must be > 0. */
uint32_t hpcli_bs_rune(const char *s, size_t n, size_t *width);
int hpcli_bs_rune_is_space(uint32_t r);
int hpcli_bs_rune_is_lower(uint32_t r);
int hpcli_bs_rune_is_upper(uint32_t r);
int hpcli_bs_rune_is_graphic(uint32_t r);
/* The number of runes in s, counting each invalid byte as one. */
size_t hpcli_bs_runes(const char *s);
size_t hpcli_bs_runes_n(const char *s, size_t n);
/* Appends the UTF-8 encoding of r. */
void hpcli_bs_buf_add_rune(hpcli_bs_buf_t *b, uint32_t r);

/* ---- numfmt.c --------------------------------------------------------- */

enum { HPCLI_BS_NUM_OK = 0, HPCLI_BS_NUM_SYNTAX = 1, HPCLI_BS_NUM_RANGE = 2 };
/* Go's strconv.ParseFloat(s, 64) over s[0..n): returns an HPCLI_BS_NUM_*. */
int hpcli_bs_parse_float(const char *s, size_t n, double *out);
/* Go's strconv.Atoi for a 64-bit int. */
int hpcli_bs_parse_int(const char *s, size_t n, long long *out);
/* "invalid syntax" or "value out of range". */
const char *hpcli_bs_num_error(int code);
/* Go's fmt %v of a float64: the shortest digits that read back exactly,
 * in %e form when the decimal exponent is < -4 or >= 6 (1e+06, 1.5e-07). */
void hpcli_bs_fmt_v(hpcli_bs_buf_t *b, double v);
/* Go's fmt "%.Nf" (plus: "%+.Nf"), with Go's spelling of Inf and NaN. */
void hpcli_bs_fmt_f(hpcli_bs_buf_t *b, double v, int prec, int plus);
/* Go's strconv.Quote. */
void hpcli_bs_quote(hpcli_bs_buf_t *b, const char *s);

/* ---- gosort.c --------------------------------------------------------- */

/* less(i, j) and swap(i, j) over an index space, as Go's sort.Slice. */
typedef int (*hpcli_bs_less_fn)(void *ctx, size_t i, size_t j);
typedef void (*hpcli_bs_swap_fn)(void *ctx, size_t i, size_t j);
/* Sorts [0, n) in exactly the order Go's sort.Slice/sort.Sort would leave
 * it, including the order of elements that compare equal. */
void hpcli_bs_gosort(void *ctx, size_t n, hpcli_bs_less_fn less, hpcli_bs_swap_fn swap);
/* Go's sort.Float64s (NaNs first). */
void hpcli_bs_sort_floats(double *x, size_t n);

/* ---- units.c ---------------------------------------------------------- */

enum { HPCLI_BS_DECIMAL = 0, HPCLI_BS_BINARY = 1 };
/* benchunit.Tidy: the tidied unit (interned in a) and the factor. */
const char *hpcli_bs_tidy_unit(hpcli_bs_arena_t *a, const char *unit, double *factor);
int hpcli_bs_unit_class(const char *unit);

typedef struct hpcli_bs_scaler {
    int prec;
    double factor;
    const char *prefix;
} hpcli_bs_scaler_t;
/* benchunit.CommonScale over vals[0..n). */
hpcli_bs_scaler_t hpcli_bs_common_scale(const double *vals, size_t n, int cls);
void hpcli_bs_scale_fmt(hpcli_bs_buf_t *b, hpcli_bs_scaler_t s, double v);

/* ---- parse.c ---------------------------------------------------------- */

typedef struct hpcli_bs_config {
    const char *key;
    const char *val;
    int file; /* a file-level key (from a `key: value` line) */
} hpcli_bs_config_t;

typedef struct hpcli_bs_value {
    double value;
    const char *unit;       /* tidied */
    double orig_value;
    const char *orig_unit;  /* "" when the unit was already tidy */
} hpcli_bs_value_t;

typedef struct hpcli_bs_result {
    hpcli_bs_config_t *config;
    size_t nconfig, capconfig;
    hpcli_bs_map_t *config_pos; /* key -> index+1 */
    const char *name;           /* full name without "Benchmark" */
    long long iters;
    hpcli_bs_value_t *values;
    size_t nvalues, capvalues;
    const char *file;           /* the path, for messages */
    size_t line;
} hpcli_bs_result_t;

/* The value of a config key, or NULL. */
const char *hpcli_bs_result_config(const hpcli_bs_result_t *r, const char *key);

typedef struct hpcli_bs_reader hpcli_bs_reader_t;
/* Opens the inputs ("label=path", "-" for stdin) in turn. */
hpcli_bs_reader_t *hpcli_bs_reader_new(hpcli_bs_arena_t *a, char **paths, size_t n);
enum { HPCLI_BS_REC_END, HPCLI_BS_REC_RESULT, HPCLI_BS_REC_SYNTAX, HPCLI_BS_REC_ERROR };
/* The next record: a result (*res valid until the next call), a syntax
 * warning or a fatal error (message in *msg), or the end. */
int hpcli_bs_reader_next(hpcli_bs_reader_t *rd, hpcli_bs_result_t **res, const char **msg);
/* Whether unit (tidied) was declared `assume=exact`. */
int hpcli_bs_reader_unit_exact(hpcli_bs_reader_t *rd, const char *unit);
void hpcli_bs_reader_close(hpcli_bs_reader_t *rd);

/* ---- tok.c ------------------------------------------------------------ */

typedef struct hpcli_bs_synerr {
    const char *query;
    size_t off;
    const char *msg;
} hpcli_bs_synerr_t;

typedef struct hpcli_bs_errt {
    const char *orig;
    size_t len;
    hpcli_bs_synerr_t *err; /* the first error, or NULL */
    hpcli_bs_arena_t *arena;
} hpcli_bs_errt_t;

typedef struct hpcli_bs_tokenizer {
    size_t off; /* offset of the unread rest in errt->orig */
    hpcli_bs_errt_t *errt;
} hpcli_bs_tokenizer_t;

struct hpcli_bs_regex;
typedef struct hpcli_bs_tok {
    char kind; /* 'w' word, 'q' quoted word, 'r' regexp, 'A' AND, 'O' OR, an operator, 0 end */
    size_t off;
    const char *tok;
    struct hpcli_bs_regex *re;
} hpcli_bs_tok_t;

hpcli_bs_tokenizer_t hpcli_bs_tok_init(hpcli_bs_errt_t *e, hpcli_bs_arena_t *a, const char *q);
/* The next key or operator (allow_re 0) or value or operator (allow_re 1).
 * Skips leading space in *t itself, as Go's pointer-receiver method does;
 * *rest is the tokenizer after the token. */
hpcli_bs_tok_t hpcli_bs_tok_next(hpcli_bs_tokenizer_t *t, int allow_re, hpcli_bs_tokenizer_t *rest);
/* Records msg at *t's position (first error wins); returns an end token and
 * sets *rest to the end. */
hpcli_bs_tok_t hpcli_bs_tok_error(hpcli_bs_tokenizer_t *t, const char *msg, hpcli_bs_tokenizer_t *rest);
/* Reports "unexpected ..." unless *t is at the end. */
void hpcli_bs_tok_end(hpcli_bs_tokenizer_t *t);
hpcli_bs_synerr_t *hpcli_bs_synerr(hpcli_bs_arena_t *a, const char *q, size_t off, const char *msg);
/* "syntax error: msg\n\tquery\n\t    ^" */
char *hpcli_bs_synerr_string(hpcli_bs_arena_t *a, const hpcli_bs_synerr_t *e);

/* ---- regex.c ---------------------------------------------------------- */

typedef struct hpcli_bs_regex hpcli_bs_regex_t;
/* Compiles a Go-syntax regexp; NULL with *err set on failure. */
hpcli_bs_regex_t *hpcli_bs_regex_compile(hpcli_bs_arena_t *a, const char *expr, const char **err);
int hpcli_bs_regex_match(const hpcli_bs_regex_t *re, const char *s, size_t n);

/* ---- extract.c -------------------------------------------------------- */

enum { HPCLI_BS_EXT_NAME, HPCLI_BS_EXT_FULL, HPCLI_BS_EXT_PART, HPCLI_BS_EXT_CONFIG,
       HPCLI_BS_EXT_FULL_EXCL };
typedef struct hpcli_bs_extractor {
    int kind;
    const char *key;     /* PART: "/key=" prefix; CONFIG: the key */
    int gomaxprocs;      /* PART: /gomaxprocs; FULL_EXCL: drop -N */
    int exclude_name;    /* FULL_EXCL: base name becomes "*" */
    const char **drop;   /* FULL_EXCL: "/key=" prefixes to delete */
    size_t ndrop;
} hpcli_bs_extractor_t;

/* newExtractor: NULL with *err set for an empty key. */
hpcli_bs_extractor_t *hpcli_bs_extractor_new(hpcli_bs_arena_t *a, const char *key, const char **err);
/* newExtractorFullName. */
hpcli_bs_extractor_t *hpcli_bs_extractor_fullname(hpcli_bs_arena_t *a, const char **excl, size_t n);
/* The extracted bytes: a view into r or into scratch; *len set. */
const char *hpcli_bs_extract(const hpcli_bs_extractor_t *e, const hpcli_bs_result_t *r,
                             hpcli_bs_buf_t *scratch, size_t *len);
/* The base name of a full benchmark name. */
size_t hpcli_bs_name_base(const char *name, size_t n);

/* ---- filter.c --------------------------------------------------------- */

typedef struct hpcli_bs_filter hpcli_bs_filter_t;
typedef struct hpcli_bs_fnode hpcli_bs_fnode_t;
/* NULL with *err set (a syntax error) on failure. */
hpcli_bs_filter_t *hpcli_bs_filter_new(hpcli_bs_arena_t *a, const char *query,
                                       hpcli_bs_synerr_t **err);
/* A node that keeps results whose extracted value is one of vals. */
hpcli_bs_fnode_t *hpcli_bs_fnode_fixed(hpcli_bs_arena_t *a, hpcli_bs_extractor_t *ext,
                                       hpcli_bs_map_t *vals);
/* filter := AND(parts..., filter). */
void hpcli_bs_filter_and(hpcli_bs_filter_t *f, hpcli_bs_fnode_t **parts, size_t n);
/* Keeps only the matching values of r; returns whether any remain. */
int hpcli_bs_filter_apply(hpcli_bs_filter_t *f, hpcli_bs_result_t *r);

/* ---- proj.c ----------------------------------------------------------- */

enum { HPCLI_BS_ORDER_FIRST, HPCLI_BS_ORDER_FIXED, HPCLI_BS_ORDER_ALPHA, HPCLI_BS_ORDER_NUM };

typedef struct hpcli_bs_proj hpcli_bs_proj_t;
typedef struct hpcli_bs_field hpcli_bs_field_t;
struct hpcli_bs_field {
    const char *name;
    int is_tuple;
    int idx; /* index in a key's values; -1 for groups */
    hpcli_bs_field_t **sub;
    size_t nsub, capsub;
    hpcli_bs_proj_t *proj;
    int order;               /* HPCLI_BS_ORDER_* */
    hpcli_bs_map_t *seen;    /* FIRST: value -> observation index+1 */
    hpcli_bs_map_t *fixed;   /* FIXED: value -> position+1 */
};

/* An interned tuple of field values: two keys of one projection are equal
 * exactly when their pointers are. */
typedef struct hpcli_bs_key {
    hpcli_bs_proj_t *proj;
    size_t n;          /* trailing "" values are trimmed */
    const char **vals; /* indexed by field idx */
} hpcli_bs_key_t;

typedef struct hpcli_bs_pparser hpcli_bs_pparser_t;
hpcli_bs_pparser_t *hpcli_bs_pparser_new(hpcli_bs_arena_t *a);
/* Parses a projection; fixed orders add parts to filter.  NULL with *err
 * set on a syntax error. */
hpcli_bs_proj_t *hpcli_bs_proj_parse(hpcli_bs_pparser_t *p, const char *q, hpcli_bs_filter_t *filter,
                                     int with_unit, hpcli_bs_synerr_t **err);
/* Everything not projected so far (.config and .fullname minus the specific keys). */
hpcli_bs_proj_t *hpcli_bs_proj_residue(hpcli_bs_pparser_t *p);
hpcli_bs_key_t *hpcli_bs_proj_project(hpcli_bs_proj_t *pj, const hpcli_bs_result_t *r);
/* One key per value of r, varying in .unit; out has r->nvalues slots. */
void hpcli_bs_proj_project_values(hpcli_bs_proj_t *pj, const hpcli_bs_result_t *r,
                                  hpcli_bs_key_t **out);
/* Fields in sort (and display) order, groups expanded. */
hpcli_bs_field_t **hpcli_bs_proj_flat(hpcli_bs_proj_t *pj, size_t *n);
hpcli_bs_field_t *hpcli_bs_proj_unit_field(hpcli_bs_proj_t *pj);
const char *hpcli_bs_key_get(const hpcli_bs_key_t *k, const hpcli_bs_field_t *f);
/* Values in field order, "" skipped, space separated (Key.StringValues). */
char *hpcli_bs_key_string_values(hpcli_bs_arena_t *a, const hpcli_bs_key_t *k);
void hpcli_bs_sort_keys(hpcli_bs_key_t **keys, size_t n);
/* The fields in which keys differ (NonSingularFields). */
hpcli_bs_field_t **hpcli_bs_nonsingular(hpcli_bs_arena_t *a, hpcli_bs_key_t **keys, size_t n,
                                        size_t *nout);

/* ---- stats.c ---------------------------------------------------------- */

typedef struct hpcli_bs_summary {
    double center, lo, hi;
    hpcli_bs_strs_t warnings;
} hpcli_bs_summary_t;

typedef struct hpcli_bs_comparison {
    double p;
    size_t n1, n2;
    double alpha;
    hpcli_bs_strs_t warnings;
} hpcli_bs_comparison_t;

/* Summaries of a sorted sample: median with its confidence interval
 * (assume nothing) or the mode (assume exact). */
void hpcli_bs_summarize(hpcli_bs_arena_t *a, const double *x, size_t n, int exact,
                        double confidence, hpcli_bs_summary_t *out);
void hpcli_bs_compare(hpcli_bs_arena_t *a, const double *x1, size_t n1, const double *x2,
                      size_t n2, int exact, double alpha, hpcli_bs_comparison_t *out);
/* "±" range text: "∞", "?", "0%" or "N%". */
void hpcli_bs_pct_range(hpcli_bs_buf_t *b, const hpcli_bs_summary_t *s);
/* "~", "0.00%", "?" or "+N.NN%". */
void hpcli_bs_format_delta(hpcli_bs_buf_t *b, const hpcli_bs_comparison_t *c, double old,
                           double new_);
/* "p=0.PPP n=N" or "n=N+M". */
void hpcli_bs_comparison_string(hpcli_bs_buf_t *b, const hpcli_bs_comparison_t *c);
/* Geometric mean, NaN unless every value is > 0. */
double hpcli_bs_geomean(const double *x, size_t n);
/* Go's math.Max. */
double hpcli_bs_go_max(double a, double b);

/* ---- gomath.c --------------------------------------------------------- */

/* Go's math.Log and math.Exp on x86-64, to the last bit. */
double hpcli_bs_go_log(double x);
double hpcli_bs_go_exp(double x);
/* Go's math.Lgamma for x >= 1 (glibc's below 2, except 1). */
double hpcli_bs_go_lgamma(double x);

/* ---- utest.c ---------------------------------------------------------- */

enum { HPCLI_BS_UTEST_OK, HPCLI_BS_UTEST_SIZE, HPCLI_BS_UTEST_EQUAL };
/* Two-sided Mann-Whitney U test of sorted samples; *p is the p-value. */
int hpcli_bs_utest(const double *x1, size_t n1, const double *x2, size_t n2, double *p);
double hpcli_bs_choose(int n, int k);

/* ---- builder.c -------------------------------------------------------- */

typedef struct hpcli_bs_cell hpcli_bs_cell_t;
struct hpcli_bs_cell {
    double *vals;
    size_t n, cap;
    hpcli_bs_map_t *residue; /* residue key pointers */
    hpcli_bs_strs_t sample_warnings;
    hpcli_bs_summary_t summary;
    hpcli_bs_cell_t *baseline;
    hpcli_bs_comparison_t cmp;
};

typedef struct hpcli_bs_colsum {
    int has_summary, has_ratio;
    double summary, ratio;
    hpcli_bs_strs_t warnings;
} hpcli_bs_colsum_t;

typedef struct hpcli_bs_table {
    hpcli_bs_key_t *key;
    const char *unit;
    hpcli_bs_key_t **rows, **cols;
    size_t nrows, ncols;
    hpcli_bs_map_t *cells; /* (row, col) -> cell */
    hpcli_bs_colsum_t *sums; /* per column */
} hpcli_bs_table_t;

typedef struct hpcli_bs_tables {
    hpcli_bs_table_t *v;
    size_t n;
    hpcli_bs_proj_t *table_by;
} hpcli_bs_tables_t;

typedef struct hpcli_bs_builder hpcli_bs_builder_t;
hpcli_bs_builder_t *hpcli_bs_builder_new(hpcli_bs_arena_t *a, hpcli_bs_proj_t *table_by,
                                         hpcli_bs_proj_t *row_by, hpcli_bs_proj_t *col_by,
                                         hpcli_bs_proj_t *residue);
void hpcli_bs_builder_add(hpcli_bs_builder_t *b, const hpcli_bs_result_t *r);
void hpcli_bs_builder_tables(hpcli_bs_builder_t *b, hpcli_bs_reader_t *units, double confidence,
                             double alpha, hpcli_bs_tables_t *out);
hpcli_bs_cell_t *hpcli_bs_table_cell(const hpcli_bs_table_t *t, hpcli_bs_key_t *row,
                                     hpcli_bs_key_t *col);

/* ---- texttab.c -------------------------------------------------------- */

enum { HPCLI_BS_LEFT, HPCLI_BS_CENTER, HPCLI_BS_RIGHT };
typedef struct hpcli_bs_tt hpcli_bs_tt_t;
hpcli_bs_tt_t *hpcli_bs_tt_new(void);
void hpcli_bs_tt_row(hpcli_bs_tt_t *t);
void hpcli_bs_tt_col(hpcli_bs_tt_t *t, int col);
int hpcli_bs_tt_cur_col(const hpcli_bs_tt_t *t);
/* Adds a cell spanning span columns; margin NULL means the default (" ",
 * or "" in column 0 and for empty values). */
void hpcli_bs_tt_span(hpcli_bs_tt_t *t, int span, const char *value, int align, const char *margin);
void hpcli_bs_tt_set_shrink(hpcli_bs_tt_t *t, int col);
void hpcli_bs_tt_format(hpcli_bs_tt_t *t, hpcli_bs_buf_t *out);
void hpcli_bs_tt_free(hpcli_bs_tt_t *t);

/* ---- table.c / csv.c -------------------------------------------------- */

/* Appends the tables as text (table.c) or CSV (csv.c, warnings to warn). */
void hpcli_bs_tables_text(hpcli_bs_arena_t *a, const hpcli_bs_tables_t *ts, hpcli_bs_buf_t *out);
void hpcli_bs_tables_csv(hpcli_bs_arena_t *a, const hpcli_bs_tables_t *ts, hpcli_bs_buf_t *out,
                         hpcli_bs_buf_t *warn);
/* The "key: value" lines printed before table i (table.c). */
void hpcli_bs_table_config_lines(const hpcli_bs_tables_t *ts, size_t i,
                                 void (*line)(void *ctx, const char *s), void *ctx);

#endif /* HOTPATH_TOOLS_BENCHSTAT_BS_H */
