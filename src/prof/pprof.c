/* pprof.c: profiles in pprof's format.  See pprof.h for the contract,
 * prof.h for the design and ../shared/spec/pprof-profile-format.md for the
 * format.
 *
 * Building: samples are kept in an array and merged through a hash index on
 * (stack, labels, synthetic name).  Stacks are stored as the addresses that
 * will be written: return addresses minus 1, exact PCs as they are.
 *
 * Writing: every distinct address is symbolized once (hpi_symtab) into a
 * Location with one Line per frame, innermost first; functions are merged
 * on (name, file, start line); strings on their text.  The message is
 * assembled as protobuf-c structs, packed, gzip-compressed with zlib and
 * written.  All of it is allocated with malloc and freed before returning,
 * under hpi_prof_internal, so none of it lands in a heap profile.
 */
#define _GNU_SOURCE
#include "prof/pprof.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "prof/profile.pb-c.h"
#include "prof/prof.h"
#include "prof/symbolize.h"

__thread int hpi_prof_internal __attribute__((tls_model("initial-exec")));

#define MAX_FRAMES 16 /* frames of one address: itself and its inlined callers */

typedef struct sample {
    uint64_t hash;
    uint64_t *addrs; /* leaf first, as written */
    int naddrs;
    char *synth;               /* synthetic frame's function name, or NULL */
    hpi_pprof_label_t *labels; /* copies */
    int nlabels;
    int64_t *values;
} sample_t;

struct hpi_pprof {
    hpi_pprof_vtype_t *types, period_type;
    int ntypes;
    char *default_type, *drop_frames;
    int64_t period, time_nanos, duration_nanos;
    char **comments;
    int ncomments;
    sample_t *samples;
    size_t nsamples, cap;
    size_t *index; /* open addressing: sample number + 1, 0 empty */
    size_t icap;
};

/* ---- building ---- */

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001B3ULL + (h >> 29);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; s != NULL && *s; s++)
        h = mix(h, (unsigned char)*s);
    return mix(h, 0xff);
}

hpi_pprof_t *hpi_pprof_new(const hpi_pprof_vtype_t *types, int ntypes, const char *default_type)
{
    hpi_pprof_t *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    p->types = calloc((size_t)ntypes, sizeof *p->types);
    if (p->types == NULL) {
        free(p);
        return NULL;
    }
    p->ntypes = ntypes;
    for (int i = 0; i < ntypes; i++) {
        p->types[i].type = strdup(types[i].type);
        p->types[i].unit = strdup(types[i].unit);
    }
    p->default_type = dup_or_null(default_type);
    return p;
}

static void free_sample(sample_t *s)
{
    free(s->addrs);
    free(s->synth);
    for (int i = 0; i < s->nlabels; i++) {
        free((char *)s->labels[i].key);
        free((char *)s->labels[i].str);
        free((char *)s->labels[i].unit);
    }
    free(s->labels);
    free(s->values);
}

void hpi_pprof_free(hpi_pprof_t *p)
{
    if (p == NULL) return;
    for (int i = 0; i < p->ntypes; i++) {
        free((char *)p->types[i].type);
        free((char *)p->types[i].unit);
    }
    free(p->types);
    free((char *)p->period_type.type);
    free((char *)p->period_type.unit);
    free(p->default_type);
    free(p->drop_frames);
    for (int i = 0; i < p->ncomments; i++)
        free(p->comments[i]);
    free(p->comments);
    for (size_t i = 0; i < p->nsamples; i++)
        free_sample(&p->samples[i]);
    free(p->samples);
    free(p->index);
    free(p);
}

void hpi_pprof_set_period(hpi_pprof_t *p, hpi_pprof_vtype_t type, int64_t period)
{
    free((char *)p->period_type.type);
    free((char *)p->period_type.unit);
    p->period_type.type = dup_or_null(type.type);
    p->period_type.unit = dup_or_null(type.unit);
    p->period = period;
}

void hpi_pprof_set_time(hpi_pprof_t *p, int64_t time_nanos, int64_t duration_nanos)
{
    p->time_nanos = time_nanos;
    p->duration_nanos = duration_nanos;
}

