/* gc_test_more.c: the gc_test subtests memlimit, gctrace, stats and misc.
 * See gc_test.c for the list and the method. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/gc.h"
#include "hotpath/memstats.h"
#include "hotpath/prof.h"
#include "test.h"
#include "gc_harness.h"

/* ---- memlimit ---- */

enum { ML_RING = 16384 }; /* objects of 256..1792 bytes: ~16 MiB live */
#define ML_LIMIT ((int64_t)64 * (int64_t)MiB)
#define ML_TOTAL (1024 * MiB) /* per phase */
#define ML_WARMUP (128 * MiB)
#define ML_MAGIC 0x6d656d6c696d6974ULL

static uint64_t **ml_ring; /* a GC object: the live set */

/* Replace ring slot `slot`, checking the object it held; returns the size. */
static size_t ml_replace(size_t slot, uint64_t r)
{
    size_t size = 256 + (size_t)(r % 1537);
    uint64_t *o = (r >> 32) & 1 ? xalloc_noscan(size) : xalloc(size);
    o[0] = ML_MAGIC ^ slot;
    o[1] = size;
    o[size / 8 - 1] = ~(ML_MAGIC ^ slot);
    const uint64_t *old = ml_ring[slot];
    if (old != NULL && !(old[0] == (ML_MAGIC ^ slot) && old[1] >= 256 && old[1] < 2048 &&
                         old[old[1] / 8 - 1] == ~(ML_MAGIC ^ slot)))
        EXPECT(false, "ring slot %zu: a live object was damaged (first word %#" PRIx64 ")", slot,
               old[0]);
    ml_ring[slot] = o;
    return size;
}

/* The sample with the most memory mapped and not released. */
typedef struct ml_worst {
    uint64_t inuse, mapped, heap_sys, released, meta;
} ml_worst_t;

static void ml_sample(const hp_memstats_t *st, ml_worst_t *w)
{
    if (st->heap_inuse > w->inuse) w->inuse = st->heap_inuse;
    if (st->sys - st->heap_released <= w->mapped) return;
    w->mapped = st->sys - st->heap_released;
    w->heap_sys = st->heap_sys;
    w->released = st->heap_released;
    w->meta = st->sys - st->heap_sys;
}

static void ml_phase(const char *name, uint64_t *rng)
{
    hp_memstats_t st;
    ml_worst_t w = {0, 0, 0, 0, 0};
    hp_read_memstats(&st);
    uint32_t gc0 = st.num_gc;
    uint64_t done = 0, next = 0;
    for (size_t slot = 0; done < ML_TOTAL; slot = (slot + 1) % ML_RING) {
        done += ml_replace(slot, test_rand(rng));
        if (done < next) continue;
        next += 4 * MiB;
        hp_read_memstats(&st);
        if (done >= ML_WARMUP) ml_sample(&st, &w);
    }
    double mib = (double)MiB, bound = (double)ML_LIMIT * 1.10;
    hp_read_memstats(&st);
    EXPECT(w.inuse <= bound, "%s: heap_inuse reached %.1f MiB, over 1.10 x the 64 MiB limit", name,
           (double)w.inuse / mib);
    EXPECT(w.mapped <= bound,
           "%s: sys - heap_released reached %.1f MiB, over 1.10 x the 64 MiB "
           "limit (heap_sys %.1f MiB, heap_released %.1f MiB, metadata %.1f MiB)",
           name, (double)w.mapped / mib, (double)w.heap_sys / mib, (double)w.released / mib,
           (double)w.meta / mib);
    EXPECT(st.num_gc > gc0, "%s: no collection while 1 GiB was allocated", name);
    printf("memlimit, %s: %" PRIu64 " collections; at most %.1f MiB heap_inuse, %.1f MiB sys - released\n",
           name, st.num_gc - gc0, (double)w.inuse / mib, (double)w.mapped / mib);
}

