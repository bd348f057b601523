#!/usr/bin/env bash
# Flow engine throughput (release build), embedded shape: control actions per second.
#   bash bench/flow-engine.sh [seconds] [callers]      (defaults: 3 s, 8 callers)
# Runs crates/svc/flow/examples/flow_bench.rs: the sans-IO engine alone (one thread), then the
# flow service on the in-process bus over a SQLite file with `callers` concurrent callers,
# once with ~400 control actions per step (execute) and once as an IVR loop (3 control
# actions and a talk per next). Every step is one transaction; every answer is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-3}"; callers="${2:-8}"
cargo build --release -q -p voxbin-svc-flow --example flow_bench
"$PWD/target/release/examples/flow_bench" --seconds "$secs" --callers "$callers"
