#!/usr/bin/env bash
# run_profiled: unmodified programs profiled by `hotpath run -cpuprofile f
# -memprofile f`: sqlite3 (data/sort.sql) and python3 (data/workload.py)
# give the same output as without hotpath, and leave a CPU and a heap
# profile that the real `go tool pprof` reads, naming the programs' own
# functions; and the same under `hotpath run -http`, profiles fetched over
# HTTP while they run.  python3 has no frame pointers: it runs with
# HOTPATH_UNWIND=libunwind, whose stacks must reach the interpreter loop.
# Usage: run_profiled.sh path/to/hotpath workdir
set -u
cli=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work" && rm -f "$work"/*
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# profiled NAME ENV... -- ARGV...: run plain and under hotpath, compare.
profiled() {
  local name=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  "$@" <"$stdin" >"$work/$name.plain" 2>&1 || bad "$name plain exited $?"
  env "${envs[@]}" "$cli" run -cpuprofile "$work/$name.cpu.pb" -memprofile "$work/$name.heap.pb" \
    -memprofilerate 65536 -- "$@" <"$stdin" >"$work/$name.hp" 2>&1 || bad "$name under hotpath exited $?"
  cmp -s "$work/$name.plain" "$work/$name.hp" && ok || bad "$name: outputs differ: $(diff "$work/$name.plain" "$work/$name.hp" | head -5)"
  for k in cpu heap; do
    python3 "$here/pprof_values.py" "$work/$name.$k.pb" >"$work/$name.$k.values" \
      && ok || bad "$name: go tool pprof cannot read the $k profile"
  done
}

stdin=$here/data/sort.sql
profiled sqlite3 HOTPATH_UNWIND=fp -- /usr/bin/sqlite3 ":memory:"
# share FILE REGEX COLUMN: percent of the total of COLUMN (3 = first value)
# in samples whose leaf lies in a mapping matching REGEX.
share() {
  awk -v re="$2" -v c="$3" '$1 == "flatmap" { t += $c; if ($2 ~ re) m += $c }
    END { print (t > 0 ? int(100 * m / t) : 0) }' "$1"
}
# sqlite3 (Debian's, stripped, without frame pointers): the leaves are
# right, in libsqlite3 mostly, and its exported functions are named.
pct=$(share "$work/sqlite3.cpu.values" libsqlite3 3)
[[ $pct -ge 40 ]] && ok || bad "sqlite3 CPU profile: only $pct% of samples in libsqlite3"
grep -q "^flat sqlite3VdbeExec " "$work/sqlite3.cpu.values" && ok \
  || bad "sqlite3 CPU profile does not name sqlite3VdbeExec: $(grep '^flat' "$work/sqlite3.cpu.values" | head -5)"
# The allocator's own frames are cut: the allocating code is the leaf.
pct=$(share "$work/sqlite3.heap.values" libsqlite3 4)
[[ $pct -ge 90 ]] && ok || bad "sqlite3 heap profile: only $pct% of alloc_space has a leaf in libsqlite3"

stdin=/dev/null
profiled python3 HOTPATH_UNWIND=libunwind -- /usr/bin/python3 "$here/data/workload.py"
grep -q "^cum _PyEval_EvalFrameDefault " "$work/python3.cpu.values" && ok \
  || bad "python3 CPU profile: no stack reaches _PyEval_EvalFrameDefault: $(grep '^flat' "$work/python3.cpu.values" | head -5)"
grep -q "^cum _PyEval_EvalFrameDefault " "$work/python3.heap.values" && ok \
  || bad "python3 heap profile: no stack reaches _PyEval_EvalFrameDefault"

# served NAME ENV... -- ARGV...: run under `hotpath run -http`, fetch its
# heap and a 1 s CPU profile and /metrics over HTTP while it runs; its
# standard output must be the plain run's.
served() {
  local name=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  "$@" <"$stdin" >"$work/$name.plain.out" 2>/dev/null || bad "$name plain exited $?"
  env "${envs[@]}" "$cli" run -http 127.0.0.1:0 -- "$@" <"$stdin" >"$work/$name.srv.out" 2>"$work/$name.srv.err" &
  local pid=$! port="" url
  for _ in $(seq 100); do
    port=$(sed -n 's|.*debug server on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/$name.srv.err")
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] && ok || bad "$name: no debug server: $(head -3 "$work/$name.srv.err")"
  url=http://127.0.0.1:$port
  curl -s --noproxy '*' --max-time 20 -o "$work/$name.srv.heap.pb" "$url/debug/pprof/heap"
  curl -s --noproxy '*' --max-time 20 -o "$work/$name.srv.cpu.pb" "$url/debug/pprof/profile?seconds=1"
  curl -s --noproxy '*' --max-time 20 -o "$work/$name.srv.metrics" "$url/metrics"
  wait "$pid" || bad "$name under hotpath run -http exited $?"
  cmp -s "$work/$name.plain.out" "$work/$name.srv.out" && ok \
    || bad "$name -http: outputs differ: $(diff "$work/$name.plain.out" "$work/$name.srv.out" | head -5)"
  python3 "$here/pprof_values.py" "$work/$name.srv.heap.pb" | grep -q "^flat " && ok \
    || bad "$name: heap profile over HTTP unreadable or empty"
  python3 "$here/pprof_values.py" "$work/$name.srv.cpu.pb" | grep -q "^flat " && ok \
    || bad "$name: CPU profile over HTTP unreadable or empty"
  awk '$1 == "hotpath_memstats_mallocs_total" && $2 > 1000 {f=1} END {exit !f}' "$work/$name.srv.metrics" && ok \
    || bad "$name: /metrics: $(grep mallocs_total "$work/$name.srv.metrics")"
}

# Served while it runs: each program does its work twice, so that it is
# still running when the 1 s CPU profile ends.
stdin=$work/sort-twice.sql
{ cat "$here/data/sort.sql"; echo "DROP TABLE t; DROP TABLE u;"; cat "$here/data/sort.sql"; } >"$stdin"
served sqlite3 -- /usr/bin/sqlite3 ":memory:"
stdin=/dev/null
served python3 -- /usr/bin/python3 -c 'import runpy, sys
for _ in range(2): runpy.run_path(sys.argv[1])' "$here/data/workload.py"

echo "$passes passed, $fails failed"
[[ $fails -eq 0 && $passes -gt 0 ]]
