#!/usr/bin/env bash
# REST API throughput and latency (release build), with wrk.
#   bash bench/api.sh [seconds] [connections]      (defaults: 10 s, 32 connections)
#   SHAPE=distributed bash bench/api.sh             (api and services as two processes over
#                                                    RabbitMQ, MariaDB and Redis on this machine)
# Prints requests/s and p99 for GET /v1.0/flows/{id} and POST /v1.0/flows (authenticated with
# an access key), next to the anchor measured in the same run: unauthenticated GET /ping on the
# same server, the ceiling of the HTTP stack on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"; conns="${2:-32}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
command -v wrk >/dev/null || { as_root apt-get update -qq; as_root apt-get install -y -qq wrk >/dev/null; }
command -v curl >/dev/null || as_root apt-get install -y -qq curl >/dev/null
cargo build --release -q -p voxbin
bin="$PWD/target/release/voxbin"
dir=$(mktemp -d)
shape="${SHAPE:-embedded}"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
api=127.0.0.1:18000
limits=(--set api.rate_limit_ip_per_sec=10000000 --set api.rate_limit_ip_burst=10000000
        --set api.rate_limit_customer_per_sec=10000000 --set api.rate_limit_customer_burst=10000000)
engines=()
if [ "$shape" = distributed ]; then
  engines=(--database "mysql://root@127.0.0.1:3306/voxbin_bench_$$" --bus "amqp://guest:guest@127.0.0.1:5672/%2f"
           --cache "redis://127.0.0.1:6379/14")
fi
start() { # name health-port extra-args...
  local name=$1 port=$2; shift 2
  VOXBIN_DATA_DIR="$dir/$name" VOXBIN_API_LISTEN=$api VOXBIN_API_TLS_LISTEN=127.0.0.1:18443 \
  VOXBIN_HEALTH_LISTEN=127.0.0.1:$port VOXBIN_METRICS_LISTEN=127.0.0.1:$((port + 1000)) \
  VOXBIN_SIP_LISTEN=127.0.0.1:15060 VOXBIN_API_AUDIOSOCKET_LISTEN=127.0.0.1:19000 \
  VOXBIN_LOG_LEVEL=warn VOXBIN_LOG_FORMAT=json \
    "$bin" serve "${limits[@]}" "${engines[@]}" "$@" >"$dir/$name.out" 2>"$dir/$name.err" &
  pids+=($!)
  until curl -sf "http://127.0.0.1:$port/ready" >/dev/null; do sleep 0.05; done
}
mkdir -p "$dir/main" "$dir/api"
if [ "$shape" = distributed ]; then
  roles=(); for r in customer agent flow number tag campaign registrar route; do roles+=(--role "$r"); done
  start main 18080 "${roles[@]}"
  start api 18081 --role api
else
  start main 18080
fi
key=$(grep -o 'vb_[A-Za-z0-9]*' "$dir/main.out" | head -1)
body='{"name":"bench","detail":"wrk","actions":[{"type":"answer"},{"type":"talk","option":{"text":"Hello"}},{"type":"hangup"}]}'
id=$(curl -sf -X POST "http://$api/v1.0/flows?accesskey=$key" -H 'content-type: application/json' -d "$body" | sed 's/.*"id":"\([^"]*\)".*/\1/')
# Creates rotate over 8 customers: each may keep at most 10,000 flows (VoIPBIN's cap).
keys=""
for n in 1 2 3 4 5 6 7 8; do
  k=$("$bin" customer create --name "bench$n" --username "bench$n-$$" --password "bench-password-$n" \
      --data-dir "$dir/main" "${engines[@]:0:2}" | grep -o '"token": *"vb_[A-Za-z0-9]*"' | grep -o 'vb_[A-Za-z0-9]*')
  keys="$keys\"$k\","
done
cat > "$dir/post.lua" <<LUA
local keys = { ${keys%,} }
local body = '$body'
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/v1.0/flows?accesskey=" .. keys[(i % #keys) + 1],
    { ["Content-Type"] = "application/json" }, body)
end
LUA

run() { # name, extra wrk args..., url
  local name=$1; shift
  local out; out=$(wrk -t2 -c"$conns" -d"${secs}s" --latency "$@")
  local rps p99 errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  errs=$(awk '/Non-2xx/ {print $5}' <<<"$out"); errs=${errs:-0}
  printf '%-34s %10s req/s   p99 %8s   non-2xx %s\n' "$name" "$rps" "$p99" "$errs"
}
echo "$shape shape, release build, $(nproc) cores, wrk -t2 -c$conns -d${secs}s (wrk shares the cores)"
run "anchor: GET /ping (no auth)" "http://$api/ping"
run "GET /v1.0/flows/{id} (accesskey)" "http://$api/v1.0/flows/$id?accesskey=$key"
run "POST /v1.0/flows (accesskey)" -s "$dir/post.lua" "http://$api/v1.0/flows"
echo "errors logged: $(cat "$dir"/*.err | grep -c '"level":"ERROR"' || true)"
