/* tools/hotpath/benchstat/extract.c: the parts of a result that keys name.
 *
 * golang.org/x/perf/benchproc's extractors.  A benchmark's full name is
 * its base name, then "/key=value" sub-name parts, then "-N" when
 * GOMAXPROCS was not 1:
 *
 *     Encode/format=json/size=1kB-48
 *     base   parts ...             gomaxprocs
 *
 *   .name       the base name ("Encode"); without any "/", the name minus
 *               its "-N" suffix;
 *   .fullname   the whole name, or, when other projections use /key or
 *               .name, the name with those parts deleted ("*" for the base
 *               name) so that the row does not repeat the column;
 *   /key        the value of the part "/key=value" ("" if absent);
 *               /gomaxprocs also reads the "-N" suffix;
 *   other       a file configuration key, or ".file".
 */
#include <stdlib.h>
#include <string.h>

#include "bs.h"

/* Where the "-N" suffix starts, or n if there is none. */
static size_t extract_gomaxprocs(const char *name, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        if (name[i] == '-' && i < n - 1) return i;
        if (name[i] < '0' || name[i] > '9') break;
    }
    return n;
}

size_t hpcli_bs_name_base(const char *name, size_t n)
{
    const char *slash = memchr(name, '/', n);
    if (slash != NULL) return (size_t)(slash - name);
    return extract_gomaxprocs(name, n);
}

/* Splits a full name into parts: part 0 is the base name, then each
 * "/..." part, then the "-N" part if any.  starts has room for n+2. */
static size_t extract_parts(const char *name, size_t n, size_t *starts)
{
    size_t g = extract_gomaxprocs(name, n), np = 0;
    starts[np++] = 0;
    for (size_t i = 0; i < g; i++)
        if (name[i] == '/') starts[np++] = i;
    if (g < n) starts[np++] = g;
    starts[np] = n;
    return np;
}

hpcli_bs_extractor_t *hpcli_bs_extractor_new(hpcli_bs_arena_t *a, const char *key, const char **err)
{
    if (key[0] == '\0') {
        *err = "key must not be empty";
        return NULL;
    }
    hpcli_bs_extractor_t *e = hpcli_bs_alloc(a, sizeof *e);
    if (strcmp(key, ".name") == 0) {
        e->kind = HPCLI_BS_EXT_NAME;
    } else if (strcmp(key, ".fullname") == 0) {
        e->kind = HPCLI_BS_EXT_FULL;
    } else if (key[0] == '/') {
        e->kind = HPCLI_BS_EXT_PART;
        e->key = hpcli_bs_sprintf(a, "%s=", key);
        e->gomaxprocs = strcmp(key, "/gomaxprocs") == 0;
    } else {
        e->kind = HPCLI_BS_EXT_CONFIG;
        e->key = key;
    }
    return e;
}

hpcli_bs_extractor_t *hpcli_bs_extractor_fullname(hpcli_bs_arena_t *a, const char **excl, size_t n)
{
    hpcli_bs_extractor_t *e = hpcli_bs_alloc(a, sizeof *e);
    e->kind = HPCLI_BS_EXT_FULL_EXCL;
    e->drop = hpcli_bs_alloc(a, (n ? n : 1) * sizeof *e->drop);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(excl[i], ".name") == 0) e->exclude_name = 1;
        if (excl[i][0] != '/') continue;
        e->drop[e->ndrop++] = hpcli_bs_sprintf(a, "%s=", excl[i]);
        if (strcmp(excl[i], "/gomaxprocs") == 0) e->gomaxprocs = 1;
    }
    if (e->ndrop == 0 && !e->exclude_name) e->kind = HPCLI_BS_EXT_FULL;
    return e;
}

static int extract_has_prefix(const char *s, size_t n, const char *prefix)
{
    size_t p = strlen(prefix);
    return n >= p && memcmp(s, prefix, p) == 0;
}

static const char *extract_part(const hpcli_bs_extractor_t *e, const char *name, size_t n,
                                size_t *len)
{
    size_t small[64];
    size_t *starts = n + 2 <= 64 ? small : hpcli_bs_xrealloc(NULL, (n + 2) * sizeof *starts);
    size_t np = extract_parts(name, n, starts);
    const char *out = NULL;
    *len = 0;
    if (e->gomaxprocs && np > 1 && name[starts[np - 1]] == '-') {
        out = name + starts[np - 1] + 1;
        *len = starts[np] - starts[np - 1] - 1;
    }
    for (size_t i = 1; out == NULL && i < np; i++) {
        size_t plen = starts[i + 1] - starts[i];
        if (extract_has_prefix(name + starts[i], plen, e->key)) {
            out = name + starts[i] + strlen(e->key);
            *len = plen - strlen(e->key);
        }
    }
    if (starts != small) free(starts);
    return out ? out : "";
}

static int extract_contains(const char *s, size_t n, const char *sub)
{
    size_t k = strlen(sub);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, sub, k) == 0) return 1;
    return 0;
}

static const char *extract_full_excl(const hpcli_bs_extractor_t *e, const char *name, size_t n,
                                     hpcli_bs_buf_t *scratch, size_t *len)
{
    int found = e->exclude_name;
    for (size_t i = 0; !found && i < e->ndrop; i++) found = extract_contains(name, n, e->drop[i]);
    if (!found && e->gomaxprocs && memchr(name, '-', n) != NULL) found = 1;
    *len = n;
    if (!found) return name;
    size_t small[64];
    size_t *starts = n + 2 <= 64 ? small : hpcli_bs_xrealloc(NULL, (n + 2) * sizeof *starts);
    size_t np = extract_parts(name, n, starts);
    hpcli_bs_buf_reset(scratch);
    if (e->exclude_name) {
        hpcli_bs_buf_addc(scratch, '*');
    } else {
        hpcli_bs_buf_add(scratch, name, starts[1]);
    }
    for (size_t i = 1; i < np; i++) {
        const char *part = name + starts[i];
        size_t plen = starts[i + 1] - starts[i];
        int drop = e->gomaxprocs && part[0] == '-';
        for (size_t k = 0; !drop && k < e->ndrop; k++) drop = extract_has_prefix(part, plen, e->drop[k]);
        if (!drop) hpcli_bs_buf_add(scratch, part, plen);
    }
    if (starts != small) free(starts);
    *len = scratch->len;
    return scratch->p;
}

const char *hpcli_bs_extract(const hpcli_bs_extractor_t *e, const hpcli_bs_result_t *r,
                             hpcli_bs_buf_t *scratch, size_t *len)
{
    size_t n = strlen(r->name);
    const char *v;
    switch (e->kind) {
    case HPCLI_BS_EXT_NAME:
        *len = hpcli_bs_name_base(r->name, n);
        return r->name;
    case HPCLI_BS_EXT_FULL:
        *len = n;
        return r->name;
    case HPCLI_BS_EXT_PART:
        return extract_part(e, r->name, n, len);
    case HPCLI_BS_EXT_FULL_EXCL:
        return extract_full_excl(e, r->name, n, scratch, len);
    default:
        v = hpcli_bs_result_config(r, e->key);
        if (v == NULL) v = "";
        *len = strlen(v);
        return v;
    }
}
