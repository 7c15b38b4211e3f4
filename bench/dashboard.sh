#!/usr/bin/env bash
# Dashboard load time on a large store (bench/README.md, "Web UI"):
#  1. loupe_dashboard_fill writes N observations (5 per trace, 30 days) and
#     one trace with 10,000 observations into a fresh data directory under
#     build/, in-process through the EventStore;
#  2. `loupe serve` on that directory (project and user from LANGFUSE_INIT_*);
#  3. bench/dashboard_timing.mjs (playwright-core + chromium, as tests/ui)
#     times navigation -> every card filled, and each metrics request of the
#     page, per time range; navigation -> 50 rendered rows of the trace list
#     (7 days and all time); and opening the trace with 10,000 observations.
# Results go to bench/results/<date>-dashboard/ (gitignored).
#
#   bench/dashboard.sh                       10 M observations, ranges 7d,30d,all
#   options: --observations N --big-trace N (0: none) --runs N --ranges 7d,30d,all
#            --keep-data --data DIR (reuse a filled data directory; it is kept)
#   BIN=build/release (directory with loupe and bench/loupe_dashboard_fill)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/build/release}
OBSERVATIONS=10000000
BIG_TRACE=10000
RUNS=5
RANGES=7d,30d,all
KEEP_DATA=0
DATA=
ARGS="$*"
while [[ $# -gt 0 ]]; do
  case $1 in
    --observations) OBSERVATIONS=$2; shift ;;
    --big-trace) BIG_TRACE=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --ranges) RANGES=$2; shift ;;
    --keep-data) KEEP_DATA=1 ;;
    --data) DATA=$2; KEEP_DATA=1; shift ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done
for f in "$BIN/loupe" "$BIN/bench/loupe_dashboard_fill"; do
  [[ -x $f ]] || { echo "missing $f (build it, or set BIN)" >&2; exit 1; }
done
"$ROOT/scripts/setup-ui-test-env.sh" > /dev/null

RESULTS=$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)-dashboard
mkdir -p "$RESULTS"
PROJECT=bench-dash
EMAIL=bench@loupe.test
PASSWORD=bench-password-1
SERVER_PID=
FILL=1
if [[ -z $DATA ]]; then
  DATA=$(mktemp -d "$ROOT/build/dash-data.XXXXXX")
else
  [[ -f $DATA/loupe/events.db ]] && FILL=0
fi
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2> /dev/null; then
    kill -TERM "$SERVER_PID" 2> /dev/null || true
    wait "$SERVER_PID" 2> /dev/null || true
  fi
  if [[ $KEEP_DATA == 0 ]]; then rm -rf "$DATA"; else echo "data kept in $DATA" >&2; fi
}
trap cleanup EXIT
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

{
  echo "command: bench/dashboard.sh $ARGS"
  echo "date: $(date -Is)"
  echo "machine: $(nproc) cores, $(uname -r)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RESULTS/meta.txt"

if [[ $FILL == 1 ]]; then
  log "fill: $OBSERVATIONS observations into $DATA"
  "$BIN/bench/loupe_dashboard_fill" --data-dir "$DATA/loupe" --project "$PROJECT" \
    --observations "$OBSERVATIONS" --big-trace "$BIG_TRACE" > "$RESULTS/fill.json"
  cat "$RESULTS/fill.json" >&2
  echo "load after fill: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/meta.txt"
fi
echo "store: $(du -sh "$DATA/loupe" | cut -f1)" >> "$RESULTS/meta.txt"

PORT=0 OTLP_GRPC_PORT=0 LOUPE_DATA_DIR=$DATA/loupe LANGFUSE_LOG_FORMAT=json \
  LANGFUSE_INIT_ORG_ID=o LANGFUSE_INIT_PROJECT_ID=$PROJECT \
  LANGFUSE_INIT_PROJECT_PUBLIC_KEY=pk-lf-dash LANGFUSE_INIT_PROJECT_SECRET_KEY=sk-lf-dash \
  LANGFUSE_INIT_USER_EMAIL=$EMAIL LANGFUSE_INIT_USER_NAME=Bench \
  LANGFUSE_INIT_USER_PASSWORD=$PASSWORD \
  "$BIN/loupe" serve > "$RESULTS/server.log" 2>&1 &
SERVER_PID=$!
PORT=
for _ in $(seq 1 100); do
  PORT=$(grep -o '"msg":"loupe listening","port":"[0-9]*"' "$RESULTS/server.log" |
    grep -o '[0-9]*"$' | tr -d '"' || true)
  [[ -n $PORT ]] && break
  kill -0 "$SERVER_PID" || { cat "$RESULTS/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n $PORT ]] || { echo "loupe did not start" >&2; exit 1; }
log "loupe pid $SERVER_PID on port $PORT; timing ranges $RANGES, $RUNS runs each"

echo "load before timing: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/meta.txt"
BASE_URL=http://127.0.0.1:$PORT EMAIL=$EMAIL PASSWORD=$PASSWORD PROJECT_ID=$PROJECT \
  RUNS=$RUNS RANGES=$RANGES LIST_RANGES=7d,all \
  BIG_TRACE_ID=$([[ $BIG_TRACE -gt 0 ]] && echo big-trace) BIG_TRACE_N=$BIG_TRACE \
  node "$ROOT/bench/dashboard_timing.mjs" > "$RESULTS/timing.json"
echo "load after timing: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/meta.txt"
cat "$RESULTS/meta.txt" >&2
python3 - "$RESULTS/timing.json" << 'EOF' | tee "$RESULTS/summary.md"
import json, sys
t = json.load(open(sys.argv[1]))
for r, v in t["ranges"].items():
    print(f"range {r}: navigation -> all cards filled p50 {v['page_p50']} ms (runs {v['page_ms']})")
    for card, q in v["requests"].items():
        print(f"  {card:24s} in page p50 {q['in_page_p50']:8.1f} ms   alone p50 {q['alone_p50']:8.1f} ms")
for r, v in t.get("trace_list", {}).items():
    print(f"trace list, range {r}: navigation -> 50 rows p50 {v['p50']} ms (runs {v['ms']})")
if "big_trace" in t:
    b = t["big_trace"]
    print(f"trace with {b['observations']} observations: navigation -> tree p50 {b['p50']} ms (runs {b['ms']})")
EOF
log "results in $RESULTS"
