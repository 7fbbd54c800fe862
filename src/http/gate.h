/* gate.h: the debug server's front door (gate.c): it owns the socket users
 * connect to, waits for complete request heads without holding a civetweb
 * worker, and relays each request to civetweb's private loopback port. */
#ifndef HPI_HTTP_GATE_H
#define HPI_HTTP_GATE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "alloc/internal.h"

typedef struct hpi_gate_addr {
    struct sockaddr_storage ss; /* AF_INET, AF_INET6 or AF_UNIX */
    socklen_t len;
    bool loopback; /* reachable from this machine only (a Unix socket is) */
} hpi_gate_addr_t;

/* "host:port" (host: IPv4, "[IPv6]", "localhost" or empty for 127.0.0.1)
 * or "unix:/absolute/path" into a.  0 or EINVAL. */
HPI_INTERNAL int hpi_gate_parse(const char *addr, hpi_gate_addr_t *a);
/* Listen on a and relay to 127.0.0.1:civet_port on a thread of its own.
 * 0 or an errno value (EADDRINUSE, EADDRNOTAVAIL, EACCES, ...).  Callers
 * serialize start and stop. */
HPI_INTERNAL int hpi_gate_start(const hpi_gate_addr_t *a, int civet_port);
/* Stop the thread, close every connection, remove a Unix socket file. */
HPI_INTERNAL void hpi_gate_stop(void);
/* In a forked child: forget the gate (its thread is not there). */
HPI_INTERNAL void hpi_gate_fork_child(void);
/* The TCP port listened on (0 for a Unix socket). */
HPI_INTERNAL int hpi_gate_port(void);
/* Whether a connection to civetweb from 127.0.0.1:port is one of the
 * gate's relays. */
HPI_INTERNAL bool hpi_gate_owns(int port);

#endif /* HPI_HTTP_GATE_H */