/* GOGC 400 would let the heap grow to 80 MiB: the limit must hold it back;
 * with GOGC off, only the limit starts collections. */
void test_memlimit(void)
{
    uint64_t rng = 7;
    EXPECT(hp_gc_set_memory_limit(ML_LIMIT) == INT64_MAX,
           "the default memory limit is not INT64_MAX");
    EXPECT(hp_gc_set_percent(400) == 100, "the default GOGC is not 100");
    ml_ring = xalloc(ML_RING * sizeof *ml_ring);
    ml_phase("GOGC=400", &rng);
    EXPECT(hp_gc_set_percent(-1) == 400, "hp_gc_set_percent did not return the previous value");
    ml_phase("GOGC=off", &rng);
}

/* ---- gctrace ---- */

#define GCTRACE_RE                                                                                 \
    "^gc [0-9]+ @[0-9]+\\.[0-9]{3}s [0-9]+%: [0-9.]+\\+[0-9.]+\\+[0-9.]+ ms clock, "               \
    "[0-9.]+\\+[0-9.]+/[0-9.]+/[0-9.]+\\+[0-9.]+ ms cpu, [0-9]+->[0-9]+->[0-9]+ MB, "              \
    "[0-9]+ MB goal, [0-9]+ MB stacks, [0-9]+ MB globals, [0-9]+ P( \\(forced\\))?$"

extern char **environ;

/* `gc_test gctrace_child`: 48 MiB through a 256-object ring, then one
 * hp_gc_collect(); prints its collection counts on stdout. */
int gctrace_child(void)
{
    void **ring = xalloc(256 * sizeof *ring);
    for (long i = 0; i < 48 * 1024; i++)
        ring[i % 256] = xalloc(1024);
    hp_gc_collect();
    hp_memstats_t st;
    hp_read_memstats(&st);
    printf("num_gc %" PRIu64 " forced %" PRIu64 "\n", st.num_gc, st.num_forced_gc);
    return 0;
}

static char *read_all(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = 0;
    close(fd);
    return buf;
}

/* Run the child with HOTPATH_DEBUG=gctrace=1; its stderr and stdout. */
static int gctrace_spawn(char **err_out, char **std_out)
{
    int err[2], out[2];
    size_t n = 0, k = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **envp = calloc(n + 2, sizeof *envp);
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "HOTPATH_DEBUG=", 14) != 0) envp[k++] = *e;
    envp[k] = "HOTPATH_DEBUG=gctrace=1";
    char *argv[] = {"gc_test", "gctrace_child", NULL};
    if (pipe(err) != 0 || pipe(out) != 0) die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]), close(out[1]), close(err[0]), close(err[1]);
        execve("/proc/self/exe", argv, envp);
        _exit(127);
    }
    close(err[1]);
    close(out[1]);
    *err_out = read_all(err[0]);
    *std_out = read_all(out[0]);
    free(envp);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

void test_gctrace(void)
{
    char *errs, *outs, *save = NULL;
    int status = gctrace_spawn(&errs, &outs);
    char *copy = strdup(errs);
    unsigned fails0 = atomic_load(&fails), lines = 0, forced_lines = 0, last = 0;
    unsigned num_gc = 0, num_forced = 0;
    bool last_forced = false;
    regex_t re;
    if (regcomp(&re, GCTRACE_RE, REG_EXTENDED | REG_NOSUB) != 0) die("regcomp");
    EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child failed (status %#x)", status);
    for (char *line = strtok_r(errs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "gc ", 3) != 0) continue;
        lines++;
        if (!EXPECT(regexec(&re, line, 0, NULL, 0) == 0, "not Go's gctrace format: \"%s\"", line))
            continue;
        unsigned num = (unsigned)strtoul(line + 3, NULL, 10);
        EXPECT(num == last + 1, "\"gc %u\" follows \"gc %u\"", num, last);
        last = num;
        last_forced = strstr(line, " (forced)") != NULL;
        forced_lines += last_forced;
    }
    EXPECT(sscanf(outs, "num_gc %u forced %u", &num_gc, &num_forced) == 2,
           "the child printed \"%s\"", outs);
    EXPECT(lines >= 2, "%u gctrace lines, want at least 2", lines);
    EXPECT(lines == num_gc, "%u gctrace lines for %u collections", lines, num_gc);
    EXPECT(last_forced, "the last line, hp_gc_collect's, lacks \"(forced)\"");
    EXPECT(forced_lines == 1 && num_forced == 1,
           "%u lines say (forced), num_forced_gc is %u, want 1 and 1", forced_lines, num_forced);
    if (atomic_load(&fails) != fails0) fprintf(stderr, "the child's stderr:\n%s", copy);
    printf("gctrace: %u lines\n", lines);
    regfree(&re);
    free(copy), free(errs), free(outs);
}

