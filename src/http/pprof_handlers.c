/* pprof_handlers.c: the /debug/pprof/ tree of the debug server, with Go's
 * net/http/pprof paths, parameters, status codes and messages.  See
 * server.c.
 *
 *   /debug/pprof/                   index of the profiles, with counts
 *   /debug/pprof/profile?seconds=N  CPU profile over N s (default 30)
 *   /debug/pprof/<name>?debug=N     heap allocs goroutine threadcreate
 *                                   mutex block (hp_profile_write)
 *   /debug/pprof/<name>?seconds=N   the same, as a delta over N s (delta.c)
 *   /debug/pprof/cmdline            the command line, NUL-separated
 *   /debug/pprof/symbol             addresses to function names
 *   /debug/pprof/trace              501 until the tracer exists
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hotpath/prof.h"
#include "gc/internal.h"
#include "hotpath/gc.h"
#include "http/server.h"
#include "prof/symbolize.h"

#define PREFIX "/debug/pprof"

typedef struct entry {
    const char *name, *desc;
    bool counted; /* a named profile with a record count */
} entry_t;

/* The index, sorted by name. */
static const entry_t entries[] = {
    {"allocs", "A sampling of every allocation since the program started.", true},
    {"block", "Stacks that waited on locks, condition variables, semaphores and joins "
              "(hp_set_block_profile_rate).", true},
    {"cmdline", "The command line of this process.", false},
    {"goroutine", "The stacks of all threads of the process now.", true},
    {"heap", "A sampling of the memory in use. Add ?gc=1 to sample after a "
             "collection (when the program uses the GC heap).", true},
    {"mutex", "Stacks that held contended mutexes, charged with the waiting they caused "
              "(hp_set_mutex_profile_fraction).", true},
    {"profile", "CPU profile over ?seconds=N (default 30); read it with go tool pprof.", false},
    {"threadcreate", "Stacks that created new threads.", true},
    {"trace", "Execution trace (not available yet).", false},
};

/* The integer parameter `key` of query: 1 and *v set; 0 when absent;
 * -1 when present but not an integer. */
static int query_int(const char *query, const char *key, int64_t *v)
{
    char buf[32];
    int n = hpi_mg.mg_get_var(query, strlen(query), key, buf, sizeof buf);
    if (n == -1) return 0;
    if (n < 0) return -1;
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    if (errno != 0 || end == buf || *end != '\0') return -1;
    *v = x;
    return 1;
}

static int build_index(FILE *f, void *arg)
{
    (void)arg;
    fputs("<!DOCTYPE html>\n<html><head><title>/debug/pprof/</title></head><body>\n"
          "<h1>/debug/pprof/</h1>\n<table>\n<tr><th>Count</th><th>Profile</th></tr>\n",
          f);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        const entry_t *e = &entries[i];
        if (e->counted)
            fprintf(f, "<tr><td>%" PRId64 "</td><td><a href=\"%s?debug=1\">%s</a></td></tr>\n",
                    hp_profile_count(e->name), e->name, e->name);
        else
            fprintf(f, "<tr><td></td><td><a href=\"%s\">%s</a></td></tr>\n", e->name, e->name);
    }
    fputs("</table>\n<p><a href=\"goroutine?debug=2\">full thread stack dump</a></p>\n<dl>\n", f);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        fprintf(f, "<dt>%s</dt><dd>%s</dd>\n", entries[i].name, entries[i].desc);
    fputs("</dl>\n</body></html>\n", f);
    return 0;
}

