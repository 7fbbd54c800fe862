#!/usr/bin/env bash
# run_sqlite3: sqlite3 (Debian's, unmodified) runs data/sort.sql, which
# inserts and sorts 200k rows, with and without `hotpath run`; the outputs
# must be identical, and the run under hotpath must really have libhotpath
# loaded in the sqlite3 process (checked through /proc/<pid>/maps).
# Usage: run_sqlite3.sh path/to/hotpath workdir
set -u
cli=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
sqlite=/usr/bin/sqlite3
[[ -x $sqlite ]] || { echo "FAIL: $sqlite missing (make test installs it)"; exit 1; }
mkdir -p "$work" && rm -f "$work"/*.db
fails=0

"$sqlite" "$work/plain.db" <"$here/data/sort.sql" >"$work/plain.out" 2>&1 || { echo "FAIL: plain sqlite3 exited $?"; fails=1; }
"$cli" run -- "$sqlite" "$work/hp.db" <"$here/data/sort.sql" >"$work/hotpath.out" 2>&1 || { echo "FAIL: sqlite3 under hotpath exited $?"; fails=1; }
if cmp -s "$work/plain.out" "$work/hotpath.out" && [[ -s $work/plain.out ]]; then
  echo "ok: identical output ($(wc -l <"$work/plain.out") lines, first: $(head -1 "$work/plain.out"))"
else
  echo "FAIL: outputs differ"; diff "$work/plain.out" "$work/hotpath.out" | head -20; fails=1
fi
grep -q '^200000|' "$work/plain.out" || { echo "FAIL: the script did not insert 200000 rows"; fails=1; }

# The sqlite3 process itself maps libhotpath: .shell runs a child whose
# parent is sqlite3.
n=$(printf '.shell grep -c libhotpath /proc/$PPID/maps\n' | "$cli" run -- "$sqlite" 2>&1)
if [[ $n =~ ^[0-9]+$ && $n -gt 0 ]]; then echo "ok: libhotpath mapped in sqlite3 ($n mappings)"
else echo "FAIL: libhotpath not in sqlite3's maps: $n"; fails=1; fi
n=$(printf ".shell grep -c libhotpath /proc/\$PPID/maps\n" | "$sqlite" 2>/dev/null)
[[ $n == 0 ]] && echo "ok: not mapped without hotpath run" || { echo "FAIL: plain run maps libhotpath? $n"; fails=1; }
exit $fails
