/* bench.c: benchmarks like Go's testing.B (libhotpath_bench.a).
 * The API is hotpath/bench.h; users see docs/BENCH.md.
 *
 * Design, after Go's testing/benchmark.go
 *
 * 1. Registry.  HP_BENCHMARK(Name) registers "BenchmarkName" from a
 *    constructor, in definition order.  main.c parses the flags and calls
 *    hpb_run_all, which runs a root benchmark whose function calls
 *    hp_b_run for each registered one: top-level and sub-benchmarks take
 *    the same path.
 * 2. Matching.  -bench is split at '/' into one regular expression per
 *    level of the name ("BenchmarkX/size=10"); a name matches when each of
 *    its levels matches the pattern's.  A name with fewer levels than the
 *    pattern matches partially: it runs once only to find its children.
 * 3. run1.  A matched benchmark first runs with n = 1.  If it called
 *    hp_b_run it is a parent: its children ran and reported, it reports
 *    nothing.  Otherwise it is a leaf and is measured.
 * 4. Measuring (launch).  With -benchtime Nx it runs n = N.  With a
 *    duration d it runs again and again with n predicted from the last run
 *    (predict_n: aim at d plus 20%, grow at most 100x, at least by one,
 *    never past 1e9) until a run takes d.  A benchmark that used hp_b_loop
 *    did its own ramp-up inside run1 and is not run again.
 * 5. The timer.  Start reads the clock and the allocator's exact totals
 *    (hp_read_alloc_totals: objects and size-class bytes); stop adds the
 *    differences.  B/op and allocs/op are the net totals divided by n,
 *    truncated, as Go's are.
 * 6. Reporting.  For each -cpu value and -count times, the name (with a
 *    "-procs" suffix when procs != 1) is printed before the run and the
 *    results after it, in Go's format (output.c).  The first of these
 *    uses the run1 already done; the others start afresh.
 *
 * Everything runs on the main thread except hp_b_run_parallel's workers
 * (loop.c), which touch only their hp_pb_t and one shared atomic counter.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/internal.h"
#include "hotpath/memstats.h"

typedef struct reg {
    const char *name;
    hp_bench_fn *fn;
} reg_t;

static struct {
    reg_t *list; /* registered benchmarks, in registration order */
    int n, cap;
    int max_len; /* name column width */
    bool any_failed;
} benches;

void hp_bench_register(const char *name, hp_bench_fn *fn)
{
    if (benches.n == benches.cap) {
        int cap = benches.cap ? 2 * benches.cap : 64;
        reg_t *l = realloc(benches.list, (size_t)cap * sizeof *l);
        if (l == NULL) {
            fprintf(stderr, "hotpath bench: out of memory registering %s\n", name);
            exit(2);
        }
        benches.list = l;
        benches.cap = cap;
    }
    benches.list[benches.n++] = (reg_t){name, fn};
}

int64_t hpb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t hpb_predict_n(int64_t goal_ns, int64_t prev_iters, int64_t prev_ns, int64_t last)
{
    if (prev_ns <= 0) prev_ns = 1;
    /* Multiply first: for fast benchmarks prev_iters ~ prev_ns. */
    __int128 n = (__int128)goal_ns * prev_iters / prev_ns;
    n += n / 5;
    if (n > (__int128)100 * last) n = (__int128)100 * last;
    if (n < last + 1) n = last + 1;
    if (n > 1000000000) n = 1000000000;
    return (int64_t)n;
}

/* ---- the timer ---- */

void hp_b_start_timer(hp_b_t *b)
{
    struct hp_b_priv *p = b->priv;
    if (p->timer_on) return;
    hp_read_alloc_totals(&p->start_allocs, &p->start_bytes);
    p->start_ns = hpb_now_ns();
    p->timer_on = true;
}

void hp_b_stop_timer(hp_b_t *b)
{
    struct hp_b_priv *p = b->priv;
    if (!p->timer_on) return;
    p->duration_ns += hpb_now_ns() - p->start_ns;
    uint64_t allocs, bytes;
    hp_read_alloc_totals(&allocs, &bytes);
    p->net_allocs += allocs - p->start_allocs;
    p->net_bytes += bytes - p->start_bytes;
    p->timer_on = false;
}

void hp_b_reset_timer(hp_b_t *b)
{
    struct hp_b_priv *p = b->priv;
    if (p->timer_on) {
        hp_read_alloc_totals(&p->start_allocs, &p->start_bytes);
        p->start_ns = hpb_now_ns();
    }
    p->duration_ns = 0;
    p->net_allocs = p->net_bytes = 0;
}