/* ---- stats ---- */

static void **stats_keep; /* 1000 objects of 1 KiB while it points to them */

static void stats_after_collect(const hp_memstats_t *b, const hp_memstats_t *st)
{
    uint64_t now = now_ns(CLOCK_REALTIME);
    unsigned at = (st->num_gc + 255) % 256;
    EXPECT(st->num_gc == b->num_gc + 1, "num_gc went from %" PRIu64 " to %" PRIu64, b->num_gc, st->num_gc);
    EXPECT(st->num_forced_gc == b->num_forced_gc + 1, "num_forced_gc went from %" PRIu64 " to %" PRIu64,
           b->num_forced_gc, st->num_forced_gc);
    EXPECT(st->last_gc <= now && st->last_gc + 1000000000u >= now, "last_gc is %.3f s from now",
           ((double)st->last_gc - (double)now) / 1e9);
    EXPECT(st->pause_ns[at] > 0, "pause_ns[%u] is 0", at);
    EXPECT(st->pause_end[at] <= now && st->pause_end[at] + 1000000000u >= now,
           "pause_end[%u] is %.3f s from now", at, ((double)st->pause_end[at] - (double)now) / 1e9);
    EXPECT(st->pause_total_ns >= b->pause_total_ns + st->pause_ns[at],
           "pause_total_ns grew by %" PRIu64 ", less than the pause %" PRIu64,
           st->pause_total_ns - b->pause_total_ns, st->pause_ns[at]);
    EXPECT(st->gc_max_pause_ns >= st->pause_ns[at], "gc_max_pause_ns < the last pause");
    EXPECT(st->next_gc >= 4 * MiB, "next_gc is %" PRIu64 ", under 4 MiB", st->next_gc);
    EXPECT(st->gc_heap_live <= st->gc_heap_alloc + 256 * 1024,
           "gc_heap_live %" PRIu64 " > gc_heap_alloc %" PRIu64, st->gc_heap_live,
           st->gc_heap_alloc);
    EXPECT(st->gc_heap_live >= 1000 * 1024 && st->gc_heap_objects >= 1001,
           "gc_heap_live %" PRIu64 ", gc_heap_objects %" PRIu64 " with 1000 objects of 1 KiB live",
           st->gc_heap_live, st->gc_heap_objects);
    EXPECT(st->gc_cpu_fraction >= 0 && st->gc_cpu_fraction <= 1, "gc_cpu_fraction is %g",
           st->gc_cpu_fraction);
}

static NOINLINE void stats_make(void)
{
    stats_keep = xalloc(1000 * sizeof *stats_keep);
    for (int i = 0; i < 1000; i++)
        stats_keep[i] = xalloc(1024);
}

