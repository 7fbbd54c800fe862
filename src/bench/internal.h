/* bench/internal.h: the benchmark harness's internals (libhotpath_bench.a).
 * See bench.c for the design. */
#ifndef HPB_INTERNAL_H
#define HPB_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hotpath/bench.h"

#define HPB_MAX_METRICS 16
#define HPB_MAX_CPUS 64
#define HPB_MAX_LEVELS 16

/* ---- flags.c ---- */

typedef struct hpb_config {
    regex_t level[HPB_MAX_LEVELS]; /* -bench, split at '/' */
    int nlevels;                   /* 0: nothing matches (-bench "") */
    int64_t benchtime_ns;          /* -benchtime 1s */
    int64_t benchtime_n;           /* -benchtime 100x; 0 when a duration */
    int count;                     /* -count */
    int cpu[HPB_MAX_CPUS], ncpu;   /* -cpu 1,2,4 */
    bool benchmem;                 /* -benchmem */
    const char *cpuprofile, *memprofile;
    long long memprofilerate; /* -memprofilerate; -1: not set */
    int64_t timeout_ns;     /* -timeout; 0: none */
} hpb_config_t;

extern hpb_config_t hpb_cfg;

/* Parse argv into hpb_cfg.  0, or 2 after a message and usage on stderr,
 * or -1 for -h (usage printed on stdout). */
int hpb_flags_parse(int argc, char **argv);
/* "1.5s", "300ms", "2m30s" in ns; -1 when bad. */
int64_t hpb_parse_duration(const char *s);

/* ---- bench.c ---- */

typedef struct hpb_metric {
    char unit[40];
    double value;
} hpb_metric_t;

typedef struct hpb_subname {
    struct hpb_subname *next;
    int seen;
    char name[];
} hpb_subname_t;

struct hp_b_priv {
    hp_b_t *pub;
    char *name; /* full name, "BenchmarkX/sub" */
    hp_bench_fn *fn;
    struct hp_b_priv *parent;
    int procs, parallelism;
    bool timer_on;
    int64_t start_ns, duration_ns;
    uint64_t start_allocs, start_bytes, net_allocs, net_bytes;
    int64_t n, previous_n, previous_ns;
    int64_t bytes;
    bool report_allocs, has_sub, failed;
    hpb_metric_t extra[HPB_MAX_METRICS];
    int nextra;
    int64_t loop_n;   /* hp_b_loop: iterations handed out so far */
    bool loop_done;   /* hp_b_loop ran the whole benchmark */
    char *log;        /* hp_b_errorf messages (a memory stream's buffer) */
    size_t log_len;
    FILE *log_f;
    hpb_subname_t *subs; /* names of sub-benchmarks run, for #01 suffixes */
};

int64_t hpb_now_ns(void);
/* Go's predictN: iterations for the next try. */
int64_t hpb_predict_n(int64_t goal_ns, int64_t prev_iters, int64_t prev_ns, int64_t last);
/* Run every registered benchmark that -bench matches.  false if one failed. */
bool hpb_run_all(void);

/* ---- output.c ---- */

/* The goos/goarch/pkg/cpu lines, once, before the first result. */
void hpb_print_config(void);
/* "BenchmarkX-2" for procs 2, the name alone for 1; into buf. */
void hpb_bench_name(char *buf, size_t len, const char *name, int procs);
/* The result columns of one run, Go's BenchmarkResult.String (and
 * MemString when mem). */
void hpb_print_result(FILE *f, const struct hp_b_priv *p, bool mem);
extern const char *hpb_pkg;

#endif /* HPB_INTERNAL_H */