int64_t hp_b_elapsed(hp_b_t *b)
{
    struct hp_b_priv *p = b->priv;
    return p->duration_ns + (p->timer_on ? hpb_now_ns() - p->start_ns : 0);
}

/* ---- what a benchmark reports ---- */

void hp_b_report_allocs(hp_b_t *b)
{
    b->priv->report_allocs = true;
}

void hp_b_set_bytes(hp_b_t *b, int64_t n)
{
    b->priv->bytes = n;
}

void hp_b_report_metric(hp_b_t *b, double value, const char *unit)
{
    struct hp_b_priv *p = b->priv;
    if (unit == NULL || unit[0] == '\0' || strpbrk(unit, " \t\n") != NULL) {
        hp_b_fatalf(b, "metric unit \"%s\" is empty or has white space", unit ? unit : "");
        return;
    }
    int i = 0;
    while (i < p->nextra && strcmp(p->extra[i].unit, unit) != 0)
        i++;
    if (i == HPB_MAX_METRICS) {
        hp_b_errorf(b, "more than %d metrics reported", HPB_MAX_METRICS);
        return;
    }
    snprintf(p->extra[i].unit, sizeof p->extra[i].unit, "%s", unit);
    p->extra[i].value = value;
    if (i == p->nextra) p->nextra++;
}

static void logv(struct hp_b_priv *p, const char *fmt, va_list ap)
{
    if (p->log_f == NULL) p->log_f = open_memstream(&p->log, &p->log_len);
    if (p->log_f == NULL) return;
    fputs("    ", p->log_f);
    vfprintf(p->log_f, fmt, ap);
    fputc('\n', p->log_f);
    fflush(p->log_f);
}

void hp_b_errorf(hp_b_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    logv(b->priv, fmt, ap);
    va_end(ap);
    for (struct hp_b_priv *p = b->priv; p != NULL; p = p->parent)
        p->failed = true;
}

void hp_b_fatalf(hp_b_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    logv(b->priv, fmt, ap);
    va_end(ap);
    fflush(stdout);
    printf("\n--- FAIL: %s\n%.*s", b->priv->name, (int)b->priv->log_len,
           b->priv->log ? b->priv->log : "");
    printf("FAIL\n");
    fflush(stdout);
    exit(1);
}

/* ---- running ---- */

static void run_n(struct hp_b_priv *p, int64_t n)
{
    hp_b_t *b = p->pub;
    p->n = n;
    b->n = n;
    b->loop_left = 0;
    p->loop_n = 0;
    p->loop_done = false;
    p->parallelism = 1;
    hp_b_reset_timer(b);
    hp_b_start_timer(b);
    p->fn(b);
    hp_b_stop_timer(b);
    if (p->loop_done) p->n = p->loop_n;
    p->previous_n = p->n;
    p->previous_ns = p->duration_ns;
}

/* Step 3: false when it is a parent (nothing to measure). */
static bool run1(struct hp_b_priv *p)
{
    run_n(p, 1);
    return !p->has_sub && !p->failed;
}

/* Step 4. */
static void launch(struct hp_b_priv *p)
{
    if (p->loop_done) return;
    if (hpb_cfg.benchtime_n > 0) {
        if (hpb_cfg.benchtime_n > 1) run_n(p, hpb_cfg.benchtime_n);
        return;
    }
    for (int64_t n = 1; !p->failed && p->duration_ns < hpb_cfg.benchtime_ns && n < 1000000000;) {
        int64_t last = n;
        n = hpb_predict_n(hpb_cfg.benchtime_ns, p->n, p->duration_ns, last);
        run_n(p, n);
    }
}

static void reset_results(struct hp_b_priv *p)
{
    p->duration_ns = 0;
    p->net_allocs = p->net_bytes = 0;
    p->bytes = 0;
    p->nextra = 0;
    p->failed = false;
    p->report_allocs = false;
}

/* Step 6. */
static void process(struct hp_b_priv *p)
{
    for (int i = 0; i < hpb_cfg.ncpu; i++) {
        for (int j = 0; j < hpb_cfg.count; j++) {
            char name[512];
            hpb_bench_name(name, sizeof name, p->name, hpb_cfg.cpu[i]);
            hpb_print_config();
            printf("%-*s\t", benches.max_len, name);
            fflush(stdout);
            p->procs = hpb_cfg.cpu[i];
            if (i > 0 || j > 0) {
                reset_results(p);
                run1(p);
            }
            if (!p->failed) launch(p);
            if (p->failed) {
                printf("\n--- FAIL: %s\n%.*s", name, (int)p->log_len, p->log ? p->log : "");
                benches.any_failed = true;
                continue;
            }
            hpb_print_result(stdout, p, hpb_cfg.benchmem || p->report_allocs);
            fflush(stdout);
        }
    }
}

