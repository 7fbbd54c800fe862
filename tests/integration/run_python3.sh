#!/usr/bin/env bash
# run_python3: Debian's python3 runs data/workload.py with and without
# `hotpath run`; the outputs must be identical, and the python3 process under
# hotpath must have libhotpath mapped (it reads its own /proc/self/maps).
# Usage: run_python3.sh path/to/hotpath workdir
set -u
cli=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[[ -x $py ]] || { echo "FAIL: $py missing (make test installs it)"; exit 1; }
mkdir -p "$work"
fails=0

"$py" "$here/data/workload.py" >"$work/plain.out" 2>&1 || { echo "FAIL: plain python3 exited $?"; fails=1; }
"$cli" run -- "$py" "$here/data/workload.py" >"$work/hotpath.out" 2>&1 || { echo "FAIL: python3 under hotpath exited $?"; fails=1; }
if cmp -s "$work/plain.out" "$work/hotpath.out" && grep -q '^digest ' "$work/plain.out"; then
  echo "ok: identical output ($(tail -1 "$work/plain.out"))"
else
  echo "FAIL: outputs differ"; diff "$work/plain.out" "$work/hotpath.out" | head -20; fails=1
fi

probe='import sys; n = open("/proc/self/maps").read().count("libhotpath"); print(n)'
n=$("$cli" run -- "$py" -c "$probe" 2>&1)
if [[ $n =~ ^[0-9]+$ && $n -gt 0 ]]; then echo "ok: libhotpath mapped in python3 ($n mappings)"
else echo "FAIL: libhotpath not in python3's maps: $n"; fails=1; fi
exit $fails
