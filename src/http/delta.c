/* delta.c: Go's delta profiles, /debug/pprof/<name>?seconds=N: the named
 * profile at the end of N seconds minus the profile at its start, as one
 * profile whose duration is the interval (heap, allocs, block, mutex,
 * goroutine, threadcreate).  See server.c.
 *
 * Both profiles are written by hp_profile_write, read back (gunzip,
 * protobuf-c unpack), and matched sample by sample: two samples match when
 * their stacks (the addresses of their locations, or the function name of
 * a location without one) and labels are the same.  The end profile's
 * values lose the start profile's, and samples left with only zeros are
 * dropped.  Go's merge would also keep stacks present only at the start,
 * negated; here they are left out (only a goroutine profile, whose threads
 * come and go, has such stacks). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/prof.h"
#include "http/server.h"
#include "prof/pblib.h"
#include "prof/pprof.h"
#include "prof/profile.pb-c.h"

typedef Perftools__Profiles__Profile profile_t;
typedef Perftools__Profiles__Sample sample_t;

/* The gunzipped content of fd (from offset 0); *n its length.  NULL when
 * out of memory or not gzip. */
static unsigned char *gunzip_fd(int fd, size_t *n)
{
    off_t len = lseek(fd, 0, SEEK_END);
    unsigned char *in = len > 0 ? malloc((size_t)len) : NULL;
    if (in == NULL || pread(fd, in, (size_t)len, 0) != len) {
        free(in);
        return NULL;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    size_t cap = (size_t)len * 4 + 4096, used = 0;
    unsigned char *out = malloc(cap);
    int zr = out != NULL ? hpi_z.inflateInit2_(&z, 16 + MAX_WBITS, ZLIB_VERSION, (int)sizeof z)
                         : Z_MEM_ERROR;
    z.next_in = in;
    z.avail_in = (uInt)len;
    while (zr == Z_OK) {
        if (used == cap) {
            unsigned char *bigger = realloc(out, cap *= 2);
            if (bigger == NULL) break;
            out = bigger;
        }
        z.next_out = out + used;
        z.avail_out = (uInt)(cap - used);
        zr = hpi_z.inflate(&z, Z_NO_FLUSH);
        used = cap - z.avail_out;
    }
    hpi_z.inflateEnd(&z);
    free(in);
    if (zr != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *n = used;
    return out;
}

/* The named profile now, unpacked; NULL with *err set on failure. */
static profile_t *take(const char *name, int *err)
{
    int fd = hpi_http_memfd();
    if (fd < 0) return *err = errno, NULL;
    *err = hp_profile_write(name, fd, 0); /* loads zlib and protobuf-c first */
    size_t n = 0;
    unsigned char *raw = *err == 0 ? gunzip_fd(fd, &n) : NULL;
    close(fd);
    profile_t *p = raw != NULL ? perftools__profiles__profile__unpack(NULL, n, raw) : NULL;
    free(raw);
    if (p == NULL && *err == 0) *err = EIO;
    return p;
}

/* A growable byte string: a sample's identity. */
typedef struct key {
    unsigned char *b;
    size_t n, cap;
} skey_t;

static bool put(skey_t *k, const void *data, size_t n)
{
    if (k->n + n > k->cap) {
        size_t cap = (k->n + n) * 2 + 64;
        unsigned char *b = realloc(k->b, cap);
        if (b == NULL) return false;
        k->b = b;
        k->cap = cap;
    }
    memcpy(k->b + k->n, data, n);
    k->n += n;
    return true;
}

static const char *str(const profile_t *p, int64_t i)
{
    return i >= 0 && (size_t)i < p->n_string_table ? p->string_table[i] : "";
}

static bool put_str(skey_t *k, const profile_t *p, int64_t i)
{
    const char *s = str(p, i);
    return put(k, s, strlen(s) + 1);
}

/* The location with id `id` (ids are 1..n in hotpath's profiles; searched
 * otherwise). */
static const Perftools__Profiles__Location *location(const profile_t *p, uint64_t id)
{
    if (id >= 1 && id <= p->n_location && p->location[id - 1]->id == id) return p->location[id - 1];
    for (size_t i = 0; i < p->n_location; i++)
        if (p->location[i]->id == id) return p->location[i];
    return NULL;
}

static const char *function_name(const profile_t *p, const Perftools__Profiles__Location *l)
{
    if (l->n_line == 0) return "";
    for (size_t i = 0; i < p->n_function; i++)
        if (p->function[i]->id == l->line[0]->function_id) return str(p, p->function[i]->name);
    return "";
}

/* s's identity in p: its stack, then its labels. */
static bool sample_key(const profile_t *p, const sample_t *s, skey_t *k)
{
    k->n = 0;
    bool okay = true;
    for (size_t i = 0; i < s->n_location_id && okay; i++) {
        const Perftools__Profiles__Location *l = location(p, s->location_id[i]);
        uint64_t addr = l != NULL ? l->address : 0;
        okay = put(k, &addr, sizeof addr);
        if (okay && addr == 0 && l != NULL) {
            const char *f = function_name(p, l);
            okay = put(k, f, strlen(f) + 1);
        }
    }
    for (size_t i = 0; i < s->n_label && okay; i++) {
        const Perftools__Profiles__Label *lb = s->label[i];
        okay = put(k, "|", 1) && put_str(k, p, lb->key) && put_str(k, p, lb->str) &&
               put(k, &lb->num, sizeof lb->num);
    }
    return okay;
}

typedef struct entry {
    uint64_t hash;
    unsigned char *key;
    size_t n;
    const sample_t *s;
} entry_t;

static uint64_t hash(const unsigned char *b, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static int by_hash(const void *a, const void *b)
{
    uint64_t x = ((const entry_t *)a)->hash, y = ((const entry_t *)b)->hash;
    return x < y ? -1 : x > y;
}

/* The start profile's samples, keyed and sorted by hash; NULL when out of
 * memory. */
static entry_t *index_samples(const profile_t *p0, skey_t *k)
{
    entry_t *e = calloc(p0->n_sample + 1, sizeof *e);
    for (size_t i = 0; e != NULL && i < p0->n_sample; i++) {
        if (!sample_key(p0, p0->sample[i], k) || (e[i].key = malloc(k->n + 1)) == NULL) {
            for (size_t j = 0; j < i; j++)
                free(e[j].key);
            free(e);
            return NULL;
        }
        memcpy(e[i].key, k->b, k->n);
        e[i].n = k->n;
        e[i].hash = hash(k->b, k->n);
        e[i].s = p0->sample[i];
    }
    if (e != NULL) qsort(e, p0->n_sample, sizeof *e, by_hash);
    return e;
}

static const sample_t *find(const entry_t *e, size_t n, const skey_t *k)
{
    uint64_t h = hash(k->b, k->n);
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first entry with hash >= h */
        size_t mid = (lo + hi) / 2;
        if (e[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < n && e[lo].hash == h; lo++)
        if (e[lo].n == k->n && memcmp(e[lo].key, k->b, k->n) == 0) return e[lo].s;
    return NULL;
}

/* p1 -= p0, sample by sample; the samples left with a non-zero value go to
 * kept[].  Returns how many, or -1 when out of memory. */
static long subtract(profile_t *p1, const profile_t *p0, sample_t **kept)
{
    skey_t k = {NULL, 0, 0};
    entry_t *e = index_samples(p0, &k);
    long nkept = e != NULL ? 0 : -1;
    for (size_t i = 0; nkept >= 0 && i < p1->n_sample; i++) {
        sample_t *s = p1->sample[i];
        if (!sample_key(p1, s, &k)) {
            nkept = -1;
            break;
        }
        const sample_t *old = find(e, p0->n_sample, &k);
        bool nonzero = false;
        for (size_t j = 0; j < s->n_value; j++) {
            if (old != NULL && j < old->n_value) s->value[j] -= old->value[j];
            nonzero |= s->value[j] != 0;
        }
        if (nonzero) kept[nkept++] = s;
    }
    for (size_t i = 0; e != NULL && i < p0->n_sample; i++)
        free(e[i].key);
    free(e);
    free(k.b);
    return nkept;
}

/* Write the delta of the named profile over sec seconds to out_fd. */
static int delta(const char *name, int64_t sec, int out_fd)
{
    int err;
    profile_t *p0 = take(name, &err);
    if (p0 == NULL) return err;
    struct timespec ts = {(time_t)sec, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    profile_t *p1 = take(name, &err);
    sample_t **kept = p1 != NULL ? malloc((p1->n_sample + 1) * sizeof *kept) : NULL;
    long n = kept != NULL ? subtract(p1, p0, kept) : -1;
    if (p1 != NULL && n >= 0) {
        sample_t **all = p1->sample;
        size_t nall = p1->n_sample;
        p1->sample = kept;
        p1->n_sample = (size_t)n;
        p1->duration_nanos = p1->time_nanos - p0->time_nanos;
        err = hpi_pprof_emit(p1, out_fd);
        p1->sample = all; /* freed with the message */
        p1->n_sample = nall;
    } else if (p1 != NULL) {
        err = ENOMEM;
    }
    free(kept);
    if (p1 != NULL) perftools__profiles__profile__free_unpacked(p1, NULL);
    perftools__profiles__profile__free_unpacked(p0, NULL);
    return err;
}

int hpi_http_delta(struct mg_connection *c, const char *name, int64_t sec)
{
    int fd = hpi_http_memfd();
    if (fd < 0) return hpi_http_error(c, 500, "%s", strerror(errno));
    int err = delta(name, sec, fd);
    char attach[64];
    snprintf(attach, sizeof attach, "%s-delta", name);
    int st = err == 0 ? hpi_http_reply_fd(c, HPI_HTTP_BINARY, attach, fd)
                      : hpi_http_error(c, 500, "delta profile %s: %s", name, strerror(err));
    close(fd);
    return st;
}
