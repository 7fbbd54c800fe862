#!/usr/bin/env bash
# Runs a command and passes only if it exits 0 AND its output (stdout and
# stderr together) matches an extended regular expression.  ctest's
# PASS_REGULAR_EXPRESSION alone would ignore the exit status, so a program that
# crashed after printing its marker would pass.
# Usage: expect_output.sh REGEX command [args...]
set -u
regex=$1
shift
out=$("$@" 2>&1)
rc=$?
printf '%s\n' "$out"
if [[ $rc -ne 0 ]]; then
  echo "expect_output: '$*' exited with status $rc" >&2
  exit 1
fi
if ! grep -Eq -- "$regex" <<<"$out"; then
  echo "expect_output: output of '$*' does not match /$regex/" >&2
  exit 1
fi
echo "expect_output: ok"
