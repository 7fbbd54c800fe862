#!/usr/bin/env bash
# http_test: the debug server over real HTTP (curl), its profiles read live by
# the real `go tool pprof http://...`.
#   index, named profiles and their deltas (?seconds=N), profile?seconds,
#   cmdline, symbol (GET and POST);
#   /debug/vars (Go's expvar JSON), /metrics (checked by promtool);
#   Go's errors (404 Unknown profile, 400 seconds, 400 seconds+debug, 500
#   CPU profiling in use, 501 trace) and headers (nosniff, attachment);
#   405 on other methods; malformed requests and 100 idle connections;
#   loopback (IPv4, IPv6, a Unix socket) only unless opted in, then a
#   token; civetweb's private port refuses everyone but the gate;
#   HOTPATH_HTTP from the environment, and `hotpath run -http` serving in
#   the program only, not in its children.
# Usage: http_test.sh path/to/http_prog path/to/hotpath path/to/libhotpath.so
set -uo pipefail
prog=$1 cli=$2 lib=$3
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
export HOME=$tmp PPROF_TMPDIR=$tmp
. "$(dirname "$0")/testlib.sh"

# get URL [curl args...]: "status\n" then headers and body in $tmp/h, $tmp/b.
get() {
  local url=$1
  shift
  curl -s --noproxy '*' --max-time 30 -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' "$@" "$url"
}
header() { tr -d '\r' <"$tmp/h" | awk -v k="$1" 'BEGIN { IGNORECASE = 1 } index(tolower($0), tolower(k) ": ") == 1 { sub(/^[^:]*: /, ""); print }'; }
pprof_top() { timeout 60 go tool pprof -top "$@" 2>&1; }

# serve OUT ARGS...: start http_prog, wait for its port line; sets $port.
serve() {
  local out=$1
  shift
  "$prog" "$@" >"$out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do grep -q '^port' "$out" && break; sleep 0.1; done
  port=$(awk '$1 == "port" {print $2}' "$out")
}

serve "$tmp/main.out" 127.0.0.1:0 120
[[ $(awk '$1 == "start" {print $2}' "$tmp/main.out") == 0 && ${port:-0} -gt 0 ]] && ok \
  || { bad "server did not start: $(cat "$tmp/main.out")"; echo "0 passed, 1 failed"; exit 1; }
base=http://127.0.0.1:$port/debug/pprof
main_port=$port

# A forked child has no server.
grep -q "^child_port 0 child_stop ok$" "$tmp/main.out" && ok || bad "forked child: $(cat "$tmp/main.out")"

# Index: HTML with every profile, counts, the debug=2 dump link.
st=$(get "$base/")
[[ $st == 200 ]] && ok || bad "index: status $st"
[[ $(header Content-Type) == "text/html; charset=utf-8" ]] && ok || bad "index content type: $(header Content-Type)"
[[ $(header X-Content-Type-Options) == nosniff ]] && ok || bad "index lacks nosniff"
for p in allocs block cmdline goroutine heap mutex profile threadcreate trace; do
  grep -q "href=\"$p" "$tmp/b" && ok || bad "index lacks $p"
done
grep -q 'goroutine?debug=2' "$tmp/b" && ok || bad "index lacks the debug=2 link"
grep -Eq '<td>[1-9][0-9]*</td><td><a href="goroutine' "$tmp/b" && ok || bad "index: no thread count"

