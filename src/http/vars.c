/* vars.c: /debug/vars, Go's expvar JSON: "cmdline" (the arguments) and
 * "memstats" with runtime.MemStats' field names, so that tools made for Go
 * programs (expvarmon and the like) read it.  Go's garbage-collector fields
 * are those of hotpath's GC heap (zero, EnableGC false, in a program that
 * does not use it); fields Go lacks are under "hotpath".  See server.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc/internal.h"
#include "http/server.h"
#include "http/stats_fields.h"

/* s[0..n) as a JSON string: quotes, backslashes and control bytes escaped. */
static void json_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void cmdline(FILE *f)
{
    char buf[65536];
    ssize_t n = hpi_http_cmdline(buf, sizeof buf);
    fputs("\"cmdline\": [", f);
    for (ssize_t i = 0; i <= n && n > 0;) { /* n: the last argument is not terminated */
        size_t len = strnlen(buf + i, (size_t)(n - i));
        if (i > 0) fputs(", ", f);
        json_string(f, buf + i, len);
        i += (ssize_t)len + 1;
    }
    fputs("]", f);
}

/* Go's GC fields beyond the table: the pause rings and the CPU fraction;
 * those hotpath does not have (stacks are the threads', not the heap's) are 0. */
static void gc_fields(FILE *f, const hp_memstats_t *st)
{
    static const char *const zero[] = {"Lookups", "StackInuse", "StackSys", "BuckHashSys", "GCSys"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        fprintf(f, ", \"%s\": 0", zero[i]);
    for (int k = 0; k < 2; k++) {
        const uint64_t *ring = k ? st->pause_end : st->pause_ns;
        fprintf(f, ", \"%s\": [", k ? "PauseEnd" : "PauseNs");
        for (int i = 0; i < 256; i++) fprintf(f, "%s%" PRIu64, i ? "," : "", ring[i]);
        fputs("]", f);
    }
    fprintf(f, ", \"GCCPUFraction\": %.17g, \"EnableGC\": %s, \"DebugGC\": false",
            st->gc_cpu_fraction, hpi_gc_in_use() ? "true" : "false");
}

static void memstats(FILE *f, const hp_memstats_t *st, bool go)
{
    bool first = true;
    for (int i = 0; i < hpi_stat_nfields; i++) {
        const hpi_stat_field_t *fl = &hpi_stat_fields[i];
        if (fl->in_go != go) continue;
        fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", fl->name, hpi_stat_value(st, fl));
        first = false;
    }
    if (!go) return;
    gc_fields(f, st);
    fputs(", \"BySize\": [", f);
    for (int c = 0; c < HP_NUM_SIZE_CLASSES; c++)
        fprintf(f, "%s{\"Size\": %" PRIu32 ", \"Mallocs\": %" PRIu64 ", \"Frees\": %" PRIu64 "}",
                c ? ", " : "", st->by_size[c].size, st->by_size[c].mallocs, st->by_size[c].frees);
    fputs("]", f);
}

static int build_vars(FILE *f, void *arg)
{
    (void)arg;
    hp_memstats_t st; /* handlers run on a 4 MiB stack */
    hp_read_memstats(&st);
    fputs("{\n", f);
    cmdline(f);
    fputs(",\n\"memstats\": {", f);
    memstats(f, &st, true);
    fputs("},\n\"hotpath\": {", f);
    memstats(f, &st, false);
    fputs("}\n}\n", f);
    return 0;
}

static int vars(struct mg_connection *c, const char *path, const char *query)
{
    (void)query;
    if (strcmp(path, "/debug/vars") != 0) return hpi_http_error(c, 404, "404 page not found");
    return hpi_http_reply_built(c, "application/json; charset=utf-8", build_vars, NULL);
}

void hpi_http_register_vars(struct mg_context *ctx, mg_request_handler entry_fn)
{
    hpi_http_register(ctx, "/debug/vars", entry_fn, vars);
}
