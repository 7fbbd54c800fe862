/* server.c: the debug HTTP server, Go's net/http/pprof for any C program.
 * See hotpath/http.h for the API and docs/HTTP.md for users.
 *
 * Design
 *
 * The gate (gate.c) owns the address users connect to (IPv4, IPv6 or a
 * Unix socket): it waits for each request head on one epoll thread, so
 * clients that stall mid-request hold no worker, then relays the request
 * to civetweb on a private loopback port.  civetweb (http/civet.h, loaded
 * with dlopen at the first start) accepts on one master thread and hands
 * connections to two worker threads; a handler runs for a worker and
 * writes the whole response itself.  It serves only the gate's relays.
 * There is no document root, so no file is ever served, and no
 * keep-alive: every response closes its connection.  Request heads are
 * capped at 16 KiB and must arrive within 5 s.
 *
 * Access: the address must be loopback unless HOTPATH_HTTP_PUBLIC=1, and
 * then a token (HOTPATH_HTTP_TOKEN) is required; when a token is set every
 * request must carry it as "Authorization: Bearer <token>" (compared in
 * constant time).  Only GET and HEAD are answered (POST too for symbol).
 *
 * Responses are built in memory or in a memfd (profiles are written by the
 * same hp_profile_write a program would call) and sent with a
 * Content-Length.  Handlers (pprof_handlers.c) run on a thread started per
 * request with a 4 MiB stack (civetweb's own are too small for libdw),
 * while the worker waits: they may allocate, lock and sleep.
 *
 * Start and stop are serialized by srv.lock; handlers read only srv.token,
 * which is fixed while the server runs.  A forked child does not inherit
 * the server's threads: it has no server (and may start its own).
 */
#define _GNU_SOURCE
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc/internal.h"
#include "hotpath/http.h"
#include "http/civet.h"
#include "http/gate.h"

#define HANDLER_STACK (4 << 20) /* bytes; touched only as deep as a handler goes */

static struct {
    hpi_lock_t lock;
    struct mg_context *ctx; /* lock: the running server, or NULL */
    int port;               /* lock: its port */
    char where[200];        /* lock: where it listens, for people */
    char token[256];        /* set before start, fixed while running */
} srv = {HPI_LOCK_INIT, NULL, 0, "", ""};

/* ---- responses ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

/* The status line and headers; extra: one more header line ("Name: value"),
 * or NULL. */
static void send_head(struct mg_connection *c, int status, const char *ctype, const char *attach,
                      const char *extra, size_t len)
{
    hpi_mg.mg_printf(c,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\n",
                     status, reason(status), ctype, len);
    if (attach != NULL)
        hpi_mg.mg_printf(c, "Content-Disposition: attachment; filename=\"%s\"\r\n", attach);
    if (extra != NULL) hpi_mg.mg_printf(c, "%s\r\n", extra);
    hpi_mg.mg_printf(c, "\r\n");
}

static bool is_head(struct mg_connection *c)
{
    return strcmp(hpi_mg.mg_get_request_info(c)->request_method, "HEAD") == 0;
}

static int reply(struct mg_connection *c, int status, const char *ctype, const char *attach,
                 const char *extra, const void *body, size_t len)
{
    send_head(c, status, ctype, attach, extra, len);
    if (!is_head(c) && len > 0) hpi_mg.mg_write(c, body, len);
    return status;
}

int hpi_http_reply(struct mg_connection *c, int status, const char *ctype, const char *attach,
                   const void *body, size_t len)
{
    return reply(c, status, ctype, attach, NULL, body, len);
}

int hpi_http_reply_built(struct mg_connection *c, const char *ctype,
                         int (*build)(FILE *f, void *arg), void *arg)
{
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (f == NULL) return hpi_http_error(c, 500, "out of memory");
    int err = build(f, arg);
    if (fclose(f) != 0 && err == 0) err = ENOMEM;
    int status = err == 0 ? hpi_http_reply(c, 200, ctype, NULL, body, len)
                          : hpi_http_error(c, 500, "%s", strerror(err));
    free(body);
    return status;
}

int hpi_http_error(struct mg_connection *c, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n > sizeof msg - 2) n = (int)sizeof msg - 2;
    msg[n++] = '\n';
    return hpi_http_reply(c, status, HPI_HTTP_TEXT, NULL, msg, (size_t)n);
}

