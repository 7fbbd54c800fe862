/* tools/hotpath/benchstat/parse.c: reading the Go benchmark format.
 *
 * This is golang.org/x/perf/benchfmt's Reader and Files, for the format of
 * https://golang.org/design/14313-benchmark-format.  Each input is read
 * line by line (at most 64 KiB per line, as Go's bufio.Scanner allows; a
 * longer line is a fatal error) and each line is one of:
 *
 *   - a benchmark line: "Benchmark" + name, an iteration count, then pairs
 *     of value and unit, all separated by Unicode white space:
 *         BenchmarkEncode/format=json-48   690848   1726 ns/op   40 B/op
 *     Each value is tidied at once (units.c: ns -> sec, MB -> B).  A line
 *     that is only "BenchmarkName" is skipped silently; a malformed one
 *     gives a warning "file:line: message" and is skipped;
 *   - a unit metadata line: "Unit" unit key=value...; `assume=exact` is the
 *     key that matters to benchstat.  Metadata is global to all inputs and
 *     may not be redefined with a different value;
 *   - a configuration line "key: value": key starts with a lower-case
 *     letter and has no space or upper-case letter; value follows ": " (or
 *     ":\t") and applies to the results after it in the same file.  An
 *     empty value deletes the key.  Deleting moves the last key into the
 *     deleted key's place, which is visible in .config order, as in Go;
 *   - anything else, ignored.
 *
 * Every input starts with the single configuration key ".file" set to its
 * label: "label=path" arguments give the label, otherwise it is the path,
 * or "path#N" when one path is given several times.  "-" is stdin.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs.h"

#define PARSE_MAX_LINE (64 * 1024)

typedef struct parse_input {
    const char *path, *label;
    int is_stdin;
} parse_input_t;

typedef struct parse_unitmeta {
    const char *orig_unit, *value;
} parse_unitmeta_t;

struct hpcli_bs_reader {
    hpcli_bs_arena_t *arena;
    parse_input_t *inputs;
    size_t ninputs, next_input;
    FILE *f;
    int f_is_stdin;
    char *line;      /* the current line, heap */
    size_t linecap;
    hpcli_bs_result_t result;
    hpcli_bs_map_t *units;   /* "tidyunit\0key" -> parse_unitmeta_t */
    hpcli_bs_map_t *interns; /* unit strings */
    hpcli_bs_map_t *tidy;    /* unit -> parse_tidied_t */
    /* Records found on one line beyond the first, waiting to be returned. */
    const char **pending;
    size_t npending, cappending, pending_pos;
};

/* ---- results and their configuration ------------------------------------ */

const char *hpcli_bs_result_config(const hpcli_bs_result_t *r, const char *key)
{
    void **slot = hpcli_bs_map_get(r->config_pos, key, strlen(key));
    if (slot == NULL || *slot == NULL) return NULL;
    return r->config[(size_t)(uintptr_t)*slot - 1].val;
}

static void parse_config_set(hpcli_bs_reader_t *rd, const char *key, const char *val, int file)
{
    hpcli_bs_result_t *r = &rd->result;
    void **slot = hpcli_bs_map_put(r->config_pos, key, strlen(key), NULL);
    if (*slot != NULL) {
        hpcli_bs_config_t *c = &r->config[(size_t)(uintptr_t)*slot - 1];
        c->val = val;
        c->file = file;
        return;
    }
    r->config = hpcli_bs_grow(rd->arena, r->config, &r->capconfig, r->nconfig + 1,
                              sizeof *r->config);
    r->config[r->nconfig] = (hpcli_bs_config_t){hpcli_bs_strdup(rd->arena, key), val, file};
    *slot = (void *)(uintptr_t)++r->nconfig;
}

/* Deletes key by moving the last entry into its place. */
static void parse_config_delete(hpcli_bs_reader_t *rd, const char *key)
{
    hpcli_bs_result_t *r = &rd->result;
    void **slot = hpcli_bs_map_get(r->config_pos, key, strlen(key));
    if (slot == NULL || *slot == NULL) return;
    size_t pos = (size_t)(uintptr_t)*slot - 1, last = r->nconfig - 1;
    *slot = NULL;
    if (pos != last) {
        r->config[pos] = r->config[last];
        const char *moved = r->config[pos].key;
        *hpcli_bs_map_get(r->config_pos, moved, strlen(moved)) = (void *)(uintptr_t)(pos + 1);
    }
    r->nconfig--;
}

/* ---- splitting ------------------------------------------------------------ */

/* Go's splitField: the field up to the first white space, then the rest
 * after any run of white space. */
