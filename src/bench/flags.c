/* flags.c: a benchmark program's flags, spelled as go test spells them
 * (-bench, -benchtime, ...; "-test." prefixed forms too), parsed as Go's
 * flag package does: "-flag value", "-flag=value", "--flag", and bare
 * boolean flags.  A bad value or an unknown flag is an error (exit 2). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/internal.h"

hpb_config_t hpb_cfg;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage of %s:\n"
            "  -bench regexp        run only the benchmarks matching regexp; '/' separates\n"
            "                       the levels of sub-benchmark names (default \".\", all)\n"
            "  -benchtime t         run each benchmark for duration t (1s, 500ms), or\n"
            "                       exactly N iterations with Nx (100x) (default 1s)\n"
            "  -count n             run each benchmark n times (default 1)\n"
            "  -cpu list            comma-separated thread counts to run each benchmark with;\n"
            "                       sets the -N name suffix and hp_b_run_parallel's threads\n"
            "                       (default: the number of CPUs)\n"
            "  -benchmem            print B/op and allocs/op for every benchmark\n"
            "  -cpuprofile file     write a CPU profile of the benchmarks to file\n"
            "  -memprofile file     write an allocation profile to file after they ran\n"
            "  -memprofilerate n    sample one allocation per n bytes for -memprofile\n"
            "  -timeout d           end the program with status 2 after d (default 10m; 0: never)\n",
            hpb_pkg);
}

int64_t hpb_parse_duration(const char *s)
{
    static const struct {
        const char *name;
        double ns;
    } units[] = {{"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
                 {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
    if (strcmp(s, "0") == 0) return 0;
    double total = 0;
    if (*s == '\0') return -1;
    while (*s != '\0') {
        char *end;
        if (!(*s >= '0' && *s <= '9') && *s != '.') return -1;
        double v = strtod(s, &end);
        if (end == s) return -1;
        size_t ul = strspn(end, "abcdefghijklmnopqrstuvwxyz\xc2\xb5\xce\xbc");
        size_t i = 0;
        while (i < sizeof units / sizeof units[0] &&
               (strlen(units[i].name) != ul || strncmp(units[i].name, end, ul) != 0))
            i++;
        if (i == sizeof units / sizeof units[0]) return -1;
        total += v * units[i].ns;
        s = end + ul;
    }
    return total > 9.2e18 ? -1 : (int64_t)total;
}

static int bad_value(const char *flag, const char *v, const char *why)
{
    fprintf(stderr, "invalid value \"%s\" for flag -%s: %s\n", v, flag, why);
    usage(stderr);
    return 2;
}

static int set_bench(const char *v)
{
    char buf[1024];
    if (strlen(v) >= sizeof buf) return bad_value("bench", v, "too long");
    strcpy(buf, v);
    for (int i = 0; i < hpb_cfg.nlevels; i++)
        regfree(&hpb_cfg.level[i]);
    hpb_cfg.nlevels = 0;
    if (v[0] == '\0') return 0; /* matches nothing */
    char *save = NULL;
    for (char *e = strtok_r(buf, "/", &save); e != NULL; e = strtok_r(NULL, "/", &save)) {
        if (hpb_cfg.nlevels == HPB_MAX_LEVELS) return bad_value("bench", v, "too many levels");
        int err = regcomp(&hpb_cfg.level[hpb_cfg.nlevels], e, REG_EXTENDED | REG_NOSUB);
        if (err != 0) {
            char msg[256];
            regerror(err, &hpb_cfg.level[hpb_cfg.nlevels], msg, sizeof msg);
            fprintf(stderr, "testing: invalid regexp for element %d of -bench (\"%s\"): %s\n",
                    hpb_cfg.nlevels, e, msg);
            return 2;
        }
        hpb_cfg.nlevels++;
    }
    return 0;
}

static int set_benchtime(const char *v)
{
    size_t l = strlen(v);
    if (l > 1 && v[l - 1] == 'x') {
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (end != v + l - 1 || n <= 0 || errno != 0)
            return bad_value("benchtime", v, "invalid count");
        hpb_cfg.benchtime_n = n;
        return 0;
    }
    int64_t d = hpb_parse_duration(v);
    if (d <= 0) return bad_value("benchtime", v, "invalid duration");
    hpb_cfg.benchtime_ns = d;
    hpb_cfg.benchtime_n = 0;
    return 0;
}

