/* pprof.c: the profile builder and writer, pprof's format (profile.proto,
 * gzip-compressed) with protobuf-c and zlib.  See pprof.h for the contract,
 * prof.h for the profiling design and
 * ../shared/spec/pprof-profile-format.md for the format.
 *
 * 1. Building.  Each sample is one malloc'd block (values, stack, labels and
 *    their strings), kept in insertion order and in a chained hash table
 *    keyed by (stack, labels, pseudo-function), so equal samples merge by
 *    summing their values.  Return addresses are stored minus 1 at once (the
 *    address then falls inside the call instruction); labels are sorted so
 *    that their order does not split samples.
 *
 * 2. Writing.  With hpi_prof_internal set (our own allocations stay out of
 *    the heap profiles), a symbol table of the process is opened; each
 *    distinct address becomes one Location (id = order of first use) with
 *    one Line per frame, inlined callees first; each distinct (name, file,
 *    start_line) one Function; each executable mapping one Mapping, with the
 *    has_* flags the symbol table earned.  Strings are interned into the
 *    string table ("" first).  All protobuf messages live in one arena freed
 *    at the end.  The message is packed, gzipped (deflate, windowBits 31)
 *    and written to the fd, retrying short writes and EINTR.
 *
 * 3. Errors.  Out of memory gives ENOMEM, never a crash: the void setters
 *    remember the failure and hpi_pprof_write reports it.  If libdw cannot
 *    open the process for another reason, the profile is still written, with
 *    addresses and no mappings.  (A symbol lookup that runs out of memory
 *    for a name's copy degrades instead: see symbolize.c.)
 *
 * A builder belongs to one thread at a time: nothing here locks.  The only
 * global is hpi_prof_internal, which is per thread.
 */
#define _GNU_SOURCE
#include "prof/pprof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prof/pblib.h"
#include "prof/prof.h"
#include "prof/profile.pb-c.h"
#include "prof/symbolize.h"

__thread int hpi_prof_internal __attribute__((tls_model("initial-exec")));

#define PP_MAX_FRAMES 64          /* deepest inline chain kept for one address */
#define PP_ARENA_CHUNK (64 << 10) /* bytes per arena chunk, unless larger */
#define PP_OUT_CHUNK (64 << 10)   /* gzip output buffer */

/* ---- Building ---- */

/* A label, copied into its sample's block. */
typedef struct pp_label {
    const char *key, *str, *unit; /* str NULL: numeric; unit may be NULL */
    int64_t num;
} pp_label_t;

typedef struct pp_sample {
    struct pp_sample *hnext; /* hash chain */
    struct pp_sample *next;  /* insertion order */
    uint64_t hash;
    const char *synthetic; /* the pseudo-function's name, or NULL */
    int npcs, nlabels;
    uint64_t *pcs;      /* adjusted addresses, leaf first */
    pp_label_t *labels; /* sorted */
    int64_t values[];   /* one per sample type */
} pp_sample_t;

struct hpi_pprof {
    int ntypes;
    hpi_pprof_vtype_t *types; /* strings owned */
    char *default_type;       /* NULL: the last type */
    hpi_pprof_vtype_t period_type;
    int64_t period;
    int64_t time_nanos, duration_nanos;
    char **comments;
    int ncomments;
    char *drop_frames;
    bool oom; /* a setter ran out of memory: writing returns ENOMEM */
    pp_sample_t **buckets;
    size_t nbuckets, nsamples;
    pp_sample_t *first, **tail;
};

static char *pp_strdup(hpi_pprof_t *p, const char *s)
{
    if (s == NULL) return NULL;
    char *c = strdup(s);
    if (c == NULL) p->oom = true;
    return c;
}

