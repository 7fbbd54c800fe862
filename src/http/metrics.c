/* metrics.c: /metrics in Prometheus' text format 0.0.4: the standard
 * process_* metrics (as Prometheus' client libraries export them on Linux,
 * from /proc), and hotpath's: hotpath_memstats_* (stats_fields.c),
 * hotpath_threads (the threads of the process, Go's go_goroutines) and
 * hotpath_info.  See server.c. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hotpath/hotpath.h"
#include "http/server.h"
#include "http/stats_fields.h"

static void metric(FILE *f, const char *name, const char *type, const char *help, double v)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

/* Fields of /proc/self/stat after the command name (which may hold spaces
 * and parentheses): fields[k] is field k + 3 of proc(5).  0 or -1. */
static int read_stat(unsigned long long *fields, int n)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "re");
    if (f == NULL) return -1;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *p = strrchr(buf, ')');
    if (p == NULL) return -1;
    p += 2; /* ") " */
    for (int k = 0; k < n; k++) {
        while (*p == ' ')
            p++;
        if (k == 0) { /* state, a letter */
            fields[k] = 0;
            p++;
            continue;
        }
        char *end;
        fields[k] = strtoull(p, &end, 10);
        if (end == p) return -1;
        p = end;
    }
    return 0;
}

static double boot_time(void)
{
    char line[256];
    double bt = 0;
    FILE *f = fopen("/proc/stat", "re");
    if (f == NULL) return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "btime %lf", &bt) == 1) break;
    fclose(f);
    return bt;
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static double limit(int resource)
{
    struct rlimit r;
    if (getrlimit(resource, &r) != 0) return -1;
    return r.rlim_cur == RLIM_INFINITY ? 18446744073709551615.0 : (double)r.rlim_cur;
}

static void process_metrics(FILE *f)
{
    unsigned long long st[22]; /* proc(5) fields 3..24 */
    double tick = (double)sysconf(_SC_CLK_TCK);
    if (read_stat(st, 22) == 0) {
        metric(f, "process_cpu_seconds_total", "counter",
               "Total user and system CPU time spent in seconds.",
               (double)(st[14 - 3] + st[15 - 3]) / tick);
        metric(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
               (double)st[23 - 3]);
        metric(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
               (double)st[24 - 3] * (double)sysconf(_SC_PAGESIZE));
        metric(f, "process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.",
               boot_time() + (double)st[22 - 3] / tick);
    }
    int fds = open_fds();
    if (fds >= 0) metric(f, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
    metric(f, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
           limit(RLIMIT_NOFILE));
    metric(f, "process_virtual_memory_max_bytes", "gauge",
           "Maximum amount of virtual memory available in bytes.", limit(RLIMIT_AS));
}

static void hotpath_metrics(FILE *f, const hp_memstats_t *st)
{
    for (int i = 0; i < hpi_stat_nfields; i++) {
        const hpi_stat_field_t *fl = &hpi_stat_fields[i];
        char name[96];
        snprintf(name, sizeof name, "hotpath_memstats_%s", fl->prom);
        double v = (double)hpi_stat_value(st, fl);
        if (strstr(fl->prom, "seconds") != NULL) v /= 1e9; /* the field is in ns */
        metric(f, name, fl->counter ? "counter" : "gauge", fl->help, v);
    }
    metric(f, "hotpath_threads", "gauge", "Threads of the process.",
           (double)hp_profile_count("goroutine"));
    fputs("# HELP hotpath_info Information about hotpath.\n# TYPE hotpath_info gauge\n"
          "hotpath_info{version=\"" HP_VERSION_STRING "\"} 1\n",
          f);
}

static int build_metrics(FILE *f, void *arg)
{
    (void)arg;
    hp_memstats_t st; /* handlers run on a 4 MiB stack */
    hp_read_memstats(&st);
    process_metrics(f);
    hotpath_metrics(f, &st);
    return 0;
}

static int metrics(struct mg_connection *c, const char *path, const char *query)
{
    (void)query;
    if (strcmp(path, "/metrics") != 0) return hpi_http_error(c, 404, "404 page not found");
    return hpi_http_reply_built(c, "text/plain; version=0.0.4; charset=utf-8", build_metrics, NULL);
}

void hpi_http_register_metrics(struct mg_context *ctx, mg_request_handler entry_fn)
{
    hpi_http_register(ctx, "/metrics", entry_fn, metrics);
}
