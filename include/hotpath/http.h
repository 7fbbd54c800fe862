/* hotpath/http.h: the live debug server, like Go's net/http/pprof.
 *
 *   hp_http_start("127.0.0.1:6060");
 *   go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=5
 *
 * Endpoints under /debug/pprof/: the index, profile?seconds=N (CPU),
 * heap, allocs, goroutine (debug=0|1|2), threadcreate, mutex, block,
 * cmdline and symbol, with Go's status codes and messages; /debug/vars
 * (Go's expvar JSON with MemStats) and /metrics (Prometheus text).
 *
 * The server listens on loopback only, unless the address is another one
 * and HOTPATH_HTTP_PUBLIC=1 and a token (HOTPATH_HTTP_TOKEN) are set; with
 * a token every request needs "Authorization: Bearer <token>".  A Unix
 * socket is also served.  Two worker threads; no files are ever served.
 *
 * Environment: HOTPATH_HTTP=addr starts it when the program starts (also
 * `hotpath run -http addr -- prog`).  See docs/HTTP.md.
 */
#ifndef HOTPATH_HTTP_H
#define HOTPATH_HTTP_H

#ifdef __cplusplus
extern "C" {
#endif

/* Start the server on addr: "host:port" with host an IPv4 address,
 * "localhost" or empty (= 127.0.0.1), or "[IPv6]:port", or
 * "unix:/absolute/path" for a Unix socket; port 0 picks a free port (see
 * hp_http_port).  Returns 0, or EBUSY (already running), EINVAL (bad
 * address), EACCES (not loopback, and not allowed by HOTPATH_HTTP_PUBLIC=1
 * with HOTPATH_HTTP_TOKEN), ENOENT (civetweb, Debian package libcivetweb1,
 * missing), EADDRINUSE (in use; a Unix socket a live server holds),
 * EADDRNOTAVAIL (not an address of this machine) or another errno value
 * from socket, bind or listen. */
int hp_http_start(const char *addr);

/* Stop the server (waits for requests in progress).  No-op when stopped. */
void hp_http_stop(void);

/* The TCP port the server listens on, or 0 when it is not running or
 * listens on a Unix socket. */
int hp_http_port(void);

#ifdef __cplusplus
}
#endif

#endif /* HOTPATH_HTTP_H */