hpi_pprof_t *hpi_pprof_new(const hpi_pprof_vtype_t *types, int ntypes, const char *default_type)
{
    hpi_pprof_t *p = calloc(1, sizeof(*p));
    if (p == NULL) return NULL;
    p->tail = &p->first;
    p->nbuckets = 64;
    p->buckets = calloc(p->nbuckets, sizeof(p->buckets[0]));
    p->types = calloc(ntypes > 0 ? ntypes : 1, sizeof(p->types[0]));
    p->ntypes = ntypes > 0 ? ntypes : 0;
    for (int i = 0; p->types && i < p->ntypes; i++) {
        p->types[i].type = pp_strdup(p, types[i].type);
        p->types[i].unit = pp_strdup(p, types[i].unit);
    }
    p->default_type = pp_strdup(p, default_type);
    if (p->buckets == NULL || p->types == NULL || p->oom) {
        hpi_pprof_free(p);
        return NULL;
    }
    return p;
}

void hpi_pprof_free(hpi_pprof_t *p)
{
    if (p == NULL) return;
    for (pp_sample_t *s = p->first, *n; s != NULL; s = n) {
        n = s->next;
        free(s);
    }
    for (int i = 0; p->types && i < p->ntypes; i++) {
        free((char *)p->types[i].type);
        free((char *)p->types[i].unit);
    }
    for (int i = 0; i < p->ncomments; i++)
        free(p->comments[i]);
    free(p->comments);
    free(p->types);
    free(p->buckets);
    free(p->default_type);
    free((char *)p->period_type.type);
    free((char *)p->period_type.unit);
    free(p->drop_frames);
    free(p);
}

void hpi_pprof_set_period(hpi_pprof_t *p, hpi_pprof_vtype_t type, int64_t period)
{
    free((char *)p->period_type.type);
    free((char *)p->period_type.unit);
    p->period_type.type = pp_strdup(p, type.type);
    p->period_type.unit = pp_strdup(p, type.unit);
    p->period = period;
}

void hpi_pprof_set_time(hpi_pprof_t *p, int64_t time_nanos, int64_t duration_nanos)
{
    p->time_nanos = time_nanos;
    p->duration_nanos = duration_nanos;
}

void hpi_pprof_add_comment(hpi_pprof_t *p, const char *text)
{
    char **c = realloc(p->comments, (p->ncomments + 1) * sizeof(*c));
    if (c == NULL) {
        p->oom = true;
        return;
    }
    p->comments = c;
    char *t = pp_strdup(p, text ? text : "");
    if (t != NULL) p->comments[p->ncomments++] = t;
}

void hpi_pprof_set_drop_frames(hpi_pprof_t *p, const char *regexp)
{
    free(p->drop_frames);
    p->drop_frames = pp_strdup(p, regexp);
}

/* FNV-1a over n bytes, continuing from h. */
static uint64_t pp_hash(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

#define PP_HASH_SEED 0xcbf29ce484222325ull

static uint64_t pp_hash_str(uint64_t h, const char *s)
{
    return s ? pp_hash(h, s, strlen(s) + 1) : pp_hash(h, "\xff", 1);
}

static int pp_strcmp_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL) return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int pp_label_cmp(const pp_label_t *a, const pp_label_t *b)
{
    int c = strcmp(a->key, b->key);
    if (c == 0) c = pp_strcmp_null(a->str, b->str);
    if (c == 0) c = (a->num > b->num) - (a->num < b->num);
    if (c == 0) c = pp_strcmp_null(a->unit, b->unit);
    return c;
}

/* The bytes a sample's block needs. */
static size_t pp_sample_size(int ntypes, int npcs, const char *synthetic,
                             const hpi_pprof_label_t *labels, int nlabels)
{
    size_t n = sizeof(pp_sample_t) + ntypes * sizeof(int64_t) + npcs * sizeof(uint64_t) +
               nlabels * sizeof(pp_label_t);
    if (synthetic) n += strlen(synthetic) + 1;
    for (int i = 0; i < nlabels; i++) {
        n += strlen(labels[i].key ? labels[i].key : "") + 1;
        if (labels[i].str) n += strlen(labels[i].str) + 1;
        if (labels[i].unit) n += strlen(labels[i].unit) + 1;
    }
    return n;
}

/* Copy s to *cursor, advancing it; NULL stays NULL. */
static const char *pp_place_str(char **cursor, const char *s)
{
    if (s == NULL) return NULL;
    size_t n = strlen(s) + 1;
    char *d = memcpy(*cursor, s, n);
    *cursor += n;
    return d;
}