# Named profiles, live through go tool pprof.
for p in heap:inuse_space allocs:alloc_space goroutine:goroutine threadcreate:threadcreate mutex:delay block:delay; do
  name=${p%:*} type=${p#*:}
  out=$(pprof_top "$base/$name")
  grep -q "^Type: $type$" <<<"$out" && ok || bad "go tool pprof $name: $(head -5 <<<"$out")"
done
grep -q churn <<<"$(pprof_top -sample_index=alloc_space "$base/allocs")" && ok || bad "allocs profile lacks churn"
st=$(get "$base/heap")
[[ $st == 200 && $(header Content-Type) == application/octet-stream ]] && ok || bad "heap: $st $(header Content-Type)"
[[ $(header Content-Disposition) == 'attachment; filename="heap"' ]] && ok || bad "heap disposition: $(header Content-Disposition)"
st=$(get "$base/goroutine?debug=2")
[[ $st == 200 && $(header Content-Type) == "text/plain; charset=utf-8" ]] && ok || bad "goroutine?debug=2: $st $(header Content-Type)"
grep -q "^thread [0-9]* \"hp-http\" \[running\]:$" "$tmp/b" && grep -q "^thread [0-9]* \"civetweb-worker\"" "$tmp/b" && ok || bad "goroutine?debug=2 body: $(head -5 "$tmp/b")"
st=$(get -I "$base/heap?debug=1")
[[ $st == 200 ]] && ok || bad "HEAD heap: $st"

# Delta profiles: what happened in N seconds, less than since the start.
total() { sed -n 's/.* of \([0-9.e+]*\)B total.*/\1/p' <<<"$1" | head -1; }
dtop=$(pprof_top -unit=B -sample_index=alloc_space "$base/allocs?seconds=2")
full=$(pprof_top -unit=B -sample_index=alloc_space "$base/allocs")
grep -q "^Duration: 2" <<<"$dtop" && grep -q " churn$" <<<"$dtop" && ok || bad "allocs?seconds=2: $(head -8 <<<"$dtop")"
awk -v d="$(total "$dtop")" -v f="$(total "$full")" 'BEGIN { exit !(d > 0 && d < f) }' && ok \
  || bad "allocs delta $(total "$dtop") B not below the total $(total "$full") B"
mtop=$(pprof_top "$base/mutex?seconds=1")
grep -q "^Type: delay$" <<<"$mtop" && ok || bad "mutex?seconds=1: $(head -6 <<<"$mtop")"
st=$(get "$base/heap?seconds=1")
[[ $st == 200 && $(header Content-Disposition) == 'attachment; filename="heap-delta"' ]] && ok \
  || bad "heap?seconds=1: $st $(header Content-Disposition)"

# The CPU profile, and a second one while it runs.
out_file=$tmp/cpu.top
pprof_top "$base/profile?seconds=3" >"$out_file" &
cpu_pid=$!
sleep 1
st=$(get "$base/profile?seconds=1")
[[ $st == 500 ]] && grep -q "^Could not enable CPU profiling: cpu profiling already in use$" "$tmp/b" && ok \
  || bad "second CPU profile: $st $(cat "$tmp/b")"
wait $cpu_pid
grep -q "^Type: cpu$" "$out_file" && grep -q " burn$" "$out_file" && ok || bad "CPU profile over HTTP: $(head -12 "$out_file")"

# Go's errors.
check() { # check WANT_STATUS WANT_BODY URL [curl args]
  local want=$1 body=$2 url=$3 st
  shift 3
  st=$(get "$url" "$@")
  [[ $st == "$want" ]] && [[ $(cat "$tmp/b") == "$body" ]] && ok || bad "$url: want $want '$body', got $st '$(head -c 200 "$tmp/b")'"
}
check 404 "Unknown profile" "$base/nosuch"
check 400 'invalid value for "seconds" - must be a positive integer' "$base/heap?seconds=x"
check 400 'invalid value for "seconds" - must be a positive integer' "$base/heap?seconds=-1"
check 400 "seconds and debug params are incompatible" "$base/heap?seconds=1&debug=1"
check 501 "the execution tracer is not available yet" "$base/trace"
check 405 "method not allowed" "$base/" -X DELETE
check 404 "404 page not found" "http://127.0.0.1:$port/elsewhere"
[[ $(header X-Content-Type-Options) == nosniff ]] && ok || bad "error lacks nosniff"

# cmdline: the arguments joined by NUL bytes.
get "$base/cmdline" >/dev/null
[[ $(tr '\0' ' ' <"$tmp/b") == "$prog 127.0.0.1:0 120" ]] && ok || bad "cmdline: $(tr '\0' ' ' <"$tmp/b")"

# symbol: GET says symbols exist; POST resolves burn's address.
check 200 "num_symbols: 1" "$base/symbol"
addr=$(awk '$1 == "burn_addr" {print $2}' "$tmp/main.out")
st=$(get "$base/symbol" --data-binary "0x1+$addr")
grep -q "^$addr burn$" "$tmp/b" && ok || bad "symbol POST $addr: $st $(cat "$tmp/b")"

# /debug/vars: Go's expvar JSON with MemStats' names.
st=$(get "http://127.0.0.1:$port/debug/vars")
[[ $st == 200 && $(header Content-Type) == "application/json; charset=utf-8" ]] && ok || bad "/debug/vars: $st $(header Content-Type)"
python3 - "$tmp/b" "$prog" "$(dirname "$0")/../../include/hotpath/memstats.h" <<'PY' && ok || bad "/debug/vars content: $(head -c 300 "$tmp/b")"
import json, sys
d = json.load(open(sys.argv[1]))
m, h = d["memstats"], d["hotpath"]
assert d["cmdline"] == [sys.argv[2], "127.0.0.1:0", "120"], d["cmdline"]
assert m["HeapAlloc"] > 0 and m["Mallocs"] > m["Frees"] > 0 and m["Sys"] >= m["HeapSys"], m
assert m["HeapInuse"] >= m["HeapAlloc"] and m["TotalAlloc"] >= m["Alloc"], m
import re
nclasses = int(re.search(r"define HP_NUM_SIZE_CLASSES (\d+)", open(sys.argv[3]).read()).group(1))
assert len(m["BySize"]) == nclasses and m["BySize"][1]["Size"] > 0, m["BySize"][:2]
assert m["NumGC"] == 0 and m["EnableGC"] is False and len(m["PauseNs"]) == 256, m
assert h["Threads"] >= 2 and h["Arenas"] >= 1, h
PY

# /metrics: Prometheus text that promtool accepts, with hotpath's metrics.
st=$(get "http://127.0.0.1:$port/metrics")
[[ $st == 200 && $(header Content-Type) == "text/plain; version=0.0.4; charset=utf-8" ]] && ok || bad "/metrics: $st $(header Content-Type)"
lint=$(promtool check metrics <"$tmp/b" 2>&1) && ok || bad "promtool check metrics: $lint"
awk '$1 == "hotpath_memstats_heap_alloc_bytes" && $2 > 0 {f=1} END {exit !f}' "$tmp/b" && ok || bad "/metrics: no heap_alloc"
awk '$1 == "process_resident_memory_bytes" && $2 > 0 {f=1} END {exit !f}' "$tmp/b" && ok || bad "/metrics: no process RSS"
awk '$1 == "hotpath_threads" && $2 >= 3 {f=1} END {exit !f}' "$tmp/b" && ok || bad "/metrics: hotpath_threads: $(grep '^hotpath_threads' "$tmp/b")"
awk '$1 == "hotpath_memstats_mallocs_total" && $2 > 1000 {f=1} END {exit !f}' "$tmp/b" && ok || bad "/metrics: mallocs_total"

# Access: other addresses need the opt-in and a token.
"$prog" 0.0.0.0:0 >"$tmp/pub.out" 2>&1
grep -q "^start 13$" "$tmp/pub.out" && grep -q "needs HOTPATH_HTTP_PUBLIC=1 and a token" "$tmp/pub.out" && ok \
  || bad "0.0.0.0 without opt-in: $(cat "$tmp/pub.out")"
"$prog" nonsense >"$tmp/bad.out" 2>&1
grep -q "^start 22$" "$tmp/bad.out" && grep -q 'bad address "nonsense"' "$tmp/bad.out" && ok || bad "bad address: $(cat "$tmp/bad.out")"
serve "$tmp/v6.out" "[::1]:0" 30
[[ $(get "http://[::1]:$port/debug/pprof/cmdline") == 200 ]] && ok || bad "IPv6 [::1]: $(cat "$tmp/v6.out")"
"$prog" "[::1" >"$tmp/v6bad.out" 2>&1
grep -q "^start 22$" "$tmp/v6bad.out" && ok || bad "bad IPv6 address: $(cat "$tmp/v6bad.out")"

# A Unix socket: served; a stale socket file is replaced, a live one is
# not; the file is removed when the server stops; a relative path is refused.
sock=$tmp/hp.sock
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
"$prog" "unix:$sock" 2 >"$tmp/unix.out" 2>&1 &
upid=$!
for _ in $(seq 100); do grep -q '^port' "$tmp/unix.out" && break; sleep 0.1; done
st=$(curl -s --noproxy '*' --max-time 10 --unix-socket "$sock" -o "$tmp/b" -w '%{http_code}' http://localhost/debug/pprof/cmdline)
[[ $st == 200 && $(tr '\0' ' ' <"$tmp/b") == "$prog unix:$sock 2" ]] && ok || bad "unix socket: $st $(cat "$tmp/unix.out")"
"$prog" "unix:$sock" >"$tmp/unix2.out" 2>&1
grep -q "^start 98$" "$tmp/unix2.out" && ok || bad "second server on a live socket: $(cat "$tmp/unix2.out")"
wait "$upid"
[[ ! -e $sock ]] && ok || bad "unix socket file left after stop"
HOTPATH_HTTP="unix:$sock" LD_PRELOAD="$lib" /bin/true 2>"$tmp/unix4.out"
grep -q "debug server on unix:$sock" "$tmp/unix4.out" && [[ ! -e $sock ]] && ok || bad "unix socket after exit: $(cat "$tmp/unix4.out"; ls -l "$sock")"
"$prog" "unix:rel.sock" >"$tmp/unix3.out" 2>&1
grep -q "^start 22$" "$tmp/unix3.out" && ok || bad "relative unix path: $(cat "$tmp/unix3.out")"

# civetweb's private port (the process's other listening socket) serves
# only the gate's relays.
priv=$(python3 - "${pids[0]}" "$main_port" <<'PY'
import os, sys
pid, public = sys.argv[1], int(sys.argv[2])
inodes = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        t = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if t.startswith("socket:["):
        inodes.add(t[8:-1])
for line in open("/proc/net/tcp").readlines()[1:]:
    f = line.split()
    port = int(f[1].split(":")[1], 16)
    if f[3] == "0A" and f[9] in inodes and port != public:
        print(port)
PY
)
[[ -n $priv && $(get "http://127.0.0.1:$priv/debug/pprof/cmdline") == 403 ]] && ok || bad "private port ${priv:-none} not refused"
HOTPATH_HTTP_PUBLIC=1 HOTPATH_HTTP_TOKEN=s3cret serve "$tmp/tok.out" 0.0.0.0:0 30
tbase=http://127.0.0.1:$port/debug/pprof
st=$(get "$tbase/cmdline")
[[ $st == 401 && $(header WWW-Authenticate) == Bearer ]] && ok || bad "no token: $st"
[[ $(get "$tbase/cmdline" -H "Authorization: Bearer wrong") == 401 ]] && ok || bad "wrong token accepted"
[[ $(get "$tbase/cmdline" -H "Authorization: Bearer s3cret") == 200 ]] && ok || bad "right token refused"

# HOTPATH_HTTP from the environment; hotpath run -http serves in the
# program only (sh), not in the child it starts (true).
err=$(HOTPATH_HTTP=127.0.0.1:0 LD_PRELOAD="$lib" /bin/true 2>&1)
grep -q "debug server on http://127.0.0.1:[0-9]*/debug/pprof/" <<<"$err" && ok || bad "HOTPATH_HTTP: $err"
err=$(HOTPATH_HTTP=bogus LD_PRELOAD="$lib" /bin/true 2>&1)
grep -q 'bad address "bogus"' <<<"$err" && ok || bad "HOTPATH_HTTP=bogus: $err"
err=$("$cli" run -http 127.0.0.1:0 -- /bin/sh -c '/bin/true; /bin/true' 2>&1)
[[ $(grep -c "debug server on" <<<"$err") == 1 ]] && ok || bad "hotpath run -http: want one server, got: $err"

# Malformed requests and idle connections: no crash, and a good request
# answered within 2 s afterwards.
python3 "$(dirname "$0")/http_abuse.py" "$main_port" >"$tmp/abuse" 2>&1 && ok || bad "abuse: $(cat "$tmp/abuse")"

# The host program lived through all of it.
kill -0 "${pids[0]}" 2>/dev/null && ok || bad "http_prog died: $(tail -5 "$tmp/main.out")"

finish
