/* goroutine.c: the goroutine profile (Go's, with threads as goroutines) and
 * the threadcreate profile, from a snapshot of the registry (threads.c).
 * See threads.h and prof.h.
 *
 *   goroutine debug=0  pprof, sample type goroutine/count: one sample per
 *                      distinct stack and label set, value = threads.
 *   goroutine debug=1  Go's legacy text: "goroutine profile: total N", then
 *                      per distinct stack "C @ 0xpc ..." and "#\t0xpc\tfunc+0xoff\tfile:line"
 *                      lines, most common first.
 *   goroutine debug=2  one block per thread, like Go's tracebacks:
 *                      thread <tid> "<name>" [<state>]: with the frames and
 *                      "created by" the function that called pthread_create.
 *   threadcreate       the stacks that created the live threads (the main
 *                      thread's is empty), in pprof (threadcreate/count) or
 *                      Go's debug=1 text.
 *
 * A thread whose stack could not be read shows the frame
 * hotpath.stackUnavailable.  Writers run with hpi_prof_internal set.
 * Function offsets ("+0x1d") come from the dynamic symbol table (dladdr)
 * and are left out where it does not name the function.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prof/goroutine.h"
#include "prof/labels.h"
#include "prof/pprof.h"
#include "prof/prof.h"
#include "prof/symbolize.h"
#include "prof/threads.h"

#define UNAVAILABLE "hotpath.stackUnavailable"
#define MAX_INLINE 16 /* frames per address */
#define MAX_LABELS 64 /* labels written per sample */

/* One thread's stack as a profile sees it. */
typedef struct sview {
    const uintptr_t *pcs;
    int npcs; /* -1: unavailable */
    bool exact;
    const hp_labels_t *labels;
} sview_t;

typedef struct group {
    int first, count; /* into the sorted views */
} group_t;

/* ---- Buffered output ---- */

typedef struct out {
    int fd, err;
    size_t n;
    char buf[8192];
} out_t;