/* Copy and sort the labels into s (insertion sort: label lists are short). */
static void pp_place_labels(pp_sample_t *s, char **cursor, const hpi_pprof_label_t *labels)
{
    for (int i = 0; i < s->nlabels; i++) {
        pp_label_t l = {pp_place_str(cursor, labels[i].key ? labels[i].key : ""),
                        pp_place_str(cursor, labels[i].str), NULL, 0};
        if (l.str == NULL) {
            l.num = labels[i].num;
            l.unit = pp_place_str(cursor, labels[i].unit);
        }
        int j = i;
        for (; j > 0 && pp_label_cmp(&s->labels[j - 1], &l) > 0; j--)
            s->labels[j] = s->labels[j - 1];
        s->labels[j] = l;
    }
}

static uint64_t pp_sample_hash(const pp_sample_t *s)
{
    uint64_t h = pp_hash(PP_HASH_SEED, s->pcs, s->npcs * sizeof(s->pcs[0]));
    h = pp_hash_str(h, s->synthetic);
    for (int i = 0; i < s->nlabels; i++) {
        h = pp_hash_str(pp_hash_str(h, s->labels[i].key), s->labels[i].str);
        h = pp_hash_str(pp_hash(h, &s->labels[i].num, sizeof(int64_t)), s->labels[i].unit);
    }
    return h;
}

/* A new sample block (not yet in the table), or NULL. */
static pp_sample_t *pp_sample_make(hpi_pprof_t *p, const uintptr_t *pcs, int npcs, bool exact_leaf,
                                   const char *synthetic, const int64_t *values,
                                   const hpi_pprof_label_t *labels, int nlabels)
{
    pp_sample_t *s = malloc(pp_sample_size(p->ntypes, npcs, synthetic, labels, nlabels));
    if (s == NULL) return NULL;
    memset(s, 0, sizeof(*s));
    s->npcs = npcs;
    s->nlabels = nlabels;
    memcpy(s->values, values, p->ntypes * sizeof(int64_t));
    s->pcs = (uint64_t *)(s->values + p->ntypes);
    for (int i = 0; i < npcs; i++) /* return addresses into the call instruction */
        s->pcs[i] = pcs[i] - ((i > 0 || !exact_leaf) && pcs[i] != 0);
    s->labels = (pp_label_t *)(s->pcs + npcs);
    char *cursor = (char *)(s->labels + nlabels);
    s->synthetic = pp_place_str(&cursor, synthetic);
    pp_place_labels(s, &cursor, labels);
    s->hash = pp_sample_hash(s);
    return s;
}

static bool pp_sample_equal(const pp_sample_t *a, const pp_sample_t *b)
{
    if (a->hash != b->hash || a->npcs != b->npcs || a->nlabels != b->nlabels) return false;
    if (pp_strcmp_null(a->synthetic, b->synthetic) != 0) return false;
    if (memcmp(a->pcs, b->pcs, a->npcs * sizeof(a->pcs[0])) != 0) return false;
    for (int i = 0; i < a->nlabels; i++)
        if (pp_label_cmp(&a->labels[i], &b->labels[i]) != 0) return false;
    return true;
}

/* Double the hash table when it is full; on failure keep the old one
 * (longer chains, same results). */
static void pp_maybe_grow(hpi_pprof_t *p)
{
    if (p->nsamples < p->nbuckets) return;
    size_t n = p->nbuckets * 2;
    pp_sample_t **b = calloc(n, sizeof(*b));
    if (b == NULL) return;
    for (pp_sample_t *s = p->first; s != NULL; s = s->next) {
        s->hnext = b[s->hash & (n - 1)];
        b[s->hash & (n - 1)] = s;
    }
    free(p->buckets);
    p->buckets = b;
    p->nbuckets = n;
}