static void sleep_seconds(int64_t s)
{
    struct timespec ts = {(time_t)s, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Go's Profile handler: a bad or missing seconds means 30. */
static int cpu_profile(struct mg_connection *c, const char *query)
{
    int64_t sec = 0;
    if (query_int(query, "seconds", &sec) != 1 || sec <= 0) sec = 30;
    if (sec > 3600) return hpi_http_error(c, 400, "profile duration exceeds one hour");
    int fd = hpi_http_memfd();
    if (fd < 0) return hpi_http_error(c, 500, "Could not enable CPU profiling: %s", strerror(errno));
    int err = hp_cpuprofile_start(fd);
    if (err != 0) {
        close(fd);
        return hpi_http_error(c, 500, "Could not enable CPU profiling: %s",
                              err == EBUSY ? "cpu profiling already in use" : strerror(err));
    }
    sleep_seconds(sec);
    err = hp_cpuprofile_stop();
    int st = err == 0 ? hpi_http_reply_fd(c, HPI_HTTP_BINARY, "profile", fd)
                      : hpi_http_error(c, 500, "writing the CPU profile: %s", strerror(err));
    close(fd);
    return st;
}

/* A named profile (Go's handler.ServeHTTP). */
static int named_profile(struct mg_connection *c, const char *name, const char *query)
{
    if (hp_profile_count(name) < 0) return hpi_http_error(c, 404, "Unknown profile");
    int64_t sec = 0, debug = 0;
    int has_sec = query_int(query, "seconds", &sec);
    if (has_sec != 0) {
        if (has_sec < 0 || sec <= 0)
            return hpi_http_error(c, 400,
                                  "invalid value for \"seconds\" - must be a positive integer");
        if (query_int(query, "debug", &debug) == 1 && debug != 0)
            return hpi_http_error(c, 400, "seconds and debug params are incompatible");
        if (sec > 3600) return hpi_http_error(c, 400, "profile duration exceeds one hour");
        return hpi_http_delta(c, name, sec);
    }
    if (query_int(query, "debug", &debug) != 1 || debug < 0) debug = 0; /* Go's Atoi: bad is 0 */
    if (debug > 2) debug = 2;
    int64_t gc = 0; /* heap?gc=1: collect first, as Go does, if the GC heap is in use */
    if (strcmp(name, "heap") == 0 && query_int(query, "gc", &gc) == 1 && gc > 0 && hpi_gc_in_use())
        hp_gc_collect();
    int fd = hpi_http_memfd();
    if (fd < 0) return hpi_http_error(c, 500, "%s", strerror(errno));
    int err = hp_profile_write(name, fd, (int)debug);
    int st = err == 0 ? hpi_http_reply_fd(c, debug ? HPI_HTTP_TEXT : HPI_HTTP_BINARY,
                                          debug ? NULL : name, fd)
                      : hpi_http_error(c, 500, "writing profile %s: %s", name, strerror(err));
    close(fd);
    return st;
}

/* Go's Cmdline: the arguments joined by NUL bytes. */
static int cmdline(struct mg_connection *c)
{
    char buf[65536];
    ssize_t n = hpi_http_cmdline(buf, sizeof buf);
    if (n < 0) return hpi_http_error(c, 500, "reading the command line: %s", strerror(errno));
    return hpi_http_reply(c, 200, HPI_HTTP_TEXT, NULL, buf, (size_t)n);
}

/* The request body, up to max bytes, NUL-terminated; NULL when larger or
 * out of memory (*too_big says which). */
static char *read_body(struct mg_connection *c, size_t max, bool *too_big)
{
    *too_big = false;
    char *b = malloc(max + 1);
    if (b == NULL) return NULL;
    size_t n = 0;
    int r;
    while ((r = hpi_mg.mg_read(c, b + n, max + 1 - n)) > 0) {
        n += (size_t)r;
        if (n > max) {
            *too_big = true;
            free(b);
            return NULL;
        }
    }
    b[n] = '\0';
    return b;
}

/* Go's Symbol: "num_symbols: 1", then "0x<pc> <function>" for each address
 * of a '+'-separated list (the POST body, or the query of a GET) that
 * names a function. */
static int build_symbols(FILE *f, void *arg)
{
    char *list = arg;
    fputs("num_symbols: 1\n", f);
    hpi_symtab_t *t = list[0] != '\0' ? hpi_symtab_open() : NULL;
    char *save = NULL;
    for (char *w = strtok_r(list, "+", &save); t != NULL && w != NULL;
         w = strtok_r(NULL, "+", &save)) {
        uint64_t pc = strtoull(w, NULL, 0);
        hpi_frame_t fr[8];
        if (pc == 0 || hpi_symtab_lookup(t, pc, fr, 8) < 1) continue;
        if (strncmp(fr[0].func, "0x", 2) != 0) fprintf(f, "%#" PRIx64 " %s\n", pc, fr[0].func);
    }
    if (t != NULL) hpi_symtab_close(t);
    return 0;
}

static int symbol(struct mg_connection *c, const char *query)
{
    bool post = strcmp(hpi_mg.mg_get_request_info(c)->request_method, "POST") == 0;
    bool too_big;
    char *list = post ? read_body(c, 1 << 20, &too_big) : strdup(query);
    if (list == NULL)
        return post && too_big ? hpi_http_error(c, 413, "symbol request larger than 1 MiB")
                               : hpi_http_error(c, 500, "out of memory");
    int st = hpi_http_reply_built(c, HPI_HTTP_TEXT, build_symbols, list);
    free(list);
    return st;
}

static int pprof_tree(struct mg_connection *c, const char *path, const char *query)
{
    const char *name = path + strlen(PREFIX);
    if (*name == '\0') {
        hpi_mg.mg_printf(c, "HTTP/1.1 301 Moved Permanently\r\nLocation: " PREFIX "/\r\n"
                            "Content-Length: 0\r\nConnection: close\r\n\r\n");
        return 301;
    }
    name++; /* the '/' */
    if (*name == '\0') return hpi_http_reply_built(c, "text/html; charset=utf-8", build_index, NULL);
    if (strcmp(name, "profile") == 0) return cpu_profile(c, query);
    if (strcmp(name, "cmdline") == 0) return cmdline(c);
    if (strcmp(name, "symbol") == 0) return symbol(c, query);
    if (strcmp(name, "trace") == 0)
        return hpi_http_error(c, 501, "the execution tracer is not available yet");
    return named_profile(c, name, query);
}

void hpi_http_register_pprof(struct mg_context *ctx, mg_request_handler entry_fn)
{
    hpi_http_register(ctx, PREFIX, entry_fn, pprof_tree);
}
