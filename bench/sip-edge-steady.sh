#!/usr/bin/env bash
# The SIP edge in steady state: sipp uac -> `voxbin serve --role sip-edge` -> sipp uas at R
# calls/s (the calls of bench/sip-edge.sh), and after WARM seconds, once the transactions of
# finished calls (32 s) stopped piling up, the edge's own figures over WIN seconds:
# live transactions (voxbin_sip_transactions), resident memory, and utime+stime from /proc as
# CPU microseconds per call. No Kamailio here: this is for comparing builds and settings.
#   bash bench/sip-edge-steady.sh                 (R=1000 WARM=45 WIN=25)
#   VOXBIN_BIN=path R=500 bash bench/sip-edge-steady.sh
#   VOXBIN_SIP_UDP_COALESCE_US=4000 bash bench/sip-edge-steady.sh   (any VOXBIN_* setting)
#   PERF=1 bash bench/sip-edge-steady.sh          (also `perf record --call-graph dwarf` of the
#                                                  first 6 s of the window into ./perf.data)
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${R:-1000}"; warm="${WARM:-45}"; win="${WIN:-25}"
need=()
if [ "${PERF:-0}" = 1 ] && ! command -v perf >/dev/null; then need+=(linux-perf); fi
out="$PWD"
. bench/lib/edge-alone.sh
start_uas 15192
start_edge 18980 18981 15190 15192 env MIMALLOC_PURGE_DELAY="${MIMALLOC_PURGE_DELAY:--1}" "$bin"
calls=$((rate * (warm + win + 5)))
(cd "$dir" && sipp 127.0.0.1:15190 -sf "$scen/uac_call.xml" -i 127.0.0.1 -p 15194 -s service -m "$calls" \
  -r "$rate" -nostdin -timeout $((warm + win + 120))s >"$dir/uac.out" 2>&1) &
uac=$!
sleep "$warm"
live() { curl -s http://127.0.0.1:18981/metrics | awk '/^voxbin_sip_transactions / {print $2}'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$edge/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$edge/stat"; }
tx0=$(live); rss0=$(rss); t0=$(ticks)
if [ "${PERF:-0}" = 1 ]; then
  perf record -F 499 --call-graph dwarf,16384 -p "$edge" -o "$out/perf.data" -- sleep 6 >/dev/null 2>&1 || true
  sleep $((win - 6))
else
  sleep "$win"
fi
tx1=$(live); rss1=$(rss); t1=$(ticks)
wait "$uac" || true
ok=$(awk -F'|' '/Successful call/ {gsub(/ /,"",$3); print $3}' "$dir/uac.out" | tail -1)
failed=$(awk -F'|' '/Failed call/ {gsub(/ /,"",$3); print $3}' "$dir/uac.out" | tail -1)
tck=$(getconf CLK_TCK)
echo "rate ${rate} calls/s, window ${win} s after ${warm} s"
echo "live transactions: ${tx0:-?} -> ${tx1:-?}"
echo "resident memory: ${rss0} kB -> ${rss1} kB"
echo "edge CPU: $(( (t1 - t0) * 1000 / tck )) ms = $(( (t1 - t0) * 1000000 / tck / (rate * win) )) us per call"
echo "calls: ${ok:-0} successful, ${failed:-?} failed"
