#!/usr/bin/env bash
# Prompt read benchmark: GET /api/public/v2/prompts/{name}?label=production over
# keep-alive connections against a fresh Loupe server (see bench/README.md,
# "Prompt reads").
#
#   bench/prompt_bench.sh                      # 64 connections, 10 s (+2 s warm-up)
#   CONNECTIONS=128 SECONDS_RUN=20 bench/prompt_bench.sh
#
# Env: LOUPE_BIN (default build/release/loupe), BENCH_BIN (default
# build/release/bench/loupe_prompt_bench), CONNECTIONS, CLIENT_THREADS,
# SECONDS_RUN, WARMUP, LOUPE_HTTP_THREADS (passed to the server), OUT (result
# file; default bench/results/prompt-get-<time>.json).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOUPE_BIN="${LOUPE_BIN:-$ROOT/build/release/loupe}"
BENCH_BIN="${BENCH_BIN:-$ROOT/build/release/bench/loupe_prompt_bench}"
CONNECTIONS="${CONNECTIONS:-64}"
CLIENT_THREADS="${CLIENT_THREADS:-1}"
SECONDS_RUN="${SECONDS_RUN:-10}"
WARMUP="${WARMUP:-2}"
OUT="${OUT:-$ROOT/bench/results/prompt-get-$(date -u +%Y%m%d-%H%M%S).json}"

for bin in "$LOUPE_BIN" "$BENCH_BIN"; do
  [[ -x "$bin" ]] || { echo "missing $bin: cmake --build build/release --target loupe loupe_prompt_bench" >&2; exit 1; }
done

DATA="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
  [[ -n "${SERVER_PID:-}" ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$DATA"
}
trap cleanup EXIT

PORT="$PORT" LOUPE_DATA_DIR="$DATA" LANGFUSE_LOG_LEVEL=warn \
  LANGFUSE_INIT_ORG_ID=bench-org LANGFUSE_INIT_PROJECT_ID=bench-project \
  LANGFUSE_INIT_PROJECT_PUBLIC_KEY=pk-lf-bench LANGFUSE_INIT_PROJECT_SECRET_KEY=sk-lf-bench \
  "$LOUPE_BIN" serve >"$DATA/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$PORT/api/public/health" >/dev/null && break
  sleep 0.1
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
ticks_before="$(cpu_ticks)"
result="$("$BENCH_BIN" --port "$PORT" --connections "$CONNECTIONS" --threads "$CLIENT_THREADS" \
  --seconds "$SECONDS_RUN" --warmup "$WARMUP" --public-key pk-lf-bench --secret-key sk-lf-bench)"
ticks_after="$(cpu_ticks)"

# Server CPU seconds per second of the run (warm-up included), and the machine.
server_cpu="$(python3 -c "print(round(($ticks_after - $ticks_before) / $(getconf CLK_TCK) / ($SECONDS_RUN + $WARMUP), 2))")"
result="$(python3 - "$result" "$server_cpu" <<'PY'
import json, os, sys
r = json.loads(sys.argv[1])
r["server_cpu_cores"] = float(sys.argv[2])
r["machine_cpus"] = os.cpu_count()
r["load_average_1m"] = os.getloadavg()[0]
print(json.dumps(r))
PY
)"
mkdir -p "$(dirname "$OUT")"
echo "$result" | tee "$OUT"
