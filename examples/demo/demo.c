/* examples/demo/demo.c: a recognisable allocation workload, then its MemStats.
 *
 * Built twice by examples/CMakeLists.txt from this one file:
 *   demo        linked with -lhotpath; calls hp_read_memstats() directly.
 *   demo_plain  linked with libc only (HP_DEMO_PLAIN); looks hp_read_memstats
 *               up with dlsym(), which finds it only when the program runs on
 *               hotpath, i.e. under `hotpath run -- demo_plain`.
 *
 * The workload, each part a common shape of C allocation:
 *   1. words    generate text from a seeded PRNG and count its words in a hash
 *               table: many small strings, most freed at once, some kept;
 *   2. grow     append to an array with realloc until it is 8 MiB: small
 *               classes, then page-sized large objects;
 *   3. buffers  a few large buffers, 64 KiB to 8 MiB, written and freed;
 *   4. ring     worker threads in a ring, each mallocs messages and hands them
 *               to the next, which frees them: cross-thread (remote) frees.
 * Then it prints MemStats with Go's field names and the non-empty size classes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hotpath/memstats.h>

#define DEMO_WORDS 200000
#define DEMO_GROW_BYTES (8u << 20)
#define DEMO_THREADS 4
#define DEMO_MESSAGES 20000 /* sent by each thread */

typedef void (*demo_read_fn)(hp_memstats_t *);

/* ---- a small seeded PRNG (xorshift64*), so every run does the same work ---- */

static uint64_t demo_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* ---- 1. words ---- */

typedef struct word {
    struct word *next; /* hash chain */
    char *text;
    size_t count;
} word_t;

typedef struct words {
    word_t **buckets;
    size_t nbuckets;
    size_t distinct;
    size_t total;
} words_t;

static uint64_t words_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void words_grow(words_t *w)
{
    size_t n = w->nbuckets ? 2 * w->nbuckets : 64;
    word_t **b = calloc(n, sizeof(*b));
    if (b == NULL) abort();
    for (size_t i = 0; i < w->nbuckets; i++) {
        for (word_t *e = w->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            e->next = b[words_hash(e->text) & (n - 1)];
            b[words_hash(e->text) & (n - 1)] = e;
        }
    }
    free(w->buckets);
    w->buckets = b;
    w->nbuckets = n;
}

/* Count one word; takes ownership of text (kept if new, freed if seen). */
static void words_add(words_t *w, char *text)
{
    if (w->distinct >= w->nbuckets) words_grow(w);
    word_t **slot = &w->buckets[words_hash(text) & (w->nbuckets - 1)];
    w->total++;
    for (word_t *e = *slot; e != NULL; e = e->next) {
        if (strcmp(e->text, text) == 0) {
            e->count++;
            free(text);
            return;
        }
    }
    word_t *e = malloc(sizeof(*e));
    if (e == NULL) abort();
    *e = (word_t){.next = *slot, .text = text, .count = 1};
    *slot = e;
    w->distinct++;
}

/* Text of n words of 1-3 syllables; low syllables are likelier, as in a language. */
static char *words_generate(size_t n, uint64_t *seed)
{
    static const char *const syl[] = {"ka", "to", "ri", "ne", "mo", "sa", "lu", "pe",
                                      "di", "go", "vi", "ha", "ju", "ze", "bo", "quo"};
    char *text = malloc(n * 10 + 1), *p = text;
    if (text == NULL) abort();
    for (size_t i = 0; i < n; i++) {
        int nsyl = 1 + (int)(demo_rand(seed) % 3);
        for (int k = 0; k < nsyl; k++) {
            uint64_t a = demo_rand(seed) % 16, b = demo_rand(seed) % 16;
            p = stpcpy(p, syl[a < b ? a : b]);
        }
        *p++ = ' ';
    }
    *p = '\0';
    return text;
}

static int words_by_count(const void *a, const void *b)
{
    const word_t *x = *(word_t *const *)a, *y = *(word_t *const *)b;
    return x->count != y->count ? (x->count < y->count ? 1 : -1) : strcmp(x->text, y->text);
}

static void words_report(const words_t *w)
{
    word_t **all = malloc(w->distinct * sizeof(*all));
    if (all == NULL) abort();
    size_t n = 0;
    for (size_t i = 0; i < w->nbuckets; i++)
        for (word_t *e = w->buckets[i]; e != NULL; e = e->next)
            all[n++] = e;
    qsort(all, n, sizeof(*all), words_by_count);
    printf("words:   %zu words, %zu distinct; most frequent:", w->total, w->distinct);
    for (size_t i = 0; i < n && i < 5; i++)
        printf(" %s(%zu)", all[i]->text, all[i]->count);
    printf("\n");
    free(all);
}

