/* gate.c: the debug server's front door.  See server.c for the server.
 *
 * Why
 *
 * civetweb reads each request head on one of its two workers, blocking, for
 * up to the 5 s request timeout: a client that sends half a request and
 * stalls holds a worker that long, and 100 such clients would shut everyone
 * out for minutes.  The gate owns the socket users connect to (TCP over
 * IPv4 or IPv6, or a Unix socket) and reads every connection's request head
 * on one thread with epoll, so a stalled client holds only a slot here.
 *
 * How
 *
 * 1. accept: a new connection takes a free slot and waits in state HEAD.
 *    When MAX_WAITING heads wait, the oldest is dropped for the new one.
 * 2. HEAD: bytes are read into the slot's up buffer until the head is
 *    complete (an empty line), the buffer is full (civetweb will answer
 *    "too large") or the client has closed its side.  A head not done in
 *    HEAD_TIMEOUT_MS is dropped.
 * 3. RELAY: the gate connects to civetweb, which listens on a private
 *    loopback port, and moves bytes both ways (client -> up -> civetweb,
 *    civetweb -> down -> client), passing half-closes on.  civetweb closes
 *    after every response (no keep-alive); when the client has taken the
 *    rest, the slot is freed.  A client that does not take it within
 *    DRAIN_TIMEOUT_MS is dropped.
 *
 * civetweb's private port is reachable by any local process, so handlers
 * serve only connections the gate made: hpi_gate_owns(remote port) looks
 * the port up among the live relays' local ports.
 *
 * Threads: the gate thread alone touches the slots' state, buffers and fds
 * while it runs; start and stop (under server.c's lock) create and join it.
 * relay_port[] is written by the gate thread and read by handlers (atomic).
 */
#define _GNU_SOURCE
#include "http/gate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc/internal.h"

#define MAX_CONNS 256        /* slots: waiting heads and relays */
#define MAX_WAITING 192      /* slots in HEAD at most; the rest is for relays */
#define BUF_SIZE 16384       /* each direction; also the request head cap */
#define HEAD_TIMEOUT_MS 5000 /* a head must be complete within this */
#define DRAIN_TIMEOUT_MS 5000
#define ACCEPT_PAUSE_MS 100 /* out of fds: stop accepting this long */

#define KEY_LISTEN UINT64_MAX
#define KEY_WAKE (UINT64_MAX - 1)

typedef enum { SLOT_FREE, SLOT_HEAD, SLOT_RELAY } slot_state_t;

typedef struct gbuf {
    char *p;     /* BUF_SIZE bytes, allocated when the slot is taken */
    size_t off;  /* next byte to send */
    size_t len;  /* bytes held */
    bool eof;    /* the side that fills it has closed */
    bool passed; /* the eof was passed on (shutdown of the other side) */
} gbuf_t;

typedef struct slot {
    slot_state_t state;
    int cfd;             /* the client's connection */
    int sfd;             /* to civetweb, in RELAY; else -1 */
    int64_t born_ms;     /* accepted at (for dropping the oldest head) */
    int64_t deadline_ms; /* dropped at, or 0 */
    gbuf_t up, down;     /* client -> civetweb, civetweb -> client */
} slot_t;

static struct {
    int lfd, efd, wfd;     /* listener, epoll, eventfd to wake the thread */
    struct sockaddr_in to; /* civetweb's private address */
    char unix_path[108];   /* a Unix socket's path, to unlink at stop; or "" */
    int port;              /* the TCP port listened on; 0 for a Unix socket */
    int64_t paused_until;  /* accepting stopped until then (out of fds) */
    pthread_t thread;
    bool running;
} gate = {.lfd = -1, .efd = -1, .wfd = -1};

/* The connections (the gate thread, as above).  Apart from gate, so that
 * zero-initialised they cost no page of the library's file (.bss). */
static slot_t slots[MAX_CONNS];

