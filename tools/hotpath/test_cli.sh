#!/usr/bin/env bash
# shellcheck disable=SC2016 # the $VARs in single quotes are for the child shell
# tools/hotpath/test_cli.sh HOTPATH LIB: the `cli` test (ctest).
# Checks the command's flags and usage errors, that `hotpath run` preloads LIB
# and keeps the user's LD_PRELOAD, passes the program's arguments, exit status
# and death by signal through, and fails like env(1) when it cannot exec.
set -uo pipefail

hp=$1
lib=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS CMD...: run CMD, stdout to $tmp/out, stderr to $tmp/err.
expect() {
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -ne $want ]]; then
    fail "$* exited $got, want $want; stderr: $(head -c 400 "$tmp/err")"
    return 1
  fi
}
has() { grep -q -- "$2" "$tmp/$1" || fail "$1 of the last command lacks '$2': $(head -c 400 "$tmp/$1")"; }

# Usage and help.
expect 2 "$hp" && has err "Usage:"
expect 0 "$hp" help && has out "run " && has out "version " && has out "help "
expect 0 "$hp" -h && has out "hotpath <command>"
expect 0 "$hp" --help
expect 0 "$hp" help run && has out "usage: hotpath run"
expect 0 "$hp" run --help && has out "usage: hotpath run"
expect 2 "$hp" help nosuch && has err 'unknown command "nosuch"'
expect 2 "$hp" nosuch && has err 'unknown command "nosuch"'
expect 2 "$hp" --nosuch && has err "unknown flag --nosuch"
expect 2 "$hp" run --nosuch -- true && has err "run: unknown flag --nosuch"
expect 2 "$hp" run && has err "no program given"
expect 2 "$hp" run -- && has err "no program given"
expect 2 "$hp" version extra

# version names the library it preloads.
expect 0 "$hp" version && has out "^hotpath version [0-9]" && has out "library: $lib"

# The program gets LIB first in LD_PRELOAD, the user's entries after it.
expect 0 env -u LD_PRELOAD "$hp" run -- sh -c 'echo "$LD_PRELOAD"'
[[ $(cat "$tmp/out") == "$lib" ]] || fail "LD_PRELOAD is '$(cat "$tmp/out")', want '$lib'"
other=$(ldd "$(command -v sh)" | awk '/libc\.so/ {print $3}')
expect 0 env LD_PRELOAD="$other" "$hp" run -- sh -c 'echo "$LD_PRELOAD"'
[[ $(cat "$tmp/out") == "$lib:$other" ]] || fail "LD_PRELOAD is '$(cat "$tmp/out")', want '$lib:$other'"
expect 0 "$hp" run -- grep -q libhotpath /proc/self/maps

# Arguments, with and without --, and -v.
expect 0 "$hp" run -- printf '%s|' a 'b c' '' -x
[[ $(cat "$tmp/out") == 'a|b c||-x|' ]] || fail "arguments arrived as '$(cat "$tmp/out")'"
expect 0 "$hp" run printf '%s|' -- x
[[ $(cat "$tmp/out") == '--|x|' ]] || fail "arguments after prog arrived as '$(cat "$tmp/out")'"
expect 0 "$hp" run -v -- true && has err "LD_PRELOAD=$lib"

# Exit status and signals pass through.
expect 7 "$hp" run -- sh -c 'exit 7'
expect 0 "$hp" run true
expect 1 "$hp" run false
sig=$(perl -e 'system @ARGV; print $? & 127' "$hp" run -- sh -c 'kill -TERM $$')
[[ $sig == 15 ]] || fail "signal death: got signal '$sig', want 15"

# Cannot exec: 127 not found, 126 not executable, like env(1).
expect 127 "$hp" run -- "$tmp/nosuch" && has err "hotpath: cannot run $tmp/nosuch: No such file or directory"
expect 127 "$hp" run -- hotpath-no-such-command
printf '#!/bin/sh\n' >"$tmp/noexec" && chmod 644 "$tmp/noexec"
expect 126 "$hp" run -- "$tmp/noexec" && has err "cannot run $tmp/noexec: Permission denied"

# HOTPATH_LIB overrides; a bad one is an error, not a silent fallback.
expect 0 env HOTPATH_LIB="$lib" "$hp" run -- sh -c 'echo "$LD_PRELOAD"'
expect 1 env HOTPATH_LIB="$tmp/nosuch.so" "$hp" run -- true && has err "HOTPATH_LIB=$tmp/nosuch.so"

# A copy of the command with no library beside it says so.
mkdir -p "$tmp/bin" && cp "$hp" "$tmp/bin/hotpath"
expect 1 env -u HOTPATH_LIB "$tmp/bin/hotpath" run -- true && has err "cannot find libhotpath.so"

if [[ $fails -ne 0 ]]; then
  echo "cli: $fails failure(s)"
  exit 1
fi
echo "cli: ok"
