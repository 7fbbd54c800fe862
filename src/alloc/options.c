/* options.c: every option of the allocator, in one table, read once from
 * HOTPATH_<NAME> environment variables.  A bad value warns on stderr and keeps
 * the default; nothing here calls malloc.  docs/OPTIONS.md lists the same
 * table for users: keep the two together. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc/internal.h"

extern char **environ;

hpi_options_t hpi_options = {
    .scavenge_delay_ms = 5000,
    .background_thread = 1,
    .verbose = 0,
};

typedef struct option {
    const char *name; /* after HOTPATH_ */
    int64_t *value;
    int64_t min, max;
    int is_bool;
} option_t;

static const option_t table[] = {
    /* Idle time, in milliseconds, before free pages are returned to the OS. */
    {"SCAVENGE_DELAY_MS", &hpi_options.scavenge_delay_ms, 0, 86400000, 0},
    /* 1: return memory from a background thread; 0: inline, in free(). */
    {"BACKGROUND_THREAD", &hpi_options.background_thread, 0, 1, 1},
    /* 1: report odd events (frees of foreign pointers) on stderr. */
    {"VERBOSE", &hpi_options.verbose, 0, 1, 1},
};

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
    int64_t v;
    int saved = errno;
    int err = o->is_bool ? parse_bool(s, &v) : parse_int(s, &v);
    errno = saved;
    if (err == 0 && v >= o->min && v <= o->max) {
        *o->value = v;
        return;
    }
    if (o->is_bool)
        hpi_printf_err("ignoring %s=\"%.64s\": want 0 or 1; keeping %lld", name, s,
                       (long long)*o->value);
    else
        hpi_printf_err("ignoring %s=\"%.64s\": want an integer in [%lld, %lld]; keeping %lld",
                       name, s, (long long)o->min, (long long)o->max, (long long)*o->value);
}

/* Read the options once.  Before libc has set up the environment (an
 * allocation from the dynamic loader) it keeps the defaults and tries again
 * on a later call. */
void hpi_options_init(void)
{
    if (atomic_load_explicit(&options_read, memory_order_acquire)) return;
    if (environ == NULL) return;
    int zero = 0;
    if (!atomic_compare_exchange_strong(&options_read, &zero, 1)) return;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) read_option(&table[i]);
}