static _Atomic uint16_t relay_port[MAX_CONNS]; /* local ports of live relays */

static int64_t now_ms(void)
{
    return (int64_t)(hpi_nanotime() / 1000000);
}

/* ---- addresses ---- */

static int parse_unix(const char *path, hpi_gate_addr_t *a)
{
    struct sockaddr_un *u = (struct sockaddr_un *)&a->ss;
    if (path[0] != '/' || strlen(path) >= sizeof u->sun_path) return EINVAL;
    u->sun_family = AF_UNIX;
    strcpy(u->sun_path, path);
    a->len = sizeof *u;
    a->loopback = true; /* reachable only through the file system */
    return 0;
}

/* host (without brackets for IPv6) and port into a. */
static int parse_inet(const char *host, long port, hpi_gate_addr_t *a)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
    if (host[0] == '\0' || strcmp(host, "localhost") == 0) host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        a->len = sizeof *v4;
        a->loopback = ((const unsigned char *)&v4->sin_addr)[0] == 127;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        a->len = sizeof *v6;
        a->loopback = IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
        return 0;
    }
    return EINVAL;
}

int hpi_gate_parse(const char *addr, hpi_gate_addr_t *a)
{
    memset(a, 0, sizeof *a);
    if (strncmp(addr, "unix:", 5) == 0) return parse_unix(addr + 5, a);
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5 ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1))
        return EINVAL;
    long port = strtol(colon + 1, NULL, 10);
    char host[64];
    size_t hl = (size_t)(colon - addr);
    if (port > 65535 || hl >= sizeof host) return EINVAL;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (strchr(host + 1, ':') == NULL) return EINVAL; /* [1.2.3.4] */
        return parse_inet(host + 1, port, a);
    }
    if (strchr(host, ':') != NULL) return EINVAL; /* IPv6 needs brackets */
    return parse_inet(host, port, a);
}

/* ---- slots ---- */

static void buf_reset(gbuf_t *b)
{
    b->off = b->len = 0;
    b->eof = b->passed = false;
}

static void close_watched(int *fd)
{
    if (*fd < 0) return;
    /* Remove it first: a forked child's copy would keep it in the set. */
    if (gate.efd >= 0) epoll_ctl(gate.efd, EPOLL_CTL_DEL, *fd, NULL);
    close(*fd);
    *fd = -1;
}

static void slot_close(int i)
{
    slot_t *s = &slots[i];
    atomic_store_explicit(&relay_port[i], 0, memory_order_release);
    close_watched(&s->cfd);
    close_watched(&s->sfd);
    s->state = SLOT_FREE;
    s->deadline_ms = 0;
}

/* Interest of fd in epoll for slot i, side 0 (client) or 1 (civetweb). */
static void watch(int op, int fd, int i, int side, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)i << 1 | (uint64_t)side};
    epoll_ctl(gate.efd, op, fd, &ev);
}

/* A free slot, dropping the oldest waiting head when too many wait;
 * -1 when every slot relays. */
static int slot_take(void)
{
    int nwait = 0, oldest = -1, free_i = -1;
    for (int i = 0; i < MAX_CONNS; i++) {
        slot_t *s = &slots[i];
        if (s->state == SLOT_FREE && free_i < 0) free_i = i;
        if (s->state != SLOT_HEAD) continue;
        nwait++;
        if (oldest < 0 || s->born_ms < slots[oldest].born_ms) oldest = i;
    }
    if (oldest >= 0 && (nwait >= MAX_WAITING || free_i < 0)) {
        slot_close(oldest);
        return oldest;
    }
    return free_i;
}

static bool slot_alloc(slot_t *s)
{
    if (s->up.p == NULL) s->up.p = malloc(BUF_SIZE);
    if (s->down.p == NULL) s->down.p = malloc(BUF_SIZE);
    return s->up.p != NULL && s->down.p != NULL;
}

