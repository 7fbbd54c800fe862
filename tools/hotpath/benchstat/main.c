/* tools/hotpath/benchstat/main.c: `hotpath benchstat [flags] old.txt [new.txt ...]`.
 *
 * A C reimplementation of golang.org/x/perf/cmd/benchstat (the v2
 * benchstat built on benchfmt, benchproc, benchmath and benchunit); the
 * stages are listed in bs.h.  The driver:
 *   1. parse flags as Go's flag package does (-flag value, -flag=value,
 *      --flag; flags stop at the first input or at "--");
 *   2. compile -filter, then parse -table (plus .unit), -row, -col and
 *      -ignore with one parser so their keys exclude each other, and take
 *      the residue;
 *   3. read every input: syntax warnings go to stderr as they come, results
 *      that pass the filter go to the builder;
 *   4. finish the tables and print them as text or CSV.
 * Output matches Go's benchstat byte for byte.  Where Go prints an error
 * and still exits 0, this command exits 1; an input with no benchmark
 * results at all is an error here (Go prints nothing), and a flag after
 * the first input is a usage error (Go would try to open it as a file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli.h"
#include "bs.h"

typedef struct main_flags {
    const char *table, *row, *col, *ignore, *filter, *format;
    double alpha, confidence;
    int help;
} main_flags_t;

void hpcli_benchstat_help(void)
{
    printf("usage: hotpath benchstat [flags] inputs...\n"
           "\n"
           "benchstat computes statistical summaries and A/B comparisons of Go\n"
           "benchmarks. It shows benchmark medians in a table with a row for each\n"
           "benchmark and a column for each input file. If there is more than one\n"
           "input file, it also shows A/B comparisons between the files. If a\n"
           "difference is likely to be noise, it shows \"~\".\n"
           "\n"
           "Inputs are files in the Go benchmark format (`go test -bench` output);\n"
           "\"-\" reads stdin and \"label=path\" names a column. Flags come first.\n"
           "\n"
           "Flags:\n"
           "  -alpha α             consider change significant if p < α (default 0.05)\n"
           "  -col projection      split results into columns by distinct values of\n"
           "                       projection (default \".file\")\n"
           "  -confidence level    confidence level for ranges (default 0.95)\n"
           "  -filter query        use only benchmarks matching query (default \"*\")\n"
           "  -format format       print results as text, or csv (warnings to stderr)\n"
           "                       (default \"text\")\n"
           "  -ignore keys         ignore variations in keys\n"
           "  -row projection      split results into rows by distinct values of\n"
           "                       projection (default \".fullname\")\n"
           "  -table projection    split results into tables by distinct values of\n"
           "                       projection (default \".config\")\n"
           "\n"
           "Keys: .name, .fullname, .file, /name-key, file-key, .config; filters also\n"
           ".unit. Filters: key:value key:\"quoted\" key:/regexp/ key:(a OR b) * -x\n"
           "x AND y, x OR y, (...). Sort orders: key@alpha, key@num, key@(v1 v2).\n"
           "See docs/BENCHSTAT.md.\n");
}

static int main_parse_number(const char *name, const char *val, double *out)
{
    if (hpcli_bs_parse_float(val, strlen(val), out) == HPCLI_BS_NUM_OK) return 0;
    hpcli_usage_error("benchstat: invalid value \"%s\" for flag -%s: parse error", val, name);
    return -1;
}

/* Sets one flag; returns how many arguments it used (1 or 2), or -1. */
static int main_flag(main_flags_t *f, int argc, char **argv, int i)
{
    const char *a = argv[i] + 1;
    if (a[0] == '-') a++;
    const char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    char name[32];
    if (nlen == 0 || nlen >= sizeof name) {
        hpcli_usage_error("benchstat: bad flag syntax: %s", argv[i]);
        return -1;
    }
    memcpy(name, a, nlen);
    name[nlen] = '\0';
    if (strcmp(name, "h") == 0 || strcmp(name, "help") == 0) {
        f->help = 1;
        return 1;
    }
    static const char *const names[] = {"table", "row", "col", "ignore", "filter", "format",
                                        "alpha", "confidence"};
    size_t k = 0;
    while (k < sizeof names / sizeof names[0] && strcmp(names[k], name) != 0) k++;
    if (k == sizeof names / sizeof names[0]) {
        hpcli_usage_error("benchstat: flag provided but not defined: -%s", name);
        return -1;
    }
    const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
    if (val == NULL) {
        hpcli_usage_error("benchstat: flag needs an argument: -%s", name);
        return -1;
    }
    const char **strs[] = {&f->table, &f->row, &f->col, &f->ignore, &f->filter, &f->format};
    if (k < 6) {
        *strs[k] = val;
    } else if (main_parse_number(name, val, k == 6 ? &f->alpha : &f->confidence) != 0) {
        return -1;
    }
    return eq ? 1 : 2;
}

/* Returns the index of the first input, or -1 after a usage error. */
static int main_parse_flags(main_flags_t *f, int argc, char **argv)
{
    int i = 1;
    while (i < argc && !f->help) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) return i + 1;
        if (a[0] != '-' || a[1] == '\0') break;
        int used = main_flag(f, argc, argv, i);
        if (used < 0) return -1;
        i += used;
    }
    for (int j = i; j < argc && !f->help; j++) {
        if (argv[j][0] == '-' && argv[j][1] != '\0') {
            hpcli_usage_error("benchstat: flags must come before the inputs: %s", argv[j]);
            return -1;
        }
    }
    return i;
}

