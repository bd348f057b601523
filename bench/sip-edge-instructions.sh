#!/usr/bin/env bash
# Instructions the SIP edge executes per call, counted by callgrind (exact and repeatable where
# CPU time on a shared VM is not): sipp uac -> `voxbin serve --role sip-edge` -> sipp uas, the
# same calls as bench/sip-edge.sh, 200 warm-up calls, then N calls at R calls/s counted.
#   bash bench/sip-edge-instructions.sh            (N=1000 R=100)
#   VOXBIN_BIN=path N=2000 bash bench/sip-edge-instructions.sh
#   KEEP=/tmp/cg.out bash bench/sip-edge-instructions.sh   (keeps the callgrind profile for
#   callgrind_annotate; a build with CARGO_PROFILE_RELEASE_DEBUG=line-tables-only names lines)
# Prints the instructions per call and the top functions (inclusive) of the counted calls.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${N:-1000}"; rate="${R:-100}"
need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v valgrind >/dev/null || need+=(valgrind)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ -z "${VOXBIN_BIN:-}" ]; then cargo build --release -q -p voxbin; fi
bin="${VOXBIN_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/voxbin}"
scen="$PWD/crates/svc/sipedge/tests/sipp"
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then cp "$dir"/cg.out.* "$KEEP" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
sipp -sf "$scen/uas_call.xml" -i 127.0.0.1 -p 16192 -nostdin -bg >"$dir/uas.out" 2>&1 || true  # -bg exits non-zero
pids+=("$(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$dir/uas.out" | head -1)")
mkdir -p "$dir/data"
VOXBIN_DATA_DIR="$dir/data" VOXBIN_HEALTH_LISTEN=127.0.0.1:18880 VOXBIN_METRICS_LISTEN=127.0.0.1:18881 \
VOXBIN_SIP_LISTEN=127.0.0.1:16190 VOXBIN_SIP_MEDIA_NODES=127.0.0.1:16192 \
VOXBIN_SIP_RATE_LIMIT_IP_PER_SEC=1000000 VOXBIN_SIP_RATE_LIMIT_IP_BURST=1000000 VOXBIN_LOG_LEVEL=warn \
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" --dump-instr=no \
  "$bin" serve --role sip-edge >"$dir/voxbin.out" 2>"$dir/voxbin.err" &
vg=$!
pids+=("$vg")
until curl -sf http://127.0.0.1:18880/ready >/dev/null; do sleep 0.5; done
call() { (cd "$dir" && sipp 127.0.0.1:16190 -sf "$scen/uac_call.xml" -i 127.0.0.1 -p 16194 -m "$1" -r "$rate" -nostdin -timeout 300s >"$dir/$2.out" 2>&1) || true; }
call 200 warm
callgrind_control -z "$vg" >/dev/null
call "$n" run
callgrind_control -d "$vg" >/dev/null
ok=$(awk -F'|' '/Successful call/ {gsub(/ /,"",$3); print $3}' "$dir/run.out" | tail -1)
dump=$(ls "$dir"/cg.out.* | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(/,/,"",$1); print $1}')
echo "calls completed: ${ok:-0} of $n"
[ "${ok:-0}" -gt 0 ] && echo "instructions per call: $(( total / ok ))"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | grep -v 'PROGRAM TOTALS' |
  grep -E 'voxbin_|mi_|memcpy|memmove' | head -25
