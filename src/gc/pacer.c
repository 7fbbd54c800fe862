/* pacer.c: when to collect, and what each collection cost.  See gc.c.
 *
 * The goal is Go's: after a cycle that found `marked` bytes live, the next
 * goal is marked + (marked + roots) * GOGC / 100, at least 4 MiB * GOGC /
 * 100.  Under a memory limit the goal is also at most what the limit
 * leaves after every other byte hotpath maps (malloc's heap, metadata),
 * less 5% for fragmentation -- but never below the live heap plus 1/16 of
 * it, so the program keeps running when the limit is too low; then the
 * collector also rests for as long as its last cycle took before starting
 * another, which caps its share of the CPU near one half, as Go caps it.
 * The trigger that starts a cycle is the goal itself in stop-the-world
 * mode; with the barrier (concurrent marking) it is earlier, at 70% of the
 * way from the live heap to the goal, so marking ends near the goal.
 *
 * Statistics of finished cycles (pause ring, totals) sit under the stats
 * lock; gctrace lines are Go's format, written with one write(2).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gc/internal.h"

#define MIN_HEAP (4ull << 20)

static struct {
    hpi_lock_t lock;
    uint64_t pause_ns[256], pause_end[256]; /* lock */
    uint64_t pause_total, max_pause, last_gc; /* lock */
    uint32_t num_gc, num_forced;            /* lock */
    uint64_t cpu_ns;                        /* lock: collector CPU, all cycles */
    uint64_t start_ns;                      /* fixed at init */
} st = {.lock = HPI_LOCK_INIT};

void hpi_gc_pacer_init(void)
{
    st.start_ns = hpi_nanotime();
}

/* What the limit counts: every byte hotpath maps and has not returned to
 * the OS (the heap's spans, in use or free, and metadata). */
uint64_t hpi_gc_memory_in_use(void)
{
    hpi_heap_stats_t h;
    hpi_heap_read_stats(&h);
    uint64_t heap = h.heap_sys > h.heap_released ? h.heap_sys - h.heap_released : 0;
    return heap + hpi_meta_sys();
}

/* Of that, what is not GC spans. */
static uint64_t other_memory(void)
{
    uint64_t mapped = hpi_gc_memory_in_use(), gcspans = hpi_gc_spans_inuse_bytes();
    return mapped > gcspans ? mapped - gcspans : 0;
}

void hpi_gc_pacer_set_goal(uint64_t marked)
{
    int pct = atomic_load(&hpi_gc.percent);
    uint64_t roots = hpi_gc_roots_stack_bytes() + hpi_gc_roots_global_bytes();
    uint64_t goal = UINT64_MAX;
    if (pct >= 0) {
        goal = marked + (marked + roots) * (uint64_t)pct / 100;
        uint64_t min = MIN_HEAP * (uint64_t)pct / 100;
        if (goal < min) goal = min;
    }
    int64_t limit = atomic_load(&hpi_gc.memlimit);
    if (limit != INT64_MAX) {
        uint64_t other = other_memory();
        uint64_t room = (uint64_t)limit > other ? ((uint64_t)limit - other) / 20 * 19 : 0;
        /* Objects fill spans imperfectly: scale by how full they are. */
        uint64_t spans = hpi_gc_spans_inuse_bytes(), live = atomic_load(&hpi_gc.heap_live);
        if (spans > live && spans > 0) room = (uint64_t)((double)room * live / spans);
        uint64_t floor = marked + marked / 16 + (1 << 20);
        if (room < floor) room = floor;
        if (room < goal) goal = room;
    }
    atomic_store(&hpi_gc.goal, goal);
    uint64_t trigger = goal;
    if (atomic_load(&hpi_gc.barrier) && goal != UINT64_MAX && goal > marked)
        trigger = marked + (goal - marked) / 10 * 7;
    atomic_store(&hpi_gc.trigger, trigger);
}

/* Go's fmtNSAsMS: two significant digits under 10 ms, whole ms above. */
static void fmt_ms(char *out, size_t n, uint64_t ns)
{
    if (ns >= 10000000) {
        snprintf(out, n, "%llu", (unsigned long long)(ns / 1000000));
        return;
    }
    uint64_t x = ns / 1000;
    if (x == 0) {
        snprintf(out, n, "0");
        return;
    }
    int dec = 3;
    while (x >= 100) {
        x /= 10;
        dec--;
    }
    if (dec == 0) {
        snprintf(out, n, "%llu", (unsigned long long)x);
        return;
    }
    static const unsigned long long pow10[] = {1, 10, 100, 1000};
    unsigned long long ip = x / pow10[dec], fp = x % pow10[dec];
    if (dec == 1)
        snprintf(out, n, "%llu.%01llu", ip, fp);
    else if (dec == 2)
        snprintf(out, n, "%llu.%02llu", ip, fp);
    else
        snprintf(out, n, "%llu.%03llu", ip, fp);
}

