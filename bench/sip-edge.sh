#!/usr/bin/env bash
# SIP edge vs Kamailio 5.6: sipp uac -> proxy -> sipp uas, record-routed (release build).
#   bash bench/sip-edge.sh [rate] [seconds]        (defaults: 1000 calls/s for 20 s)
#   RATES="250 500 1000" bash bench/sip-edge.sh     (several offered rates, same run)
#   WARMUP=35 (seconds of calls at the same rate before measuring; 0 skips it)
#   VOXBIN_BIN=path (a voxbin release binary to measure instead of building one)
#   MIMALLOC_PURGE_DELAY (default -1, as deploy/k8s runs the edge; 10 is mimalloc's own default)
#   VOXBIN_SIP_UDP_COALESCE_US=0 (the edge without its wait between busy reads; default 2000)
# Each call is INVITE, 100, 180, 200, ACK, BYE, 200 (crates/svc/sipedge/tests/sipp/uac_call.xml
# against uas_call.xml, no hold time). Both proxies get the same calls at the same rate, one
# after the other, on this machine: the Voxbin edge (`voxbin serve --role sip-edge`, one media
# node, its OPTIONS checks on) and Kamailio 5.6 from Debian as a transaction-stateful
# record-routing proxy with the dispatcher (bench/kamailio/proxy.cfg, run with its fast
# allocator `-x fm -X fm`, 4 UDP workers). Reported per proxy: CPU microseconds per completed
# call (utime+stime of the proxy's processes from /proc before and after the run, divided by
# successful calls; the "(user)" column is the utime part), failed calls, p50/p99 call setup
# time (INVITE sent to 200 received, as sipp measures it, 1 ms resolution), and the ratio Voxbin/Kamailio of CPU per call. On 2 cores the
# two sipp processes share the machine with the proxy, so sipp saturates first: compare CPU
# per call, not throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
rate_arg="${1:-1000}"; secs="${2:-20}"; warmup="${WARMUP:-35}"
rates="${RATES:-$rate_arg}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v kamailio >/dev/null || [ -x /usr/sbin/kamailio ] || need+=(kamailio)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
kamailio_bin=$(command -v kamailio || echo /usr/sbin/kamailio)
# VOXBIN_BIN: a release binary built already (skips the build, which waits on a busy target dir)
if [ -z "${VOXBIN_BIN:-}" ]; then cargo build --release -q -p voxbin; fi
bin="${VOXBIN_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/voxbin}"
scen="$PWD/crates/svc/sipedge/tests/sipp"
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$dir/kamailio.pid" ] && kill "$(cat "$dir/kamailio.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)
proxy_port=15090; uas_port=15092; uac_port=15094

# "utime stime" in clock ticks of a process and its direct children (Kamailio's workers).
cpu_ticks() {
  local main=$1 user=0 sys=0 p stat
  for p in $main $(ps -o pid= --ppid "$main" 2>/dev/null); do
    [ -r "/proc/$p/stat" ] || continue
    stat=$(sed 's/^.*) //' "/proc/$p/stat")
    # after "pid (comm) ": state is field 1, so utime and stime are fields 12 and 13
    user=$((user + $(echo "$stat" | awk '{print $12}')))
    sys=$((sys + $(echo "$stat" | awk '{print $13}')))
  done
  echo "$user $sys"
}

start_uas() {
  sipp -sf "$scen/uas_call.xml" -i 127.0.0.1 -p $uas_port -nostdin -bg >"$dir/uas.out" 2>&1
  sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$dir/uas.out" | head -1
}

start_voxbin() {
  mkdir -p "$dir/voxbin"
  VOXBIN_DATA_DIR="$dir/voxbin" VOXBIN_HEALTH_LISTEN=127.0.0.1:18780 VOXBIN_METRICS_LISTEN=127.0.0.1:18781 \
  VOXBIN_SIP_LISTEN=127.0.0.1:$proxy_port VOXBIN_SIP_MEDIA_NODES=127.0.0.1:$uas_port \
  VOXBIN_SIP_RATE_LIMIT_IP_PER_SEC=1000000 VOXBIN_SIP_RATE_LIMIT_IP_BURST=1000000 \
  VOXBIN_LOG_LEVEL=warn VOXBIN_LOG_FORMAT=json MIMALLOC_PURGE_DELAY="${MIMALLOC_PURGE_DELAY:--1}" \
    "$bin" serve --role sip-edge >"$dir/voxbin.out" 2>"$dir/voxbin.err" &
  local pid=$!
  pids+=("$pid")
  until curl -sf http://127.0.0.1:18780/ready >/dev/null; do sleep 0.05; done
  echo "$pid"
}

start_kamailio() {
  echo "1 sip:127.0.0.1:$uas_port 0 0" >"$dir/dispatcher.list"
  sed -e "s|@LISTEN@|127.0.0.1:$proxy_port|g" -e "s|@CHILDREN@|4|" -e "s|@DSLIST@|$dir/dispatcher.list|" \
    bench/kamailio/proxy.cfg >"$dir/kamailio.cfg"
  "$kamailio_bin" -f "$dir/kamailio.cfg" -P "$dir/kamailio.pid" -w "$dir" -x fm -X fm -m 256 -M 32 \
    >"$dir/kamailio.log" 2>&1
  for _ in $(seq 1 100); do [ -s "$dir/kamailio.pid" ] && break; sleep 0.05; done
  sleep 0.3
  cat "$dir/kamailio.pid"
}

stop_pid() { kill "$1" 2>/dev/null || true; for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done; }

# run NAME RATE -> "cpu_us_per_call failed successful p50 p99 user_us_per_call"
run() {
  local name=$1 rate=$2 calls uas proxy before after out rtt
  calls=$((rate * secs))
  uas=$(start_uas)
  if [ "$name" = voxbin ]; then proxy=$(start_voxbin); else proxy=$(start_kamailio); fi
  # Warm-up at the measured rate, long enough for both proxies to reach their steady state
  # (transactions of finished calls live 32 s in Voxbin's transaction layer, RFC 3261 timers;
  # Kamailio's first touches of its shared memory), then the measured run.
  (cd "$dir" && sipp 127.0.0.1:$proxy_port -sf "$scen/uac_call.xml" -i 127.0.0.1 -p $uac_port \
    -s service -m $((rate * warmup)) -r "$rate" -nostdin -timeout $((warmup * 3 + 30))s \
    >/dev/null 2>&1) || true
  before=$(cpu_ticks "$proxy")
  rm -f "$dir"/uac_call_*_rtt.csv
  out="$dir/$name-$rate.out"
  (cd "$dir" && sipp 127.0.0.1:$proxy_port -sf "$scen/uac_call.xml" -i 127.0.0.1 -p $uac_port \
    -s service -m "$calls" -r "$rate" -l $((rate * 4)) -nostdin -timeout $((secs * 3 + 30))s \
    -trace_rtt -rtt_freq 1000 -trace_err -error_file "$dir/$name-$rate.err" >"$out" 2>&1) || true
  after=$(cpu_ticks "$proxy")
  if [ "$name" = voxbin ]; then stop_pid "$proxy"; else stop_pid "$(cat "$dir/kamailio.pid")"; rm -f "$dir/kamailio.pid"; fi
  stop_pid "$uas"
  local ok failed
  ok=$(awk -F'|' '/Successful call/ {gsub(/ /,"",$3); print $3}' "$out" | tail -1)
  failed=$(awk -F'|' '/Failed call/ {gsub(/ /,"",$3); print $3}' "$out" | tail -1)
  ok=${ok:-0}; failed=${failed:-$calls}
  rtt=$(cat "$dir"/uac_call_*_rtt.csv 2>/dev/null | awk -F';' 'NR>1 && $3==1 {print $2}' | sort -n)
  local n p50 p99
  n=$(echo "$rtt" | grep -c . || true)
  if [ "$n" -gt 0 ]; then
    p50=$(echo "$rtt" | sed -n "$(( (n * 50 + 99) / 100 ))p")
    p99=$(echo "$rtt" | sed -n "$(( (n * 99 + 99) / 100 ))p")
  else p50=-; p99=-; fi
  if [ "$failed" != 0 ] && [ -s "$dir/$name-$rate.err" ]; then
    # Why calls failed, most frequent first (to stderr, next to the table).
    grep -o 'Aborting call on [a-zA-Z ]*\|unexpected message[^:]*' "$dir/$name-$rate.err" |
      sort | uniq -c | sort -rn | head -3 | sed "s/^/  $name failures: /" >&2
  fi
  local us=0 user_us=0 b_user b_sys a_user a_sys
  read -r b_user b_sys <<<"$before"
  read -r a_user a_sys <<<"$after"
  if [ "$ok" -gt 0 ]; then
    us=$(( (a_user + a_sys - b_user - b_sys) * 1000000 / tck / ok ))
    user_us=$(( (a_user - b_user) * 1000000 / tck / ok ))
  fi
  echo "$us $failed $ok $p50 $p99 $user_us"
}

# The machine's load next to the table: other work on the cores skews failures and p99 more
# than CPU per call.
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %6s %8s %10s %9s %7s %8s %8s\n' proxy rate calls "cpu_us/call" "(user)" failed "p50_ms" "p99_ms"
for rate in $rates; do
  read -r v_us v_failed v_ok v_p50 v_p99 v_user < <(run voxbin "$rate")
  read -r k_us k_failed k_ok k_p50 k_p99 k_user < <(run kamailio "$rate")
  printf '%-9s %6s %8s %10s %9s %7s %8s %8s\n' voxbin "$rate" "$v_ok" "$v_us" "$v_user" "$v_failed" "$v_p50" "$v_p99"
  printf '%-9s %6s %8s %10s %9s %7s %8s %8s\n' kamailio "$rate" "$k_ok" "$k_us" "$k_user" "$k_failed" "$k_p50" "$k_p99"
  if [ "$k_us" -gt 0 ]; then
    echo "ratio at $rate calls/s: voxbin uses $(awk -v a="$v_us" -v b="$k_us" 'BEGIN{printf "%.2f", a/b}')x Kamailio's CPU per call"
  fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
