#!/usr/bin/env bash
# prometheus_test: a real Prometheus server (Debian's prometheus) scrapes
# the debug server's /metrics on loopback every second: the target must be
# healthy and hotpath metrics queryable through Prometheus' HTTP API.
# Usage: prometheus_test.sh path/to/http_prog
set -uo pipefail
prog=$1
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/testlib.sh"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$prog" 127.0.0.1:0 90 >"$tmp/prog.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^port' "$tmp/prog.out" && break; sleep 0.1; done
port=$(awk '$1 == "port" {print $2}' "$tmp/prog.out")
[[ ${port:-0} -gt 0 ]] || { echo "FAIL: http_prog did not start: $(cat "$tmp/prog.out")"; exit 1; }

cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hotpath
    static_configs:
      - targets: ["127.0.0.1:$port"]
YML
pport=$(free_port)
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$pport" >"$tmp/prom.log" 2>&1 &
pids+=($!)
api=http://127.0.0.1:$pport/api/v1
q() { curl -s --noproxy '*' --max-time 5 "$@"; }

# Up to 45 s for the first scrapes to land.
health="" value=""
for _ in $(seq 90); do
  health=$(q "$api/targets" | python3 -c 'import json, sys
try:
    t = json.load(sys.stdin)["data"]["activeTargets"]
    print(t[0]["health"] if t else "")
except Exception:
    print("")' 2>/dev/null)
  value=$(q "$api/query" --data-urlencode 'query=hotpath_memstats_heap_alloc_bytes{job="hotpath"}' | python3 -c 'import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")' 2>/dev/null)
  [[ $health == up && -n $value ]] && break
  sleep 0.5
done
[[ $health == up ]] && ok || bad "target health '$health'; prometheus log: $(tail -5 "$tmp/prom.log")"
awk -v v="${value:-0}" 'BEGIN { exit !(v > 0) }' && ok || bad "hotpath_memstats_heap_alloc_bytes through Prometheus: '$value'"
n=$(q "$api/query" --data-urlencode 'query=hotpath_threads' | python3 -c 'import json, sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
awk -v v="${n:-0}" 'BEGIN { exit !(v >= 3) }' && ok || bad "hotpath_threads through Prometheus: '$n'"

finish