static void out_flush(out_t *o)
{
    size_t off = 0;
    while (o->err == 0 && off < o->n) {
        ssize_t w = write(o->fd, o->buf + off, o->n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            o->err = w < 0 ? errno : EIO;
        else
            off += (size_t)w;
    }
    o->n = 0;
}

__attribute__((format(printf, 2, 3))) static void out_printf(out_t *o, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (len < 0) return;
    if ((size_t)len >= sizeof line) len = sizeof line - 1;
    if (o->n + (size_t)len > sizeof o->buf) out_flush(o);
    memcpy(o->buf + o->n, line, (size_t)len);
    o->n += (size_t)len;
}

/* ---- Grouping equal stacks ---- */

static int sview_cmp(const void *pa, const void *pb)
{
    const sview_t *a = pa, *b = pb;
    if (a->npcs != b->npcs) return a->npcs < b->npcs ? -1 : 1;
    if (a->exact != b->exact) return a->exact ? 1 : -1;
    for (int i = 0; i < a->npcs; i++)
        if (a->pcs[i] != b->pcs[i]) return a->pcs[i] < b->pcs[i] ? -1 : 1;
    if (a->labels != b->labels) return (uintptr_t)a->labels < (uintptr_t)b->labels ? -1 : 1;
    return 0;
}

static int group_cmp(const void *pa, const void *pb)
{
    const group_t *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return a->first - b->first;
}

/* Sort v and cut it into groups of equal stacks, most common first.
 * g has room for n.  Returns the number of groups. */
static int group_views(sview_t *v, int n, group_t *g)
{
    qsort(v, (size_t)n, sizeof *v, sview_cmp);
    int ng = 0;
    for (int i = 0; i < n; i++) {
        if (ng > 0 && sview_cmp(&v[g[ng - 1].first], &v[i]) == 0) {
            g[ng - 1].count++;
            continue;
        }
        g[ng++] = (group_t){i, 1};
    }
    qsort(g, (size_t)ng, sizeof *g, group_cmp);
    return ng;
}

/* ---- Symbols ---- */

/* Frames at addr; without a symbol table, one frame named by its address. */
static int frames_at(hpi_symtab_t *tab, uintptr_t addr, hpi_frame_t *fr, char *hex, size_t hexlen)
{
    if (tab != NULL) return hpi_symtab_lookup(tab, addr, fr, MAX_INLINE);
    snprintf(hex, hexlen, "%#lx", (unsigned long)addr);
    fr[0] = (hpi_frame_t){.func = hex, .file = ""};
    return 1;
}

/* addr's offset in function f, when the dynamic symbol table names it. */
static int func_offset(const hpi_frame_t *f, uintptr_t addr, uintptr_t *off)
{
    Dl_info info;
    if (dladdr((void *)addr, &info) == 0 || info.dli_sname == NULL || info.dli_saddr == NULL ||
        strcmp(info.dli_sname, f->func) != 0)
        return 0;
    *off = addr - (uintptr_t)info.dli_saddr;
    return 1;
}

/* The address to look up for entry i (return addresses point after the call). */
static uintptr_t lookup_addr(const sview_t *v, int i)
{
    return (i == 0 && v->exact) ? v->pcs[i] : v->pcs[i] - 1;
}

/* ---- debug=1 ---- */

static void print_labels(out_t *o, const hp_labels_t *l)
{
    const char *const *keys, *const *values;
    int n = hpi_labels_get(l, &keys, &values);
    if (n == 0) return;
    out_printf(o, "# labels: {");
    for (int i = 0; i < n; i++)
        out_printf(o, "%s\"%s\":\"%s\"", i ? ", " : "", keys[i], values[i]);
    out_printf(o, "}\n");
}

static void print_record(out_t *o, hpi_symtab_t *tab, const sview_t *v, int count)
{
    out_printf(o, "%d @", count);
    for (int i = 0; i < v->npcs; i++)
        out_printf(o, " %#lx", (unsigned long)v->pcs[i]);
    out_printf(o, "\n");
    print_labels(o, v->labels);
    if (v->npcs < 0) out_printf(o, "#\t%s\n", UNAVAILABLE);
    for (int i = 0; i < v->npcs; i++) {
        hpi_frame_t fr[MAX_INLINE];
        char hex[24];
        uintptr_t addr = lookup_addr(v, i), off;
        int nf = frames_at(tab, addr, fr, hex, sizeof hex);
        for (int f = 0; f < nf; f++) {
            out_printf(o, "#\t%#lx\t%s", (unsigned long)addr, fr[f].func);
            if (f == nf - 1 && func_offset(&fr[f], addr, &off))
                out_printf(o, "+%#lx", (unsigned long)off);
            out_printf(o, "\t%s:%lld\n", fr[f].file, (long long)fr[f].line);
        }
    }
    out_printf(o, "\n");
}

static int write_text(int fd, const char *name, sview_t *v, int n)
{
    group_t *g = malloc(sizeof *g * (size_t)(n > 0 ? n : 1));
    if (g == NULL) return ENOMEM;
    int ng = group_views(v, n, g);
    hpi_symtab_t *tab = hpi_symtab_open();
    out_t *o = malloc(sizeof *o);
    if (o == NULL) {
        free(g);
        if (tab != NULL) hpi_symtab_close(tab);
        return ENOMEM;
    }
    *o = (out_t){.fd = fd};
    out_printf(o, "%s profile: total %d\n", name, n);
    for (int i = 0; i < ng; i++)
        print_record(o, tab, &v[g[i].first], g[i].count);
    out_flush(o);
    int err = o->err;
    free(o);
    free(g);
    if (tab != NULL) hpi_symtab_close(tab);
    return err;
}

/* ---- debug=0 ---- */

static int64_t unix_nanos(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int write_pprof(int fd, const char *name, sview_t *v, int n)
{
    group_t *g = malloc(sizeof *g * (size_t)(n > 0 ? n : 1));
    if (g == NULL) return ENOMEM;
    int ng = group_views(v, n, g);
    hpi_pprof_vtype_t type = {name, "count"};
    hpi_pprof_t *p = hpi_pprof_new(&type, 1, NULL);
    int err = p == NULL ? ENOMEM : 0;
    if (p != NULL) {
        hpi_pprof_set_period(p, type, 1);
        hpi_pprof_set_time(p, unix_nanos(), 0);
    }
    for (int i = 0; i < ng && err == 0; i++) {
        const sview_t *s = &v[g[i].first];
        int64_t value = g[i].count;
        hpi_pprof_label_t labels[MAX_LABELS];
        int nl = hpi_labels_to_pprof(s->labels, labels, MAX_LABELS);
        if (s->npcs < 0)
            err = hpi_pprof_add_synthetic(p, UNAVAILABLE, &value, labels, nl);
        else
            err = hpi_pprof_add(p, s->pcs, s->npcs, s->exact, &value, labels, nl);
    }
    if (err == 0) err = hpi_pprof_write(p, fd);
    if (p != NULL) hpi_pprof_free(p);
    free(g);
    return err;
}

/* ---- debug=2 ---- */

/* The contents of /proc/self/task/<tid>/<file>, NUL-terminated, or "". */
static void read_task_file(int tid, const char *file, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", tid, file);
    buf[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
}

static const char *thread_state(int tid)
{
    char stat[512];
    read_task_file(tid, "stat", stat, sizeof stat);
    const char *p = strrchr(stat, ')');
    if (p == NULL || p[1] == 0) return "exited";
    switch (p[2]) {
    case 'R':
        return "running";
    case 'S':
        return "sleeping";
    case 'D':
        return "disk wait";
    case 'T':
        return "stopped";
    case 't':
        return "tracing stop";
    case 'Z':
        return "zombie";
    case 'X':
        return "dead";
    case 'I':
        return "idle";
    case 'P':
        return "parked";
    default:
        return "unknown";
    }
}

/* A Go traceback line pair: "func(...)\n\tfile:line +0xoff". */
static void print_frame(out_t *o, const char *prefix, const hpi_frame_t *f, uintptr_t pc,
                        int outermost)
{
    uintptr_t off;
    out_printf(o, "%s%s(...)\n\t%s:%lld", prefix, f->func, f->file, (long long)f->line);
    if (outermost && func_offset(f, pc, &off)) out_printf(o, " +%#lx", (unsigned long)off);
    out_printf(o, "\n");
}

static void print_traceback(out_t *o, hpi_symtab_t *tab, const sview_t *v)
{
    if (v->npcs < 0) out_printf(o, "%s(...)\n\t?:0\n", UNAVAILABLE);
    for (int i = 0; i < v->npcs; i++) {
        hpi_frame_t fr[MAX_INLINE];
        char hex[24];
        int nf = frames_at(tab, lookup_addr(v, i), fr, hex, sizeof hex);
        for (int f = 0; f < nf; f++)
            print_frame(o, "", &fr[f], v->pcs[i], f == nf - 1);
    }
}

static void print_thread(out_t *o, hpi_symtab_t *tab, const hpi_thread_snap_t *s)
{
    char name[64];
    read_task_file(s->tid, "comm", name, sizeof name);
    name[strcspn(name, "\n")] = 0;
    out_printf(o, "thread %d \"%s\" [%s]:\n", s->tid, name,
               s->self ? "running" : thread_state(s->tid));
    sview_t v = {s->pcs, s->npcs, s->exact_leaf, s->labels};
    print_traceback(o, tab, &v);
    if (s->create_npcs > 0) {
        hpi_frame_t fr[MAX_INLINE];
        char hex[24];
        int nf = frames_at(tab, s->create_pcs[0] - 1, fr, hex, sizeof hex);
        print_frame(o, "created by ", &fr[nf - 1], s->create_pcs[0], 1);
    }
    out_printf(o, "\n");
}

static int snap_by_tid(const void *pa, const void *pb)
{
    const hpi_thread_snap_t *a = pa, *b = pb;
    if (a->self != b->self) return a->self ? -1 : 1;
    return a->tid - b->tid;
}

static int write_tracebacks(int fd, hpi_thread_snap_t *s, int n)
{
    out_t *o = malloc(sizeof *o);
    if (o == NULL) return ENOMEM;
    *o = (out_t){.fd = fd};
    qsort(s, (size_t)n, sizeof *s, snap_by_tid);
    hpi_symtab_t *tab = hpi_symtab_open();
    for (int i = 0; i < n; i++)
        print_thread(o, tab, &s[i]);
    out_flush(o);
    int err = o->err;
    free(o);
    if (tab != NULL) hpi_symtab_close(tab);
    return err;
}

/* ---- The profiles ---- */

static int write_profile(int fd, int debug, bool goroutine)
{
    const char *name = goroutine ? "goroutine" : "threadcreate";
    hpi_thread_snap_t *s;
    int n = hpi_threads_snapshot(goroutine, &s);
    if (n < 0) return -n;
    if (debug >= 2 && goroutine) {
        int err = write_tracebacks(fd, s, n);
        free(s);
        return err;
    }
    sview_t *v = malloc(sizeof *v * (size_t)n);
    if (v == NULL) {
        free(s);
        return ENOMEM;
    }
    for (int i = 0; i < n; i++)
        v[i] = goroutine ? (sview_t){s[i].pcs, s[i].npcs, s[i].exact_leaf, s[i].labels}
                         : (sview_t){s[i].create_pcs, s[i].create_npcs, false, NULL};
    int err = debug > 0 ? write_text(fd, name, v, n) : write_pprof(fd, name, v, n);
    free(v);
    free(s);
    return err;
}

int hpi_threads_write_goroutine(int fd, int debug)
{
    hpi_prof_internal_enter();
    int err = write_profile(fd, debug, true);
    hpi_prof_internal_leave();
    return err;
}

int hpi_threads_write_threadcreate(int fd, int debug)
{
    hpi_prof_internal_enter();
    int err = write_profile(fd, debug, false);
    hpi_prof_internal_leave();
    return err;
}
