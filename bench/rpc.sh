#!/usr/bin/env bash
# Bus RPC round trips (release build): AmqpBus over RabbitMQ, the distributed shape.
#   bash bench/rpc.sh [seconds] [callers]       (defaults: 5 s, 64 callers)
#   AMQP_URL=amqp://user:pw@host:5672/vhost bash bench/rpc.sh    (another broker; default: the
#                                                 local RabbitMQ as guest, started if need be)
# Runs crates/bus/examples/rpc_bench.rs: an echo Router called through BusClient, 2,000
# sequential round trips (p50/p99/max) then `callers` concurrent callers for `seconds`
# (round trips/s, messages/s, p50/p99), next to the anchor measured in the same run: the
# in-process bus of the embedded shape. The broker shares this machine's cores. The queue is
# named bin-manager.voxbin-bench-<hex>-manager.request and deleted at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"; callers="${2:-64}"
url="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if [ -z "${AMQP_URL:-}" ]; then
  command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ] || {
    as_root apt-get update -qq; as_root apt-get install -y -qq rabbitmq-server >/dev/null; }
  if ! as_root rabbitmqctl -q status >/dev/null 2>&1; then
    as_root rabbitmq-server -detached
    for _ in $(seq 1 90); do as_root rabbitmqctl -q status >/dev/null 2>&1 && break; sleep 1; done
  fi
  # `status` answers once the node is up; the AMQP listener comes with the application.
  as_root rabbitmqctl -q await_startup >/dev/null
fi
cargo build --release -q -p voxbin-bus --example rpc_bench
bin="$PWD/target/release/examples/rpc_bench"
"$bin" --url "$url" --sequential 2000 --callers "$callers" --seconds "$secs"
