#!/usr/bin/env bash
# Loupe benchmark: bare-SQLite ceiling, sustained durable ingestion while the
# store grows, ingest-to-visible latency, trace-list latency, idle RSS and
# OTLP protobuf ingestion, in one run. Results (JSON, timeline CSV, server
# log, summary.md) go to bench/results/<date>-<mode>/. See bench/README.md.
#
#   bench/run.sh                 full run: 5 M observations (about an hour here)
#   bench/run.sh --quick         200 k observations + 100 k OTLP spans, a few minutes
#   options: --observations N --band N --connections N --list-requests N
#            --list-seconds N (time budget per list case) --ceiling-rows N
#            --otlp-spans N (0 skips the OTLP phase) --keep-data
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/release
MODE=full
OBSERVATIONS=5000000
BAND=1000000
CONNECTIONS=8
LIST_REQUESTS=200
CEILING_ROWS=2000000
LIST_SECONDS=60
OTLP_SPANS=1000000
KEEP_DATA=0
ARGS="$*"

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) MODE=quick OBSERVATIONS=200000 BAND=50000 CEILING_ROWS=500000 LIST_SECONDS=30 OTLP_SPANS=100000 ;;
    --observations) OBSERVATIONS=$2; shift ;;
    --band) BAND=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --list-requests) LIST_REQUESTS=$2; shift ;;
    --list-seconds) LIST_SECONDS=$2; shift ;;
    --ceiling-rows) CEILING_ROWS=$2; shift ;;
    --otlp-spans) OTLP_SPANS=$2; shift ;;
    --keep-data) KEEP_DATA=1 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

# Build only when a binary is missing; otherwise an incremental build, which
# is a no-op when nothing changed.
if [[ ! -x $BIN/loupe || ! -x $BIN/bench/loupe_loadgen || ! -x $BIN/bench/loupe_sqlite_ceiling ]]; then
  make -C "$ROOT" build
else
  BUILD_LOG=$(mktemp)
  if ! (cd "$ROOT" && cmake --build --preset release \
    --target loupe loupe_loadgen loupe_sqlite_ceiling) > "$BUILD_LOG" 2>&1; then
    cat "$BUILD_LOG" >&2
    exit 1
  fi
  rm -f "$BUILD_LOG"
fi

RESULTS=$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)-$MODE
mkdir -p "$RESULTS"
# The data lives under build/ (gitignored) so it is on the same disk as the
# work tree, not on a tmpfs.
DATA=$(mktemp -d "$ROOT/build/bench-data.XXXXXX")
SERVER_PID=

cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2> /dev/null; then
    kill -TERM "$SERVER_PID" 2> /dev/null || true
    wait "$SERVER_PID" 2> /dev/null || true
  fi
  if [[ $KEEP_DATA == 0 ]]; then rm -rf "$DATA"; else echo "data kept in $DATA"; fi
}
trap cleanup EXIT

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
rss_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Waits until process $1 has used under 2 % of a core for 3 s (its background
# work after a load, such as merging ids and checkpointing, is done), at most
# 120 s; prints the seconds waited.
wait_idle() {
  local waited=0 before after
  before=$(cpu_ticks "$1")
  while ((waited < 120)); do
    sleep 3
    waited=$((waited + 3))
    after=$(cpu_ticks "$1")
    if ((after - before < 6)); then break; fi
    before=$after
  done
  echo "$waited"
}

{
  echo "command: bench/run.sh $ARGS"
  echo "date: $(date -Is)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
  echo "disk: $(df -hT "$DATA" | awk 'NR==2 {print $1, $2}')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RESULTS/meta.txt"

# Run copies of the binaries, so a rebuild during a long run cannot change
# what is being measured. Their names do not contain "loupe", so a broad
# `pkill loupe` from another session on a shared machine (it killed one of the
# first full runs) leaves the benchmark alone.
cp "$BIN/loupe" "$DATA/bench-server"
cp "$BIN/bench/loupe_loadgen" "$DATA/bench-loadgen"
cp "$BIN/bench/loupe_sqlite_ceiling" "$DATA/bench-ceiling"
LOADGEN=$DATA/bench-loadgen
"$DATA/bench-server" version >> "$RESULTS/meta.txt"

log "1/5 ceiling: $CEILING_ROWS rows into a bare SQLite table"
"$DATA/bench-ceiling" --path "$DATA/ceiling.db" --rows "$CEILING_ROWS" \
  --json "$RESULTS/ceiling.json" 2> "$RESULTS/ceiling.log"

log "2/5 starting loupe (data in $DATA/loupe)"
mkdir -p "$DATA/loupe"
PORT=0 OTLP_GRPC_PORT=0 LOUPE_DATA_DIR=$DATA/loupe LANGFUSE_LOG_FORMAT=json \
  LANGFUSE_INIT_ORG_ID=o LANGFUSE_INIT_PROJECT_ID=p \
  LANGFUSE_INIT_PROJECT_PUBLIC_KEY=pk-lf-bench LANGFUSE_INIT_PROJECT_SECRET_KEY=sk-lf-bench \
  "$DATA/bench-server" serve > "$RESULTS/server.log" 2>&1 &
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
curl -sf "http://127.0.0.1:$PORT/api/public/health" > /dev/null
sleep 3
RSS_START=$(rss_kb "$SERVER_PID" VmRSS)
log "loupe pid $SERVER_PID on port $PORT, idle RSS $((RSS_START / 1024)) MB"

log "3/5 load: $OBSERVATIONS observations over $CONNECTIONS connections"
"$LOADGEN" load --port "$PORT" --connections "$CONNECTIONS" \
  --observations "$OBSERVATIONS" --band "$BAND" --server-pid "$SERVER_PID" \
  --data-dir "$DATA/loupe" --json "$RESULTS/load.json" --timeline "$RESULTS/timeline.csv"
# Idle: no requests, and the background work after the load (merging ids,
# checkpoints) done.
IDLE_AFTER_LOAD_S=$(wait_idle "$SERVER_PID")
RSS_LOAD=$(rss_kb "$SERVER_PID" VmRSS)
log "idle ${IDLE_AFTER_LOAD_S} s after the load: RSS $((RSS_LOAD / 1024)) MB"

log "4/5 trace list: $LIST_REQUESTS requests per filter"
"$LOADGEN" list --port "$PORT" --requests "$LIST_REQUESTS" \
  --seconds-per-case "$LIST_SECONDS" --json "$RESULTS/list.json"
IDLE_AFTER_LIST_S=$(wait_idle "$SERVER_PID")
RSS_LIST=$(rss_kb "$SERVER_PID" VmRSS)
RSS_PEAK=$(rss_kb "$SERVER_PID" VmHWM)
cat > "$RESULTS/rss.json" << EOF
{"start_kb": $RSS_START, "after_load_idle_kb": $RSS_LOAD, "after_list_idle_kb": $RSS_LIST, "peak_kb": $RSS_PEAK, "idle_after_load_s": $IDLE_AFTER_LOAD_S, "idle_after_list_s": $IDLE_AFTER_LIST_S}
EOF

# OTLP runs last, on the same server and store (after the batch load and the
# list queries), so the batch-API, list and RSS figures are measured exactly
# as before and the spans land in a store that already holds the batch load's
# traces, as they would in a deployment that takes both.
if [[ $OTLP_SPANS -gt 0 ]]; then
  log "5/5 OTLP load: $OTLP_SPANS spans in 512-span protobuf exports over $CONNECTIONS connections"
  echo "load average before OTLP: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/meta.txt"
  "$LOADGEN" otlp --port "$PORT" --connections "$CONNECTIONS" --spans "$OTLP_SPANS" \
    --server-pid "$SERVER_PID" --json "$RESULTS/otlp.json"
fi
echo "data dir at end: $(du -sh "$DATA/loupe" | cut -f1)" >> "$RESULTS/meta.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/meta.txt"

{
  echo "# Loupe benchmark ($MODE)"
  echo
  sed 's/^/    /' "$RESULTS/meta.txt"
  echo
  "$LOADGEN" report --dir "$RESULTS"
} > "$RESULTS/summary.md"
cat "$RESULTS/summary.md"
log "results in $RESULTS"
