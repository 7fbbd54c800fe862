#!/usr/bin/env bash
# pairs_test: the example benchmarks (examples/bench, program `pairs`) show
# what each optimisation saves, exactly: fewer allocations per op for the
# builder, the pre-sized array, the pool and the struct key, and a smaller
# struct for the good field order; `hotpath benchstat -col` compares the
# two sides of each pair in one run.
# Usage: pairs_test.sh path/to/pairs path/to/hotpath
set -uo pipefail
prog=$1 cli=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"

"$prog" -benchtime 50x -benchmem >"$tmp/out" 2>&1 && ok || bad "pairs failed: $(cat "$tmp/out")"
# val NAME UNIT: the value before UNIT on the line of NAME (without -N).
val() { awk -v b="$1" -v u="$2" '{ n = $1; sub(/-[0-9]+$/, "", n) } n == b {
  for (i = 3; i <= NF; i++) if ($i == u) { print $(i-1); exit } }' "$tmp/out"; }
check() { # NAME UNIT EXPECTED
  local got
  got=$(val "$1" "$2")
  [[ $got == "$3" ]] && ok || bad "$1 $2: got '$got', want $3"
}
check BenchmarkConcat/impl=plus allocs/op 101
check BenchmarkConcat/impl=builder allocs/op 1
check BenchmarkConcat/impl=builder B/op 512
check BenchmarkGrow/impl=prealloc allocs/op 1
check BenchmarkGrow/impl=prealloc B/op 4096
check BenchmarkBuffer/impl=malloc allocs/op 2
check BenchmarkBuffer/impl=pool allocs/op 1
check BenchmarkMapKey/key=string allocs/op 1
check BenchmarkMapKey/key=struct allocs/op 0
check BenchmarkLayout/order=bad B/struct 40.00
check BenchmarkLayout/order=good B/struct 24.00
# realloc moves the array only when it outgrows its size class.
awk -v n="$(val BenchmarkGrow/impl=realloc allocs/op)" 'BEGIN { exit !(n > 10 && n < 1000) }' && ok \
  || bad "realloc growth allocs/op $(val BenchmarkGrow/impl=realloc allocs/op)"

"$prog" -bench Concat -benchtime 2000x -count 6 -benchmem >"$tmp/six" 2>&1
"$cli" benchstat -col /impl "$tmp/six" >"$tmp/bs" 2>&1 && grep -q "plus" "$tmp/bs" && grep -q "builder" "$tmp/bs" \
  && grep -q "allocs/op" "$tmp/bs" && grep -q "vs base" "$tmp/bs" && ok || bad "benchstat -col /impl: $(head -30 "$tmp/bs")"

finish
