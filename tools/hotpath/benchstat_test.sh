#!/bin/bash
# tools/hotpath/benchstat_test.sh: tests of `hotpath benchstat`.
#
#   benchstat_test.sh HOTPATH PEERS_DIR
#
# 1. golang/perf's cmd/benchstat goldens (PEERS_DIR, used in place): each
#    case runs from inside PEERS_DIR and must print exactly <name>.stdout
#    and <name>.stderr (missing file: nothing) and exit 0;
# 2. bad input and bad flags: a clear message and the right exit status;
# 3. hostile input (a huge line, binary garbage, 10^5 benchmarks, NaNs):
#    no crash, a bounded run time.
# Exits nonzero if any check fails, after showing a diff for each.
set -u

HOTPATH=${1:?usage: benchstat_test.sh HOTPATH PEERS_DIR}
PEERS=${2:?usage: benchstat_test.sh HOTPATH PEERS_DIR}
if [ ! -f "$PEERS/crcOldNew.stdout" ]; then
    echo "FAIL: golang/perf's benchstat goldens are not at $PEERS" \
        "(shared/peers/benchstat beside the project root)"
    exit 1
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/benchstat_test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
fails=0

fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}

pass() {
    echo "ok:   $*"
}

# ---- 1. goldens -------------------------------------------------------------

golden() {
    local name=$1
    shift
    local want_err="$PEERS/$name.stderr" rc
    [ -f "$want_err" ] || want_err=/dev/null
    (cd "$PEERS" && "$HOTPATH" benchstat "$@" >"$TMP/$name.out" 2>"$TMP/$name.err")
    rc=$?
    if cmp -s "$TMP/$name.out" "$PEERS/$name.stdout" && cmp -s "$TMP/$name.err" "$want_err" &&
        [ $rc -eq 0 ]; then
        pass "golden $name"
        return
    fi
    fail "golden $name (exit $rc): benchstat $*"
    diff -u "$PEERS/$name.stdout" "$TMP/$name.out" | sed 's/^/    /'
    diff -u "$want_err" "$TMP/$name.err" | sed 's/^/    /'
}

if [ ! -d "$PEERS" ]; then
    fail "golden files not found in $PEERS"
else
    golden csvOldNew -format csv old.txt new.txt
    golden csvErrors -format csv -row .name new.txt
    golden crcOldNew crc-old.txt crc-new.txt
    golden crcIgnore -ignore note crc-old.txt crc-new.txt
    golden crcSizeVsPoly -filter /align:0 -row /size -col /poly crc-new.txt
    for n in units zero smallSample issue19565 issue19634; do
        golden "$n" -col note "$n.txt"
    done
fi

# ---- 2. bad input -------------------------------------------------------------

# expect NAME STATUS STDERR-SUBSTRING -- ARGS...: the exit status must be
# STATUS and stderr must contain the substring (stdout is not checked).
expect() {
    local name=$1 want_rc=$2 want=$3 rc
    shift 4
    (cd "$TMP" && timeout 60 "$HOTPATH" benchstat "$@" >"$TMP/out" 2>"$TMP/err")
    rc=$?
    if [ $rc -eq "$want_rc" ] && grep -qF -- "$want" "$TMP/err"; then
        pass "$name"
    else
        fail "$name: want exit $want_rc and stderr containing '$want'; got exit $rc, stderr:"
        sed 's/^/    /' "$TMP/err"
    fi
}

: >"$TMP/empty.txt"
printf 'goos: linux\nBenchmarkA 1 2\nBenchmarkA 1 2 ns/op\nBenchmarkB x 2 ns/op\n' >"$TMP/warn.txt"
cp "$PEERS/old.txt" "$TMP/old.txt" 2>/dev/null || printf 'BenchmarkA 1 2 ns/op\n' >"$TMP/old.txt"

