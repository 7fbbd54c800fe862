#!/usr/bin/python3
"""http_abuse: malformed requests against the debug server on 127.0.0.1:PORT.

Garbage bytes, a huge header, a huge request line, bad methods, a request
cut off mid-header, 100 idle half-open connections (sent part of a request,
then nothing) and 100 silent ones: none may crash the host (checked by the
caller), and a good request is answered within 2 s while the idle ones are
held open, and again after they are closed.
Prints one line per failed check and "N passed, M failed".

Usage: http_abuse.py PORT
"""
import socket
import sys
import time

PORT = int(sys.argv[1])
passes = fails = 0


def check(cond, what):
    global passes, fails
    if cond:
        passes += 1
    else:
        fails += 1
        print("FAIL: " + what)


def exchange(data, timeout=10):
    """Send data, read until the server closes; the reply (bytes)."""
    s = socket.create_connection(("127.0.0.1", PORT), timeout=timeout)
    try:
        try:  # the server may answer and close before it has read it all
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:  # reset, timeout
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def status(reply):
    parts = reply.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") and parts[1].isdigit() else None


def good_request():
    t0 = time.monotonic()
    r = exchange(b"GET /debug/pprof/cmdline HTTP/1.1\r\nHost: x\r\n\r\n", timeout=10)
    return status(r), time.monotonic() - t0


# Garbage: any 4xx answer (or 505 for an unknown HTTP version), or a closed
# connection, is fine; the server lives.
for junk in [b"\x00\xff\xfe garbage \x01\x02\r\n\r\n", bytes(range(256)) * 64,
             b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\r\n\r\n\r\n"]:
    st = status(exchange(junk))
    check(st is None or 400 <= st < 500 or st == 505, "garbage answered %r" % st)

st = status(exchange(b"GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n"))
check(st is None or st in (413, 431, 400), "huge header answered %r" % st)
st = status(exchange(b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
check(st is None or 400 <= st < 500, "huge request line answered %r" % st)
for m in [b"DELETE", b"PUT", b"BREW", b"OPTIONS"]:
    st = status(exchange(m + b" /debug/pprof/ HTTP/1.1\r\nHost: x\r\n\r\n"))
    check(st is not None and 400 <= st < 500, "%s answered %r" % (m.decode(), st))
st = status(exchange(b"GET /debug/pprof/heap HTTP/1.1\r\nHost: x\r\nX-Cut"))
check(st is None or 400 <= st < 500, "cut-off request answered %r" % st)

# 100 connections that sent half a request and 100 that sent nothing, held
# open while a good request is made, then dropped.
idle = []
for i in range(200):
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        if i % 2 == 0:
            s.sendall(b"GET /debug/pprof/ HTTP/1.1\r\nHost:")
        idle.append(s)
    except OSError:
        break
check(len(idle) == 200, "opened only %d idle connections" % len(idle))
time.sleep(0.5)
st, took = good_request()
check(st == 200, "good request beside 200 idle connections: status %r" % st)
check(took <= 2.0, "good request beside 200 idle connections took %.2f s (want <= 2)" % took)
for s in idle:
    s.close()

st, took = good_request()
check(st == 200, "good request after the abuse: status %r" % st)
check(took <= 2.0, "good request after the abuse took %.2f s (want <= 2)" % took)

print("%d passed, %d failed" % (passes, fails))
sys.exit(1 if fails else 0)