void hpi_pprof_add_comment(hpi_pprof_t *p, const char *text)
{
    char **c = realloc(p->comments, (size_t)(p->ncomments + 1) * sizeof *c);
    if (c == NULL) return;
    p->comments = c;
    c[p->ncomments] = strdup(text);
    if (c[p->ncomments] != NULL) p->ncomments++;
}

void hpi_pprof_set_drop_frames(hpi_pprof_t *p, const char *regexp)
{
    free(p->drop_frames);
    p->drop_frames = dup_or_null(regexp);
}

static bool labels_equal(const hpi_pprof_label_t *a, const hpi_pprof_label_t *b, int n)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(a[i].key, b[i].key) != 0 || a[i].num != b[i].num) return false;
        if ((a[i].str == NULL) != (b[i].str == NULL) || (a[i].unit == NULL) != (b[i].unit == NULL))
            return false;
        if (a[i].str != NULL && strcmp(a[i].str, b[i].str) != 0) return false;
        if (a[i].unit != NULL && strcmp(a[i].unit, b[i].unit) != 0) return false;
    }
    return true;
}

static bool sample_equal(const sample_t *a, const sample_t *b)
{
    return a->hash == b->hash && a->naddrs == b->naddrs && a->nlabels == b->nlabels &&
           memcmp(a->addrs, b->addrs, (size_t)a->naddrs * sizeof a->addrs[0]) == 0 &&
           (a->synth == NULL) == (b->synth == NULL) &&
           (a->synth == NULL || strcmp(a->synth, b->synth) == 0) &&
           labels_equal(a->labels, b->labels, a->nlabels);
}

static bool index_grow(hpi_pprof_t *p)
{
    size_t cap = p->icap ? p->icap * 2 : 256;
    size_t *idx = calloc(cap, sizeof *idx);
    if (idx == NULL) return false;
    for (size_t i = 0; i < p->nsamples; i++) {
        size_t j = p->samples[i].hash & (cap - 1);
        while (idx[j] != 0)
            j = (j + 1) & (cap - 1);
        idx[j] = i + 1;
    }
    free(p->index);
    p->index = idx;
    p->icap = cap;
    return true;
}

/* Merge s into an equal sample, or take it as a new one (owning its
 * memory).  0 or ENOMEM. */
static int add_sample(hpi_pprof_t *p, sample_t *s)
{
    if (2 * (p->nsamples + 1) > p->icap && !index_grow(p)) return ENOMEM;
    size_t j = s->hash & (p->icap - 1);
    for (; p->index[j] != 0; j = (j + 1) & (p->icap - 1)) {
        sample_t *o = &p->samples[p->index[j] - 1];
        if (!sample_equal(o, s)) continue;
        for (int k = 0; k < p->ntypes; k++)
            o->values[k] += s->values[k];
        free_sample(s);
        return 0;
    }
    if (p->nsamples == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        sample_t *ns = realloc(p->samples, cap * sizeof *ns);
        if (ns == NULL) return ENOMEM;
        p->samples = ns;
        p->cap = cap;
    }
    p->samples[p->nsamples++] = *s;
    p->index[j] = p->nsamples;
    return 0;
}

static int fill_sample(hpi_pprof_t *p, sample_t *s, const int64_t *values,
                       const hpi_pprof_label_t *labels, int nlabels)
{
    s->values = malloc((size_t)p->ntypes * sizeof *s->values);
    s->labels = nlabels > 0 ? calloc((size_t)nlabels, sizeof *s->labels) : NULL;
    if (s->values == NULL || (nlabels > 0 && s->labels == NULL)) return ENOMEM;
    memcpy(s->values, values, (size_t)p->ntypes * sizeof *values);
    for (int i = 0; i < nlabels; i++) {
        hpi_pprof_label_t *l = &s->labels[i];
        l->key = strdup(labels[i].key);
        l->str = dup_or_null(labels[i].str);
        l->unit = dup_or_null(labels[i].unit);
        l->num = labels[i].num;
        s->nlabels = i + 1;
        if (l->key == NULL) return ENOMEM;
        s->hash = hash_str(hash_str(mix(s->hash, (uint64_t)l->num), l->key), l->str);
    }
    return 0;
}

