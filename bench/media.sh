#!/usr/bin/env bash
# Media engine capacity (release build): calls that each play a prompt in a loop and record
# both directions, the engine pinned to core 0 and the far ends (a load process sending 20 ms
# PCMU to every leg) pinned to core 1.
#   bash bench/media.sh [calls...]      (default: 200 500 1000; SECS=20 WARMUP=5 WORKERS=1)
#   NO_BUILD=1 reuses a built target/release/examples/engine_load.
#   RT=10 (default) runs the engine worker and the load's threads under SCHED_FIFO priority 10
#   (media.realtime_priority in production), so other work on a shared host cannot stall the
#   20 ms clock; RT=0 measures at normal priority.
# Prints per run: engine CPU per call-second (utime+stime / calls x seconds), share of the
# core, RSS per call, and the send jitter of the engine's streams at the receiver
# (|inter-arrival - 20 ms| from kernel arrival stamps, p50/p99/max). Aims (issue 5): >= 1,000 calls per core,
# < 100 KB per call, p99 jitter < 2 ms. Reference: Asterisk ~62 calls per vCPU; rustpbx
# publishes ~1,270 recorded calls per core.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${SECS:-20}"; warm="${WARMUP:-5}"; export RT="${RT:-10}"
calls=("$@"); [ ${#calls[@]} -gt 0 ] || calls=(200 500 1000)
[ -n "${NO_BUILD:-}" ] || cargo build --release -q -p voxbin-media --example engine_load
bin="$PWD/target/release/examples/engine_load"
pin0=(); pin1=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin0=(taskset -c 0); pin1=(taskset -c 1); fi
epid=""
dir=""
trap '[ -n "$epid" ] && kill "$epid" 2>/dev/null; [ -n "$dir" ] && rm -rf "$dir"; true' EXIT
for n in "${calls[@]}"; do
  dir=$(mktemp -d)
  CLK_TCK=$(getconf CLK_TCK) "${pin0[@]}" "$bin" engine "$n" "$secs" "$warm" "$dir" >"$dir/engine.out" &
  epid=$!
  "${pin1[@]}" "$bin" load "$n" "$secs" "$warm" "$dir" >"$dir/load.out"
  wait "$epid"; epid=""
  echo "$(cat "$dir/engine.out")  |  $(cat "$dir/load.out")"
  rm -rf "$dir"; dir=""
done
