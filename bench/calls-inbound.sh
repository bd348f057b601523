#!/usr/bin/env bash
# Inbound calls per second through the call service (release build, embedded shape):
#   bash bench/calls-inbound.sh [rate] [seconds]      (defaults: 200 calls/s for 20 s)
#   PROFILE=debug bash bench/calls-inbound.sh 20 5    (a quick check of the script itself)
#   BIN=path/to/voxbin bash bench/calls-inbound.sh    (an already built binary)
#   BASE=20000 RTP=20200-20999 bash bench/calls-inbound.sh   (other ports: BASE+1.. for the
#   process, BASE+60 SIP, BASE+80 media, BASE+100 sipp, BASE+150 sipp media; RTP for legs)
#   LOG=warn,sqlx::query=debug KEEP=1 bash bench/calls-inbound.sh 10 2   (every SQL statement
#   in the kept data directory's err.log: statements per call)
# sipp calls a number straight at the media node (crates/svc/call/tests/sipp/bench_caller.xml);
# each call runs the number's flow on the platform: answer, talk "Hello." (TTS cached after
# the first call), hangup; the caller answers the BYE. Reported: offered rate, calls that
# completed and that failed (as sipp counts them: a call fails unless INVITE/200/ACK/BYE/200
# all happen), the platform's view (calls in hangup with reason normal, via GET /v1.0/calls),
# the mean answer time (INVITE to 200 as sipp measures it) and CPU milliseconds of the voxbin
# process per call (utime+stime from /proc). One warm-up call first (fills the TTS cache).
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-200}"; secs="${2:-20}"
command -v sipp >/dev/null || { echo "needs sipp (apt-get install sip-tester)"; exit 1; }
command -v curl >/dev/null || { echo "needs curl"; exit 1; }
if [ -n "${BIN:-}" ]; then
  bin="$BIN"
elif [ "${PROFILE:-release}" = debug ]; then
  cargo build -q -p voxbin; bin="${CARGO_TARGET_DIR:-$PWD/target}/debug/voxbin"
else
  cargo build --release -q -p voxbin; bin="${CARGO_TARGET_DIR:-$PWD/target}/release/voxbin"
fi
scen="$PWD/crates/svc/call/tests/sipp/bench_caller.xml"
dir=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$dir"; }
trap cleanup EXIT
b="${BASE:-19000}"; rtp="${RTP:-30000-39999}"
api=127.0.0.1:$((b + 1)); ready=http://127.0.0.1:$((b + 2))/ready; media=127.0.0.1:$((b + 80))
VOXBIN_DATA_DIR="$dir" VOXBIN_API_LISTEN=$api VOXBIN_HEALTH_LISTEN=127.0.0.1:$((b + 2)) \
VOXBIN_METRICS_LISTEN=127.0.0.1:$((b + 3)) VOXBIN_API_TLS_LISTEN=127.0.0.1:$((b + 4)) \
VOXBIN_SIP_LISTEN=127.0.0.1:$((b + 60)) VOXBIN_API_AUDIOSOCKET_LISTEN=127.0.0.1:$((b + 5)) \
VOXBIN_LOG_LEVEL="${LOG:-warn}" \
  "$bin" serve --set media.sip_listen=$media --set rtp_relay.ng_listen=127.0.0.1:$((b + 6)) \
  --set rtp.port_min="${rtp%-*}" --set rtp.port_max="${rtp#*-}" >"$dir/out.log" 2>"$dir/err.log" &
pid=$!
for _ in $(seq 1 300); do
  curl -sf "$ready" >/dev/null 2>&1 && break; sleep 0.1
done
curl -sf "$ready" >/dev/null 2>&1 || { echo "voxbin not ready:"; tail -5 "$dir/err.log"; exit 1; }
key=$(awk '/access key/ {print $NF; exit}' "$dir/out.log")
h=(-s -H "Content-Type: application/json" -H "Authorization: Bearer $key")
auth="accesskey=$key"
flow=$(curl "${h[@]}" -X POST "http://$api/v1.0/flows?$auth" -d '{"name":"bench","detail":"",
  "actions":[{"type":"answer"},{"type":"talk","option":{"text":"Hello.","language":"en-US"}},
  {"type":"hangup"}]}' | sed 's/.*"id":"\([^"]*\)".*/\1/')
curl "${h[@]}" -X POST "http://$api/v1.0/numbers?$auth" \
  -d "{\"number\":\"+15550100\",\"call_flow_id\":\"$flow\",\"name\":\"bench\",\"detail\":\"\"}" >/dev/null
sipp_run() {  # calls rate -> stat file
  sipp -sf "$scen" -s +15550100 -i 127.0.0.1 -p $((b + 100)) -mp "${SIPP_MP:-$((b + 150))}" -m "$1" -r "$2" -l 5000 \
    -nostdin -timeout $((secs + 60))s -trace_stat -stf "$dir/stat.csv" "$media" >/dev/null 2>"$dir/sipp.err" || true
}
sipp_run 1 1
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
rm -f "$dir/stat.csv"
total=$((rate * secs))
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(ticks)
sipp_run "$total" "$rate"
t1=$(ticks)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
last=$(tail -1 "$dir/stat.csv")
head=$(head -1 "$dir/stat.csv")
col() { echo "$head" | tr ';' '\n' | grep -nx "$1" | cut -d: -f1; }
ok=$(echo "$last" | cut -d';' -f"$(col 'SuccessfulCall(C)')")
failed=$(echo "$last" | cut -d';' -f"$(col 'FailedCall(C)')")
rt=$(echo "$last" | cut -d';' -f"$(col 'ResponseTime1(C)')")
sleep 2
normal=$(curl "${h[@]}" "http://$api/v1.0/calls?$auth&page_size=1000" | grep -o '"hangup_reason":"normal"' | wc -l)
cpu_ms=$(( (t1 - t0) * 1000 / hz ))
echo "offered: $rate calls/s for $secs s ($total calls); load average before $load0, after $load1"
echo "sipp: $ok completed, $failed failed"
echo "platform: $normal of the last 1000 calls listed ended normal"
echo "answer time (INVITE to 200), mean over the run: $rt"
[ "$ok" -gt 0 ] && echo "voxbin CPU: $cpu_ms ms total, $(( cpu_ms * 1000 / ok )) us per call"