int hpi_pprof_add(hpi_pprof_t *p, const uintptr_t *pcs, int npcs, bool exact_leaf,
                  const int64_t *values, const hpi_pprof_label_t *labels, int nlabels)
{
    sample_t s = {0};
    s.addrs = malloc((size_t)(npcs > 0 ? npcs : 1) * sizeof *s.addrs);
    if (s.addrs == NULL) return ENOMEM;
    s.naddrs = npcs;
    s.hash = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < npcs; i++) {
        s.addrs[i] = (i == 0 && exact_leaf) ? pcs[i] : pcs[i] - 1;
        s.hash = mix(s.hash, s.addrs[i]);
    }
    int err = fill_sample(p, &s, values, labels, nlabels);
    if (err == 0) err = add_sample(p, &s);
    if (err != 0) free_sample(&s);
    return err;
}

int hpi_pprof_add_synthetic(hpi_pprof_t *p, const char *func, const int64_t *values,
                            const hpi_pprof_label_t *labels, int nlabels)
{
    sample_t s = {0};
    s.synth = strdup(func);
    if (s.synth == NULL) return ENOMEM;
    s.hash = hash_str(0x51, func);
    int err = fill_sample(p, &s, values, labels, nlabels);
    if (err == 0) err = add_sample(p, &s);
    if (err != 0) free_sample(&s);
    return err;
}

/* ---- writing ---- */

typedef Perftools__Profiles__Location pb_location_t;
typedef Perftools__Profiles__Function pb_function_t;

/* Memory for the message's parts, freed in one go. */
typedef struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} block_t;

/* A map from a 64-bit key to a nonzero value, open addressing. */
typedef struct u64map {
    uint64_t *keys, *vals; /* vals[i] == 0: empty */
    size_t cap, n;
} u64map_t;

typedef struct enc {
    hpi_pprof_t *p;
    hpi_symtab_t *t;
    block_t *blocks;
    int oom;
    char **strs; /* string table */
    size_t nstrs, strcap;
    u64map_t str_ids;   /* hash of text -> id + 1 (chained by probing on equal hashes) */
    u64map_t addr_loc;  /* address -> location index + 1 */
    u64map_t synth_loc; /* string id of a synthetic name -> location index + 1 */
    u64map_t func_ids;  /* hash of (name, file, start) -> function index + 1 */
    pb_location_t **locs;
    size_t nlocs, loccap;
    pb_function_t **funcs;
    size_t nfuncs, funccap;
    const hpi_mapping_t *maps;
    int nmaps;
} enc_t;

static void *enc_alloc(enc_t *e, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    block_t *b = e->blocks;
    if (b == NULL || b->cap - b->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        b = malloc(sizeof *b + cap);
        if (b == NULL) {
            e->oom = 1;
            return NULL;
        }
        b->cap = cap;
        b->used = 0;
        b->next = e->blocks;
        e->blocks = b;
    }
    void *r = b->data + b->used;
    b->used += size;
    memset(r, 0, size);
    return r;
}

static bool grow_array(enc_t *e, void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return true;
    size_t ncap = *cap ? *cap * 2 : 64;
    void *a = realloc(*arr, ncap * elem);
    if (a == NULL) {
        e->oom = 1;
        return false;
    }
    *arr = a;
    *cap = ncap;
    return true;
}

static bool map_grow(u64map_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    uint64_t *k = calloc(cap, sizeof *k), *v = calloc(cap, sizeof *v);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == 0) continue;
        size_t j = mix(0, m->keys[i]) & (cap - 1);
        while (v[j] != 0)
            j = (j + 1) & (cap - 1);
        k[j] = m->keys[i];
        v[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = cap;
    return true;
}

/* The value of key, or 0. */
static uint64_t map_find(const u64map_t *m, uint64_t key)
{
    if (m->cap == 0) return 0;
    size_t j = mix(0, key) & (m->cap - 1);
    for (; m->vals[j] != 0; j = (j + 1) & (m->cap - 1))
        if (m->keys[j] == key) return m->vals[j];
    return 0;
}

static bool map_put(enc_t *e, u64map_t *m, uint64_t key, uint64_t val)
{
    if (2 * (m->n + 1) > m->cap && !map_grow(m)) return e->oom = 1, false;
    size_t j = mix(0, key) & (m->cap - 1);
    while (m->vals[j] != 0)
        j = (j + 1) & (m->cap - 1);
    m->keys[j] = key;
    m->vals[j] = val;
    m->n++;
    return true;
}