static void parse_split(const char *s, size_t n, size_t *flen, size_t *rest)
{
    size_t i = 0, w = 1;
    uint32_t r = 0;
    while (i < n) {
        r = hpcli_bs_rune(s + i, n - i, &w);
        if (hpcli_bs_rune_is_space(r)) break;
        i += w;
    }
    *flen = i;
    if (i >= n) {
        *rest = n;
        return;
    }
    i += w;
    while (i < n) {
        r = hpcli_bs_rune(s + i, n - i, &w);
        if (!hpcli_bs_rune_is_space(r)) break;
        i += w;
    }
    *rest = i;
}

static const char *parse_intern(hpcli_bs_reader_t *rd, const char *s, size_t n)
{
    int created;
    void **slot = hpcli_bs_map_put(rd->interns, s, n, &created);
    if (created) *slot = hpcli_bs_strndup(rd->arena, s, n);
    return *slot;
}

/* Tidies unit, remembering the answer for the next value in that unit. */
typedef struct parse_tidied {
    const char *unit;
    double factor;
} parse_tidied_t;

static const char *parse_tidy(hpcli_bs_reader_t *rd, const char *unit, double *factor)
{
    int created;
    void **slot = hpcli_bs_map_put(rd->tidy, unit, strlen(unit), &created);
    if (created) {
        parse_tidied_t *t = hpcli_bs_alloc(rd->arena, sizeof *t);
        t->unit = hpcli_bs_tidy_unit(rd->arena, unit, &t->factor);
        *slot = t;
    }
    const parse_tidied_t *t = *slot;
    *factor = t->factor;
    return t->unit;
}

static void parse_pending(hpcli_bs_reader_t *rd, const char *msg)
{
    const char *full = hpcli_bs_sprintf(rd->arena, "%s:%zu: %s", rd->result.file,
                                        rd->result.line, msg);
    rd->pending = hpcli_bs_grow(rd->arena, rd->pending, &rd->cappending, rd->npending + 1,
                                sizeof *rd->pending);
    rd->pending[rd->npending++] = full;
}

/* ---- line kinds ----------------------------------------------------------- */

/* "key: value": returns 1 and sets key/value when line is one. */
static int parse_key_value(const char *s, size_t n, size_t *klen, size_t *vstart)
{
    size_t i = 0, w;
    while (i < n) {
        uint32_t r = hpcli_bs_rune(s + i, n - i, &w);
        if (i == 0 && !hpcli_bs_rune_is_lower(r)) return 0;
        if (hpcli_bs_rune_is_space(r) || hpcli_bs_rune_is_upper(r)) return 0;
        if (i > 0 && r == ':') break;
        i += w;
    }
    if (i == 0 || i >= n) return 0;
    *klen = i;
    size_t v = i + 1;
    if (v == n) {
        *vstart = n;
        return 1; /* "key:" deletes key */
    }
    if (s[v] != ' ' && s[v] != '\t') return 0;
    while (v < n && (s[v] == ' ' || s[v] == '\t')) v++;
    *vstart = v;
    return 1;
}

/* Parses value/unit pairs into the result; NULL or the error message. */
static const char *parse_values(hpcli_bs_reader_t *rd, const char *s, size_t n)
{
    hpcli_bs_result_t *r = &rd->result;
    size_t pos = 0, flen, rest;
    r->nvalues = 0;
    for (;;) {
        parse_split(s + pos, n - pos, &flen, &rest);
        if (flen == 0) return r->nvalues > 0 ? NULL : "missing measurements";
        double v;
        int rc = hpcli_bs_parse_float(s + pos, flen, &v);
        if (rc != HPCLI_BS_NUM_OK)
            return hpcli_bs_sprintf(rd->arena, "parsing measurement: %s",
                                    hpcli_bs_num_error(rc));
        pos += rest;
        parse_split(s + pos, n - pos, &flen, &rest);
        if (flen == 0) return "missing units";
        const char *unit = parse_intern(rd, s + pos, flen);
        pos += rest;
        double factor;
        const char *tidy = parse_tidy(rd, unit, &factor);
        hpcli_bs_value_t val = {v, unit, 0, ""};
        if (v * factor != v) val = (hpcli_bs_value_t){v * factor, tidy, v, unit};
        r->values = hpcli_bs_grow(rd->arena, r->values, &r->capvalues, r->nvalues + 1,
                                  sizeof *r->values);
        r->values[r->nvalues++] = val;
    }
}

/* A benchmark line (after "Benchmark"): 1 for a result, 0 to skip, -1 for
 * a syntax error (queued). */
