#!/usr/bin/env bash
# threads_pprof_check.sh PROG WORKDIR: the goroutine and threadcreate
# profiles in pprof format, read back by `go tool pprof`.  PROG is
# threads_pprof_prog (tests/unit/threads_pprof_prog.c): three workers made by
# spawn_pprof_workers block in pprof_blocked_here with the label role=worker.
# Run with frame pointers and with libunwind as the selected walker.
set -euo pipefail
prog=$1
dir=$2
mkdir -p "$dir"
fail=0

expect() { # expect WHAT TEXT PATTERN: TEXT must match the grep -E PATTERN
    if grep -qE -- "$3" <<<"$2"; then
        echo "ok: $1"
    else
        echo "FAIL: $1 (no match for /$3/)"
        fail=1
    fi
}

for unwind in fp libunwind; do
    g=$dir/goroutine.$unwind.pb.gz
    t=$dir/threadcreate.$unwind.pb.gz
    HOTPATH_BACKGROUND_THREAD=0 HOTPATH_UNWIND=$unwind "$prog" "$g" "$t"

    raw=$(go tool pprof -raw "$g" 2>&1) || { echo "$raw"; exit 1; }
    expect "$unwind goroutine: period type" "$raw" '^PeriodType: goroutine count'
    expect "$unwind goroutine: sample type" "$raw" '^goroutine/count'
    expect "$unwind goroutine: the workers' sample has value 3" "$raw" '^ +3: '
    expect "$unwind goroutine: label role=worker" "$raw" 'role:\[worker\]'

    top=$(go tool pprof -top "$g" 2>&1)
    expect "$unwind goroutine: 4 threads in all" "$top" 'of 4 total'
    traces=$(go tool pprof -traces "$g" 2>&1)
    expect "$unwind goroutine: blocked function named" "$traces" 'pprof_blocked_here'
    expect "$unwind goroutine: the blocked function's caller" "$traces" 'hp_do'
    cum=$(go tool pprof -top -cum -nodecount=100 "$g" 2>&1)
    expect "$unwind goroutine: 3 of 4 threads in pprof_blocked_here" "$cum" \
        '^ +[0-9]+ +[0-9.]+% +[0-9.]+% +3 +75(\.00)?% +pprof_blocked_here$'
    lines=$(go tool pprof -lines -top "$g" 2>&1)
    expect "$unwind goroutine: file and line travel in the profile" "$lines" \
        'pprof_blocked_here .*threads_pprof_prog\.c:[0-9]+'

    raw=$(go tool pprof -raw "$t" 2>&1) || { echo "$raw"; exit 1; }
    expect "$unwind threadcreate: period type" "$raw" '^PeriodType: threadcreate count'
    top=$(go tool pprof -top "$t" 2>&1)
    expect "$unwind threadcreate: 4 threads (main included)" "$top" 'of 4 total'
    traces=$(go tool pprof -traces "$t" 2>&1)
    expect "$unwind threadcreate: the creating function" "$traces" 'spawn_pprof_workers'
done
exit $fail