static void gctrace(const hpi_gc_cycle_t *c, uint32_t n, int pct_cpu)
{
    char a[16], b[16], cc[16], d[16], e[16], f[16], g[16], h[16];
    int p = c->nprocs;
    fmt_ms(a, sizeof a, c->stw1_ns);
    fmt_ms(b, sizeof b, c->mark_ns);
    fmt_ms(cc, sizeof cc, c->stw2_ns);
    fmt_ms(d, sizeof d, c->stw1_ns * (uint64_t)p);
    fmt_ms(e, sizeof e, c->cpu_mark_assist_ns);
    fmt_ms(f, sizeof f, c->cpu_mark_bg_ns);
    fmt_ms(g, sizeof g, 0);
    fmt_ms(h, sizeof h, c->stw2_ns * (uint64_t)p);
    double at = (double)(c->start_ns - st.start_ns) / 1e9;
    char line[512];
    int len = snprintf(line, sizeof line,
                       "gc %u @%.3fs %d%%: %s+%s+%s ms clock, %s+%s/%s/%s+%s ms cpu, "
                       "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, %d P%s\n",
                       n, at, pct_cpu, a, b, cc, d, e, f, g, h,
                       (unsigned long long)(c->heap_start >> 20), (unsigned long long)(c->heap_end >> 20),
                       (unsigned long long)(c->heap_marked >> 20), (unsigned long long)(c->goal >> 20),
                       (unsigned long long)(c->stacks >> 20), (unsigned long long)(c->globals >> 20), p,
                       c->forced ? " (forced)" : "");
    if (len > 0) {
        ssize_t w = write(2, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
        (void)w;
    }
}

void hpi_gc_pacer_record(const hpi_gc_cycle_t *c)
{
    uint64_t pause = c->stw1_ns + c->stw2_ns;
    uint64_t cpu = pause * (uint64_t)c->nprocs + c->cpu_mark_assist_ns + c->cpu_mark_bg_ns;
    /* The wall clock read now, as Go reads it at the cycle's end: one
     * extrapolated from the start by the monotonic clock drifts from it
     * (NTP slews the wall clock), and could lie in the future. */
    int64_t end_unix = hpi_unix_nanos();
    hpi_lock(&st.lock);
    uint32_t n = ++st.num_gc;
    if (c->forced) st.num_forced++;
    st.pause_ns[(n + 255) % 256] = pause;
    st.pause_end[(n + 255) % 256] = (uint64_t)end_unix;
    st.pause_total += pause;
    if (c->stw1_ns > st.max_pause) st.max_pause = c->stw1_ns;
    if (c->stw2_ns > st.max_pause) st.max_pause = c->stw2_ns;
    st.last_gc = (uint64_t)end_unix;
    st.cpu_ns += cpu;
    uint64_t wall = (c->end_ns - st.start_ns) * (uint64_t)c->nprocs;
    int pct = wall ? (int)(st.cpu_ns * 100 / wall) : 0;
    hpi_unlock(&st.lock);
    if (atomic_load(&hpi_gc.gctrace)) gctrace(c, n, pct);
}

void hpi_gc_read_stats(hp_memstats_t *m)
{
    uint64_t live = atomic_load(&hpi_gc.heap_live), objs = atomic_load(&hpi_gc.heap_objs);
    uint64_t ab = atomic_load(&hpi_gc.alloc_bytes_total), ao = atomic_load(&hpi_gc.alloc_objs_total);
    uint64_t fo = atomic_load(&hpi_gc.freed_objs);
    m->alloc += live;
    m->heap_alloc += live;
    m->total_alloc += ab;
    m->mallocs += ao;
    m->frees += fo;
    m->heap_objects += objs;
    m->gc_heap_alloc = live;
    m->gc_heap_objects = objs;
    m->gc_heap_live = atomic_load(&hpi_gc.marked);
    uint64_t goal = atomic_load(&hpi_gc.goal);
    m->next_gc = goal == UINT64_MAX ? 0 : goal;
    hpi_lock(&st.lock);
    memcpy(m->pause_ns, st.pause_ns, sizeof m->pause_ns);
    memcpy(m->pause_end, st.pause_end, sizeof m->pause_end);
    m->pause_total_ns = st.pause_total;
    m->gc_max_pause_ns = st.max_pause;
    m->last_gc = st.last_gc;
    m->num_gc = st.num_gc;
    m->num_forced_gc = st.num_forced;
    uint64_t cpu = st.cpu_ns;
    hpi_unlock(&st.lock);
    uint64_t wall = (hpi_nanotime() - st.start_ns) * (uint64_t)hpi_gc_nprocs();
    m->gc_cpu_fraction = st.start_ns && wall ? (double)cpu / (double)wall : 0;
}