int hpi_http_reply_fd(struct mg_connection *c, const char *ctype, const char *attach, int fd)
{
    off_t len = lseek(fd, 0, SEEK_END);
    if (len < 0) return hpi_http_error(c, 500, "reading the profile: %s", strerror(errno));
    send_head(c, 200, ctype, attach, NULL, (size_t)len);
    if (is_head(c)) return 200;
    char buf[16384];
    for (off_t off = 0; off < len;) {
        ssize_t n = pread(fd, buf, sizeof buf, off);
        if (n <= 0) break; /* the length is sent: the client sees a short body */
        if (hpi_mg.mg_write(c, buf, (size_t)n) <= 0) break; /* client gone */
        off += n;
    }
    return 200;
}

ssize_t hpi_http_cmdline(char *buf, size_t cap)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, cap);
    close(fd);
    if (n > 0 && buf[n - 1] == '\0') n--;
    return n;
}

int hpi_http_memfd(void)
{
    return memfd_create("hotpath-http", MFD_CLOEXEC);
}

/* ---- access ---- */

/* a == b, in time independent of where they differ. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

/* Only the gate's relays are served: civetweb's private port is open to
 * every local process, which must not bypass the gate's address. */
static bool from_gate(const struct mg_request_info *ri)
{
    return strcmp(ri->remote_addr, "127.0.0.1") == 0 && hpi_gate_owns(ri->remote_port);
}

static bool authorized(struct mg_connection *c)
{
    if (srv.token[0] == '\0') return true;
    const char *h = hpi_mg.mg_get_header(c, "Authorization");
    return h != NULL && strncmp(h, "Bearer ", 7) == 0 && same_secret(h + 7, srv.token);
}

/* A handler's call, made on a thread of our own: civetweb's workers have
 * 100 KiB stacks in Debian's build, too small for libdw, which writing a
 * profile calls.  The worker waits for it. */
typedef struct call {
    hpi_http_handler_t *h;
    struct mg_connection *c;
    const char *path, *query;
    int status;
} call_t;

static void *run_call(void *arg)
{
    call_t *k = arg;
    pthread_setname_np(pthread_self(), "hp-http");
    k->status = k->h(k->c, k->path, k->query);
    return NULL;
}

static int call_on_big_stack(call_t *k)
{
    pthread_attr_t a;
    pthread_t t;
    if (pthread_attr_init(&a) != 0) return hpi_http_error(k->c, 503, "cannot start a thread");
    pthread_attr_setstacksize(&a, HANDLER_STACK);
    int err = pthread_create(&t, &a, run_call, k);
    pthread_attr_destroy(&a);
    if (err != 0) return hpi_http_error(k->c, 503, "cannot start a thread: %s", strerror(err));
    pthread_join(t, NULL);
    return k->status;
}

/* Every request enters here: access and method checks, then the handler. */
static int entry(struct mg_connection *c, void *cbdata)
{
    const struct mg_request_info *ri = hpi_mg.mg_get_request_info(c);
    hpi_http_handler_t *h = (hpi_http_handler_t *)cbdata;
    if (!from_gate(ri)) return reply(c, 403, HPI_HTTP_TEXT, NULL, NULL, "forbidden\n", 10);
    if (!authorized(c))
        return reply(c, 401, HPI_HTTP_TEXT, NULL, "WWW-Authenticate: Bearer", "unauthorized\n", 13);
    const char *m = ri->request_method;
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "POST") != 0)
        return reply(c, 405, HPI_HTTP_TEXT, NULL, "Allow: GET, HEAD, POST", "method not allowed\n",
                     19);
    call_t k = {h, c, ri->local_uri ? ri->local_uri : "", ri->query_string ? ri->query_string : "",
                500};
    return call_on_big_stack(&k);
}

/* Anything else: 404, as a plain text answer (civetweb's own is HTML). */
static int not_found(struct mg_connection *c, const char *path, const char *query)
{
    (void)path, (void)query;
    return hpi_http_error(c, 404, "404 page not found");
}

/* ---- start and stop ---- */

/* Checks addr and the token; fills *a.  0 or an errno value (said). */
static int check_addr(const char *addr, const char *token, hpi_gate_addr_t *a)
{
    if (addr == NULL || hpi_gate_parse(addr, a) != 0) {
        hpi_printf_err("debug server: bad address \"%.64s\": want host:port (127.0.0.1:6060, "
                       "[::1]:6060) or unix:/absolute/path",
                       addr ? addr : "");
        return EINVAL;
    }
    if (!a->loopback && (!hpi_options.http_public || token[0] == '\0')) {
        hpi_printf_err("debug server: %s is not a loopback address; listening there needs "
                       "HOTPATH_HTTP_PUBLIC=1 and a token in HOTPATH_HTTP_TOKEN",
                       addr);
        return EACCES;
    }
    if (strlen(token) >= sizeof srv.token) {
        hpi_printf_err("debug server: HOTPATH_HTTP_TOKEN is longer than %zu bytes",
                       sizeof srv.token - 1);
        return EINVAL;
    }
    return 0;
}