static void words_run(words_t *w)
{
    uint64_t seed = 42;
    char *text = words_generate(DEMO_WORDS, &seed), *save = NULL;
    for (char *tok = strtok_r(text, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *copy = strdup(tok);
        if (copy == NULL) abort();
        words_add(w, copy);
    }
    free(text);
    words_report(w);
}

static void words_free(words_t *w)
{
    for (size_t i = 0; i < w->nbuckets; i++) {
        for (word_t *e = w->buckets[i], *next; e != NULL; e = next) {
            next = e->next;
            free(e->text);
            free(e);
        }
    }
    free(w->buckets);
}

/* ---- 2. grow, 3. buffers ---- */

static uint32_t *grow_run(size_t *count)
{
    uint32_t *a = NULL;
    size_t n = 0, cap = 0, reallocs = 0;
    while (n * sizeof(*a) < DEMO_GROW_BYTES) {
        if (n == cap) {
            cap = cap ? cap + cap / 2 : 4;
            uint32_t *b = realloc(a, cap * sizeof(*a));
            if (b == NULL) abort();
            a = b;
            reallocs++;
        }
        a[n] = (uint32_t)n * 2654435761u;
        n++;
    }
    printf("grow:    %zu ints appended with %zu reallocs (%zu KiB)\n", n, reallocs,
           n * sizeof(*a) >> 10);
    *count = n;
    return a;
}

static void buffers_run(void)
{
    size_t total = 0, n = 0;
    for (size_t size = 64 << 10; size <= (8u << 20); size *= 2, n++) {
        unsigned char *b = malloc(size);
        if (b == NULL) abort();
        memset(b, (int)n, size);
        total += b[size - 1] + size;
        free(b);
    }
    printf("buffers: %zu large buffers, 64 KiB to 8 MiB, %zu KiB written\n", n, total >> 10);
}

/* ---- 4. ring: each thread sends to the next one, which frees ---- */

typedef struct msg {
    struct msg *next;
    size_t len;
    unsigned char sum; /* of data[0..len) */
    unsigned char data[];
} msg_t;

typedef struct mailbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    msg_t *head; /* protected by mu */
} mailbox_t;

typedef struct ring {
    mailbox_t box[DEMO_THREADS];
    int bad; /* messages that arrived corrupted; atomic */
} ring_t;

typedef struct ring_worker {
    ring_t *ring;
    int id;
} ring_worker_t;

static void ring_send(mailbox_t *mb, msg_t *m)
{
    pthread_mutex_lock(&mb->mu);
    m->next = mb->head;
    mb->head = m;
    pthread_cond_signal(&mb->cv);
    pthread_mutex_unlock(&mb->mu);
}

/* Take every message in mb (waiting for one if wait); free them; return how many. */
static size_t ring_drain(ring_t *r, mailbox_t *mb, int wait)
{
    pthread_mutex_lock(&mb->mu);
    while (wait && mb->head == NULL)
        pthread_cond_wait(&mb->cv, &mb->mu);
    msg_t *m = mb->head;
    mb->head = NULL;
    pthread_mutex_unlock(&mb->mu);
    size_t n = 0;
    for (msg_t *next; m != NULL; m = next, n++) {
        next = m->next;
        unsigned char sum = 0;
        for (size_t i = 0; i < m->len; i++)
            sum += m->data[i];
        if (sum != m->sum) __atomic_add_fetch(&r->bad, 1, __ATOMIC_RELAXED);
        free(m); /* allocated by another thread */
    }
    return n;
}

static void *ring_thread(void *arg)
{
    ring_worker_t *w = arg;
    ring_t *r = w->ring;
    uint64_t seed = 1000 + (uint64_t)w->id;
    size_t received = 0;
    for (int i = 0; i < DEMO_MESSAGES; i++) {
        size_t len = 8 + demo_rand(&seed) % 1000;
        msg_t *m = malloc(sizeof(*m) + len);
        if (m == NULL) abort();
        m->len = len;
        m->sum = 0;
        for (size_t k = 0; k < len; k++)
            m->sum += m->data[k] = (unsigned char)(k + (size_t)i);
        ring_send(&r->box[(w->id + 1) % DEMO_THREADS], m);
        if (i % 64 == 0) received += ring_drain(r, &r->box[w->id], 0);
    }
    while (received < DEMO_MESSAGES)
        received += ring_drain(r, &r->box[w->id], 1);
    return NULL;
}

static int ring_run(void)
{
    ring_t r = {.bad = 0};
    ring_worker_t w[DEMO_THREADS];
    pthread_t tid[DEMO_THREADS];
    for (int i = 0; i < DEMO_THREADS; i++) {
        pthread_mutex_init(&r.box[i].mu, NULL);
        pthread_cond_init(&r.box[i].cv, NULL);
        r.box[i].head = NULL;
        w[i] = (ring_worker_t){.ring = &r, .id = i};
    }
    for (int i = 0; i < DEMO_THREADS; i++)
        if (pthread_create(&tid[i], NULL, ring_thread, &w[i]) != 0) abort();
    for (int i = 0; i < DEMO_THREADS; i++)
        pthread_join(tid[i], NULL);
    printf("ring:    %d threads passed %d messages, each freed by the thread after its sender\n",
           DEMO_THREADS, DEMO_THREADS * DEMO_MESSAGES);
    if (r.bad != 0) printf("ring:    %d messages arrived corrupted\n", r.bad);
    return r.bad == 0 ? 0 : -1;
}

