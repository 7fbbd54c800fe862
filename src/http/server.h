/* server.h: the debug server's internal interface, for its handlers.
 * See server.c. */
#ifndef HPI_HTTP_SERVER_H
#define HPI_HTTP_SERVER_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdint.h>

#include "http/civet.h"

#define HPI_HTTP_TEXT "text/plain; charset=utf-8"
#define HPI_HTTP_BINARY "application/octet-stream"

/* A handler: path is the decoded local URI, query the raw query string
 * ("" when none).  Returns the HTTP status it sent. */
typedef int hpi_http_handler_t(struct mg_connection *c, const char *path, const char *query);

/* Send a whole response (no body for HEAD).  attach: the file name of a
 * Content-Disposition attachment, or NULL.  Returns status. */
HPI_INTERNAL int hpi_http_reply(struct mg_connection *c, int status, const char *ctype,
                                const char *attach, const void *body, size_t len);
/* A text/plain error: the formatted message and a newline, as Go's pprof
 * handlers send.  Returns status. */
HPI_INTERNAL int hpi_http_error(struct mg_connection *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 200 with a body that build(f, arg) prints into f (a memory stream), or
 * 500 with the errno value build returns. */
HPI_INTERNAL int hpi_http_reply_built(struct mg_connection *c, const char *ctype,
                                      int (*build)(FILE *f, void *arg), void *arg);
/* 200 with the content of fd (from offset 0) as the body. */
HPI_INTERNAL int hpi_http_reply_fd(struct mg_connection *c, const char *ctype, const char *attach,
                                   int fd);
/* The process's command line, its arguments separated by NUL bytes (the
 * last one not terminated), at most cap bytes; its length, or -1. */
HPI_INTERNAL ssize_t hpi_http_cmdline(char *buf, size_t cap);
/* A memory file to write a response into, or -1 (errno set). */
HPI_INTERNAL int hpi_http_memfd(void);

/* Answer with the delta of the named profile over sec seconds (delta.c). */
HPI_INTERNAL int hpi_http_delta(struct mg_connection *c, const char *name, int64_t sec);

/* Route uri (and everything under it) through entry_fn to h. */
HPI_INTERNAL void hpi_http_register(struct mg_context *ctx, const char *uri,
                                    mg_request_handler entry_fn, hpi_http_handler_t *h);
/* The /debug/pprof/ tree (pprof_handlers.c), /debug/vars (vars.c) and
 * /metrics (metrics.c). */
HPI_INTERNAL void hpi_http_register_pprof(struct mg_context *ctx, mg_request_handler entry_fn);
HPI_INTERNAL void hpi_http_register_vars(struct mg_context *ctx, mg_request_handler entry_fn);
HPI_INTERNAL void hpi_http_register_metrics(struct mg_context *ctx, mg_request_handler entry_fn);

#endif /* HPI_HTTP_SERVER_H */