void test_stats(void)
{
    hp_memstats_t before, st;
    hp_read_memstats(&st);
    EXPECT((st.num_gc == 0) == (st.last_gc == 0), "num_gc %" PRIu64 " but last_gc %" PRIu64, st.num_gc,
           st.last_gc);
    EXPECT(hp_gc_set_percent(50) == 100, "the default GOGC is not 100");
    EXPECT(hp_gc_set_percent(100) == 50, "hp_gc_set_percent did not return the previous value");
    EXPECT(hp_gc_set_memory_limit(-1) == INT64_MAX, "the default memory limit is not INT64_MAX");
    EXPECT(hp_gc_set_memory_limit(1 << 30) == INT64_MAX, "hp_gc_set_memory_limit's previous value");
    EXPECT(hp_gc_set_memory_limit(-1) == 1 << 30, "a negative limit did not read the limit set");
    EXPECT(hp_gc_set_memory_limit(INT64_MAX) == 1 << 30, "hp_gc_set_memory_limit's previous value");
    EXPECT(hp_gc_use_barrier(0) == 0, "the write barrier is declared by default");
    stats_make();
    for (int i = 0; i < 3; i++) {
        hp_read_memstats(&before);
        hp_gc_collect();
        hp_read_memstats(&st);
        stats_after_collect(&before, &st);
    }
    stats_keep = NULL;
    clear_stack();
    hp_gc_collect();
    hp_read_memstats(&st);
    EXPECT(st.gc_heap_live < 512 * 1024,
           "gc_heap_live is %" PRIu64 " after the live set was dropped", st.gc_heap_live);
}

/* ---- misc ---- */

enum { MF_LARGE, MF_NOSCAN, MF_SCANNED, MF_KINDS };
static atomic_long misc_fin[MF_KINDS];

static void misc_fin_run(void *p)
{
    uint64_t kind = *(uint64_t *)p;
    if (EXPECT(kind < MF_KINDS, "a misc finalizer got an object of kind %#" PRIx64, kind))
        atomic_fetch_add(&misc_fin[kind], 1);
}

static void *misc_fin_obj(size_t size, uint64_t kind)
{
    uint64_t *o = xalloc(size);
    o[0] = kind;
    EXPECT(hp_gc_set_finalizer(o, misc_fin_run) == 0, "hp_gc_set_finalizer failed");
    return o;
}

static int cmp_uintptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void misc_size0(void)
{
    enum { N = 1000 };
    void **keep = xalloc(N * sizeof *keep);
    uintptr_t *addr = malloc(N * sizeof *addr);
    for (int i = 0; i < N; i++) {
        keep[i] = hp_gc_alloc(0);
        addr[i] = (uintptr_t)keep[i];
    }
    qsort(addr, N, sizeof *addr, cmp_uintptr);
    int dup = 0;
    for (int i = 1; i < N; i++)
        dup += addr[i] == addr[i - 1];
    EXPECT(addr[0] != 0 && dup == 0, "hp_gc_alloc(0): %s, %d duplicates among %d",
           addr[0] ? "non-NULL" : "NULL", dup, N);
    free(addr);
}

enum { Z_N = 4000 };
static const size_t z_sizes[8] = {8, 24, 48, 112, 256, 1000, 3000, 9000};

static NOINLINE void misc_dirty(uintptr_t *obf)
{
    for (int i = 0; i < Z_N; i++) {
        size_t size = z_sizes[i % 8];
        void *p = xalloc(size);
        memset(p, 0xff, size);
        obf[i] = (uintptr_t)p ^ OBF_KEY;
    }
}

/* Dirty objects, drop them, collect: the objects made again in their place
 * are zeroed. */
static void misc_zeroed(void)
{
    uintptr_t *old = malloc(Z_N * sizeof *old);
    misc_dirty(old);
    qsort(old, Z_N, sizeof *old, cmp_uintptr);
    clear_stack();
    collect_n(2);
    long dirty = 0, reused = 0;
    for (int i = 0; i < 2 * Z_N; i++) {
        size_t size = z_sizes[i % 8];
        const unsigned char *p = xalloc(size);
        uintptr_t key = (uintptr_t)p ^ OBF_KEY;
        size_t j = 0;
        while (j < size && p[j] == 0)
            j++;
        dirty += j < size;
        reused += bsearch(&key, old, Z_N, sizeof *old, cmp_uintptr) != NULL;
    }
    EXPECT(dirty == 0, "%ld of %d new objects were not zeroed", dirty, 2 * Z_N);
    EXPECT(reused > 0, "no dropped object's memory was reused after 2 collections, so the zeroing "
                       "of reused memory was not tested");
    free(old);
}