/* Merge s into an equal sample (freeing s), or insert it. */
static void pp_insert(hpi_pprof_t *p, pp_sample_t *s)
{
    pp_sample_t **head = &p->buckets[s->hash & (p->nbuckets - 1)];
    for (pp_sample_t *o = *head; o != NULL; o = o->hnext) {
        if (!pp_sample_equal(o, s)) continue;
        for (int i = 0; i < p->ntypes; i++)
            o->values[i] += s->values[i];
        free(s);
        return;
    }
    s->hnext = *head;
    *head = s;
    *p->tail = s;
    p->tail = &s->next;
    p->nsamples++;
    pp_maybe_grow(p);
}

int hpi_pprof_add(hpi_pprof_t *p, const uintptr_t *pcs, int npcs, bool exact_leaf,
                  const int64_t *values, const hpi_pprof_label_t *labels, int nlabels)
{
    if (npcs < 0) npcs = 0;
    if (nlabels < 0) nlabels = 0;
    pp_sample_t *s = pp_sample_make(p, pcs, npcs, exact_leaf, NULL, values, labels, nlabels);
    if (s == NULL) return ENOMEM;
    pp_insert(p, s);
    return 0;
}

int hpi_pprof_add_synthetic(hpi_pprof_t *p, const char *func, const int64_t *values,
                            const hpi_pprof_label_t *labels, int nlabels)
{
    if (nlabels < 0) nlabels = 0;
    pp_sample_t *s = pp_sample_make(p, NULL, 0, false, func ? func : "", values, labels, nlabels);
    if (s == NULL) return ENOMEM;
    pp_insert(p, s);
    return 0;
}

/* ---- Writing: an arena, a string table and a key map ---- */

typedef struct pp_chunk {
    struct pp_chunk *next;
    _Alignas(16) char data[];
} pp_chunk_t;

typedef struct pp_arena {
    pp_chunk_t *head;
    size_t used, cap;
} pp_arena_t;

/* n zeroed bytes aligned to 16, or NULL. */
static void *pp_alloc(pp_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (a->head == NULL || a->cap - a->used < n) {
        size_t cap = n > PP_ARENA_CHUNK ? n : PP_ARENA_CHUNK;
        pp_chunk_t *c = malloc(sizeof(*c) + cap);
        if (c == NULL) return NULL;
        c->next = a->head;
        a->head = c;
        a->used = 0;
        a->cap = cap;
    }
    void *r = a->head->data + a->used;
    a->used += n;
    return memset(r, 0, n);
}

static void pp_arena_free(pp_arena_t *a)
{
    for (pp_chunk_t *c = a->head, *n; c != NULL; c = n) {
        n = c->next;
        free(c);
    }
}

/* The string table: strs[i] is string i; slots is an open-addressing index
 * (value i + 1, 0 empty) at most half full. */
typedef struct pp_strtab {
    char **strs; /* not owned: they live until the write ends */
    size_t n, cap;
    uint32_t *slots;
    size_t nslots;
} pp_strtab_t;

static int pp_strtab_grow(pp_strtab_t *t)
{
    size_t n = t->nslots ? 2 * t->nslots : 256;
    uint32_t *slots = calloc(n, sizeof(*slots));
    if (slots == NULL) return ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t j = pp_hash_str(PP_HASH_SEED, t->strs[i]) & (n - 1);
        while (slots[j] != 0)
            j = (j + 1) & (n - 1);
        slots[j] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    return 0;
}

/* The index of s in the table, added if new; -1 when out of memory. */
static int64_t pp_intern(pp_strtab_t *t, const char *s)
{
    if (s == NULL) s = "";
    if (2 * (t->n + 1) > t->nslots && pp_strtab_grow(t) != 0) return -1;
    size_t j = pp_hash_str(PP_HASH_SEED, s) & (t->nslots - 1);
    for (; t->slots[j] != 0; j = (j + 1) & (t->nslots - 1))
        if (strcmp(t->strs[t->slots[j] - 1], s) == 0) return t->slots[j] - 1;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        char **strs = realloc(t->strs, cap * sizeof(*strs));
        if (strs == NULL) return -1;
        t->strs = strs;
        t->cap = cap;
    }
    t->strs[t->n] = (char *)s;
    t->slots[j] = (uint32_t)(t->n + 1);
    return (int64_t)t->n++;
}

