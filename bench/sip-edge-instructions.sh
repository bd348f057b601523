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
command -v valgrind >/dev/null || need+=(valgrind)
on_exit() { if [ -n "${KEEP:-}" ]; then cp "$dir"/cg.out.* "$KEEP" 2>/dev/null || true; fi; }
. bench/lib/edge-alone.sh
start_uas 16192
start_edge 18880 18881 16190 16192 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
  --dump-instr=no "$bin"
call() { (cd "$dir" && sipp 127.0.0.1:16190 -sf "$scen/uac_call.xml" -i 127.0.0.1 -p 16194 -m "$1" -r "$rate" -nostdin -timeout 300s >"$dir/$2.out" 2>&1) || true; }
call 200 warm
callgrind_control -z "$edge" >/dev/null
call "$n" run
callgrind_control -d "$edge" >/dev/null
ok=$(awk -F'|' '/Successful call/ {gsub(/ /,"",$3); print $3}' "$dir/run.out" | tail -1)
dump=$(ls "$dir"/cg.out.* | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(/,/,"",$1); print $1}')
echo "calls completed: ${ok:-0} of $n"
[ "${ok:-0}" -gt 0 ] && echo "instructions per call: $(( total / ok ))"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | grep -v 'PROGRAM TOTALS' |
  grep -E 'voxbin_|mi_|memcpy|memmove' | head -25