enum { L_BIG = 16, L_MID = 64, L_BIG_SIZE = 1 << 20, L_MID_SIZE = 40 << 10 };
static uint64_t **large_keep; /* the large objects while they must live */

static size_t large_size(int i)
{
    return i < L_BIG ? L_BIG_SIZE : L_MID_SIZE;
}

static NOINLINE void misc_large_make(void)
{
    large_keep = xalloc((L_BIG + L_MID) * sizeof *large_keep);
    for (int i = 0; i < L_BIG + L_MID; i++) {
        uint64_t *o = misc_fin_obj(large_size(i), MF_LARGE);
        for (size_t w = 1; w < large_size(i) / 8; w++)
            o[w] = w * 31 + (uint64_t)i;
        large_keep[i] = o;
    }
}

/* Damaged words of the kept large objects. */
static NOINLINE long misc_large_damaged(void)
{
    long bad = 0;
    for (int i = 0; i < L_BIG + L_MID; i++)
        for (size_t w = 1; w < large_size(i) / 8; w++)
            bad += large_keep[i][w] != w * 31 + (uint64_t)i;
    return bad;
}

static long large_bad;

/* Make and check the objects on a thread of their own: a pointer to one
 * left in a callee-saved register of the main thread (the last one the
 * check read, say) would keep it alive, rightly for a conservative
 * collector, while the main thread waits for it to be finalized. */
static void *misc_large_thread(void *arg)
{
    (void)arg;
    misc_large_make();
    collect_n(2);
    large_bad = misc_large_damaged();
    return NULL;
}

static void misc_large(void)
{
    /* Not on the stack: uninitialised there until read, they would hold
     * whatever earlier calls left, which may point into the new objects. */
    static hp_memstats_t st0, st;
    pthread_t t;
    clear_stack();
    hp_gc_collect();
    hp_read_memstats(&st0);
    if (pthread_create(&t, NULL, misc_large_thread, NULL) != 0) die("pthread_create");
    pthread_join(t, NULL);
    EXPECT(large_bad == 0 && atomic_load(&misc_fin[MF_LARGE]) == 0,
           "large objects kept alive: %ld words damaged, %ld finalized", large_bad,
           atomic_load(&misc_fin[MF_LARGE]));
    large_keep = NULL;
    clear_stack();
    bool ok = poll_count(&misc_fin[MF_LARGE], L_BIG + L_MID, 10); /* before the count is read */
    EXPECT(ok, "%ld of %d dropped large objects finalized in 10 s",
           atomic_load(&misc_fin[MF_LARGE]), L_BIG + L_MID);
    clear_stack();
    collect_n(2);
    hp_read_memstats(&st);
    EXPECT(st.gc_heap_alloc < st0.gc_heap_alloc + 4 * MiB,
           "gc_heap_alloc went from %" PRIu64 " to %" PRIu64
           ": ~18.5 MiB of large objects not reclaimed",
           st0.gc_heap_alloc, st.gc_heap_alloc);
    EXPECT(st.heap_alloc < st0.heap_alloc + 4 * MiB,
           "heap_alloc went from %" PRIu64 " to %" PRIu64
           ": freed GC objects do not count as freed "
           "in the heap figures",
           st0.heap_alloc, st.heap_alloc);
}

static void **ns_holder, **sc_holder;

static NOINLINE void misc_noscan_make(void)
{
    ns_holder = xalloc_noscan(64);
    ns_holder[3] = misc_fin_obj(48, MF_NOSCAN);
    sc_holder = xalloc(64);
    sc_holder[3] = misc_fin_obj(48, MF_SCANNED);
}

