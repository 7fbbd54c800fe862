/* output.c: Go's benchmark format (see bench.c).
 *
 *   goos: linux
 *   goarch: amd64
 *   pkg: strings_bench
 *   cpu: AMD EPYC 7B13
 *   BenchmarkConcat-2   	 9795498	       121.4 ns/op	      16 B/op	       1 allocs/op
 *
 * The numbers are printed as testing.BenchmarkResult prints them: the
 * iterations in 8 columns, then each metric with a width chosen by its
 * magnitude so that decimal points line up, MB/s with two decimals, other
 * metrics sorted by unit, and B/op and allocs/op as integers.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/internal.h"

const char *hpb_pkg = "bench";

static const char *goarch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "386";
#else
    return "unknown";
#endif
}

/* The CPU's model name from /proc/cpuinfo, or "" (Go prints no cpu line). */
static void cpu_name(char *buf, size_t len)
{
    buf[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (f == NULL) return;
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) != 0) continue;
        char *v = strchr(line, ':');
        if (v == NULL) continue;
        v += 1 + strspn(v + 1, " \t");
        v[strcspn(v, "\n")] = '\0';
        snprintf(buf, len, "%s", v);
        break;
    }
    fclose(f);
}

void hpb_print_config(void)
{
    static bool done;
    if (done) return;
    done = true;
    char cpu[256];
    cpu_name(cpu, sizeof cpu);
    printf("goos: linux\ngoarch: %s\npkg: %s\n", goarch(), hpb_pkg);
    if (cpu[0] != '\0') printf("cpu: %s\n", cpu);
}

void hpb_bench_name(char *buf, size_t len, const char *name, int procs)
{
    if (procs == 1)
        snprintf(buf, len, "%s", name);
    else
        snprintf(buf, len, "%s-%d", name, procs);
}

/* Go's prettyPrint: 10 places before the point; four significant digits
 * for small numbers. */
static void pretty(FILE *f, double x, const char *unit)
{
    double y = fabs(x);
    int width, prec;
    if (y == 0 || y >= 999.95)
        width = 10, prec = 0;
    else if (y >= 99.995)
        width = 12, prec = 1;
    else if (y >= 9.9995)
        width = 13, prec = 2;
    else if (y >= 0.99995)
        width = 14, prec = 3;
    else if (y >= 0.099995)
        width = 15, prec = 4;
    else if (y >= 0.0099995)
        width = 16, prec = 5;
    else if (y >= 0.00099995)
        width = 17, prec = 6;
    else
        width = 18, prec = 7;
    fprintf(f, "%*.*f %s", width, prec, x, unit);
}

static const hpb_metric_t *extra(const struct hp_b_priv *p, const char *unit)
{
    for (int i = 0; i < p->nextra; i++)
        if (strcmp(p->extra[i].unit, unit) == 0) return &p->extra[i];
    return NULL;
}

static bool builtin(const char *unit)
{
    return strcmp(unit, "ns/op") == 0 || strcmp(unit, "MB/s") == 0 || strcmp(unit, "B/op") == 0 ||
           strcmp(unit, "allocs/op") == 0;
}

static int by_unit(const void *a, const void *b)
{
    return strcmp(((const hpb_metric_t *)a)->unit, ((const hpb_metric_t *)b)->unit);
}

static void print_extras(FILE *f, const struct hp_b_priv *p)
{
    hpb_metric_t sorted[HPB_MAX_METRICS];
    int n = 0;
    for (int i = 0; i < p->nextra; i++)
        if (!builtin(p->extra[i].unit)) sorted[n++] = p->extra[i];
    qsort(sorted, (size_t)n, sizeof sorted[0], by_unit);
    for (int i = 0; i < n; i++) {
        fputc('\t', f);
        pretty(f, sorted[i].value, sorted[i].unit);
    }
}

static uint64_t per_op(const struct hp_b_priv *p, const char *unit, uint64_t total)
{
    const hpb_metric_t *m = extra(p, unit);
    if (m != NULL) return (uint64_t)m->value;
    return p->n > 0 ? total / (uint64_t)p->n : 0;
}

void hpb_print_result(FILE *f, const struct hp_b_priv *p, bool mem)
{
    fprintf(f, "%8lld", (long long)p->n);
    const hpb_metric_t *m = extra(p, "ns/op");
    double ns = m != NULL ? m->value : p->n > 0 ? (double)p->duration_ns / (double)p->n : 0;
    if (ns != 0) {
        fputc('\t', f);
        pretty(f, ns, "ns/op");
    }
    m = extra(p, "MB/s");
    double mbs = m != NULL ? m->value
                 : p->bytes > 0 && p->duration_ns > 0 && p->n > 0
                     ? (double)p->bytes * (double)p->n / 1e6 / ((double)p->duration_ns / 1e9)
                     : 0;
    if (mbs != 0) fprintf(f, "\t%7.2f MB/s", mbs);
    print_extras(f, p);
    if (mem)
        fprintf(f, "\t%8llu B/op\t%8llu allocs/op",
                (unsigned long long)per_op(p, "B/op", p->net_bytes),
                (unsigned long long)per_op(p, "allocs/op", p->net_allocs));
    fputc('\n', f);
}
