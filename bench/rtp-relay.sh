#!/usr/bin/env bash
# RTP relay: Voxbin's rtp-relay role vs rtpengine (Debian, userspace forwarding) in the same run.
#   bash bench/rtp-relay.sh                       (1000 streams at 50 and 100 packets/s each way)
#   STREAMS="500 1000" PPS="50" SECONDS_=10 WARMUP=3 bash bench/rtp-relay.sh
# For each load the relay under test runs pinned to core 0 (taskset -c 0), the load generator
# (crates/svc/rtprelay/examples/rtp_load.rs, sendmmsg/recvmmsg, 172-byte PCMU packets) on core 1.
# The generator sets up every call over the ng protocol (offer + answer, same commands for both
# relays), sends one packet per stream per direction every 1/PPS s, and measures for SECONDS_
# after WARMUP: packets/s forwarded (received back), loss, the relay's CPU (utime+stime of the
# whole process from /proc/<pid>/stat) per forwarded packet, and the ratio Voxbin/rtpengine.
# Both relays use ports 50000-54999 (4 ports a stream, so at most ~1200 streams), one after the
# other. rtpengine: --table=-1 (no kernel module), foreground, ng on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
streams_list="${STREAMS:-1000}"; pps_list="${PPS:-50 100}"
secs="${SECONDS_:-10}"; warmup="${WARMUP:-3}"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v rtpengine >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rtpengine-daemon >/dev/null
fi
if [ -z "${NO_BUILD:-}" ]; then # NO_BUILD=1 reuses the release binaries already built
  cargo build --release -q -p voxbin
  cargo build --release -q -p voxbin-svc-rtprelay --example rtp_load
fi
target="${CARGO_TARGET_DIR:-$PWD/target}/release"
bin="$target/voxbin"; load="$target/examples/rtp_load"
dir=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

ng_ping() { # waits until the ng port answers a ping
  python3 - "$1" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
for _ in range(100):
    try:
        s.sendto(b"p1 d7:command4:pinge", (host, int(port)))
        if b"pong" in s.recv(1000): sys.exit(0)
    except OSError: time.sleep(0.1)
sys.exit(1)
PY
}

start_voxbin() {
  VOXBIN_DATA_DIR="$dir/voxbin" VOXBIN_HEALTH_LISTEN=127.0.0.1:18520 VOXBIN_METRICS_LISTEN=127.0.0.1:18521 \
  VOXBIN_RTP_RELAY_NG_LISTEN=127.0.0.1:18510 VOXBIN_RTP_RELAY_PORT_MIN=50000 VOXBIN_RTP_RELAY_PORT_MAX=54999 \
  VOXBIN_RTP_RELAY_TIMEOUT_SECS=600 VOXBIN_LOG_LEVEL=warn \
    taskset -c 0 "$bin" serve --role rtp-relay >"$dir/voxbin.log" 2>&1 &
  pid=$!
  ng_ping 127.0.0.1:18510 || { cat "$dir/voxbin.log"; exit 1; }
}

start_rtpengine() {
  taskset -c 0 rtpengine --table=-1 --foreground --log-stderr --log-level=3 --interface=127.0.0.1 \
    --listen-ng=127.0.0.1:18511 --port-min=50000 --port-max=54999 --delete-delay=0 \
    --pidfile="$dir/rtpengine.pid" >"$dir/rtpengine.log" 2>&1 &
  pid=$!
  ng_ping 127.0.0.1:18511 || { cat "$dir/rtpengine.log"; exit 1; }
}

stop_relay() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; sleep 1; }

run_load() { # label ng streams pps
  taskset -c 1 "$load" --label "$1" --ng "$2" --pid "$pid" --streams "$3" --pps "$4" \
    --warmup "$warmup" --seconds "$secs" | grep '^RESULT'
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

rows=()
for streams in $streams_list; do
  for pps in $pps_list; do
    start_voxbin; ours=$(run_load voxbin 127.0.0.1:18510 "$streams" "$pps"); stop_relay
    start_rtpengine; theirs=$(run_load rtpengine 127.0.0.1:18511 "$streams" "$pps"); stop_relay
    echo "$ours"; echo "$theirs"
    ratio=$(python3 -c "print(f'{$(field us_per_pkt "$ours")/$(field us_per_pkt "$theirs"):.2f}')")
    rows+=("$streams $pps $(field offered_pps "$ours") \
$(field forwarded_pps "$ours") $(field loss_pct "$ours") $(field cpu_pct "$ours") $(field us_per_pkt "$ours") \
$(field forwarded_pps "$theirs") $(field loss_pct "$theirs") $(field cpu_pct "$theirs") $(field us_per_pkt "$theirs") $ratio")
  done
done

echo
echo "RTP relay, relay pinned to core 0, load on core 1; ${secs}s measured after ${warmup}s warm-up; $(nproc) cores"
printf '%-8s %-6s %-9s | %-10s %-7s %-6s %-8s | %-10s %-7s %-6s %-8s | %s\n' \
  streams pps/dir offered voxbin_fw loss% cpu% us/pkt rtpeng_fw loss% cpu% us/pkt "ratio(us/pkt voxbin/rtpengine)"
for r in "${rows[@]}"; do
  # shellcheck disable=SC2086
  printf '%-8s %-6s %-9s | %-10s %-7s %-6s %-8s | %-10s %-7s %-6s %-8s | %s\n' $r
done
