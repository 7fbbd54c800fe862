#!/usr/bin/env bash
# cpuprof_check: CPU profiles read back with the real `go tool pprof`.
#
#   cpuprof_check.sh api    TEST WORKDIR          hp_cpuprofile_start/stop
#   cpuprof_check.sh env    TEST PLAIN LIB WORKDIR HOTPATH_CPUPROFILE: linked, preloaded,
#                                                 SIGTERM, fork, toggle signal, bad values
#   cpuprof_check.sh stress STRESS WORKDIR        threads churn under a 250 Hz profile
#
# TEST is cpuprof_test linked with hotpath, PLAIN the same program built
# without it (for LD_PRELOAD of LIB).  The workload burns 60/30/10% of its
# CPU in burn_a/burn_b/burn_c; each profile must show those flat shares
# within 5 points, Go's cpu sample types, and a total within 20% of the CPU
# time the program measured.
set -u
mode=$1
shift
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

export HOME
HOME=$(mktemp -d)
trap 'rm -rf "$HOME"' EXIT
export PPROF_TMPDIR=$HOME
GO=${GO:-/usr/bin/go}

pprof() { "$GO" tool pprof "$@" 2>&1; }

# to_ns "1.23s" | "450ms" | "12us" | "3ns" | "1.5mins"
to_ns() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    m = u == "s" ? 1e9 : u == "ms" ? 1e6 : u == "us" ? 1e3 : u == "ns" ? 1 : u == "mins" ? 60e9 : u == "hrs" ? 3600e9 : -1
    if (m < 0) { print -1; exit }
    printf "%.0f\n", n * m }'
}

# flat% of function f in `pprof -top` output.
flat_pct() { awk -v f="$2" '$6 == f { sub(/%/, "", $2); print $2; exit }' <<<"$1"; }

# check_profile NAME FILE CPU_NS: readable, types, shares, total.
check_profile() {
  local name=$1 file=$2 cpu_ns=$3 top raw total
  top=$(pprof -top -nodecount=30 "$file")
  if ! grep -q "Type: cpu" <<<"$top"; then
    bad "$name: go tool pprof cannot read $file: $top"
    return
  fi
  ok
  grep -q "Local symbolization failed" <<<"$top" && bad "$name: $top" || ok
  raw=$(pprof -raw "$file")
  grep -q "samples/count cpu/nanoseconds" <<<"$raw" && ok || bad "$name: sample types: $(head -5 <<<"$raw")"
  for f in burn_a:60 burn_b:30 burn_c:10; do
    local fn=${f%:*} want=${f#*:} got
    got=$(flat_pct "$top" "$fn")
    if [[ -z $got ]]; then
      bad "$name: $fn missing from -top"
      continue
    fi
    awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; exit !(d <= 5 && d >= -5) }' \
      && ok || bad "$name: $fn has $got% flat, want $want ± 5"
  done
  total=$(sed -n 's/.*Total samples = \([0-9.]*[a-z]*\).*/\1/p' <<<"$top")
  total=$(to_ns "$total")
  awk -v t="$total" -v c="$cpu_ns" 'BEGIN { exit !(t >= 0.8 * c && t <= 1.2 * c) }' \
    && ok || bad "$name: profile total ${total}ns vs process CPU ${cpu_ns}ns"
  echo "$name: $(grep 'Total samples' <<<"$top")"
}

cpu_of() { sed -n 's/^cpu_ns \([0-9]*\)$/\1/p' <<<"$1" | tail -1; }

# readable NAME FILE [any]: go tool pprof reads it as a cpu profile with
# samples (with "any": possibly none).
readable() {
  local top want="Total samples = [1-9]"
  [[ ${3:-} == any ]] && want="Type: cpu"
  top=$(pprof -top "$2")
  grep -q "Type: cpu" <<<"$top" && grep -q "$want" <<<"$top" \
    && ok || bad "$1: $2 unreadable or empty: $(head -8 <<<"$top")"
}

run_api() {
  local test=$1 dir=$2 out
  mkdir -p "$dir"
  out=$("$test" api "$dir/api.prof") || bad "api: $test failed: $out"
  check_profile api "$dir/api.prof" "$(cpu_of "$out")"
  # Labels set with hp_do: burn_b carries phase=b, and only burn_b.
  local tags focus
  tags=$(pprof -tags "$dir/api.prof")
  grep -q "phase: Total" <<<"$tags" && grep -q ": b$" <<<"$tags" \
    && ok || bad "api: no phase=b label: $tags"
  focus=$(pprof -top -tagfocus=phase=b "$dir/api.prof")
  # Every sample tagged phase=b has burn_b on its stack (its leaf may be a
  # function burn_b calls, such as clock_gettime): burn_b's cum equals the
  # sum of all flat values shown.
  read -r total bcum < <(awk 'function ms(v) { if (v ~ /ms$/) return v + 0; if (v ~ /us$/) return v / 1000;
      if (v ~ /s$/) return v * 1000; return v + 0 }
    $1 ~ /^[0-9.]+(ms|us|s)?$/ && NF >= 6 { t += ms($1); if ($6 == "burn_b") c = ms($4) }
    END { printf "%d %d\n", t, c }' <<<"$focus")
  [[ $total -gt 0 && $total == "$bcum" ]] && ok || bad "api: -tagfocus=phase=b: $total ms tagged, burn_b cum $bcum ms: $focus"
  grep -q burn_a <<<"$focus" && bad "api: burn_a tagged phase=b" || ok
}