static void map_free(u64map_t *m)
{
    free(m->keys);
    free(m->vals);
}

/* The string table index of s (added if new); "" is 0. */
static int64_t str_id(enc_t *e, const char *s)
{
    if (s == NULL || *s == '\0') return 0;
    uint64_t h = hash_str(0, s);
    if (e->str_ids.cap > 0) {
        size_t j = mix(0, h) & (e->str_ids.cap - 1);
        for (; e->str_ids.vals[j] != 0; j = (j + 1) & (e->str_ids.cap - 1))
            if (e->str_ids.keys[j] == h && strcmp(e->strs[e->str_ids.vals[j] - 1], s) == 0)
                return (int64_t)e->str_ids.vals[j] - 1;
    }
    if (!grow_array(e, (void **)&e->strs, &e->strcap, e->nstrs, sizeof *e->strs)) return 0;
    char *copy = enc_alloc(e, strlen(s) + 1);
    if (copy == NULL) return 0;
    strcpy(copy, s);
    e->strs[e->nstrs++] = copy;
    map_put(e, &e->str_ids, h, e->nstrs);
    return (int64_t)e->nstrs - 1;
}

static uint64_t func_id(enc_t *e, const char *name, const char *file, int64_t start)
{
    int64_t n = str_id(e, name), f = str_id(e, file);
    uint64_t h = mix(mix(mix(0, (uint64_t)n), (uint64_t)f), (uint64_t)start);
    if (e->func_ids.cap > 0) {
        size_t j = mix(0, h) & (e->func_ids.cap - 1);
        for (; e->func_ids.vals[j] != 0; j = (j + 1) & (e->func_ids.cap - 1)) {
            pb_function_t *fn = e->funcs[e->func_ids.vals[j] - 1];
            if (e->func_ids.keys[j] == h && fn->name == n && fn->filename == f &&
                fn->start_line == start)
                return fn->id;
        }
    }
    if (!grow_array(e, (void **)&e->funcs, &e->funccap, e->nfuncs, sizeof *e->funcs)) return 0;
    pb_function_t *fn = enc_alloc(e, sizeof *fn);
    if (fn == NULL) return 0;
    perftools__profiles__function__init(fn);
    fn->id = e->nfuncs + 1;
    fn->name = fn->system_name = n;
    fn->filename = f;
    fn->start_line = start;
    e->funcs[e->nfuncs++] = fn;
    map_put(e, &e->func_ids, h, e->nfuncs);
    return fn->id;
}

static pb_location_t *new_location(enc_t *e, int nlines)
{
    if (!grow_array(e, (void **)&e->locs, &e->loccap, e->nlocs, sizeof *e->locs)) return NULL;
    pb_location_t *l = enc_alloc(e, sizeof *l);
    Perftools__Profiles__Line *lines = enc_alloc(e, (size_t)nlines * sizeof *lines);
    Perftools__Profiles__Line **lp = enc_alloc(e, (size_t)nlines * sizeof *lp);
    if (l == NULL || lines == NULL || lp == NULL) return NULL;
    perftools__profiles__location__init(l);
    for (int i = 0; i < nlines; i++) {
        perftools__profiles__line__init(&lines[i]);
        lp[i] = &lines[i];
    }
    l->line = lp;
    l->n_line = (size_t)nlines;
    l->id = e->nlocs + 1;
    e->locs[e->nlocs++] = l;
    return l;
}

static uint64_t mapping_id(enc_t *e, uint64_t addr)
{
    for (int i = 0; i < e->nmaps; i++)
        if (addr >= e->maps[i].start && addr < e->maps[i].limit) return (uint64_t)i + 1;
    return 0;
}

