#!/usr/bin/env bash
# lockprof_test: the mutex and block profiles of known contended locks and
# known waits (lockprof_prog.c), read by the real `go tool pprof`.
#   mutex: each lock's delay is charged to its unlocker (hold_lock through
#          pthread_mutex_unlock, hold_rwlock through pthread_rwlock_unlock,
#          the leaves), within 20%;
#   block: to the waiters (wait_lock, wait_rwlock, cond_waiter,
#          clock_waiter, sem_waiter, join_waiter), within 20%.
# Usage: lockprof_test.sh path/to/lockprof_prog
set -uo pipefail
prog=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/testlib.sh"

"$prog" "$tmp/mutex.pb" "$tmp/block.pb" >"$tmp/truth" || { echo "FAIL: lockprof_prog failed"; exit 1; }
truth() { awk -v k="$1_delay" '$2 == k {print $3}' "$tmp/truth"; }

python3 "$here/pprof_values.py" "$tmp/mutex.pb" >"$tmp/mutex" || bad "pprof cannot read the mutex profile"
python3 "$here/pprof_values.py" "$tmp/block.pb" >"$tmp/block" || bad "pprof cannot read the block profile"
grep -q "^types contentions/count delay/nanoseconds$" "$tmp/mutex" && ok || bad "mutex types: $(head -1 "$tmp/mutex")"
grep -q "^types contentions/count delay/nanoseconds$" "$tmp/block" && ok || bad "block types: $(head -1 "$tmp/block")"

# value FILE KIND FUNC: the delay of FUNC (column 4: name kind func count delay).
value() { awk -v k="$2" -v f="$3" '$1 == k && $2 == f {print $4}' "$1"; }

leaf=$(awk '$1 == "flat" {print $2}' "$tmp/mutex" | sort -u | tr '\n' ' ')
[[ $leaf == "pthread_mutex_unlock pthread_rwlock_unlock " ]] && ok \
  || bad "mutex profile leaves: want pthread_mutex_unlock and pthread_rwlock_unlock only, got $leaf"

# check FILE FUNC TRUTH: FUNC's cumulative delay within 20% of TRUTH.
check() {
  local got want=$(truth "$3")
  got=$(value "$tmp/$1" cum "$2")
  [[ -n $want ]] || { bad "no truth for $3"; return; }
  within "$want" "${got:-0}" 20 && ok || bad "$1 delay at $2: want $want ±20%, got ${got:-none}: $(grep flat "$tmp/$1")"
}
check mutex hold_lock mutex
check mutex hold_rwlock rwlock
check block wait_lock mutex
check block wait_rwlock rwlock
check block cond_waiter cond
check block clock_waiter clock
check block sem_waiter sem
check block join_waiter join

finish