/* A pointer in a noscan object keeps nothing alive; in a scanned one it does. */
static void misc_noscan(void)
{
    misc_noscan_make();
    clear_stack();
    EXPECT(poll_count(&misc_fin[MF_NOSCAN], 1, 10),
           "an object pointed to only from a noscan object was not finalized in 10 s");
    EXPECT(atomic_load(&misc_fin[MF_SCANNED]) == 0 && *(uint64_t *)sc_holder[3] == MF_SCANNED,
           "an object pointed to from a scanned object was finalized or damaged");
}

static void misc_usable_size(void)
{
    static const size_t sizes[] = {1, 8, 17, 100, 1000, 5000, 32768, 40000, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        void *p = xalloc(sizes[i]), *q = xalloc_noscan(sizes[i]);
        EXPECT(malloc_usable_size(p) >= sizes[i] && malloc_usable_size(q) >= sizes[i],
               "malloc_usable_size of GC objects of %zu bytes: %zu and %zu", sizes[i],
               malloc_usable_size(p), malloc_usable_size(q));
    }
}

static uint64_t *freed_obj; /* a GC object passed to free(), still referenced */

/* free() of a GC object neither crashes nor frees it. */
static void misc_free(void)
{
    enum { N = 1000 };
    freed_obj = xalloc(128);
    for (int i = 0; i < 16; i++)
        freed_obj[i] = 0xf7ee0000u + (uint64_t)i;
    free(freed_obj);
    void **m = malloc(N * sizeof *m);
    int same = 0;
    for (int i = 0; i < N; i++) {
        m[i] = malloc(128);
        uint64_t *g = xalloc(128);
        same += m[i] == freed_obj || g == freed_obj;
        memset(m[i], 0x77, 128);
        memset(g, 0x66, 128);
    }
    clear_stack();
    collect_n(2);
    int bad = 0;
    for (int i = 0; i < 16; i++)
        bad += freed_obj[i] != 0xf7ee0000u + (uint64_t)i;
    EXPECT(same == 0 && bad == 0,
           "after free() of a live GC object: handed out again %d times, %d words changed", same,
           bad);
    for (int i = 0; i < N; i++)
        free(m[i]);
    free(m);
}

static atomic_bool fork_stop;

static void *fork_churn(void *arg)
{
    (void)arg;
    while (!atomic_load(&fork_stop)) {
        void **p = xalloc(64);
        p[0] = xalloc(32);
    }
    return NULL;
}

/* In the child: a 20000-node list survives two collections. */
static int fork_child(void)
{
    alarm(10);
    void **head = NULL;
    for (long i = 0; i < 20000; i++) {
        void **n = xalloc(2 * sizeof *n);
        n[0] = head;
        n[1] = (void *)(i + 1);
        head = n;
    }
    collect_n(2);
    long count = 0, ok = 1;
    for (void **n = head; n != NULL; n = n[0])
        ok &= (long)(uintptr_t)n[1] == 20000 - count++;
    return ok && count == 20000 ? 0 : 1;
}

static void misc_fork(void)
{
    pthread_t churn;
    if (pthread_create(&churn, NULL, fork_churn, NULL) != 0) die("pthread_create");
    sleep_ms(20);
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        if (pid < 0) die("fork: %s", strerror(errno));
        if (pid == 0) exit(fork_child());
        int status = 0;
        uint64_t end = now_ns(CLOCK_MONOTONIC) + 20000000000u;
        while (waitpid(pid, &status, WNOHANG) == 0 && now_ns(CLOCK_MONOTONIC) < end)
            sleep_ms(10);
        if (now_ns(CLOCK_MONOTONIC) >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "fork round %d: the child did not allocate, collect and exit 0 (status %#x)", round,
               status);
    }
    atomic_store(&fork_stop, true);
    pthread_join(churn, NULL);
    hp_gc_collect();
}