/* The location of an address, symbolized when first seen. */
static uint64_t location_of(enc_t *e, uint64_t addr)
{
    uint64_t v = map_find(&e->addr_loc, addr);
    if (v != 0) return v;
    hpi_frame_t fr[MAX_FRAMES];
    int n = 0;
    if (e->t != NULL) n = hpi_symtab_lookup(e->t, addr, fr, MAX_FRAMES);
    char hex[24];
    if (n == 0) {
        snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)addr);
        fr[0] = (hpi_frame_t){hex, "", 0, 0};
        n = 1;
    }
    pb_location_t *l = new_location(e, n);
    if (l == NULL) return 0;
    l->address = addr;
    l->mapping_id = mapping_id(e, addr);
    for (int i = 0; i < n; i++) {
        l->line[i]->function_id = func_id(e, fr[i].func, fr[i].file, fr[i].start_line);
        l->line[i]->line = fr[i].line;
    }
    map_put(e, &e->addr_loc, addr, l->id);
    return l->id;
}

static uint64_t synthetic_location(enc_t *e, const char *name)
{
    uint64_t key = (uint64_t)str_id(e, name);
    uint64_t v = map_find(&e->synth_loc, key);
    if (v != 0) return v;
    pb_location_t *l = new_location(e, 1);
    if (l == NULL) return 0;
    l->line[0]->function_id = func_id(e, name, "", 0);
    map_put(e, &e->synth_loc, key, l->id);
    return l->id;
}

static Perftools__Profiles__ValueType *value_type(enc_t *e, hpi_pprof_vtype_t vt)
{
    Perftools__Profiles__ValueType *v = enc_alloc(e, sizeof *v);
    if (v == NULL) return NULL;
    perftools__profiles__value_type__init(v);
    v->type = str_id(e, vt.type);
    v->unit = str_id(e, vt.unit);
    return v;
}

static Perftools__Profiles__Sample *encode_sample(enc_t *e, const sample_t *s)
{
    Perftools__Profiles__Sample *ps = enc_alloc(e, sizeof *ps);
    size_t nloc = s->synth != NULL ? 1 : (size_t)s->naddrs;
    uint64_t *ids = enc_alloc(e, (nloc ? nloc : 1) * sizeof *ids);
    Perftools__Profiles__Label *labs = enc_alloc(e, (size_t)s->nlabels * sizeof *labs + 1);
    Perftools__Profiles__Label **lp = enc_alloc(e, (size_t)s->nlabels * sizeof *lp + 1);
    if (ps == NULL || ids == NULL || labs == NULL || lp == NULL) return NULL;
    perftools__profiles__sample__init(ps);
    if (s->synth != NULL)
        ids[0] = synthetic_location(e, s->synth);
    else
        for (size_t i = 0; i < nloc; i++)
            ids[i] = location_of(e, s->addrs[i]);
    ps->location_id = ids;
    ps->n_location_id = nloc;
    ps->value = s->values;
    ps->n_value = (size_t)e->p->ntypes;
    for (int i = 0; i < s->nlabels; i++) {
        perftools__profiles__label__init(&labs[i]);
        labs[i].key = str_id(e, s->labels[i].key);
        if (s->labels[i].str != NULL) {
            labs[i].str = str_id(e, s->labels[i].str);
        } else {
            labs[i].num = s->labels[i].num;
            labs[i].num_unit = str_id(e, s->labels[i].unit);
        }
        lp[i] = &labs[i];
    }
    ps->label = lp;
    ps->n_label = (size_t)s->nlabels;
    return ps;
}

static Perftools__Profiles__Mapping **encode_mappings(enc_t *e)
{
    int n;
    const hpi_mapping_t *maps = e->t != NULL ? hpi_symtab_mappings(e->t, &n) : NULL;
    if (maps == NULL) n = 0;
    Perftools__Profiles__Mapping **mp = enc_alloc(e, (size_t)n * sizeof *mp + 1);
    for (int i = 0; mp != NULL && i < n; i++) {
        Perftools__Profiles__Mapping *m = enc_alloc(e, sizeof *m);
        if (m == NULL) return NULL;
        perftools__profiles__mapping__init(m);
        m->id = (uint64_t)i + 1;
        m->memory_start = maps[i].start;
        m->memory_limit = maps[i].limit;
        m->file_offset = maps[i].offset;
        m->filename = str_id(e, maps[i].file);
        m->build_id = str_id(e, maps[i].build_id);
        m->has_functions = maps[i].has_functions;
        m->has_filenames = maps[i].has_filenames;
        m->has_line_numbers = maps[i].has_line_numbers;
        m->has_inline_frames = maps[i].has_line_numbers; /* scopes were read */
        mp[i] = m;
    }
    e->nmaps = n;
    return mp;
}