static void main_error(hpcli_bs_arena_t *a, const char *what, const hpcli_bs_synerr_t *e)
{
    hpcli_error("benchstat: parsing %s: %s", what, hpcli_bs_synerr_string(a, e));
}

typedef struct main_setup {
    hpcli_bs_filter_t *filter;
    hpcli_bs_proj_t *table_by, *row_by, *col_by, *residue;
} main_setup_t;

/* Step 2: filter and projections.  0, or 1 after printing the error. */
static int main_setup(hpcli_bs_arena_t *a, const main_flags_t *f, main_setup_t *s)
{
    hpcli_bs_synerr_t *err = NULL, *first = NULL;
    const char *first_what = NULL;
    s->filter = hpcli_bs_filter_new(a, f->filter, &err);
    if (s->filter == NULL) {
        main_error(a, "-filter", err);
        return 1;
    }
    hpcli_bs_pparser_t *p = hpcli_bs_pparser_new(a);
    const char *what[] = {"-table", "-row", "-col", "-ignore"};
    const char *q[] = {f->table, f->row, f->col, f->ignore};
    hpcli_bs_proj_t **dst[] = {&s->table_by, &s->row_by, &s->col_by, NULL};
    for (int k = 0; k < 4; k++) {
        hpcli_bs_proj_t *pj = hpcli_bs_proj_parse(p, q[k], s->filter, k == 0, &err);
        if (pj == NULL && first == NULL) first = err, first_what = what[k];
        if (dst[k] != NULL) *dst[k] = pj;
    }
    if (first != NULL) {
        main_error(a, first_what, first);
        return 1;
    }
    s->residue = hpcli_bs_proj_residue(p);
    if (f->alpha < 0 || f->alpha > 1) {
        hpcli_error("benchstat: -alpha must be in range [0, 1]");
        return 1;
    }
    if (f->confidence < 0 || f->confidence > 1) {
        hpcli_error("benchstat: -confidence must be in range [0, 1]");
        return 1;
    }
    if (strcmp(f->format, "text") != 0 && strcmp(f->format, "csv") != 0) {
        hpcli_error("benchstat: -format must be text or csv");
        return 1;
    }
    return 0;
}

/* Step 3: read all inputs into the builder.  0, or 1 after an error. */
static int main_read(hpcli_bs_reader_t *rd, hpcli_bs_filter_t *filter, hpcli_bs_builder_t *b,
                   size_t *nread, size_t *nkept)
{
    hpcli_bs_result_t *r;
    const char *msg;
    for (;;) {
        switch (hpcli_bs_reader_next(rd, &r, &msg)) {
        case HPCLI_BS_REC_END:
            return 0;
        case HPCLI_BS_REC_ERROR:
            hpcli_error("benchstat: %s", msg);
            return 1;
        case HPCLI_BS_REC_SYNTAX:
            fprintf(stderr, "%s\n", msg);
            break;
        case HPCLI_BS_REC_RESULT:
            (*nread)++;
            if (!hpcli_bs_filter_apply(filter, r)) break;
            (*nkept)++;
            hpcli_bs_builder_add(b, r);
            break;
        }
    }
}

static int main_run(hpcli_bs_arena_t *a, const main_flags_t *f, char **inputs, size_t ninputs)
{
    main_setup_t s;
    if (main_setup(a, f, &s) != 0) return HPCLI_EXIT_FAIL;
    hpcli_bs_builder_t *b = hpcli_bs_builder_new(a, s.table_by, s.row_by, s.col_by, s.residue);
    hpcli_bs_reader_t *rd = hpcli_bs_reader_new(a, inputs, ninputs);
    size_t nread = 0, nkept = 0;
    int rc = main_read(rd, s.filter, b, &nread, &nkept);
    if (rc == 0 && nkept == 0) {
        if (nread == 0) hpcli_error("benchstat: no benchmark results in the input");
        else hpcli_error("benchstat: no benchmark results match -filter");
        rc = 1;
    }
    if (rc == 0) {
        hpcli_bs_tables_t ts;
        hpcli_bs_buf_t out = {0}, warn = {0};
        hpcli_bs_builder_tables(b, rd, f->confidence, f->alpha, &ts);
        if (strcmp(f->format, "csv") == 0) {
            hpcli_bs_tables_csv(a, &ts, &out, &warn);
        } else {
            hpcli_bs_tables_text(a, &ts, &out);
        }
        fwrite(out.p ? out.p : "", 1, out.len, stdout);
        fflush(stdout);
        fwrite(warn.p ? warn.p : "", 1, warn.len, stderr);
        hpcli_bs_buf_free(&out);
        hpcli_bs_buf_free(&warn);
    }
    hpcli_bs_reader_close(rd);
    return rc ? HPCLI_EXIT_FAIL : HPCLI_EXIT_OK;
}

int hpcli_benchstat_main(int argc, char **argv)
{
    main_flags_t f = {".config", ".fullname", ".file", "", "*", "text", 0.05, 0.95, 0};
    int first = main_parse_flags(&f, argc, argv);
    if (first < 0) return HPCLI_EXIT_USAGE;
    if (f.help) {
        hpcli_benchstat_help();
        return HPCLI_EXIT_OK;
    }
    if (first >= argc) {
        hpcli_usage_error("benchstat: no inputs; usage: hotpath benchstat [flags] inputs...");
        return HPCLI_EXIT_USAGE;
    }
    hpcli_bs_arena_t *a = hpcli_bs_arena_new();
    int rc = main_run(a, &f, argv + first, (size_t)(argc - first));
    hpcli_bs_arena_free(a);
    return rc;
}
