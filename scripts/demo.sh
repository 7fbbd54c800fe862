#!/usr/bin/env bash
# scripts/demo.sh <builddir>: what `make demo` shows.
#   1. examples/demo linked with -lhotpath prints its MemStats;
#   2. demo_plain, which links only libc, runs unmodified under `hotpath run`
#      and finds itself on hotpath (it looks hp_read_memstats up with dlsym);
#   3. examples/service, a small service with hot spots, runs unmodified
#      under `hotpath run -http`; a 5 s CPU profile and its heap, allocs and
#      mutex profiles are fetched over HTTP, shown with `go tool pprof -top`,
#      and left in a folder it names (DEMO_DIR, default build/demo-profiles).
# Exits non-zero if any step fails.
set -euo pipefail

build=${1:-build}
bin=$build/bin
die() { echo "demo: $*" >&2; exit 1; }
for f in hotpath demo demo_plain service; do
  [[ -x $bin/$f ]] || die "$bin/$f not built (run: make build)"
done
[[ -e $build/lib/libhotpath.so ]] || die "$build/lib/libhotpath.so not built (run: make build)"

out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "=== 1. a program linked with -lhotpath: $bin/demo"
"$bin/demo" || die "demo failed (exit $?)"

echo
echo "=== 2. an unmodified program: $bin/demo_plain links only libc"
if ldd "$bin/demo_plain" | grep -q hotpath; then
  die "demo_plain links libhotpath; it should not"
fi
ldd "$bin/demo_plain" | sed 's/^[[:space:]]*/    /'
"$bin/hotpath" version
echo "\$ hotpath run -- $bin/demo_plain"
"$bin/hotpath" run -- "$bin/demo_plain" | tee "$out" || die "hotpath run -- demo_plain failed"
grep -q '^allocator: hotpath' "$out" || die "demo_plain did not run on hotpath"

echo
echo "demo: ok: demo_plain was not rebuilt, yet it ran on hotpath under 'hotpath run'"

echo
echo "=== 3. profiling a running service over HTTP: $bin/service (libc only)"
dir=${DEMO_DIR:-$build/demo-profiles}
mkdir -p "$dir" && rm -f "$dir"/*.pb "$dir"/*.txt
echo "\$ hotpath run -http 127.0.0.1:0 -mutexprofilefraction 5 -- $bin/service 12"
"$bin/hotpath" run -http 127.0.0.1:0 -mutexprofilefraction 5 -- "$bin/service" 12 \
  >"$dir/service.out" 2>"$dir/service.err" &
svc=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's|.*debug server on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$dir/service.err")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || die "the service did not start its debug server: $(cat "$dir/service.err")"
url=http://127.0.0.1:$port/debug/pprof
echo "    serving $url/"
fetch() { # fetch NAME PATH
  curl -s --noproxy '*' --max-time 60 -o "$dir/$1.pb" -w '%{http_code}' "$url/$2" | grep -q '^200$' \
    || die "GET $url/$2 failed"
}
sleep 1
fetch cpu "profile?seconds=5"
fetch heap heap
fetch allocs allocs
fetch mutex mutex
wait "$svc" || die "the service failed (exit $?): $(cat "$dir/service.err")"
cat "$dir/service.out"
show() { # show NAME TITLE [pprof flags]
  local name=$1 title=$2
  shift 2
  echo
  echo "--- $title: go tool pprof -top $* $dir/$name.pb"
  go tool pprof -top -nodecount=12 "$@" "$dir/$name.pb" 2>&1 | tee "$dir/$name.txt" | sed -n '/^Type:/p;/flat%/,$p'
}
export PPROF_TMPDIR=$dir
show cpu "where the CPU time goes (5 s), by cumulative time" -cum
show heap "who holds memory now" -sample_index=inuse_space
show allocs "who allocates the most bytes" -sample_index=alloc_space
show mutex "who makes others wait (charged to the unlocker)"
grep -q "render_page\|encode_json\|parse_headers" "$dir/cpu.txt" || die "the CPU profile does not show the service's functions"
grep -q "record_stats" "$dir/mutex.txt" || die "the mutex profile does not show record_stats"
echo
echo "demo: ok: profiles of the running service are in $dir (open one with: go tool pprof -http=: $dir/cpu.pb)"