/* Assemble the message; NULL when out of memory. */
static Perftools__Profiles__Profile *encode(enc_t *e, Perftools__Profiles__Profile *pr)
{
    hpi_pprof_t *p = e->p;
    if (!grow_array(e, (void **)&e->strs, &e->strcap, 0, sizeof *e->strs)) return NULL;
    e->strs[e->nstrs++] = ""; /* entry 0 must be "" */
    perftools__profiles__profile__init(pr);
    pr->n_sample_type = (size_t)p->ntypes;
    pr->sample_type = enc_alloc(e, (size_t)p->ntypes * sizeof *pr->sample_type + 1);
    for (int i = 0; pr->sample_type != NULL && i < p->ntypes; i++)
        pr->sample_type[i] = value_type(e, p->types[i]);
    /* Mappings are listed first so that locations find them; their has_*
     * flags are filled in after the lookups (below). */
    e->maps = e->t != NULL ? hpi_symtab_mappings(e->t, &e->nmaps) : NULL;
    pr->sample = enc_alloc(e, p->nsamples * sizeof *pr->sample + 1);
    for (size_t i = 0; pr->sample != NULL && i < p->nsamples; i++)
        pr->sample[i] = encode_sample(e, &p->samples[i]);
    pr->n_sample = p->nsamples;
    pr->mapping = encode_mappings(e); /* replaces e->maps' array */
    e->maps = NULL;
    pr->n_mapping = (size_t)e->nmaps;
    pr->location = e->locs;
    pr->n_location = e->nlocs;
    pr->function = e->funcs;
    pr->n_function = e->nfuncs;
    if (p->period_type.type != NULL) {
        pr->period_type = value_type(e, p->period_type);
        pr->period = p->period;
    }
    pr->time_nanos = p->time_nanos;
    pr->duration_nanos = p->duration_nanos;
    pr->drop_frames = str_id(e, p->drop_frames);
    pr->default_sample_type = str_id(e, p->default_type);
    pr->comment = enc_alloc(e, (size_t)p->ncomments * sizeof *pr->comment + 1);
    for (int i = 0; pr->comment != NULL && i < p->ncomments; i++)
        pr->comment[i] = str_id(e, p->comments[i]);
    pr->n_comment = (size_t)p->ncomments;
    pr->string_table = e->strs;
    pr->n_string_table = e->nstrs;
    return e->oom ? NULL : pr;
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* gzip buf (one member, as pprof wants) and write it. */
static int gzip_write(int fd, const unsigned char *buf, size_t len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return ENOMEM;
    size_t cap = deflateBound(&z, (uLong)len);
    unsigned char *out = malloc(cap);
    int err = out == NULL ? ENOMEM : 0;
    if (err == 0) {
        z.next_in = (unsigned char *)buf;
        z.avail_in = (uInt)len;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        err = deflate(&z, Z_FINISH) == Z_STREAM_END ? 0 : EIO;
    }
    if (err == 0) err = write_all(fd, out, cap - z.avail_out);
    deflateEnd(&z);
    free(out);
    return err;
}

int hpi_pprof_write(hpi_pprof_t *p, int fd)
{
    hpi_prof_internal_enter();
    enc_t e = {.p = p};
    e.t = hpi_symtab_open(); /* NULL: addresses only, named by their hex value */
    Perftools__Profiles__Profile pr;
    int err = encode(&e, &pr) == NULL ? ENOMEM : 0;
    if (err == 0) {
        size_t len = perftools__profiles__profile__get_packed_size(&pr);
        unsigned char *buf = malloc(len ? len : 1);
        if (buf == NULL) err = ENOMEM;
        if (err == 0) perftools__profiles__profile__pack(&pr, buf);
        if (err == 0) err = gzip_write(fd, buf, len);
        free(buf);
    }
    hpi_symtab_close(e.t);
    for (block_t *b = e.blocks, *next; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(e.strs);
    free(e.locs);
    free(e.funcs);
    map_free(&e.str_ids);
    map_free(&e.addr_loc);
    map_free(&e.synth_loc);
    map_free(&e.func_ids);
    hpi_prof_internal_leave();
    return err;
}
