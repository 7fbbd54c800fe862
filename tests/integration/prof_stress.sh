#!/usr/bin/env bash
# prof_stress: prof_stress writes every profile over and over while threads
# allocate, free each other's objects, contend and come and go; it must
# finish (ctest's timeout catches a deadlock), and its final heap profile
# must be read by go tool pprof and show the churning function.
# Usage: prof_stress.sh path/to/prof_stress
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$1" "$tmp/heap.pb" 3 || { echo "FAIL: prof_stress exited $?"; exit 1; }
python3 "$here/pprof_values.py" "$tmp/heap.pb" >"$tmp/values" || { echo "FAIL: pprof cannot read the heap profile"; exit 1; }
grep -q "^cum short_life " "$tmp/values" || { echo "FAIL: short_life not in the heap profile"; head "$tmp/values"; exit 1; }
echo "ok: profiles written under churn; heap profile read back"
