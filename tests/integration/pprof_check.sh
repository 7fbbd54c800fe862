#!/usr/bin/env bash
# pprof_check: the real `go tool pprof` reads the profile pprof_test writes,
# without the binary: names, files, lines, inlined frames, values, labels,
# drop_frames, period and comments must all come from the profile itself.
#
# pprof_test runs from a copy that is deleted before pprof starts, HOME is an
# empty directory and PPROF_BINARY_PATH an empty one, so pprof cannot
# symbolize anything on its own.  pprof_test writes the expected lines as
# shell assignments (FACTS); the values are the ones it adds (see
# build_profile in unit/pprof_test.c).
# Usage: pprof_check.sh path/to/pprof_test WORKDIR
set -u
test_bin=$1
work=$2
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

rm -rf "$work"
mkdir -p "$work/bin" "$work/home" "$work/empty" "$work/prof"
cp "$test_bin" "$work/bin/pprof_test"
if ! out=$("$work/bin/pprof_test" "$work/prof/profile.pb.gz" "$work/facts.sh" 2>&1); then
  echo "$out" >&2
  echo "FAIL: pprof_test failed" >&2
  exit 1
fi
rm -f "$work/bin/pprof_test"
# shellcheck disable=SC1091
source "$work/facts.sh"
cd "$work/prof" || exit 1
export HOME=$work/home PPROF_BINARY_PATH=$work/empty PPROF_TMPDIR=$work/home

# pp ARGS...: go tool pprof's output (stdout and stderr), checked for
# warnings that mean it did not trust or could not read the profile.
pp() {
  local o
  o=$(go tool pprof "$@" profile.pb.gz 2>&1) || bad "go tool pprof $* exited $?: $o"
  if grep -Eq 'Local symbolization failed|unrecognized profile format|binary filenames not available|malformed|mismatch' <<<"$o"; then
    bad "go tool pprof $* warned: $o"
  fi
  printf '%s\n' "$o"
}

# flat NAME OUTPUT: the flat column of -top's row for NAME.
flat() {
  awk -v n="$1" '{ s = ""; for (i = 6; i <= NF; i++) s = s (i > 6 ? " " : "") $i;
                   if (NF >= 6 && s == n) print $1 }' <<<"$2"
}

expect() { # expect DESCRIPTION REGEX OUTPUT
  grep -Eq -- "$2" <<<"$3" && ok || bad "$1: no /$2/ in:
$3"
}
expect_flat() { # expect_flat NAME VALUE OUTPUT
  local v
  v=$(flat "$1" "$3")
  [[ $v == "$2" ]] && ok || bad "flat of $1 is '$v', want $2"
}

# -raw: the header, the locations with files and lines (the inlined frame
# as its own line, callee first), the mappings with build IDs and flags.
raw=$(pp -raw)
expect "period type" '^PeriodType: cpu nanoseconds$' "$raw"
expect "period" '^Period: 10000000$' "$raw"
expect "duration" '^Duration: 2s$' "$raw"
expect "comment" 'pprof_test comment' "$raw"
expect "default type" 'samples/count cpu/nanoseconds\[dflt\]' "$raw"
expect "pt_alpha location" " M=1 pt_alpha [^ ]*/pprof_test\.c:$line_alpha s=" "$raw"
expect "pt_run location" " M=1 pt_run [^ ]*/pprof_test\.c:$line_run_alpha s=" "$raw"
inl=$(grep -A1 -E " M=1 pt_gamma_inl [^ ]*pprof_test\.c:$line_gamma s=" <<<"$raw")
expect "inlined callee then caller" "^ +pt_beta [^ ]*/pprof_test\.c:$line_beta s=" "$inl"
expect "synthetic location" '^ +[0-9]+: 0x0 pt_lost_events ' "$raw"
expect "main mapping" '^1: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ [^ ]*/pprof_test [0-9a-f]{40} \[FN\]\[FL\]\[LN\]\[IN\]$' "$raw"
expect "libc mapping" '^[0-9]+: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ [^ ]*libc\.so[^ ]* [0-9a-f]{40} \[FN\]' "$raw"
expect "drop_frames applied" '^ +11 +11000000: ' "$raw"
if grep -q 'pt_dropme' <<<"$(pp -traces)"; then bad "pt_dropme was not dropped"; else ok; fi

# -top: exact flat values of both sample types (merged samples summed).
top=$(pp -top -nodecount=100 -sample_index=samples)
expect "total" 'Total samples = 29 *$' "$top"
expect_flat pt_delta 11 "$top"
expect_flat "$libc_leaf" 7 "$top"
expect_flat pt_lost_events 5 "$top"
expect_flat pt_alpha 4 "$top"
expect_flat "pt_gamma_inl (inline)" 2 "$top"
expect_flat pt_beta 0 "$top"
top=$(pp -top -nodecount=100 -sample_index=cpu)
expect_flat pt_delta 11ms "$top"
expect_flat pt_alpha 4ms "$top"
expect_flat "pt_gamma_inl (inline)" 2ms "$top"
if grep -Eq '  0x[0-9a-f]+$' <<<"$top"; then bad "an unnamed frame in -top: $top"; else ok; fi

# -lines: file:line per row.
lines=$(pp -top -lines -nodecount=100)
expect "alpha line" "pt_alpha [^ ]*/pprof_test\.c:$line_alpha\$" "$lines"
expect "inlined line" "pt_gamma_inl [^ ]*/pprof_test\.c:$line_gamma \(inline\)\$" "$lines"
expect "call site line" "pt_beta [^ ]*/pprof_test\.c:$line_beta\$" "$lines"
expect "delta line" "pt_delta [^ ]*/pprof_test\.c:$line_delta\$" "$lines"

# Labels: -traces shows them; -tagfocus/-tagignore filter by them.
traces=$(pp -traces)
expect "string label" '^ +thread: +worker$' "$traces"
expect "numeric label" '^ +bytes: +4kB$' "$traces"
expect "inlined trace" 'pt_gamma_inl \(inline\)' "$traces"
expect_flat pt_alpha 3 "$(pp -top -tagfocus=thread=worker -sample_index=samples)"
expect_flat pt_alpha 3 "$(pp -top -tagfocus=bytes=4kB -sample_index=samples)"
expect_flat pt_alpha 1 "$(pp -top -tagignore=thread=worker -sample_index=samples)"
expect "comments" '^pprof_test comment$' "$(pp -comments)"

echo "pprof_check: $passes passed, $fails failed"
[[ $fails -eq 0 && $passes -gt 0 ]]