/* A map from three-word keys to (id, object): ids are 1, 2, ... in order
 * of insertion; open addressing, at most half full. */
typedef struct pp_kv {
    uint64_t k[3];
    uint64_t id; /* 0: empty slot */
    void *obj;
} pp_kv_t;

typedef struct pp_keymap {
    pp_kv_t *slots;
    size_t nslots, n;
} pp_keymap_t;

static size_t pp_key_slot(const pp_kv_t *slots, size_t nslots, const uint64_t k[3])
{
    size_t j = pp_hash(PP_HASH_SEED, k, 3 * sizeof(uint64_t)) & (nslots - 1);
    while (slots[j].id != 0 && memcmp(slots[j].k, k, 3 * sizeof(uint64_t)) != 0)
        j = (j + 1) & (nslots - 1);
    return j;
}

static int pp_keymap_grow(pp_keymap_t *m)
{
    size_t n = m->nslots ? 2 * m->nslots : 256;
    pp_kv_t *slots = calloc(n, sizeof(*slots));
    if (slots == NULL) return ENOMEM;
    for (size_t i = 0; i < m->nslots; i++)
        if (m->slots[i].id != 0) slots[pp_key_slot(slots, n, m->slots[i].k)] = m->slots[i];
    free(m->slots);
    m->slots = slots;
    m->nslots = n;
    return 0;
}

/* The entry for k: found (id != 0) or empty, ready to be filled with the
 * next id by pp_keymap_fill; NULL when out of memory. */
static pp_kv_t *pp_keymap_find(pp_keymap_t *m, const uint64_t k[3])
{
    if (2 * (m->n + 1) > m->nslots && pp_keymap_grow(m) != 0) return NULL;
    return &m->slots[pp_key_slot(m->slots, m->nslots, k)];
}

static void pp_keymap_fill(pp_keymap_t *m, pp_kv_t *e, const uint64_t k[3], void *obj)
{
    memcpy(e->k, k, sizeof(e->k));
    e->id = ++m->n;
    e->obj = obj;
}

/* The objects in id order, as an arena array; NULL when out of memory. */
static void **pp_keymap_list(pp_keymap_t *m, pp_arena_t *a)
{
    void **list = pp_alloc(a, (m->n ? m->n : 1) * sizeof(*list));
    if (list == NULL) return NULL;
    for (size_t i = 0; i < m->nslots; i++)
        if (m->slots[i].id != 0) list[m->slots[i].id - 1] = m->slots[i].obj;
    return list;
}

/* ---- Writing: the messages ---- */

typedef struct pp_enc {
    const hpi_pprof_t *p;
    hpi_symtab_t *st; /* NULL: no symbols, no mappings */
    const hpi_mapping_t *maps;
    int nmaps;
    pp_arena_t arena;
    pp_strtab_t strs;
    pp_keymap_t funcs, locs;
    Perftools__Profiles__Profile msg;
} pp_enc_t;

/* Intern s into *out; false when out of memory. */
static bool pp_str(pp_enc_t *e, const char *s, int64_t *out)
{
    int64_t i = pp_intern(&e->strs, s);
    if (i >= 0) *out = i;
    return i >= 0;
}

static Perftools__Profiles__ValueType *pp_value_type(pp_enc_t *e, hpi_pprof_vtype_t t)
{
    Perftools__Profiles__ValueType *v = pp_alloc(&e->arena, sizeof(*v));
    if (v == NULL) return NULL;
    perftools__profiles__value_type__init(v);
    if (!pp_str(e, t.type, &v->type) || !pp_str(e, t.unit, &v->unit)) return NULL;
    return v;
}