static void accept_one(int fd)
{
    int i = slot_take();
    slot_t *s = i >= 0 ? &slots[i] : NULL;
    if (s == NULL || !slot_alloc(s)) {
        close(fd);
        return;
    }
    s->state = SLOT_HEAD;
    s->cfd = fd;
    s->sfd = -1;
    s->born_ms = now_ms();
    s->deadline_ms = s->born_ms + HEAD_TIMEOUT_MS;
    buf_reset(&s->up);
    buf_reset(&s->down);
    watch(EPOLL_CTL_ADD, fd, i, 0, EPOLLIN);
}

static void accept_all(void)
{
    for (;;) {
        int fd = accept4(gate.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            accept_one(fd);
            continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            gate.paused_until = now_ms() + ACCEPT_PAUSE_MS;
            watch(EPOLL_CTL_DEL, gate.lfd, 0, 0, 0);
        }
        return; /* EAGAIN, or a connection that went away before accept */
    }
}

/* ---- moving bytes ---- */

/* Read from fd into b while there is room.  false on a read error. */
static bool fill(int fd, gbuf_t *b)
{
    while (!b->eof && b->len < BUF_SIZE) {
        ssize_t n = recv(fd, b->p + b->len, BUF_SIZE - b->len, 0);
        if (n > 0) {
            b->len += (size_t)n;
        } else if (n == 0) {
            b->eof = true;
        } else {
            return errno == EAGAIN || errno == EINTR;
        }
    }
    return true;
}

/* Send b's bytes to fd; when all are sent and b's side has closed, pass
 * the close on.  false on a write error. */
static bool drain(int fd, gbuf_t *b)
{
    while (b->off < b->len) {
        ssize_t n = send(fd, b->p + b->off, b->len - b->off, MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EINTR;
        b->off += (size_t)n;
    }
    b->off = b->len = 0;
    if (b->eof && !b->passed) {
        shutdown(fd, SHUT_WR);
        b->passed = true;
    }
    return true;
}

static bool head_done(const gbuf_t *b)
{
    return b->eof || b->len == BUF_SIZE || memmem(b->p, b->len, "\r\n\r\n", 4) != NULL ||
           memmem(b->p, b->len, "\n\n", 2) != NULL;
}

/* HEAD -> RELAY: connect to civetweb.  false when it cannot be reached. */
static bool link_up(int i)
{
    slot_t *s = &slots[i];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    if (connect(fd, (struct sockaddr *)&gate.to, sizeof gate.to) != 0 && errno != EINPROGRESS) {
        close(fd);
        return false;
    }
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0) {
        close(fd);
        return false;
    }
    atomic_store_explicit(&relay_port[i], ntohs(me.sin_port), memory_order_release);
    s->sfd = fd;
    s->state = SLOT_RELAY;
    s->deadline_ms = 0;
    watch(EPOLL_CTL_ADD, fd, i, 1, EPOLLOUT);
    return true;
}

/* Events to wait for on each side, from the buffers' state. */
static void rewatch(int i)
{
    slot_t *s = &slots[i];
    uint32_t ce = 0, se = 0;
    if (!s->up.eof && s->up.len < BUF_SIZE) ce |= EPOLLIN;
    if (s->down.len > s->down.off) ce |= EPOLLOUT;
    watch(EPOLL_CTL_MOD, s->cfd, i, 0, ce);
    if (s->sfd < 0) return;
    if (!s->down.eof && s->down.len < BUF_SIZE) se |= EPOLLIN;
    if (s->up.len > s->up.off) se |= EPOLLOUT;
    watch(EPOLL_CTL_MOD, s->sfd, i, 1, se);
}

/* RELAY: move what can be moved.  Once civetweb has closed (its answer is
 * complete) its socket is closed and what the client still sends is
 * dropped.  false when a side broke. */