/* civetweb on a private loopback port; its port, or 0. */
static int start_civetweb(void)
{
    hpi_mg.mg_init_library(0);
    const char *opts[] = {"listening_ports",    "127.0.0.1:0", "num_threads",       "2",
                          "request_timeout_ms", "5000",        "enable_keep_alive", "no",
                          "max_request_size",   "16384",       "connection_queue",  "32",
                          "listen_backlog",     "128",         NULL};
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    struct mg_context *ctx = hpi_mg.mg_start(&cb, NULL, opts);
    if (ctx == NULL) return 0;
    hpi_http_register(ctx, "/", entry, not_found);
    hpi_http_register_pprof(ctx, entry);
    hpi_http_register_vars(ctx, entry);
    hpi_http_register_metrics(ctx, entry);
    struct mg_server_port sp[1];
    int port = hpi_mg.mg_get_server_ports(ctx, 1, sp) >= 1 ? sp[0].port : 0;
    if (port == 0) {
        hpi_mg.mg_stop(ctx);
        return 0;
    }
    srv.ctx = ctx;
    return port;
}

static int start_locked(const char *addr)
{
    if (srv.ctx != NULL) return EBUSY;
    const char *token = hpi_options.http_token ? hpi_options.http_token : "";
    hpi_gate_addr_t a;
    int err = check_addr(addr, token, &a);
    if (err != 0) return err;
    if (hpi_mg_load() != 0) return ENOENT;
    strcpy(srv.token, token);
    int civet_port = start_civetweb();
    if (civet_port == 0) {
        hpi_printf_err("debug server: civetweb did not start on 127.0.0.1");
        return EADDRNOTAVAIL;
    }
    err = hpi_gate_start(&a, civet_port);
    if (err != 0) {
        hpi_printf_err("debug server: cannot listen on %s: %s", addr, strerror(err));
        hpi_mg.mg_stop(srv.ctx);
        srv.ctx = NULL;
        return err;
    }
    srv.port = hpi_gate_port();
    if (a.ss.ss_family == AF_UNIX)
        snprintf(srv.where, sizeof srv.where, "%s (curl --unix-socket %s http://localhost/debug/pprof/)",
                 addr, addr + 5);
    else if (addr[0] == ':')
        snprintf(srv.where, sizeof srv.where, "http://127.0.0.1:%d/debug/pprof/", srv.port);
    else
        snprintf(srv.where, sizeof srv.where, "http://%.*s:%d/debug/pprof/",
                 (int)(strrchr(addr, ':') - addr), addr, srv.port);
    return 0;
}

void hpi_http_register(struct mg_context *ctx, const char *uri, mg_request_handler entry_fn,
                       hpi_http_handler_t *h)
{
    hpi_mg.mg_set_request_handler(ctx, uri, entry_fn, (void *)h);
}

/* A forked child has none of the server's threads: it has no server (the
 * context is left as it is, never to be stopped from the child). */
static void fork_child(void)
{
    hpi_lock_reinit(&srv.lock);
    hpi_gate_fork_child();
    srv.ctx = NULL;
    srv.port = 0;
    srv.token[0] = '\0';
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void register_atfork(void)
{
    hpi_atfork(NULL, NULL, fork_child);
}

HP_API int hp_http_start(const char *addr)
{
    hpi_options_init();
    pthread_once(&atfork_once, register_atfork);
    hpi_lock(&srv.lock);
    int err = start_locked(addr);
    hpi_unlock(&srv.lock);
    return err;
}

HP_API void hp_http_stop(void)
{
    hpi_lock(&srv.lock);
    if (srv.ctx != NULL) {
        hpi_gate_stop();
        hpi_mg.mg_stop(srv.ctx);
        srv.ctx = NULL;
        srv.port = 0;
        srv.token[0] = '\0';
    }
    hpi_unlock(&srv.lock);
}

HP_API int hp_http_port(void)
{
    hpi_lock(&srv.lock);
    int port = srv.port;
    hpi_unlock(&srv.lock);
    return port;
}

/* HOTPATH_HTTP: serve from start-up, and say where.  Children inherit the
 * variable; with HOTPATH_HTTP_PID set, only that process serves. */
HPI_CORE __attribute__((constructor(200))) static void http_ctor(void)
{
    hpi_options_init();
    if (hpi_options.http == NULL) return;
    if (hpi_options.http_pid > 0 && hpi_options.http_pid != getpid()) return;
    if (hp_http_start(hpi_options.http) == 0)
        hpi_printf_err("debug server on %s", srv.where);
}
