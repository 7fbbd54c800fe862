#!/usr/bin/env bash
# Install the Debian packages hotpath needs for the named stages, if missing.
# Usage: scripts/deps.sh [build] [demo] [test] [bench]
set -euo pipefail

declare -A PKGS=(
  [build]="cmake make gcc g++ pkg-config libdw-dev libelf-dev zlib1g-dev libprotobuf-c-dev protobuf-c-compiler libunwind-dev libcivetweb-dev libgc-dev"
  [demo]="golang-go curl"
  [test]="sqlite3 python3 time golang-go libdebuginfod1 curl prometheus"
  [bench]="time libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 redis-server redis-tools sqlite3 python3 libgoogle-perftools4 heaptrack"
)

want=()
for stage in "${@:-build}"; do
  [[ -n "${PKGS[$stage]:-}" ]] || { echo "deps.sh: unknown stage '$stage'" >&2; exit 2; }
  for p in ${PKGS[$stage]}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
  done
done
[[ ${#want[@]} -eq 0 ]] && exit 0

echo "deps.sh: installing ${want[*]}" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${want[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}"