static bool relay(int i)
{
    slot_t *s = &slots[i];
    if (s->sfd >= 0) {
        if (!drain(s->sfd, &s->up) || !fill(s->sfd, &s->down)) return false;
        if (s->down.eof) {
            atomic_store_explicit(&relay_port[i], 0, memory_order_release);
            close_watched(&s->sfd);
            s->deadline_ms = now_ms() + DRAIN_TIMEOUT_MS;
        }
    } else {
        s->up.off = s->up.len = 0;
    }
    return drain(s->cfd, &s->down);
}

static bool slot_done(const slot_t *s)
{
    if (s->state == SLOT_HEAD) return s->up.eof && s->up.len == 0;
    return s->down.eof && s->down.passed;
}

/* Move what can be moved for slot i after events on side (0: client,
 * 1: civetweb); close it when it is done or broken.  A client whose socket
 * is shut both ways (or in error) wants nothing more. */
static void pump(int i, int side, uint32_t events)
{
    slot_t *s = &slots[i];
    bool ok = !(side == 0 && (events & (EPOLLHUP | EPOLLERR)));
    if (ok) ok = fill(s->cfd, &s->up);
    if (ok && s->state == SLOT_HEAD && head_done(&s->up)) ok = link_up(i);
    if (ok && s->state == SLOT_RELAY) ok = relay(i);
    if (!ok || slot_done(s)) {
        slot_close(i);
        return;
    }
    rewatch(i);
}

/* ---- the thread ---- */

/* Drop slots past their deadline; the wait until the next one (ms). */
static int expire(void)
{
    int64_t now = now_ms(), next = now + 1000;
    for (int i = 0; i < MAX_CONNS; i++) {
        slot_t *s = &slots[i];
        if (s->state == SLOT_FREE || s->deadline_ms == 0) continue;
        if (s->deadline_ms <= now)
            slot_close(i);
        else if (s->deadline_ms < next)
            next = s->deadline_ms;
    }
    if (gate.paused_until != 0 && gate.paused_until <= now) {
        gate.paused_until = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = KEY_LISTEN};
        epoll_ctl(gate.efd, EPOLL_CTL_ADD, gate.lfd, &ev);
    }
    if (gate.paused_until != 0 && gate.paused_until < next) next = gate.paused_until;
    return (int)(next - now);
}

static void *gate_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "hp-http-gate");
    struct epoll_event ev[64];
    for (;;) {
        int n = epoll_wait(gate.efd, ev, 64, expire());
        for (int k = 0; k < n; k++) {
            uint64_t key = ev[k].data.u64;
            if (key == KEY_WAKE) return NULL;
            if (key == KEY_LISTEN) {
                accept_all();
                continue;
            }
            int i = (int)(key >> 1);
            if (slots[i].state != SLOT_FREE) pump(i, (int)(key & 1), ev[k].events);
        }
    }
}

/* ---- start and stop ---- */

/* A Unix socket file left by a dead process is removed; a live one is
 * not.  0 or EADDRINUSE. */
static int clear_stale_unix(const struct sockaddr_un *u)
{
    struct stat st;
    if (lstat(u->sun_path, &st) != 0) return 0;
    if (!S_ISSOCK(st.st_mode)) return EADDRINUSE;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return EADDRINUSE;
    int live = connect(fd, (const struct sockaddr *)u, sizeof *u) == 0 || errno != ECONNREFUSED;
    close(fd);
    if (live) return EADDRINUSE;
    unlink(u->sun_path);
    return 0;
}

static int listen_on(const hpi_gate_addr_t *a)
{
    int fam = a->ss.ss_family;
    if (fam == AF_UNIX && clear_stale_unix((const struct sockaddr_un *)&a->ss) != 0)
        return EADDRINUSE;
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    int one = 1;
    if (fam != AF_UNIX) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fam == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, 512) != 0) {
        int err = errno;
        close(fd);
        return err;
    }
    gate.lfd = fd;
    struct sockaddr_storage me;
    socklen_t ml = sizeof me;
    gate.port = 0;
    if (fam != AF_UNIX && getsockname(fd, (struct sockaddr *)&me, &ml) == 0)
        gate.port = ntohs(fam == AF_INET ? ((struct sockaddr_in *)&me)->sin_port
                                         : ((struct sockaddr_in6 *)&me)->sin6_port);
    if (fam == AF_UNIX)
        strcpy(gate.unix_path, ((const struct sockaddr_un *)&a->ss)->sun_path);
    return 0;
}