/* ---- MemStats, printed with Go's field names ---- */

typedef struct stat_field {
    const char *name;
    size_t offset;
    int bytes; /* print a human-readable size too */
} stat_field_t;

#define FIELD(c) offsetof(hp_memstats_t, c)
static const stat_field_t stat_fields[] = {
    {"Alloc", FIELD(alloc), 1},
    {"TotalAlloc", FIELD(total_alloc), 1},
    {"Sys", FIELD(sys), 1},
    {"Mallocs", FIELD(mallocs), 0},
    {"Frees", FIELD(frees), 0},
    {"HeapAlloc", FIELD(heap_alloc), 1},
    {"HeapSys", FIELD(heap_sys), 1},
    {"HeapIdle", FIELD(heap_idle), 1},
    {"HeapInuse", FIELD(heap_inuse), 1},
    {"HeapReleased", FIELD(heap_released), 1},
    {"HeapObjects", FIELD(heap_objects), 0},
    {"MSpanInuse", FIELD(mspan_inuse), 1},
    {"MSpanSys", FIELD(mspan_sys), 1},
    {"MCacheInuse", FIELD(mcache_inuse), 1},
    {"MCacheSys", FIELD(mcache_sys), 1},
    {"OtherSys", FIELD(other_sys), 1},
    /* hotpath's own, beyond Go's MemStats */
    {"LargeMallocs", FIELD(large_mallocs), 0},
    {"LargeFrees", FIELD(large_frees), 0},
    {"RemoteFrees", FIELD(remote_frees), 0},
    {"Arenas", FIELD(arenas), 0},
    {"Threads", FIELD(threads), 0},
};

static void stats_print(const hp_memstats_t *st)
{
    printf("\nMemStats (hp_read_memstats):\n");
    for (size_t i = 0; i < sizeof(stat_fields) / sizeof(stat_fields[0]); i++) {
        const stat_field_t *f = &stat_fields[i];
        uint64_t v;
        memcpy(&v, (const char *)st + f->offset, sizeof(v));
        if (f->bytes)
            printf("  %-13s %14llu  (%.1f MiB)\n", f->name, (unsigned long long)v,
                   (double)v / (1 << 20));
        else
            printf("  %-13s %14llu\n", f->name, (unsigned long long)v);
    }
    printf("\nBySize (classes with mallocs):\n  %6s %10s %10s %10s\n", "Size", "Mallocs", "Frees",
           "Live");
    for (int c = 1; c < HP_NUM_SIZE_CLASSES; c++) {
        const hp_memstats_class_t *b = &st->by_size[c];
        if (b->mallocs != 0)
            printf("  %6u %10llu %10llu %10llu\n", b->size, (unsigned long long)b->mallocs,
                   (unsigned long long)b->frees, (unsigned long long)(b->mallocs - b->frees));
    }
}

static demo_read_fn demo_find_memstats(void)
{
#ifdef HP_DEMO_PLAIN
    /* This copy links only libc: the function exists only if hotpath was preloaded. */
    demo_read_fn fn;
    *(void **)&fn = dlsym(RTLD_DEFAULT, "hp_read_memstats");
    return fn;
#else
    return hp_read_memstats;
#endif
}

int main(void)
{
    demo_read_fn read_memstats = demo_find_memstats();
#ifdef HP_DEMO_PLAIN
    printf("hotpath demo_plain (links only libc)\n");
#else
    printf("hotpath demo (linked with -lhotpath)\n");
#endif
    if (read_memstats != NULL)
        printf("allocator: hotpath (hp_read_memstats found)\n\n");
    else
        printf("allocator: the system's (no hp_read_memstats; try `hotpath run -- %s`)\n\n",
               "demo_plain");

    words_t words = {0};
    size_t ngrow;
    words_run(&words);
    uint32_t *grown = grow_run(&ngrow);
    buffers_run();
    int rc = ring_run() == 0 ? 0 : 1;

    if (read_memstats != NULL) {
        hp_memstats_t st;
        read_memstats(&st); /* the word table and the grown array are still live */
        stats_print(&st);
        if (st.mallocs == 0 || st.heap_objects == 0) {
            printf("demo: MemStats are empty: malloc did not go through hotpath\n");
            rc = 1;
        }
    }
    words_free(&words);
    free(grown);
    if (read_memstats != NULL) {
        hp_memstats_t st;
        read_memstats(&st);
        printf("\nafter freeing everything: HeapAlloc %llu bytes, HeapObjects %llu\n",
               (unsigned long long)st.heap_alloc, (unsigned long long)st.heap_objects);
    }
    return rc;
}
