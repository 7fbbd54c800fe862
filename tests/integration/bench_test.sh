#!/usr/bin/env bash
# bench_test: the benchmark harness (libhotpath_bench.a) through bench_prog:
#   exact B/op and allocs/op (b->n and hp_b_loop forms, setup excluded);
#   -benchtime Nx runs exactly N; a duration follows Go's prediction rules;
#   timers (stop/start, reset); sub-benchmarks (names, #01, -bench levels);
#   parallel runs with -cpu; MB/s; custom metrics; hp_allocs_per_run;
#   -count; failures; bad flags; -cpuprofile/-memprofile read by
#   `go tool pprof`; -timeout; the output read back by `hotpath benchstat`.
# Usage: bench_test.sh path/to/bench_prog path/to/hotpath
set -uo pipefail
prog=$1 cli=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp PPROF_TMPDIR=$tmp
. "$(dirname "$0")/testlib.sh"

# field BENCH UNIT FILE: the value before UNIT on BENCH's line ("iters" for N).
field() {
  awk -v b="$1" -v u="$2" '$1 == b { if (u == "iters") { print $2; exit }
    for (i = 3; i <= NF; i++) if ($i == u) { print $(i-1); exit } }' "$3"
}
ncpu=$(nproc)
sfx=$([[ $ncpu == 1 ]] || echo "-$ncpu")

# Exact allocations, both loop forms; setup before hp_b_loop not counted.
"$prog" -bench 'ThreeAllocs$' -benchtime 100x -benchmem >"$tmp/a" 2>&1
[[ $(field "BenchmarkThreeAllocs$sfx" iters "$tmp/a") == 100 ]] && ok || bad "-benchtime 100x: $(cat "$tmp/a")"
[[ $(field "BenchmarkThreeAllocs$sfx" allocs/op "$tmp/a") == 3 && $(field "BenchmarkThreeAllocs$sfx" B/op "$tmp/a") == 192 ]] \
  && ok || bad "three 64-byte objects: $(cat "$tmp/a")"
[[ $(field "BenchmarkLoopThreeAllocs$sfx" iters "$tmp/a") == 100 && $(field "BenchmarkLoopThreeAllocs$sfx" allocs/op "$tmp/a") == 3 \
   && $(field "BenchmarkLoopThreeAllocs$sfx" B/op "$tmp/a") == 192 ]] && ok || bad "hp_b_loop allocations: $(cat "$tmp/a")"
"$prog" -bench 'LoopThreeAllocs$' -benchtime 300ms -benchmem >"$tmp/l" 2>&1
n=$(field "BenchmarkLoopThreeAllocs$sfx" iters "$tmp/l") ns=$(field "BenchmarkLoopThreeAllocs$sfx" ns/op "$tmp/l")
awk -v n="$n" -v ns="$ns" 'BEGIN { exit !(n > 1000 && n * ns >= 3e8) }' && ok || bad "hp_b_loop ramp-up to 300ms: $(cat "$tmp/l")"

# Timers: 1 ms measured, 20 ms excluded; 30 ms setup before a reset.
"$prog" -bench 'Timer|Reset' -benchtime 3x >"$tmp/t" 2>&1
awk -v ns="$(field "BenchmarkTimer$sfx" ns/op "$tmp/t")" 'BEGIN { exit !(ns >= 1e6 && ns < 8e6) }' && ok || bad "stop/start timer: $(cat "$tmp/t")"
awk -v ns="$(field "BenchmarkReset$sfx" ns/op "$tmp/t")" 'BEGIN { exit !(ns >= 1e6 && ns < 5e6) }' && ok || bad "reset timer: $(cat "$tmp/t")"

# N prediction: starts at 1, grows at most 100x and at least by one, ends
# with the printed N, whose run took at least -benchtime.
BENCH_NSEQ=$tmp/nseq "$prog" -bench 'NSeq' -benchtime 200ms >"$tmp/n" 2>&1
awk -v printed="$(field "BenchmarkNSeq$sfx" iters "$tmp/n")" -v ns="$(field "BenchmarkNSeq$sfx" ns/op "$tmp/n")" '
  NR == 1 && $1 != 1 { bad = "first n " $1 }
  NR > 1 && ($1 > 100 * last || $1 < last + 1 || $1 > 1e9) { bad = "n " last " -> " $1 }
  { last = $1; k = NR }
  END { if (bad == "" && last != printed) bad = "last n " last " printed " printed
        if (bad == "" && last * ns < 2e8) bad = "last run too short"
        if (bad == "" && k < 3) bad = "only " k " runs"
        if (bad != "") { print bad; exit 1 } }' "$tmp/nseq" >"$tmp/nerr" && ok || bad "N prediction: $(cat "$tmp/nerr") seq: $(tr '\n' ' ' <"$tmp/nseq")"

# Sub-benchmarks: names, a duplicate, an argument, -bench by level.
"$prog" -bench 'Sub' -benchtime 1000x >"$tmp/s" 2>&1
for name in size=100 size=1000 with_space 'with_space#01'; do
  grep -q "^BenchmarkSub/$name$sfx\b" "$tmp/s" && ok || bad "sub-benchmark $name: $(cat "$tmp/s")"
done
[[ $(field "BenchmarkSub/size=100$sfx" B/op "$tmp/s") == 112 && $(field "BenchmarkSub/size=1000$sfx" B/op "$tmp/s") == 1024 ]] \
  && ok || bad "sub-benchmark sizes (size-class bytes): $(cat "$tmp/s")"
