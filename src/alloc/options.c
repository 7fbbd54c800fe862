/* options.c: every option of the allocator, in one table, read once from
 * HOTPATH_<NAME> environment variables.  A bad value warns on stderr and keeps
 * the default; nothing here calls malloc.  docs/OPTIONS.md lists the same
 * table for users: keep the two together. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc/internal.h"

extern char **environ;

hpi_options_t hpi_options = {
    .scavenge_delay_ms = 5000,
    .background_thread = 1,
    .verbose = 0,
    .memprofile_rate = 512 * 1024,
    .cpuprofile_hz = 100,
    .unwind = 0,
    .pool_trim_ms = 5000,
};

enum option_kind { OPT_INT, OPT_BOOL, OPT_CHOICE, OPT_PATH };

typedef struct option {
    const char *name;           /* after HOTPATH_ */
    int64_t *value;             /* OPT_INT, OPT_BOOL, OPT_CHOICE (index into choices) */
    int64_t min, max;           /* OPT_INT */
    int kind;                   /* enum option_kind */
    const char *const *choices; /* OPT_CHOICE: names, NULL-terminated */
    const char **path;          /* OPT_PATH: the variable's value, kept as is */
} option_t;

static const char *const unwind_choices[] = {"fp", "libunwind", NULL};

static const option_t table[] = {
    /* Idle time, in milliseconds, before free pages are returned to the OS. */
    {"SCAVENGE_DELAY_MS", .value = &hpi_options.scavenge_delay_ms, .kind = OPT_INT, .min = 0,
     .max = 86400000},
    /* 1: return memory from a background thread; 0: inline, in free(). */
    {"BACKGROUND_THREAD", .value = &hpi_options.background_thread, .kind = OPT_BOOL},
    /* 1: report odd events (frees of foreign pointers) on stderr. */
    {"VERBOSE", .value = &hpi_options.verbose, .kind = OPT_BOOL},
    /* Mean bytes between sampled allocations (1: all, 0: off). */
    {"MEMPROFILERATE", .value = &hpi_options.memprofile_rate, .kind = OPT_INT, .min = 0,
     .max = INT64_C(1) << 40},
    /* CPU profile sampling rate, per CPU-second. */
    {"CPUPROFILE_HZ", .value = &hpi_options.cpuprofile_hz, .kind = OPT_INT, .min = 1, .max = 10000},
    /* With CPUPROFILE: this signal starts and stops the CPU profile (0 off). */
    {"CPUPROFILESIGNAL", .value = &hpi_options.cpuprofile_signal, .kind = OPT_INT, .min = 0,
     .max = 64},
    /* The mutex and block profiles from start-up, as
     * hp_set_mutex_profile_fraction / hp_set_block_profile_rate would. */
    {"MUTEXPROFILEFRACTION", .value = &hpi_options.mutexprofile_fraction, .kind = OPT_INT,
     .min = 0, .max = INT32_MAX},
    {"BLOCKPROFILERATE", .value = &hpi_options.blockprofile_rate, .kind = OPT_INT, .min = 0,
     .max = INT64_C(1) << 50},
    /* Stack walker: frame pointers or libunwind. */
    {"UNWIND", .value = &hpi_options.unwind, .kind = OPT_CHOICE, .choices = unwind_choices},
    /* Profiles of the whole run, written at exit. */
    {"CPUPROFILE", .kind = OPT_PATH, .path = &hpi_options.cpuprofile},
    {"MEMPROFILE", .kind = OPT_PATH, .path = &hpi_options.memprofile},
    /* The debug server: its address, the opt-in to listen beyond loopback,
     * and the bearer token its requests must carry. */
    {"HTTP", .kind = OPT_PATH, .path = &hpi_options.http},
    {"HTTP_PUBLIC", .value = &hpi_options.http_public, .kind = OPT_BOOL},
    {"HTTP_TOKEN", .kind = OPT_PATH, .path = &hpi_options.http_token},
    /* Only the process with this pid serves HOTPATH_HTTP, not its children
     * (hotpath run sets it). */
    {"HTTP_PID", .value = &hpi_options.http_pid, .kind = OPT_INT, .min = 0, .max = INT32_MAX},
    /* The GC heap (src/gc/, parsed there): GOGC ("off" or a percentage),
     * GOMEMLIMIT (bytes with an optional unit), GODEBUG-style settings
     * (gctrace=1), and poisoning of swept objects (a debugging aid). */
    {"GC", .kind = OPT_PATH, .path = &hpi_options.gc},
    {"MEMLIMIT", .kind = OPT_PATH, .path = &hpi_options.memlimit},
    {"DEBUG", .kind = OPT_PATH, .path = &hpi_options.debug},
    {"GC_POISON", .value = &hpi_options.gc_poison, .kind = OPT_BOOL},
    /* Milliseconds between pool cycles (hp_pool_trim); 0: no timer. */
    {"POOL_TRIM_MS", .value = &hpi_options.pool_trim_ms, .kind = OPT_INT, .min = 0,
     .max = 86400000},
};