run_env() {
  local test=$1 plain=$2 lib=$3 dir=$4 out err pid
  mkdir -p "$dir"
  rm -f "$dir"/*.prof*
  # Linked with hotpath, and an unmodified program with the library preloaded.
  out=$(HOTPATH_CPUPROFILE="$dir/linked.prof" "$test" run) || bad "env: linked run failed"
  check_profile env-linked "$dir/linked.prof" "$(cpu_of "$out")"
  out=$(HOTPATH_CPUPROFILE="$dir/preload.prof" LD_PRELOAD="$lib" "$plain" run) \
    || bad "env: preloaded run failed"
  check_profile env-preload "$dir/preload.prof" "$(cpu_of "$out")"

  # SIGTERM to a busy process: the profile is written, the process dies of it.
  HOTPATH_CPUPROFILE="$dir/term.prof" LD_PRELOAD="$lib" "$plain" forever >"$dir/term.out" &
  pid=$!
  sleep 1.5
  kill -TERM $pid
  wait $pid
  local st=$?
  [[ $st == 143 ]] && ok || bad "env: SIGTERM: exit status $st, want 143"
  readable env-sigterm "$dir/term.prof"

  # fork: the child writes <path>.<pid>; the parent its own at exit.
  out=$(HOTPATH_CPUPROFILE="$dir/fork.prof" LD_PRELOAD="$lib" "$plain" fork) \
    || bad "env: fork run failed: $out"
  pid=$(sed -n 's/^child \([0-9]*\)$/\1/p' <<<"$out")
  check_profile env-fork-child "$dir/fork.prof.$pid" "$(cpu_of "$out")"
  readable env-fork-parent "$dir/fork.prof" any

  # Bad values warn and keep the default rate (period 10 ms).
  err=$(HOTPATH_CPUPROFILE="$dir/bad.prof" HOTPATH_CPUPROFILE_HZ=abc LD_PRELOAD="$lib" \
    "$plain" run 2>&1 >/dev/null)
  grep -q 'ignoring HOTPATH_CPUPROFILE_HZ="abc"' <<<"$err" && ok || bad "env: no warning for HZ=abc: $err"
  pprof -raw "$dir/bad.prof" | grep -q "^Period: 10000000$" && ok || bad "env: HZ=abc changed the period"
  err=$(HOTPATH_CPUPROFILE="$dir/bad2.prof" HOTPATH_CPUPROFILESIGNAL=99 LD_PRELOAD="$lib" \
    "$plain" run 2>&1 >/dev/null)
  grep -q 'ignoring HOTPATH_CPUPROFILESIGNAL="99": want an integer in \[0, 64\]' <<<"$err" \
    && ok || bad "env: no warning for CPUPROFILESIGNAL=99: $err"
  readable env-bad-signal "$dir/bad2.prof"

  # 1000 Hz is above the kernel tick: a warning, and 250 Hz used and written.
  out=$(HOTPATH_CPUPROFILE="$dir/fast.prof" HOTPATH_CPUPROFILE_HZ=1000 LD_PRELOAD="$lib" \
    "$plain" run 2>"$dir/fast.err")
  grep -q "timer tick" "$dir/fast.err" && ok || bad "env: 1000 Hz: no warning: $(cat "$dir/fast.err")"
  pprof -raw "$dir/fast.prof" | grep -q "^Period: 4000000$" && ok || bad "env: 1000 Hz: period not 4 ms"
  check_profile env-1000hz "$dir/fast.prof" "$(cpu_of "$out")"

  # HOTPATH_CPUPROFILESIGNAL: each pair of signals writes <path>.<k>.
  HOTPATH_CPUPROFILE="$dir/sig.prof" HOTPATH_CPUPROFILESIGNAL=12 LD_PRELOAD="$lib" \
    "$plain" forever >/dev/null &
  pid=$!
  sleep 0.5
  for k in 0 1; do
    kill -USR2 $pid; sleep 0.7; kill -USR2 $pid; sleep 0.5
    readable "env-signal-$k" "$dir/sig.prof.$k"
  done
  [[ -e $dir/sig.prof ]] && bad "env: toggled profiling wrote $dir/sig.prof" || ok
  kill -TERM $pid
  wait $pid
}

run_stress() {
  local stress=$1 dir=$2 out
  mkdir -p "$dir"
  out=$(timeout 120 "$stress" "$dir/stress.prof" 2 7) || bad "stress: $stress failed: $out"
  echo "$out" | tail -2
  readable stress "$dir/stress.prof"
  readable stress-second "$dir/stress.prof.2"
}

case $mode in
  api) run_api "$@" ;;
  env) run_env "$@" ;;
  stress) run_stress "$@" ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
echo "$passes passed, $fails failed"
[[ $fails -eq 0 && $passes -gt 0 ]]