static int parse_benchmark(hpcli_bs_reader_t *rd, char *s, size_t n)
{
    hpcli_bs_result_t *r = &rd->result;
    size_t flen, rest;
    parse_split(s, n, &flen, &rest);
    if (rest == n && flen == n) return 0; /* just a name */
    s[flen] = '\0';
    r->name = s;
    s += rest, n -= rest;
    parse_split(s, n, &flen, &rest);
    if (flen == 0) {
        parse_pending(rd, "missing iteration count");
        return -1;
    }
    int rc = hpcli_bs_parse_int(s, flen, &r->iters);
    if (rc != HPCLI_BS_NUM_OK) {
        parse_pending(rd, hpcli_bs_sprintf(rd->arena, "parsing iteration count: %s",
                                           hpcli_bs_num_error(rc)));
        return -1;
    }
    const char *err = parse_values(rd, s + rest, n - rest);
    if (err != NULL) {
        parse_pending(rd, err);
        return -1;
    }
    return 1;
}

/* "Unit unit key=value...": records metadata, queues warnings. */
static void parse_unit_line(hpcli_bs_reader_t *rd, const char *s, size_t n)
{
    size_t flen, rest;
    parse_split(s, n, &flen, &rest);
    if (flen == 0) {
        parse_pending(rd, "missing unit");
        return;
    }
    const char *unit = parse_intern(rd, s, flen);
    double factor;
    const char *tidy = parse_tidy(rd, unit, &factor);
    for (s += rest, n -= rest; n > 0; s += rest, n -= rest) {
        parse_split(s, n, &flen, &rest);
        if (flen == 0) break;
        const char *eq = memchr(s, '=', flen);
        if (eq == NULL || eq == s) {
            parse_pending(rd, "expected key=value");
            continue;
        }
        const char *key = hpcli_bs_strndup(rd->arena, s, (size_t)(eq - s));
        const char *value = hpcli_bs_strndup(rd->arena, eq + 1, flen - (size_t)(eq - s) - 1);
        char *mk = hpcli_bs_sprintf(rd->arena, "%s%c%s", tidy, 0, key);
        size_t mklen = strlen(tidy) + 1 + strlen(key);
        int created;
        void **slot = hpcli_bs_map_put(rd->units, mk, mklen, &created);
        if (!created) {
            const parse_unitmeta_t *have = *slot;
            if (strcmp(have->value, value) != 0)
                parse_pending(rd, hpcli_bs_sprintf(rd->arena,
                                                   "metadata %s of unit %s already set to %s",
                                                   key, unit, have->value));
            continue;
        }
        parse_unitmeta_t *m = hpcli_bs_alloc(rd->arena, sizeof *m);
        m->orig_unit = unit;
        m->value = value;
        *slot = m;
    }
}

/* Handles one line; returns 1 when it produced a result. */
static int parse_line(hpcli_bs_reader_t *rd, char *s, size_t n)
{
    if (n >= 9 && memcmp(s, "Benchmark", 9) == 0) return parse_benchmark(rd, s + 9, n - 9) == 1;
    size_t flen, rest, klen, vstart;
    if (n > 0 && s[0] == 'U') {
        parse_split(s, n, &flen, &rest);
        if (flen == 4 && memcmp(s, "Unit", 4) == 0) {
            parse_unit_line(rd, s + rest, n - rest);
            return 0;
        }
    }
    if (parse_key_value(s, n, &klen, &vstart)) {
        const char *key = hpcli_bs_strndup(rd->arena, s, klen);
        if (vstart == n) {
            parse_config_delete(rd, key);
        } else {
            parse_config_set(rd, key, hpcli_bs_strndup(rd->arena, s + vstart, n - vstart), 1);
        }
    }
    return 0;
}

/* ---- inputs --------------------------------------------------------------- */

hpcli_bs_reader_t *hpcli_bs_reader_new(hpcli_bs_arena_t *a, char **paths, size_t n)
{
    hpcli_bs_reader_t *rd = hpcli_bs_alloc(a, sizeof *rd);
    rd->arena = a;
    rd->units = hpcli_bs_map_new(a);
    rd->interns = hpcli_bs_map_new(a);
    rd->tidy = hpcli_bs_map_new(a);
    rd->inputs = hpcli_bs_alloc(a, (n ? n : 1) * sizeof *rd->inputs);
    hpcli_bs_map_t *count = hpcli_bs_map_new(a), *seen = hpcli_bs_map_new(a);
    int *labeled = hpcli_bs_alloc(a, (n ? n : 1) * sizeof *labeled);
    for (size_t i = 0; i < n; i++) {
        parse_input_t *in = &rd->inputs[i];
        const char *eq = strchr(paths[i], '=');
        in->path = in->label = paths[i];
        if (eq != NULL) {
            in->label = hpcli_bs_strndup(a, paths[i], (size_t)(eq - paths[i]));
            in->path = eq + 1;
            labeled[i] = 1;
        } else {
            void **c = hpcli_bs_map_put(count, in->path, strlen(in->path), NULL);
            *c = (void *)((uintptr_t)*c + 1);
        }
        in->is_stdin = strcmp(in->path, "-") == 0;
    }
    /* A path given more than once is labeled path#0, path#1, ... */
    for (size_t i = 0; i < n; i++) {
        parse_input_t *in = &rd->inputs[i];
        if (labeled[i] || (uintptr_t)*hpcli_bs_map_get(count, in->path, strlen(in->path)) == 1)
            continue;
        void **k = hpcli_bs_map_put(seen, in->path, strlen(in->path), NULL);
        in->label = hpcli_bs_sprintf(a, "%s#%zu", in->path, (size_t)(uintptr_t)*k);
        *k = (void *)((uintptr_t)*k + 1);
    }
    rd->ninputs = n;
    return rd;
}

