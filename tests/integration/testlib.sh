# testlib.sh: what the integration test scripts share.  Source it:
#   . "$(dirname "$0")/testlib.sh"
# ok / bad MESSAGE count checks (bad prints "FAIL: MESSAGE" on stderr);
# within WANT GOT PCT succeeds when |GOT - WANT| <= PCT% of WANT;
# finish prints the counts and exits 0 only if something passed and nothing
# failed.
fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
within() { awk -v w="$1" -v g="$2" -v p="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w * p / 100) }'; }
finish() {
  echo "$passes passed, $fails failed"
  [[ $fails -eq 0 && $passes -gt 0 ]]
  exit
}
