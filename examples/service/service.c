/* service: a small C "service" with the hot spots of the seeds, for
 * `make demo` (scripts/demo.sh), which runs it unmodified under
 * `hotpath run -http` and profiles it over HTTP.
 *
 *   service [SECONDS] [THREADS]      (default 12 s, 3 threads)
 *
 * Each worker thread serves made-up requests: it builds a response string
 * by appending to it piece by piece (render_page, growing its buffer one
 * small realloc at a time), encodes a record as JSON with an snprintf per
 * field (encode_json), allocates and frees short-lived objects
 * (parse_headers), and counts the request in shared statistics under one
 * global mutex that it holds while it sorts a latency window
 * (record_stats): the contended lock.  The last JSON answers stay in a
 * cache (remember), which is what holds memory.  It links nothing but
 * libc. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int stop;
static _Atomic long served;

/* ---- the hot spots ---- */

/* Appends s to *buf, growing it by exactly what is needed each time. */
static void append(char **buf, size_t *len, const char *s)
{
    size_t n = strlen(s);
    char *b = realloc(*buf, *len + n + 1);
    if (b == NULL) abort();
    memcpy(b + *len, s, n + 1);
    *buf = b;
    *len += n;
}

__attribute__((noinline)) static char *render_page(int id, size_t *len)
{
    char *page = NULL, piece[64];
    *len = 0;
    append(&page, len, "<html><body><ul>");
    for (int i = 0; i < 200; i++) {
        snprintf(piece, sizeof piece, "<li>item %d of request %d</li>", i, id);
        append(&page, len, piece);
    }
    append(&page, len, "</ul></body></html>");
    return page;
}

__attribute__((noinline)) static char *encode_json(int id, const char *name, double score)
{
    size_t cap = 64, len = 0;
    char *out = malloc(cap);
    for (int field = 0; field < 40; field++) {
        char tmp[128];
        int n = snprintf(tmp, sizeof tmp, "%s\"%s_%d\": {\"id\": %d, \"score\": %.6f}",
                         field ? ", " : "{", name, field, id, score * field);
        while (len + (size_t)n + 2 > cap)
            out = realloc(out, cap *= 2);
        memcpy(out + len, tmp, (size_t)n);
        len += (size_t)n;
    }
    memcpy(out + len, "}", 2);
    return out;
}

typedef struct header {
    char *name, *value;
    struct header *next;
} header_t;

__attribute__((noinline)) static int parse_headers(int id)
{
    header_t *list = NULL;
    for (int i = 0; i < 30; i++) {
        header_t *h = malloc(sizeof *h);
        h->name = strdup("X-Request-Header");
        h->value = malloc(16 + (size_t)(id + i) % 200);
        snprintf(h->value, 16, "v%d", i);
        h->next = list;
        list = h;
    }
    int n = 0;
    while (list != NULL) {
        header_t *h = list;
        list = h->next;
        n += h->value[0] == 'v';
        free(h->name);
        free(h->value);
        free(h);
    }
    return n;
}

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static double window[512];
static long nrecorded;

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The contended lock: held while the whole window is sorted. */
__attribute__((noinline)) static void record_stats(double latency)
{
    pthread_mutex_lock(&stats_lock);
    window[nrecorded++ % 512] = latency;
    if (nrecorded % 16 == 0) qsort(window, 512, sizeof window[0], cmp);
    pthread_mutex_unlock(&stats_lock);
}

/* The last CACHE answers, kept: what the heap profile shows in use. */
#define CACHE 4096
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char *cache[CACHE];

__attribute__((noinline)) static void remember(int id, char *json)
{
    pthread_mutex_lock(&cache_lock);
    char *old = cache[id % CACHE];
    cache[id % CACHE] = json;
    pthread_mutex_unlock(&cache_lock);
    free(old);
}

/* ---- the service ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

__attribute__((noinline)) static void handle_request(int id)
{
    double t0 = now();
    size_t len;
    char *page = render_page(id, &len);
    char *json = encode_json(id, "metric", (double)len / 1000.0);
    int n = parse_headers(id);
    if (n != 30 || page[0] != '<' || json[0] != '{') abort();
    free(page);
    remember(id, json);
    record_stats(now() - t0);
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg * 1000000;
    while (!atomic_load(&stop)) {
        handle_request(id++);
        atomic_fetch_add(&served, 1);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int seconds = argc > 1 ? atoi(argv[1]) : 12, nthreads = argc > 2 ? atoi(argv[2]) : 3;
    if (seconds <= 0 || nthreads <= 0 || nthreads > 64)
        return fprintf(stderr, "usage: service [SECONDS] [THREADS]\n"), 2;
    pthread_t t[64];
    for (int i = 0; i < nthreads; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    struct timespec ts = {seconds, 0};
    while (nanosleep(&ts, &ts) != 0) {
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    printf("service: %ld requests in %d s on %d threads\n", atomic_load(&served), seconds,
           nthreads);
    return 0;
}