/* Opens the next input and resets the per-file state; a message on error. */
static const char *parse_open_next(hpcli_bs_reader_t *rd)
{
    parse_input_t *in = &rd->inputs[rd->next_input++];
    if (in->is_stdin) {
        rd->f = stdin;
        rd->f_is_stdin = 1;
    } else {
        rd->f = fopen(in->path, "rb");
        if (rd->f == NULL) return hpcli_bs_sprintf(rd->arena, "open %s: %s", in->path,
                                                   strerror(errno));
        rd->f_is_stdin = 0;
    }
    hpcli_bs_result_t *r = &rd->result;
    r->nconfig = 0;
    r->config_pos = hpcli_bs_map_new(rd->arena);
    r->file = in->path;
    r->line = 0;
    if (in->label[0] != '\0') parse_config_set(rd, ".file", in->label, 0);
    return NULL;
}

static void parse_close(hpcli_bs_reader_t *rd)
{
    if (rd->f != NULL && !rd->f_is_stdin) fclose(rd->f);
    rd->f = NULL;
}

/* Reads one line without its "\n" (and a "\r" before it); 0 at EOF, -1 on
 * a read error or an over-long line (*msg set). */
static int parse_read_line(hpcli_bs_reader_t *rd, size_t *len, const char **msg)
{
    ssize_t n = getline(&rd->line, &rd->linecap, rd->f);
    if (n < 0) {
        if (ferror(rd->f)) {
            *msg = hpcli_bs_sprintf(rd->arena, "%s:%zu: read error: %s", rd->result.file,
                                    rd->result.line, strerror(errno));
            return -1;
        }
        return 0;
    }
    size_t l = (size_t)n;
    if (l > 0 && rd->line[l - 1] == '\n') l--;
    if (l >= PARSE_MAX_LINE) {
        *msg = hpcli_bs_sprintf(rd->arena, "%s:%zu: line too long (more than %d bytes)",
                                rd->result.file, rd->result.line + 1, PARSE_MAX_LINE - 1);
        return -1;
    }
    if (l > 0 && rd->line[l - 1] == '\r') l--;
    rd->line[l] = '\0';
    *len = l;
    return 1;
}

int hpcli_bs_reader_next(hpcli_bs_reader_t *rd, hpcli_bs_result_t **res, const char **msg)
{
    for (;;) {
        if (rd->pending_pos < rd->npending) {
            *msg = rd->pending[rd->pending_pos++];
            return HPCLI_BS_REC_SYNTAX;
        }
        rd->npending = rd->pending_pos = 0;
        if (rd->f == NULL) {
            if (rd->next_input >= rd->ninputs) return HPCLI_BS_REC_END;
            *msg = parse_open_next(rd);
            if (*msg != NULL) return HPCLI_BS_REC_ERROR;
        }
        size_t len;
        int rc = parse_read_line(rd, &len, msg);
        if (rc < 0) {
            parse_close(rd);
            rd->next_input = rd->ninputs;
            return HPCLI_BS_REC_ERROR;
        }
        if (rc == 0) {
            parse_close(rd);
            continue;
        }
        rd->result.line++;
        if (parse_line(rd, rd->line, len)) {
            *res = &rd->result;
            return HPCLI_BS_REC_RESULT;
        }
    }
}

int hpcli_bs_reader_unit_exact(hpcli_bs_reader_t *rd, const char *unit)
{
    double factor;
    const char *tidy = parse_tidy(rd, unit, &factor);
    hpcli_bs_buf_t k = {0};
    hpcli_bs_buf_adds(&k, tidy);
    hpcli_bs_buf_add(&k, "\0assume", 7);
    void **slot = hpcli_bs_map_get(rd->units, k.p, k.len);
    hpcli_bs_buf_free(&k);
    return slot != NULL && strcmp(((parse_unitmeta_t *)*slot)->value, "exact") == 0;
}

void hpcli_bs_reader_close(hpcli_bs_reader_t *rd)
{
    parse_close(rd);
    free(rd->line);
    rd->line = NULL;
}
