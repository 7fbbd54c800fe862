#!/usr/bin/env bash
# scripts/demo.sh <builddir>: what `make demo` shows.
#   1. examples/demo linked with -lhotpath prints its MemStats;
#   2. demo_plain, which links only libc, runs unmodified under `hotpath run`
#      and finds itself on hotpath (it looks hp_read_memstats up with dlsym).
# Exits non-zero if any step fails.
set -euo pipefail

build=${1:-build}
bin=$build/bin
die() { echo "demo: $*" >&2; exit 1; }
for f in hotpath demo demo_plain; do
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