void test_misc(void)
{
    misc_size0();
    misc_zeroed();
    misc_large();
    misc_noscan();
    misc_usable_size();
    misc_free();
    misc_fork();
}


/* ---- heap profile of GC objects: as of the last collection ---- */

enum { HP_N = 1000, HP_SIZE = 96 };
static void **hp_live; /* the live site's objects (registered as roots) */

/* Allocation sites, global so that the profile names them; they call
 * hp_gc_alloc themselves, so that they are the profile's leaf frames. */
NOINLINE void heapprof_site_live(int from, int to)
{
    for (int i = from; i < to; i++)
        if ((hp_live[i] = hp_gc_alloc(HP_SIZE)) == NULL) die("hp_gc_alloc failed");
}

NOINLINE void heapprof_site_dead(void)
{
    for (int i = 0; i < HP_N; i++) {
        void *volatile p = hp_gc_alloc(HP_SIZE);
        if (p == NULL) die("hp_gc_alloc failed");
    }
}

typedef struct site_counts {
    long inuse, alloc; /* objects */
} site_counts_t;

/* The heap profile (legacy text, exact at rate 1): the objects of the
 * records whose stack holds `fn`. */
static site_counts_t site_counts(const char *fn)
{
    site_counts_t c = {0, 0};
    FILE *f = tmpfile();
    if (f == NULL || hp_profile_write("heap", fileno(f), 1) != 0) die("writing the heap profile");
    rewind(f);
    char line[4096];
    long inuse = 0, alloc = 0;
    bool counted = true;
    while (fgets(line, sizeof line, f) != NULL) {
        long a, b, d, e;
        if (sscanf(line, "%ld: %ld [%ld: %ld] @", &a, &b, &d, &e) == 4) {
            inuse = a, alloc = d, counted = false;
        } else if (line[0] == '#' && !counted && strstr(line, fn) != NULL) {
            c.inuse += inuse, c.alloc += alloc, counted = true;
        }
    }
    fclose(f);
    return c;
}

static void expect_site(const char *fn, long inuse, long alloc, const char *when)
{
    site_counts_t c = site_counts(fn);
    EXPECT(c.inuse == inuse && c.alloc == alloc,
           "%s: %s shows %ld in use and %ld allocated, want %ld and %ld", when, fn, c.inuse,
           c.alloc, inuse, alloc);
}

/* Run with HOTPATH_MEMPROFILERATE=1 (every object sampled) and HOTPATH_GC=off
 * (collections only when asked). */
void test_heapprof(void)
{
    hp_live = calloc(2 * HP_N, sizeof *hp_live);
    EXPECT(hp_gc_add_roots(hp_live, 2 * HP_N * sizeof *hp_live) == 0, "hp_gc_add_roots failed");
    hp_gc_collect();
    heapprof_site_live(0, HP_N);
    heapprof_site_dead();
    clear_stack(); /* the sites' dead frames, where the next calls' would be */
    expect_site("heapprof_site_live", 0, 0, "before any collection");
    expect_site("heapprof_site_dead", 0, 0, "before any collection");
    hp_gc_collect();
    expect_site("heapprof_site_live", HP_N, HP_N, "after a collection");
    expect_site("heapprof_site_dead", 0, HP_N, "after a collection");
    heapprof_site_live(HP_N, 2 * HP_N); /* not counted until the next one */
    expect_site("heapprof_site_live", HP_N, HP_N, "allocated since the collection");
    memset(hp_live, 0, HP_N * sizeof *hp_live);
    hp_gc_collect();
    expect_site("heapprof_site_live", HP_N, 2 * HP_N, "half dropped, collected once");
    memset(hp_live, 0, 2 * HP_N * sizeof *hp_live);
    clear_stack();
    hp_gc_collect();
    expect_site("heapprof_site_live", 0, 2 * HP_N, "all dropped, collected once");
    EXPECT(hp_gc_remove_roots(hp_live) == 0, "hp_gc_remove_roots failed");
    free(hp_live);
}