static void close_fds(void)
{
    for (int i = 0; i < MAX_CONNS; i++)
        if (slots[i].state != SLOT_FREE) slot_close(i);
    if (gate.lfd >= 0) close(gate.lfd);
    if (gate.efd >= 0) close(gate.efd);
    if (gate.wfd >= 0) close(gate.wfd);
    gate.lfd = gate.efd = gate.wfd = -1;
}

static int setup(void)
{
    gate.efd = epoll_create1(EPOLL_CLOEXEC);
    gate.wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (gate.efd < 0 || gate.wfd < 0) return errno;
    struct epoll_event l = {.events = EPOLLIN, .data.u64 = KEY_LISTEN};
    struct epoll_event w = {.events = EPOLLIN, .data.u64 = KEY_WAKE};
    if (epoll_ctl(gate.efd, EPOLL_CTL_ADD, gate.lfd, &l) != 0 ||
        epoll_ctl(gate.efd, EPOLL_CTL_ADD, gate.wfd, &w) != 0)
        return errno;
    return 0;
}

/* A Unix socket's file goes when the process exits without a stop. */
static void unlink_at_exit(void)
{
    if (gate.running && gate.unix_path[0] != '\0') unlink(gate.unix_path);
}

static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;
static void register_atexit(void)
{
    atexit(unlink_at_exit);
}

int hpi_gate_start(const hpi_gate_addr_t *a, int civet_port)
{
    pthread_once(&atexit_once, register_atexit);
    for (int i = 0; i < MAX_CONNS; i++) slots[i].cfd = slots[i].sfd = -1;
    gate.unix_path[0] = '\0';
    gate.paused_until = 0;
    memset(&gate.to, 0, sizeof gate.to);
    gate.to.sin_family = AF_INET;
    gate.to.sin_port = htons((uint16_t)civet_port);
    gate.to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int err = listen_on(a);
    if (err == 0) err = setup();
    if (err == 0) err = pthread_create(&gate.thread, NULL, gate_main, NULL);
    if (err != 0) {
        close_fds();
        if (gate.unix_path[0] != '\0') unlink(gate.unix_path);
        return err;
    }
    gate.running = true;
    return 0;
}

void hpi_gate_stop(void)
{
    if (!gate.running) return;
    uint64_t one = 1;
    if (write(gate.wfd, &one, sizeof one) != sizeof one) return; /* cannot happen */
    pthread_join(gate.thread, NULL);
    gate.running = false;
    close_fds();
    if (gate.unix_path[0] != '\0') unlink(gate.unix_path);
    for (int i = 0; i < MAX_CONNS; i++) {
        free(slots[i].up.p);
        free(slots[i].down.p);
        slots[i].up.p = slots[i].down.p = NULL;
    }
}

/* In a forked child the gate thread does not exist: close the copies of
 * its sockets (a copy would keep a client's connection open after the
 * parent closed it), leave the Unix socket file to the parent.  The epoll
 * set is the parent's too: it is closed first and not touched. */
void hpi_gate_fork_child(void)
{
    if (!gate.running) return;
    gate.running = false;
    gate.unix_path[0] = '\0';
    close(gate.efd);
    gate.efd = -1;
    close_fds();
}

int hpi_gate_port(void)
{
    return gate.port;
}

bool hpi_gate_owns(int port)
{
    if (port <= 0) return false;
    for (int i = 0; i < MAX_CONNS; i++)
        if (atomic_load_explicit(&relay_port[i], memory_order_acquire) == port) return true;
    return false;
}
