# Sourced by the benchmarks that run the SIP edge alone between two sipp instances
# (bench/sip-edge-steady.sh, bench/sip-edge-instructions.sh).
# Before sourcing: `need` lists extra Debian packages the caller uses. After: sipp and curl are
# installed, `bin` is the voxbin binary (VOXBIN_BIN, else a release build), `scen` the sipp
# scenarios, `dir` a scratch directory; everything in `pids` is killed and `dir` removed on
# exit, after the caller's `on_exit` function if it defined one.
command -v sipp >/dev/null || need+=(sip-tester)
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
  if declare -F on_exit >/dev/null; then on_exit; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

# Starts the sipp UAS that stands in for the media node on port $1.
start_uas() {
  sipp -sf "$scen/uas_call.xml" -i 127.0.0.1 -p "$1" -nostdin -bg >"$dir/uas.out" 2>&1 || true  # -bg exits non-zero
  pids+=("$(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$dir/uas.out" | head -1)")
}

# Starts the edge in the background with health on $1, metrics on $2, SIP on $3 and the media
# node on $4; the rest is the command that runs voxbin (the binary, or a wrapper and it).
# Sets `edge` to its pid and returns once it is ready.
start_edge() {
  local health=$1 metrics=$2 sip=$3 node=$4
  shift 4
  mkdir -p "$dir/data"
  VOXBIN_DATA_DIR="$dir/data" VOXBIN_HEALTH_LISTEN="127.0.0.1:$health" \
  VOXBIN_METRICS_LISTEN="127.0.0.1:$metrics" VOXBIN_SIP_LISTEN="127.0.0.1:$sip" \
  VOXBIN_SIP_MEDIA_NODES="127.0.0.1:$node" VOXBIN_SIP_RATE_LIMIT_IP_PER_SEC=1000000 \
  VOXBIN_SIP_RATE_LIMIT_IP_BURST=1000000 VOXBIN_LOG_LEVEL=warn \
    "$@" serve --role sip-edge >"$dir/voxbin.out" 2>"$dir/voxbin.err" &
  edge=$!
  pids+=("$edge")
  until curl -sf "http://127.0.0.1:$health/ready" >/dev/null; do sleep 0.2; done
}
