#!/usr/bin/env bash
# Start-up time to ready and idle memory of the embedded `voxbin serve` (release build).
# Usage: bash bench/startup.sh [runs]   (default 5 runs; prints each and the median)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null || sudo apt-get install -y -qq time >/dev/null; }
command -v curl >/dev/null || { apt-get install -y -qq curl >/dev/null || sudo apt-get install -y -qq curl >/dev/null; }
cargo build --release -q -p voxbin
bin="$PWD/target/release/voxbin"

ready_ms=(); rss_kb=(); max_kb=()
for i in $(seq 1 "$runs"); do
  dir=$(mktemp -d)
  export VOXBIN_DATA_DIR="$dir" VOXBIN_API_LISTEN=127.0.0.1:18000 VOXBIN_HEALTH_LISTEN=127.0.0.1:18080 \
    VOXBIN_METRICS_LISTEN=127.0.0.1:12112 VOXBIN_SIP_LISTEN=127.0.0.1:15060 \
    VOXBIN_API_AUDIOSOCKET_LISTEN=127.0.0.1:19000 VOXBIN_API_TLS_LISTEN=127.0.0.1:18443 VOXBIN_LOG_FORMAT=json
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$dir/time.txt" "$bin" serve >"$dir/out.txt" 2>"$dir/err.txt" &
  tpid=$!
  # Timestamped poll: the first 200 from /ready marks readiness.
  until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18080/ready)" = 200 ]; do
    sleep 0.005
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ] || { echo "not ready after 10 s"; cat "$dir/err.txt"; exit 1; }
  done
  t1=$(date +%s%N)
  ready_ms+=($(( (t1 - t0) / 1000000 )))
  sleep 5   # idle
  vpid=$(pgrep -P "$tpid" -x voxbin)
  rss_kb+=($(awk '/VmRSS/ {print $2}' "/proc/$vpid/status"))
  kill -TERM "$vpid"; wait "$tpid" || true
  max_kb+=($(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/time.txt"))
  echo "run $i: ready in ${ready_ms[-1]} ms, idle RSS $(( ${rss_kb[-1]} / 1024 )) MB, max RSS $(( ${max_kb[-1]} / 1024 )) MB"
  rm -rf "$dir"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median: start-up to ready $(median "${ready_ms[@]}") ms (target < 500 ms); idle RSS $(( $(median "${rss_kb[@]}") / 1024 )) MB (target < 50 MB); max RSS $(( $(median "${max_kb[@]}") / 1024 )) MB"