expect "not benchmark data" 1 "no benchmark results in the input" -- /etc/passwd
expect "empty file" 1 "no benchmark results in the input" -- empty.txt
expect "missing file" 1 "open nonexistent.txt: No such file or directory" -- nonexistent.txt
expect "everything filtered out" 1 "no benchmark results match -filter" -- -filter '-*' old.txt
expect "unknown flag" 2 "flag provided but not defined: -bogus" -- -bogus old.txt
expect "flag after inputs" 2 "flags must come before the inputs: -col" -- old.txt -col .name
expect "flag without value" 2 "flag needs an argument: -row" -- -row
expect "no inputs" 2 "no inputs" -- -col .name
expect "bad -confidence range" 1 "-confidence must be in range [0, 1]" -- -confidence 2 old.txt
expect "bad -confidence number" 2 'invalid value "high" for flag -confidence' -- -confidence high old.txt
expect "bad -alpha" 1 "-alpha must be in range [0, 1]" -- -alpha=-1 old.txt
expect "bad -format" 1 "-format must be text or csv" -- -format html old.txt
expect "bad -col order" 1 'parsing -col: syntax error: unknown order "bogus"' -- -col /x@bogus old.txt
expect "-col .unit" 1 ".unit is only allowed in filters" -- -col .unit old.txt
expect "bad -filter regexp" 1 'missing close "/"' -- -filter '/a:/x' old.txt
expect "syntax warnings" 0 "warn.txt:2: missing units" -- warn.txt
expect "syntax warnings (count)" 0 "warn.txt:4: parsing iteration count: invalid syntax" -- warn.txt

# A filter syntax error names the problem and points at it.
(cd "$TMP" && "$HOTPATH" benchstat -filter 'a:(b c)' old.txt >/dev/null 2>"$TMP/err")
rc=$?
printf 'hotpath: benchstat: parsing -filter: syntax error: value list must be separated by OR\n\ta:(b c)\n\t     ^\n' >"$TMP/want"
if [ $rc -eq 1 ] && cmp -s "$TMP/want" "$TMP/err"; then
    pass "bad -filter: message with caret"
else
    fail "bad -filter: exit $rc"
    diff -u "$TMP/want" "$TMP/err" | sed 's/^/    /'
fi

# ---- 3. hostile input ----------------------------------------------------------

# survive NAME ARGS...: no crash (no signal, no sanitizer report), within 60 s.
survive() {
    local name=$1 rc
    shift
    (cd "$TMP" && timeout 60 "$HOTPATH" benchstat "$@" >"$TMP/out" 2>"$TMP/err")
    rc=$?
    if [ $rc -le 2 ] && ! grep -q 'Sanitizer\|runtime error' "$TMP/err"; then
        pass "$name (exit $rc)"
    else
        fail "$name: exit $rc"
        head -c 2000 "$TMP/err" | sed 's/^/    /'
    fi
}

head -c 300000 /dev/zero | tr '\0' 'x' | sed 's/^/BenchmarkLong 1 /' >"$TMP/long.txt"
expect "very long line" 1 "long.txt:1: line too long" -- long.txt
awk 'BEGIN { printf "BenchmarkWide 1"; for (i = 0; i < 3000; i++) printf " %d u%d/op", i, i; print "" }' \
    >"$TMP/wide.txt"
survive "3000 units on one line" wide.txt
head -c 2000000 /dev/urandom >"$TMP/garbage.bin"
survive "binary garbage" garbage.bin
{ cat "$TMP/garbage.bin"; cat "$TMP/old.txt"; } >"$TMP/mixed.bin"
survive "garbage then data" mixed.bin
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "BenchmarkN%d-8 100 %d ns/op %d B/op\n", i % 20000, 1000 + i % 7, i % 3 }' \
    >"$TMP/many-old.txt"
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "BenchmarkN%d-8 100 %d ns/op %d B/op\n", i % 20000, 1003 + i % 5, i % 4 }' \
    >"$TMP/many-new.txt"
survive "10^5 benchmarks, two files" many-old.txt many-new.txt
survive "10^5 benchmarks, csv" -format csv many-old.txt many-new.txt
survive "10^5 benchmarks, by name" -row .name -col .file many-old.txt many-new.txt
printf 'BenchmarkN 1 NaN ns/op\nBenchmarkN 1 1 ns/op\nBenchmarkN 1 NaN ns/op\n' >"$TMP/nan1.txt"
printf 'BenchmarkN 1 NaN ns/op\nBenchmarkN 1 2 ns/op\nBenchmarkN 1 +Inf ns/op\n' >"$TMP/nan2.txt"
survive "NaN and Inf values" nan1.txt nan2.txt
survive "NaN and Inf values, csv" -format csv nan1.txt nan2.txt
survive "deeply nested filter" -filter "$(printf '(%.0s' $(seq 1 2000))*$(printf ')%.0s' $(seq 1 2000))" old.txt
survive "regexp filter" -filter '.name:/^[A-Z]\w+$/ OR .unit:(/sec/ OR "B/op")' old.txt

if [ $fails -ne 0 ]; then
    echo "benchstat_test: $fails check(s) failed"
    exit 1
fi
echo "benchstat_test: all checks passed"