static int parse_choice(const char *s, const char *const *choices, int64_t *out)
{
    for (int64_t i = 0; choices[i] != NULL; i++)
        if (strcmp(s, choices[i]) == 0) return *out = i, 0;
    return EINVAL;
}

static void warn_choice(const char *name, const char *s, const option_t *o)
{
    char list[128] = "";
    for (size_t i = 0; o->choices[i] != NULL; i++) {
        if (i > 0) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, o->choices[i], sizeof list - strlen(list) - 1);
    }
    hpi_printf_err("ignoring %s=\"%.64s\": want one of %s; keeping %s", name, s, list,
                   o->choices[*o->value]);
}

static _Atomic int options_read;

static int parse_bool(const char *s, int64_t *out)
{
    static const char *const yes[] = {"1", "true", "on", "yes"};
    static const char *const no[] = {"0", "false", "off", "no"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0) return *out = 0, 0;
    }
    return EINVAL;
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;
    if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9'))) return EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') return EINVAL;
    *out = v;
    return 0;
}

static void read_option(const option_t *o)
{
    char name[64] = "HOTPATH_";
    strncat(name, o->name, sizeof name - strlen(name) - 1);
    const char *s = getenv(name);
    if (s == NULL || *s == '\0') return; /* empty: as if unset */
    if (o->kind == OPT_PATH) {
        *o->path = s;
        return;
    }
    int64_t v;
    int saved = errno;
    int err = o->kind == OPT_BOOL     ? parse_bool(s, &v)
              : o->kind == OPT_CHOICE ? parse_choice(s, o->choices, &v)
                                      : parse_int(s, &v);
    errno = saved;
    if (err == 0 && (o->kind != OPT_INT || (v >= o->min && v <= o->max))) {
        *o->value = v;
        return;
    }
    if (o->kind == OPT_CHOICE)
        warn_choice(name, s, o);
    else if (o->kind == OPT_BOOL)
        hpi_printf_err("ignoring %s=\"%.64s\": want 0 or 1; keeping %lld", name, s,
                       (long long)*o->value);
    else
        hpi_printf_err("ignoring %s=\"%.64s\": want an integer in [%lld, %lld]; keeping %lld", name,
                       s, (long long)o->min, (long long)o->max, (long long)*o->value);
}

/* Read the options once.  Before libc has set up the environment (an
 * allocation from the dynamic loader) it keeps the defaults and tries again
 * on a later call. */
HPI_CORE void hpi_options_init(void)
{
    if (atomic_load_explicit(&options_read, memory_order_acquire)) return;
    if (environ == NULL) return;
    int zero = 0;
    if (!atomic_compare_exchange_strong(&options_read, &zero, 1)) return;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        read_option(&table[i]);
}