/* Sample types, period, time, comments, drop_frames, default type. */
static int pp_enc_header(pp_enc_t *e)
{
    const hpi_pprof_t *p = e->p;
    Perftools__Profiles__Profile *m = &e->msg;
    m->sample_type = pp_alloc(&e->arena, (p->ntypes + 1) * sizeof(*m->sample_type));
    if (m->sample_type == NULL) return ENOMEM;
    for (int i = 0; i < p->ntypes; i++)
        if ((m->sample_type[i] = pp_value_type(e, p->types[i])) == NULL) return ENOMEM;
    m->n_sample_type = p->ntypes;
    if (p->period_type.type != NULL || p->period_type.unit != NULL) {
        if ((m->period_type = pp_value_type(e, p->period_type)) == NULL) return ENOMEM;
    }
    m->period = p->period;
    m->time_nanos = p->time_nanos;
    m->duration_nanos = p->duration_nanos;
    m->comment = pp_alloc(&e->arena, (p->ncomments + 1) * sizeof(int64_t));
    if (m->comment == NULL) return ENOMEM;
    for (int i = 0; i < p->ncomments; i++)
        if (!pp_str(e, p->comments[i], &m->comment[i])) return ENOMEM;
    m->n_comment = p->ncomments;
    if (p->drop_frames && !pp_str(e, p->drop_frames, &m->drop_frames)) return ENOMEM;
    if (p->default_type && !pp_str(e, p->default_type, &m->default_sample_type)) return ENOMEM;
    return 0;
}

/* The id of the Function (name, file, start_line), made if new; 0 when out
 * of memory. */
static uint64_t pp_function(pp_enc_t *e, const char *name, const char *file, int64_t start)
{
    int64_t ni, fi;
    if (!pp_str(e, name, &ni) || !pp_str(e, file, &fi)) return 0;
    uint64_t k[3] = {(uint64_t)ni, (uint64_t)fi, (uint64_t)start};
    pp_kv_t *kv = pp_keymap_find(&e->funcs, k);
    if (kv == NULL) return 0;
    if (kv->id != 0) return kv->id;
    Perftools__Profiles__Function *f = pp_alloc(&e->arena, sizeof(*f));
    if (f == NULL) return 0;
    perftools__profiles__function__init(f);
    f->name = f->system_name = ni;
    f->filename = fi;
    f->start_line = start;
    pp_keymap_fill(&e->funcs, kv, k, f);
    f->id = kv->id;
    return f->id;
}

/* Give loc one Line per frame.  0 or ENOMEM. */
static int pp_lines(pp_enc_t *e, Perftools__Profiles__Location *loc, const hpi_frame_t *frames,
                    int n)
{
    loc->line = pp_alloc(&e->arena, n * sizeof(*loc->line));
    if (loc->line == NULL) return ENOMEM;
    for (int i = 0; i < n; i++) {
        Perftools__Profiles__Line *l = pp_alloc(&e->arena, sizeof(*l));
        if (l == NULL) return ENOMEM;
        perftools__profiles__line__init(l);
        l->function_id = pp_function(e, frames[i].func, frames[i].file, frames[i].start_line);
        if (l->function_id == 0) return ENOMEM;
        l->line = frames[i].line;
        loc->line[i] = l;
    }
    loc->n_line = n;
    return 0;
}

/* Symbolize addr into loc: mapping, lines.  0 or ENOMEM. */
static int pp_symbolize(pp_enc_t *e, Perftools__Profiles__Location *loc, uint64_t addr)
{
    loc->address = addr;
    if (e->st == NULL) return 0;
    const hpi_mapping_t *m = hpi_symtab_mapping_of(e->st, addr);
    if (m != NULL) loc->mapping_id = (uint64_t)(m - e->maps) + 1;
    hpi_frame_t frames[PP_MAX_FRAMES];
    int n = hpi_symtab_lookup(e->st, addr, frames, PP_MAX_FRAMES);
    return pp_lines(e, loc, frames, n);
}

/* The id of the Location for an address, or (synthetic) for a
 * pseudo-function's name; made if new.  0 when out of memory. */
