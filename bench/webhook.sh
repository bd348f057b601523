#!/usr/bin/env bash
# Webhooks, state change to delivery (release build), embedded shape.
#   bash bench/webhook.sh [events] [resources] [writers]      (defaults: 5000 50 16)
# Runs crates/svc/webhook/examples/webhook_bench.rs: tag updates (each one transaction with
# its outbox row) on the in-process bus over a SQLite file, relayed, turned into delivery rows
# and POSTed, signed, to a local HTTP receiver. Prints events/s and p50/p99 latency from just
# before the update to the receiver reading the webhook, and an anchor measured in the same
# run: the same signed POSTs sent straight to the receiver by the same client.
set -euo pipefail
cd "$(dirname "$0")/.."
events="${1:-5000}"; resources="${2:-50}"; writers="${3:-16}"
cargo build --release -q -p voxbin-svc-webhook --example webhook_bench
"${CARGO_TARGET_DIR:-$PWD/target}/release/examples/webhook_bench" \
    --events "$events" --resources "$resources" --writers "$writers"