/* ---- names ---- */

static int name_ext(void);

/* Go's rewrite: spaces become '_', other unprintable bytes \xNN. */
static void rewrite(char *out, size_t len, const char *in)
{
    size_t o = 0;
    for (; *in != '\0' && o + 5 < len; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == ' ')
            out[o++] = '_';
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

/* A second sub-benchmark of the same name under one parent gets "#01". */
static void dedupe(struct hp_b_priv *parent, char *name, size_t len)
{
    hpb_subname_t *s = parent->subs;
    while (s != NULL && strcmp(s->name, name) != 0)
        s = s->next;
    if (s == NULL) {
        s = malloc(sizeof *s + strlen(name) + 1);
        if (s == NULL) return;
        strcpy(s->name, name);
        s->seen = 0;
        s->next = parent->subs;
        parent->subs = s;
        return;
    }
    s->seen++;
    size_t l = strlen(name);
    if (l + 8 < len) snprintf(name + l, len - l, "#%02d", s->seen);
}

/* Step 2: does full (levels separated by '/') match -bench?  *partial
 * when the pattern has more levels than the name. */
static bool matches(const char *full, bool *partial)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", full);
    int level = 0;
    for (char *save = NULL, *e = strtok_r(buf, "/", &save); e != NULL;
         e = strtok_r(NULL, "/", &save), level++) {
        if (level >= hpb_cfg.nlevels) break;
        if (regexec(&hpb_cfg.level[level], e, 0, NULL, 0) != 0) return false;
    }
    *partial = level < hpb_cfg.nlevels;
    return hpb_cfg.nlevels > 0;
}

bool hp_b_run_with(hp_b_t *b, const char *name, hp_bench_fn *fn, void *arg)
{
    struct hp_b_priv *parent = b->priv;
    parent->has_sub = true;
    char local[512], full[1024];
    rewrite(local, sizeof local, name);
    if (parent->parent != NULL) dedupe(parent, local, sizeof local);
    snprintf(full, sizeof full, "%s%s%s", parent->name, parent->name[0] ? "/" : "", local);
    bool partial = false;
    if (!matches(full, &partial)) return true;
    int width = (int)strlen(full) + name_ext() + 1;
    if (width > benches.max_len) benches.max_len = width;

    hp_b_t sub = {.arg = arg};
    struct hp_b_priv sp;
    memset(&sp, 0, sizeof sp);
    sp.pub = &sub;
    sp.name = full;
    sp.fn = fn;
    sp.parent = parent;
    sp.procs = hpb_cfg.cpu[0];
    sp.has_sub = partial;
    sub.priv = &sp;
    if (run1(&sp) || sp.failed) process(&sp);
    for (hpb_subname_t *s = sp.subs, *next; s != NULL; s = next) {
        next = s->next;
        free(s);
    }
    if (sp.log_f != NULL) fclose(sp.log_f);
    free(sp.log);
    return !sp.failed;
}

bool hp_b_run(hp_b_t *b, const char *name, hp_bench_fn *fn)
{
    return hp_b_run_with(b, name, fn, NULL);
}

/* The length of the "-procs" suffix of the largest -cpu value. */
static int name_ext(void)
{
    int maxprocs = 1;
    for (int i = 0; i < hpb_cfg.ncpu; i++)
        if (hpb_cfg.cpu[i] > maxprocs) maxprocs = hpb_cfg.cpu[i];
    char buf[32];
    hpb_bench_name(buf, sizeof buf, "", maxprocs);
    return (int)strlen(buf);
}

static void root_fn(hp_b_t *b)
{
    for (int i = 0; i < benches.n; i++)
        hp_b_run(b, benches.list[i].name, benches.list[i].fn);
}

bool hpb_run_all(void)
{
    for (int i = 0; i < benches.n; i++) { /* Go's name column: as wide as the longest */
        bool partial;
        int width = (int)strlen(benches.list[i].name) + 2 * name_ext() + 1;
        if (matches(benches.list[i].name, &partial) && width > benches.max_len)
            benches.max_len = width;
    }
    hp_b_t root = {0};
    struct hp_b_priv rp;
    memset(&rp, 0, sizeof rp);
    rp.pub = &root;
    rp.name = "";
    rp.fn = root_fn;
    rp.procs = hpb_cfg.cpu[0];
    root.priv = &rp;
    run_n(&rp, 1);
    return !benches.any_failed && !rp.failed;
}
