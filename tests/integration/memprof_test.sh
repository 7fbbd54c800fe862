#!/usr/bin/env bash
# memprof_test: the heap profile of known allocations, read by the real
# `go tool pprof` (through pprof_values.py).
#   rate 1: every allocation recorded, figures exact, allocating functions
#           are the leaves (the allocator's frames are dropped);
#   rate 4096: sampled, unsampled figures within 10% of the truth;
#   debug=1 text form; HOTPATH_MEMPROFILE written at exit and on SIGTERM;
#   no debuginfod server asked while writing; without zlib (a stand-in
#   libz.so.1 that lacks its functions) a clear error, no crash.
# Usage: memprof_test.sh path/to/memprof_prog path/to/memprof_prog_nodebug
set -uo pipefail
prog=$1 nodebug=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"

# check RATE PCT: run the program at RATE, compare flat values with the truth.
check() {
  local rate=$1 pct=$2
  "$prog" "$rate" "$tmp/heap.pb" "$tmp/heap.txt" >"$tmp/truth" || { bad "memprof_prog $rate failed"; return; }
  python3 "$here/pprof_values.py" "$tmp/heap.pb" >"$tmp/values" || { bad "pprof could not read the rate $rate profile"; return; }
  grep -q "^types alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes$" "$tmp/values" \
    && ok || bad "sample types: $(head -1 "$tmp/values")"
  while read -r _ site a_obj a_sp i_obj i_sp; do
    got=$(grep "^flat $site " "$tmp/values")
    [[ -n $got ]] || { bad "rate $rate: $site is not a leaf in the profile: $(grep -E '^flat' "$tmp/values" | head -5)"; continue; }
    read -r _ _ g_ao g_as g_io g_is <<<"$got"
    local i=0
    for pair in "$a_obj $g_ao alloc_objects" "$a_sp $g_as alloc_space" "$i_obj $g_io inuse_objects" "$i_sp $g_is inuse_space"; do
      read -r want gotv what <<<"$pair"
      if [[ $pct == 0 ]]; then
        [[ $want == "$gotv" ]] && ok || bad "rate $rate $site $what: want exactly $want, got $gotv"
      else
        within "$want" "$gotv" "$pct" && ok || bad "rate $rate $site $what: want $want within $pct%, got $gotv"
      fi
      i=$((i + 1))
    done
  done < <(grep '^truth' "$tmp/truth")
}

check 1 0

# Inlined frames: the leaf location carries the inlined function and the
# one it was inlined into, exact at rate 1.
read -r _ inl outer n bytes < <(grep '^inline' "$tmp/truth")
grep -q "^flat $inl $n $bytes " "$tmp/values" && ok || bad "inlined $inl is not the leaf with $n objects: $(grep "$inl" "$tmp/values")"
grep -q "^cum $outer $n $bytes " "$tmp/values" && ok || bad "$outer (inlined into) missing: $(grep "$outer" "$tmp/values")"
# The program's mapping carries its build ID and says it has functions,
# files, lines and inline frames.
bid=$(readelf -n "$prog" | awk '/Build ID/ {print $3}')
grep -q "^mapping \[FN\]\[FL\]\[LN\]\[IN\] .*$(basename "$prog") $bid$" "$tmp/values" && ok \
  || bad "mapping of $(basename "$prog") lacks build ID $bid or flags: $(grep "^mapping" "$tmp/values" | head -2)"

check 4096 10

# debug=1: Go's legacy text, symbolized.
grep -q "^heap profile: [0-9]*: [0-9]* \[[0-9]*: [0-9]*\] @ heap/8192$" "$tmp/heap.txt" && ok || bad "text header: $(head -1 "$tmp/heap.txt")"
grep -q "site_mid" "$tmp/heap.txt" && ok || bad "text form does not name site_mid"
grep -q "# HeapAlloc = " "$tmp/heap.txt" && ok || bad "text form lacks MemStats"

# HOTPATH_MEMPROFILE: written at exit, readable.
HOTPATH_MEMPROFILE="$tmp/exit.pb" "$prog" 1 "$tmp/x.pb" >/dev/null || bad "run with HOTPATH_MEMPROFILE failed"
python3 "$here/pprof_values.py" "$tmp/exit.pb" >"$tmp/exit.values" && grep -q "^flat site_small 200000 " "$tmp/exit.values" \
  && ok || bad "HOTPATH_MEMPROFILE profile: $(head -3 "$tmp/exit.values" 2>/dev/null)"

# DEBUGINFOD_URLS set (Debian's shell profile sets it): writing a profile
# asks no debuginfod server, even for a program without debug information
# (libdebuginfod reports each try when verbose).
DEBUGINFOD_URLS=http://127.0.0.1:9 DEBUGINFOD_VERBOSE=1 "$nodebug" 1 "$tmp/d.pb" >/dev/null 2>"$tmp/d.err" \
  || bad "run with DEBUGINFOD_URLS failed: $(tail -3 "$tmp/d.err")"
grep -qi "debuginfod\|server url" "$tmp/d.err" && bad "debuginfod was asked: $(head -3 "$tmp/d.err")" || ok
# (Into a file first: under pipefail, grep -q quitting early would fail the
# pipeline whenever pprof_values.py was still writing: the memprof_test flake.)
python3 "$here/pprof_values.py" "$tmp/d.pb" >"$tmp/d.values" && grep -q "^flat site_small 200000 " "$tmp/d.values" && ok \
  || bad "profile written with DEBUGINFOD_URLS set lacks site_small"

# SIGTERM: a process killed before exit still leaves its heap profile, and
# dies of SIGTERM as it would have.
HOTPATH_MEMPROFILE="$tmp/term.pb" "$prog" 1 "$tmp/y.pb" "$tmp/y.txt" wait >"$tmp/term.out" &
pid=$!
for _ in $(seq 300); do grep -q ready "$tmp/term.out" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
st=$?
[[ $st == 143 ]] && ok || bad "killed by SIGTERM, exit status $st (want 143)"
python3 "$here/pprof_values.py" "$tmp/term.pb" >"$tmp/term.values" && grep -q "^flat site_small 200000 " "$tmp/term.values" \
  && ok || bad "no readable heap profile after SIGTERM: $(head -3 "$tmp/term.values" 2>/dev/null)"

# zlib and libprotobuf-c are loaded when the first profile is written: a
# libz.so.1 without zlib's functions makes the write fail with a clear
# error; the program goes on and exits normally.
mkdir "$tmp/fakez"
if echo 'int not_zlib;' | cc -shared -x c - -o "$tmp/fakez/libz.so.1"; then
  LD_LIBRARY_PATH="$tmp/fakez" "$prog" 1 "$tmp/z.pb" >/dev/null 2>"$tmp/z.err"
  st=$?
  [[ $st -lt 128 ]] && ok || bad "without zlib the program died: status $st"
  grep -q "cannot load libz.so.1 (Debian package zlib1g): profiles cannot be written" "$tmp/z.err" \
    && ok || bad "without zlib, no clear error: $(head -3 "$tmp/z.err")"
  [[ ! -s $tmp/z.pb ]] && ok || bad "without zlib a profile was written anyway"
else
  bad "cannot build the stand-in libz.so.1"
fi

finish