static uint64_t pp_location(pp_enc_t *e, uint64_t addr, const char *synthetic)
{
    uint64_t k[3] = {addr, 0, 0};
    if (synthetic != NULL) {
        int64_t ni;
        if (!pp_str(e, synthetic, &ni)) return 0;
        k[0] = (uint64_t)ni;
        k[1] = 1;
    }
    pp_kv_t *kv = pp_keymap_find(&e->locs, k);
    if (kv == NULL) return 0;
    if (kv->id != 0) return kv->id;
    Perftools__Profiles__Location *loc = pp_alloc(&e->arena, sizeof(*loc));
    if (loc == NULL) return 0;
    perftools__profiles__location__init(loc);
    hpi_frame_t f = {synthetic, "", 0, 0};
    int err = synthetic ? pp_lines(e, loc, &f, 1) : pp_symbolize(e, loc, addr);
    if (err != 0) return 0;
    pp_keymap_fill(&e->locs, kv, k, loc);
    loc->id = kv->id;
    return loc->id;
}

static Perftools__Profiles__Label *pp_label(pp_enc_t *e, const pp_label_t *l)
{
    Perftools__Profiles__Label *m = pp_alloc(&e->arena, sizeof(*m));
    if (m == NULL) return NULL;
    perftools__profiles__label__init(m);
    if (!pp_str(e, l->key, &m->key)) return NULL;
    if (l->str != NULL) return pp_str(e, l->str, &m->str) ? m : NULL;
    m->num = l->num;
    if (l->unit != NULL && !pp_str(e, l->unit, &m->num_unit)) return NULL;
    return m;
}

static Perftools__Profiles__Sample *pp_sample(pp_enc_t *e, pp_sample_t *s)
{
    Perftools__Profiles__Sample *m = pp_alloc(&e->arena, sizeof(*m));
    int nloc = s->synthetic ? 1 : s->npcs;
    if (m == NULL) return NULL;
    perftools__profiles__sample__init(m);
    m->location_id = pp_alloc(&e->arena, (nloc + 1) * sizeof(uint64_t));
    m->label = pp_alloc(&e->arena, (s->nlabels + 1) * sizeof(*m->label));
    if (m->location_id == NULL || m->label == NULL) return NULL;
    for (int i = 0; i < nloc; i++) {
        m->location_id[i] = pp_location(e, s->synthetic ? 0 : s->pcs[i], s->synthetic);
        if (m->location_id[i] == 0) return NULL;
    }
    m->n_location_id = nloc;
    for (int i = 0; i < s->nlabels; i++)
        if ((m->label[i] = pp_label(e, &s->labels[i])) == NULL) return NULL;
    m->n_label = s->nlabels;
    m->value = s->values;
    m->n_value = e->p->ntypes;
    return m;
}

static int pp_enc_samples(pp_enc_t *e)
{
    Perftools__Profiles__Profile *m = &e->msg;
    m->sample = pp_alloc(&e->arena, (e->p->nsamples + 1) * sizeof(*m->sample));
    if (m->sample == NULL) return ENOMEM;
    for (pp_sample_t *s = e->p->first; s != NULL; s = s->next) {
        if ((m->sample[m->n_sample] = pp_sample(e, s)) == NULL) return ENOMEM;
        m->n_sample++;
    }
    return 0;
}

static int pp_enc_mappings(pp_enc_t *e)
{
    Perftools__Profiles__Profile *m = &e->msg;
    m->mapping = pp_alloc(&e->arena, (e->nmaps + 1) * sizeof(*m->mapping));
    if (m->mapping == NULL) return ENOMEM;
    for (int i = 0; i < e->nmaps; i++) {
        const hpi_mapping_t *s = &e->maps[i];
        Perftools__Profiles__Mapping *d = pp_alloc(&e->arena, sizeof(*d));
        if (d == NULL) return ENOMEM;
        perftools__profiles__mapping__init(d);
        d->id = (uint64_t)i + 1;
        d->memory_start = s->start;
        d->memory_limit = s->limit;
        d->file_offset = s->offset;
        if (!pp_str(e, s->file, &d->filename) || !pp_str(e, s->build_id, &d->build_id))
            return ENOMEM;
        d->has_functions = s->has_functions;
        d->has_filenames = s->has_filenames;
        d->has_line_numbers = s->has_line_numbers;
        d->has_inline_frames = s->has_inline_frames;
        m->mapping[i] = d;
    }
    m->n_mapping = e->nmaps;
    return 0;
}

