#!/usr/bin/env bash
# options_test: HOTPATH_<NAME> options take effect when good, and a bad value
# warns on stderr, names the variable, and keeps the default.
# Usage: options_test.sh path/to/options_probe
set -u
probe=$1
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# run ENV... -- prints "<stdout>|<stderr>" of the probe with those variables.
run() {
  local err out
  err=$(mktemp)
  out=$(env "$@" "$probe" 2>"$err") || bad "probe exited $? with $*"
  printf '%s|%s' "$out" "$(cat "$err")"
  rm -f "$err"
}

released() { sed -n 's/^released \([0-9]*\).*/\1/p' <<<"${1%%|*}"; }

# Default: a 5 s delay, so nothing is released 50 ms after the free.
r=$(run HOTPATH_SCAVENGE_DELAY_MS=)
[[ $(released "$r") == 0 ]] && ok || bad "default delay released memory: $r"

# A good value takes effect: delay 0 releases the freed 8 MiB at once.
r=$(run HOTPATH_SCAVENGE_DELAY_MS=0)
rel=$(released "$r")
[[ -n $rel && $rel -ge $((8 << 20)) ]] && ok || bad "delay 0 did not release 8 MiB: $r"
[[ ${r#*|} == "" ]] && ok || bad "a good value printed a warning: ${r#*|}"

# Bad values: a warning naming the variable and the default, default kept.
for v in abc -5 99999999999 "12ms" "1e3" " 7"; do
  r=$(run "HOTPATH_SCAVENGE_DELAY_MS=$v")
  grep -q "hotpath: ignoring HOTPATH_SCAVENGE_DELAY_MS=\"$v\": want an integer in \[0, 86400000\]; keeping 5000" <<<"${r#*|}" \
    && ok || bad "no warning for HOTPATH_SCAVENGE_DELAY_MS=\"$v\": ${r#*|}"
  [[ $(released "$r") == 0 ]] && ok || bad "bad value \"$v\" changed the delay: $r"
done
for v in maybe 2 ""; do
  [[ -z $v ]] && continue
  r=$(run HOTPATH_SCAVENGE_DELAY_MS=0 "HOTPATH_BACKGROUND_THREAD=$v")
  grep -q "hotpath: ignoring HOTPATH_BACKGROUND_THREAD=\"$v\": want 0 or 1; keeping 1" <<<"${r#*|}" \
    && ok || bad "no warning for HOTPATH_BACKGROUND_THREAD=\"$v\": ${r#*|}"
done
# Booleans accept the usual spellings silently.
for v in 0 1 true false on off yes no TRUE; do
  r=$(run "HOTPATH_VERBOSE=$v")
  [[ ${r#*|} == "" ]] && ok || bad "HOTPATH_VERBOSE=$v warned: ${r#*|}"
done

# Profiling options.
rate() { sed -n 's/^memprofilerate \([0-9]*\).*/\1/p' <<<"${1%%|*}"; }
r=$(run HOTPATH_MEMPROFILERATE=4096)
[[ $(rate "$r") == 4096 && ${r#*|} == "" ]] && ok || bad "HOTPATH_MEMPROFILERATE=4096 not taken: $r"
for v in abc -1 1.5 99999999999999999; do
  r=$(run "HOTPATH_MEMPROFILERATE=$v")
  grep -q "hotpath: ignoring HOTPATH_MEMPROFILERATE=\"$v\": want an integer in \[0, 1099511627776\]; keeping 524288" <<<"${r#*|}" \
    && ok || bad "no warning for HOTPATH_MEMPROFILERATE=\"$v\": ${r#*|}"
  [[ $(rate "$r") == 524288 ]] && ok || bad "bad HOTPATH_MEMPROFILERATE=\"$v\" changed the rate: $r"
done
r=$(run HOTPATH_UNWIND=dwarf)
grep -q 'hotpath: ignoring HOTPATH_UNWIND="dwarf": want one of fp, libunwind; keeping fp' <<<"${r#*|}" \
  && ok || bad "no warning for HOTPATH_UNWIND=dwarf: ${r#*|}"
r=$(run HOTPATH_UNWIND=libunwind)
[[ ${r#*|} == "" ]] && ok || bad "HOTPATH_UNWIND=libunwind warned: ${r#*|}"
for v in 0 fast 20000; do
  r=$(run "HOTPATH_CPUPROFILE_HZ=$v")
  grep -q "hotpath: ignoring HOTPATH_CPUPROFILE_HZ=\"$v\": want an integer in \[1, 10000\]; keeping 100" <<<"${r#*|}" \
    && ok || bad "no warning for HOTPATH_CPUPROFILE_HZ=\"$v\": ${r#*|}"
done

# HOTPATH_MUTEXPROFILEFRACTION turns the mutex profile on from start-up.
r=$(run HOTPATH_MUTEXPROFILEFRACTION=7)
grep -q "^mutexfraction 7$" <<<"${r%%|*}" && ok || bad "HOTPATH_MUTEXPROFILEFRACTION=7: $r"
r=$(run HOTPATH_MUTEXPROFILEFRACTION=-3)
grep -q "^mutexfraction 0$" <<<"${r%%|*}" && grep -q 'ignoring HOTPATH_MUTEXPROFILEFRACTION="-3"' <<<"${r#*|}" \
  && ok || bad "HOTPATH_MUTEXPROFILEFRACTION=-3: $r"

echo "$passes passed, $fails failed"
[[ $fails -eq 0 && $passes -gt 0 ]]
