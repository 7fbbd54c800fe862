#!/usr/bin/env bash
# lockprof_test: the mutex and block profiles of a known contended mutex and
# a known condition-variable wait, read by the real `go tool pprof`.
#   mutex: the delay is charged to the unlocker (hold_lock, through
#          pthread_mutex_unlock, the leaf), within 20%;
#   block: the waiters (wait_lock, cond_waiter), within 20%.
# Usage: lockprof_test.sh path/to/lockprof_prog
set -uo pipefail
prog=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
within() { awk -v w="$1" -v g="$2" -v p="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w * p / 100) }'; }

"$prog" "$tmp/mutex.pb" "$tmp/block.pb" >"$tmp/truth" || { echo "FAIL: lockprof_prog failed"; exit 1; }
mutex_truth=$(awk '$2 == "mutex_delay" {print $3}' "$tmp/truth")
cond_truth=$(awk '$2 == "cond_delay" {print $3}' "$tmp/truth")

python3 "$here/pprof_values.py" "$tmp/mutex.pb" >"$tmp/mutex" || bad "pprof cannot read the mutex profile"
python3 "$here/pprof_values.py" "$tmp/block.pb" >"$tmp/block" || bad "pprof cannot read the block profile"
grep -q "^types contentions/count delay/nanoseconds$" "$tmp/mutex" && ok || bad "mutex types: $(head -1 "$tmp/mutex")"
grep -q "^types contentions/count delay/nanoseconds$" "$tmp/block" && ok || bad "block types: $(head -1 "$tmp/block")"

# value FILE KIND FUNC: the delay of FUNC (column 4: name kind func count delay).
value() { awk -v k="$2" -v f="$3" '$1 == k && $2 == f {print $4}' "$1"; }

leaf=$(awk '$1 == "flat" {print $2}' "$tmp/mutex" | sort -u | tr '\n' ' ')
[[ $leaf == "pthread_mutex_unlock " ]] && ok || bad "mutex profile leaves: want pthread_mutex_unlock only, got $leaf"
got=$(value "$tmp/mutex" cum hold_lock)
within "$mutex_truth" "${got:-0}" 20 && ok || bad "mutex delay at hold_lock: want $mutex_truth ±20%, got ${got:-none}: $(grep flat "$tmp/mutex")"
got=$(value "$tmp/block" cum wait_lock)
within "$mutex_truth" "${got:-0}" 20 && ok || bad "block delay at wait_lock: want $mutex_truth ±20%, got ${got:-none}: $(grep flat "$tmp/block")"
got=$(value "$tmp/block" cum cond_waiter)
within "$cond_truth" "${got:-0}" 20 && ok || bad "block delay at cond_waiter: want $cond_truth ±20%, got ${got:-none}"

echo "$passes passed, $fails failed"
[[ $fails -eq 0 && $passes -gt 0 ]]