/* Mappings (after every lookup: their flags are final), then the location,
 * function and string lists. */
static int pp_enc_tables(pp_enc_t *e)
{
    Perftools__Profiles__Profile *m = &e->msg;
    if (pp_enc_mappings(e) != 0) return ENOMEM;
    m->location = (Perftools__Profiles__Location **)pp_keymap_list(&e->locs, &e->arena);
    m->function = (Perftools__Profiles__Function **)pp_keymap_list(&e->funcs, &e->arena);
    if (m->location == NULL || m->function == NULL) return ENOMEM;
    m->n_location = e->locs.n;
    m->n_function = e->funcs.n;
    m->string_table = e->strs.strs;
    m->n_string_table = e->strs.n;
    return 0;
}

/* ---- Writing: pack, gzip, write ---- */

static int pp_write_all(int fd, const unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return errno;
        if (w == 0) return EIO;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Deflate in into gzip's format, writing each full output buffer to fd. */
static int pp_gzip_to(int fd, z_stream *z, unsigned char *out)
{
    int zr, err = 0;
    do {
        z->next_out = out;
        z->avail_out = PP_OUT_CHUNK;
        zr = hpi_z.deflate(z, Z_FINISH);
        if (zr == Z_STREAM_ERROR || zr == Z_BUF_ERROR) return EIO; /* no progress possible */
        err = pp_write_all(fd, out, PP_OUT_CHUNK - z->avail_out);
    } while (err == 0 && zr != Z_STREAM_END);
    return err;
}

static int pp_gzip_write(int fd, unsigned char *in, size_t n)
{
    unsigned char *out = malloc(PP_OUT_CHUNK);
    if (out == NULL) return ENOMEM;
    z_stream z;
    memset(&z, 0, sizeof(z));
    int zr = hpi_z.deflateInit2_(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY,
                                 ZLIB_VERSION, (int)sizeof z);
    if (zr != Z_OK) {
        free(out);
        return zr == Z_MEM_ERROR ? ENOMEM : EINVAL;
    }
    z.next_in = in;
    z.avail_in = (uInt)n;
    int err = (size_t)z.avail_in == n ? pp_gzip_to(fd, &z, out) : EFBIG;
    hpi_z.deflateEnd(&z);
    free(out);
    return err;
}

int hpi_pprof_emit(const void *msg, int fd)
{
    if (hpi_pblib_load() != 0) return ENOENT;
    const Perftools__Profiles__Profile *m = msg;
    size_t n = perftools__profiles__profile__get_packed_size(m);
    unsigned char *buf = malloc(n ? n : 1);
    if (buf == NULL) return ENOMEM;
    perftools__profiles__profile__pack(m, buf);
    int err = pp_gzip_write(fd, buf, n);
    free(buf);
    return err;
}

int hpi_pprof_write(hpi_pprof_t *p, int fd)
{
    if (p->oom) return ENOMEM;
    if (hpi_pblib_load() != 0) return ENOENT; /* before anything is built */
    hpi_prof_internal_enter();
    pp_enc_t e;
    memset(&e, 0, sizeof(e));
    e.p = p;
    perftools__profiles__profile__init(&e.msg);
    e.st = hpi_symtab_open();
    int err = e.st == NULL && errno == ENOMEM ? ENOMEM : 0;
    if (e.st != NULL) e.maps = hpi_symtab_mappings(e.st, &e.nmaps);
    int64_t empty;
    if (err == 0 && !pp_str(&e, "", &empty)) err = ENOMEM;
    if (err == 0) err = pp_enc_header(&e);
    if (err == 0) err = pp_enc_samples(&e);
    if (err == 0) err = pp_enc_tables(&e);
    if (err == 0) err = hpi_pprof_emit(&e.msg, fd);
    hpi_symtab_close(e.st); /* after packing: the strings point into it */
    pp_arena_free(&e.arena);
    free(e.strs.strs);
    free(e.strs.slots);
    free(e.funcs.slots);
    free(e.locs.slots);
    hpi_prof_internal_leave();
    return err;
}