static int parse_int(const char *flag, const char *v, long long min, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || n < min)
        return bad_value(flag, v, min > 0 ? "want a positive integer" : "want an integer");
    *out = n;
    return 0;
}

static int set_cpu(const char *v)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", v);
    hpb_cfg.ncpu = 0;
    char *save = NULL;
    for (char *e = strtok_r(buf, ",", &save); e != NULL; e = strtok_r(NULL, ",", &save)) {
        long long n;
        if (parse_int("cpu", e, 1, &n) != 0) return 2;
        if (hpb_cfg.ncpu == HPB_MAX_CPUS || n > 4096) return bad_value("cpu", v, "too many");
        hpb_cfg.cpu[hpb_cfg.ncpu++] = (int)n;
    }
    return hpb_cfg.ncpu > 0 ? 0 : bad_value("cpu", v, "empty list");
}

static int set_bool(const char *flag, const char *v, bool *out)
{
    if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return bad_value(flag, v, "want true or false");
    return 0;
}

/* One flag with its value (NULL for a bare boolean). */
static int set_flag(const char *name, const char *v)
{
    long long n;
    if (strcmp(name, "bench") == 0) return set_bench(v);
    if (strcmp(name, "benchtime") == 0) return set_benchtime(v);
    if (strcmp(name, "cpu") == 0) return set_cpu(v);
    if (strcmp(name, "benchmem") == 0) return set_bool(name, v, &hpb_cfg.benchmem);
    if (strcmp(name, "cpuprofile") == 0) return hpb_cfg.cpuprofile = v, 0;
    if (strcmp(name, "memprofile") == 0) return hpb_cfg.memprofile = v, 0;
    if (strcmp(name, "count") == 0) {
        if (parse_int(name, v, 1, &n) != 0) return 2;
        hpb_cfg.count = n > 1000000 ? 1000000 : (int)n;
        return 0;
    }
    if (strcmp(name, "memprofilerate") == 0) return parse_int(name, v, 0, &hpb_cfg.memprofilerate);
    if (strcmp(name, "timeout") == 0) {
        hpb_cfg.timeout_ns = hpb_parse_duration(v);
        return hpb_cfg.timeout_ns < 0 ? bad_value(name, v, "invalid duration") : 0;
    }
    return -1;
}

static bool is_bool_flag(const char *name)
{
    return strcmp(name, "benchmem") == 0;
}

static bool is_known(const char *name)
{
    static const char *const names[] = {"bench", "benchtime", "count",          "cpu",
                                        "benchmem", "cpuprofile", "memprofile", "memprofilerate",
                                        "timeout"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

static void defaults(void)
{
    set_bench(".");
    hpb_cfg.benchtime_ns = 1000000000;
    hpb_cfg.benchtime_n = 0;
    hpb_cfg.count = 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    hpb_cfg.cpu[0] = cpus > 0 ? (int)cpus : 1;
    hpb_cfg.ncpu = 1;
    hpb_cfg.memprofilerate = -1;
    hpb_cfg.timeout_ns = 600000000000LL;
}

int hpb_flags_parse(int argc, char **argv)
{
    defaults();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            fprintf(stderr, "unexpected argument \"%s\"\n", a);
            usage(stderr);
            return 2;
        }
        a += a[1] == '-' ? 2 : 1;
        if (strncmp(a, "test.", 5) == 0) a += 5;
        if (strcmp(a, "h") == 0 || strcmp(a, "help") == 0) {
            usage(stdout);
            return -1;
        }
        char name[64];
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        snprintf(name, sizeof name, "%.*s", (int)(nl < 63 ? nl : 63), a);
        const char *v = eq ? eq + 1 : NULL;
        if (!is_known(name)) goto unknown;
        if (v == NULL && !is_bool_flag(name)) {
            if (i + 1 == argc) {
                fprintf(stderr, "flag needs an argument: -%s\n", name);
                usage(stderr);
                return 2;
            }
            v = argv[++i];
        }
        int rc = set_flag(name, v);
        if (rc != 0) return rc;
        continue;
    unknown:
        fprintf(stderr, "flag provided but not defined: -%s\n", name);
        usage(stderr);
        return 2;
    }
    return 0;
}