grep -q "^BenchmarkSub$sfx\b" "$tmp/s" && bad "a parent reported itself: $(cat "$tmp/s")" || ok
"$prog" -bench 'Sub/size=1000$' -benchtime 10x >"$tmp/s2" 2>&1
[[ $(grep -c '^Benchmark' "$tmp/s2") == 1 ]] && grep -q "^BenchmarkSub/size=1000$sfx\b" "$tmp/s2" && ok || bad "-bench Sub/size=1000\$: $(cat "$tmp/s2")"

# Parallel with -cpu 1,2: exactly N ops in all, one allocation each.
"$prog" -bench 'Parallel' -cpu 1,2 -benchtime 20000x >"$tmp/p" 2>&1
for b in BenchmarkParallel BenchmarkParallel-2; do
  [[ $(field $b iters "$tmp/p") == 20000 && $(field $b allocs/op "$tmp/p") == 1 && $(field $b B/op "$tmp/p") == 48 ]] \
    && ok || bad "parallel $b: $(cat "$tmp/p")"
done

# MB/s, custom metrics, hp_allocs_per_run, -count.
"$prog" -bench 'Bytes|Metric' -benchtime 1000x -count 3 >"$tmp/m" 2>&1
[[ $(grep -c "^BenchmarkBytes$sfx.*MB/s" "$tmp/m") == 3 ]] && ok || bad "-count 3 with MB/s: $(cat "$tmp/m")"
[[ $(field "BenchmarkMetric$sfx" allocsperrun "$tmp/m") == 2.000 && $(field "BenchmarkMetric$sfx" widgets/op "$tmp/m") == 42.50 ]] \
  && ok || bad "metrics: $(cat "$tmp/m")"
grep -q "^goos: linux$" <(head -4 "$tmp/m") && grep -q "^pkg: bench_prog$" "$tmp/m" && grep -q "^PASS$" <(tail -2 "$tmp/m") \
  && grep -q "^ok  	bench_prog	" <(tail -1 "$tmp/m") && ok || bad "go test framing: $(cat "$tmp/m")"

# A failing benchmark: its message, FAIL, status 1; the others still run.
BENCH_FAIL=1 "$prog" -bench 'MayFail|Bytes' -benchtime 10x >"$tmp/f" 2>&1
rc=$?
[[ $rc == 1 ]] && grep -q "^--- FAIL: BenchmarkMayFail" "$tmp/f" && grep -q "failing on purpose: 7" "$tmp/f" \
  && grep -q "^BenchmarkBytes" "$tmp/f" && [[ $(tail -1 "$tmp/f") == FAIL* ]] && ok || bad "failure ($rc): $(cat "$tmp/f")"

# Bad flags: a message and status 2.
for args in "-benchtime bogus" "-nope" "-cpu 0" "-count -1" "-bench (" "-timeout 5parsecs" "-benchtime"; do
  # shellcheck disable=SC2086
  "$prog" $args >"$tmp/e" 2>&1
  rc=$?
  [[ $rc == 2 ]] && grep -qiE "invalid|not defined|needs an argument" "$tmp/e" && ok || bad "bad flags '$args' ($rc): $(head -3 "$tmp/e")"
done

# Profiles, read by the real go tool pprof.
"$prog" -bench 'ThreeAllocs$' -benchtime 300ms -cpuprofile "$tmp/cpu.pprof" -memprofile "$tmp/mem.pprof" \
  -memprofilerate 1 >"$tmp/pr" 2>&1 && ok || bad "profiles run: $(cat "$tmp/pr")"
timeout 60 go tool pprof -top "$prog" "$tmp/cpu.pprof" >"$tmp/cputop" 2>&1 && grep -q "three\|hp_bench_ThreeAllocs\|malloc" "$tmp/cputop" \
  && ok || bad "cpuprofile: $(head -20 "$tmp/cputop")"
timeout 60 go tool pprof -top -sample_index=alloc_space "$prog" "$tmp/mem.pprof" >"$tmp/memtop" 2>&1 && grep -q "three" "$tmp/memtop" \
  && ok || bad "memprofile: $(head -20 "$tmp/memtop")"

# -timeout ends a run that is too long, with Go's message and status 2.
"$prog" -bench 'Timer' -benchtime 10s -timeout 1s >"$tmp/to" 2>&1
rc=$?
[[ $rc == 2 ]] && grep -q "panic: test timed out after 1s" "$tmp/to" && ok || bad "-timeout ($rc): $(cat "$tmp/to")"

# The output is benchmark data: hotpath benchstat compares two runs of it.
for run in old new; do
  "$prog" -bench 'ThreeAllocs$|Sub' -benchtime 2000x -count 6 -benchmem >"$tmp/$run.txt" 2>&1
done
(cd "$tmp" && "$cli" benchstat old.txt new.txt) >"$tmp/bs" 2>&1 && grep -q "sec/op" "$tmp/bs" \
  && grep -q "^ThreeAllocs$sfx " "$tmp/bs" && grep -q "^Sub/size=1000$sfx " "$tmp/bs" && grep -q "allocs/op" "$tmp/bs" \
  && grep -q "^geomean" "$tmp/bs" && ok || bad "benchstat of the output: $(head -30 "$tmp/bs")"

finish
