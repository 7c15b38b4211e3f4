#!/usr/bin/env bash
# Scale-out benchmark: `loupe web` and `loupe worker` processes on this
# machine sharing PostgreSQL, Redis, Swift's s3api (all started by
# scripts/start-services.sh) and ClickHouse (the real engine, chdb, behind
# tests/support/chdb_front.py). Two phases, with the batch workload of
# bench/run.sh:
#   1. saturation: as fast as the web process acknowledges (durable in S3 and
#      Redis before the 207): events/s acknowledged, and events/s stored end
#      to end (from the first request until the queue is empty);
#   2. lag: half as many observations (or --lag-observations) offered at
#      70 % of the end-to-end rate: the time from a batch's 207 until its
#      trace is readable through the API, p50 / p99, against the 2 s target;
#   3. with --ch-observations N: the stored entities are copied inside
#      ClickHouse until the project holds N observations
#      (bench/clickhouse_replicate.py), then the web UI is timed as
#      bench/dashboard.sh times it: dashboard per range and the trace list.
#
#   bench/scaleout.sh                      # 200 k observations, 1 web + 1 worker
#   bench/scaleout.sh --observations N --webs 2 --workers 2 --connections 8
#   bench/scaleout.sh --ch-observations 10000000   # and the UI at 10 M observations
#   bench/scaleout.sh --lag-observations N         # a longer lag phase (default: half)
#   bench/scaleout.sh --lag-rate N                 # offer N events/s in the lag phase
#                                                  # (default: 70 % of the end-to-end rate)
#
# Results go to bench/results/<date>-scaleout/ (summary.md, load.json, logs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/build/release
OBSERVATIONS=200000
CONNECTIONS=8
WEBS=1
WORKERS=1
PARTITIONS=8
CH_OBSERVATIONS=0
LAG_OBSERVATIONS=
LAG_RATE=
ARGS="$*"
while [[ $# -gt 0 ]]; do
  case $1 in
    --observations) OBSERVATIONS=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --webs) WEBS=$2; shift ;;
    --workers) WORKERS=$2; shift ;;
    --partitions) PARTITIONS=$2; shift ;;
    --ch-observations) CH_OBSERVATIONS=$2; shift ;;
    --lag-observations) LAG_OBSERVATIONS=$2; shift ;;
    --lag-rate) LAG_RATE=$2; shift ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

LAG_OBSERVATIONS=${LAG_OBSERVATIONS:-$((OBSERVATIONS / 2))}
make -C "$ROOT" build > /dev/null
"$ROOT/scripts/setup-test-env.sh" > /dev/null  # chdb for the ClickHouse front
PY=$ROOT/.venv-test/sdk/bin/python

RESULTS=$ROOT/bench/results/$(date +%Y%m%d-%H%M%S)-scaleout
mkdir -p "$RESULTS"
DATA=$(mktemp -d "$ROOT/build/bench-scaleout.XXXXXX")
chmod 755 "$DATA"  # PostgreSQL's initdb runs as the postgres user
PIDS=()
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

export LOUPE_SERVICES_DIR=$DATA/services
export S3_PORT=$(free_port) SWIFT_OBJECT_PORT=$(free_port) SWIFT_CONTAINER_PORT=$(free_port)
export SWIFT_ACCOUNT_PORT=$(free_port) MEMCACHED_PORT=$(free_port) PG_PORT=$(free_port)
export REDIS_PORT=$(free_port) REDIS_PASSWORD=bench
CH_PORT=$(free_port)

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2> /dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2> /dev/null || true; done
  "$ROOT/scripts/stop-services.sh" --purge > /dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT

{
  echo "command: bench/scaleout.sh $ARGS"
  echo "date: $(date -Is)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RESULTS/meta.txt"

log "starting PostgreSQL, Redis, Swift s3api and ClickHouse (chdb)"
"$ROOT/scripts/start-services.sh" s3 pg redis > "$RESULTS/services.log" 2>&1
"$PY" "$ROOT/tests/support/chdb_front.py" --data "$DATA/clickhouse" --port "$CH_PORT" \
  --user bench --password bench --query-log "$RESULTS/clickhouse-queries.log" \
  > "$RESULTS/clickhouse.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$CH_PORT/ping" > /dev/null && break
  sleep 0.1
done

cp "$BIN/loupe" "$DATA/bench-server"
cp "$BIN/bench/loupe_loadgen" "$DATA/bench-loadgen"
export DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/langfuse
export CLICKHOUSE_URL=http://127.0.0.1:$CH_PORT CLICKHOUSE_USER=bench CLICKHOUSE_PASSWORD=bench
export CLICKHOUSE_DB=loupe_bench
export REDIS_CONNECTION_STRING=redis://:bench@127.0.0.1:$REDIS_PORT
export LANGFUSE_S3_EVENT_UPLOAD_BUCKET=langfuse LANGFUSE_S3_EVENT_UPLOAD_REGION=us-east-1
export LANGFUSE_S3_EVENT_UPLOAD_ENDPOINT=http://127.0.0.1:$S3_PORT
export LANGFUSE_S3_EVENT_UPLOAD_ACCESS_KEY_ID=langfuse:admin
export LANGFUSE_S3_EVENT_UPLOAD_SECRET_ACCESS_KEY=s3secret
export LANGFUSE_S3_EVENT_UPLOAD_FORCE_PATH_STYLE=true
export LOUPE_INGEST_PARTITIONS=$PARTITIONS OTLP_GRPC_PORT=0 LANGFUSE_LOG_FORMAT=json
export LANGFUSE_INIT_ORG_ID=o LANGFUSE_INIT_PROJECT_ID=p
export LANGFUSE_INIT_PROJECT_PUBLIC_KEY=pk-lf-bench LANGFUSE_INIT_PROJECT_SECRET_KEY=sk-lf-bench
export SALT=bench-salt NEXTAUTH_SECRET=bench-secret
export LANGFUSE_INIT_USER_EMAIL=bench@loupe.test LANGFUSE_INIT_USER_NAME=Bench
export LANGFUSE_INIT_USER_PASSWORD=bench-password-1

# start ROLE N: one more process; sets STARTED_PORT and STARTED_PID.
start() {
  local role=$1 n=$2 port
  port=$(free_port)
  mkdir -p "$DATA/$role-$n"
  PORT=$port LOUPE_DATA_DIR=$DATA/$role-$n "$DATA/bench-server" "$role" \
    > "$RESULTS/$role-$n.log" 2>&1 &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  local health=/api/public/health
  [[ $role == worker ]] && health=/api/health
  for _ in $(seq 1 300); do
    if curl -sf "http://127.0.0.1:$port$health" > /dev/null; then
      STARTED_PORT=$port
      return
    fi
    sleep 0.1
  done
  cat "$RESULTS/$role-$n.log" >&2
  exit 1
}
start web 1
WEB_PORT=$STARTED_PORT WEB_PID=$STARTED_PID
for n in $(seq 2 "$WEBS"); do start web "$n"; done
WORKER_PORTS=()
for n in $(seq 1 "$WORKERS"); do
  start worker "$n"
  WORKER_PORTS+=("$STARTED_PORT")
done
log "web on $WEB_PORT ($WEBS web, $WORKERS worker processes, $PARTITIONS partitions)"

# Drained: nothing left in the streams (every entry stored and acknowledged).
drained() {
  local n=0
  for p in $(seq 0 $((PARTITIONS - 1))); do
    n=$((n + $(redis-cli -p "$REDIS_PORT" -a bench --no-auth-warning XLEN "loupe:ingest:$p")))
  done
  [[ $n == 0 ]]
}
now() { date +%s.%N; }

log "1/2 saturation: $OBSERVATIONS observations over $CONNECTIONS connections"
T0=$(now)
"$DATA/bench-loadgen" load --port "$WEB_PORT" --connections "$CONNECTIONS" \
  --observations "$OBSERVATIONS" --band "$OBSERVATIONS" --server-pid "$WEB_PID" \
  --probe-interval-ms 1000000000 --visible-interval-ms 1000000000 \
  --json "$RESULTS/saturation.json" 2> "$RESULTS/saturation.log"
T1=$(now)
until drained; do sleep 0.1; done
T2=$(now)
echo "$T0 $T1 $T2" > "$RESULTS/saturation-times.txt"
STORED_RATE=$(python3 -c "import json; l = json.load(open('$RESULTS/saturation.json')); print(int(l['events'] / ($T2 - $T0)))")
RATE=${LAG_RATE:-$((STORED_RATE * 7 / 10))}
log "stored end to end: $STORED_RATE events/s"

log "2/2 lag: $LAG_OBSERVATIONS observations offered at $RATE events/s"
# ClickHouse's running merges, once a second, to line up with slow probes.
(while true; do
  echo "$(date +%H:%M:%S) $(curl -s -u bench:bench "$CLICKHOUSE_URL/" --data-binary \
    "SELECT groupArray((table, round(elapsed, 1), round(progress, 2), num_parts,
       intDiv(total_size_bytes_compressed, 1000000))) FROM system.merges")"
  sleep 1
done > "$RESULTS/clickhouse-merges.log" 2>&1) &
MERGES_PID=$!
PIDS+=("$MERGES_PID")
# The probe polls a trace of a batch from the moment it is sent until it is
# readable: visible_minus_ack is the 207-to-visible lag.
"$DATA/bench-loadgen" load --port "$WEB_PORT" --connections "$CONNECTIONS" \
  --observations "$LAG_OBSERVATIONS" --band "$LAG_OBSERVATIONS" --server-pid "$WEB_PID" \
  --rate "$RATE" --probe-interval-ms 200 --read-cost-factor 3 --probe-poll-ms 50 \
  --visible-interval-ms 1000000000 \
  --seed 2 \
  --json "$RESULTS/paced.json" 2> "$RESULTS/paced.log"
until drained; do sleep 0.1; done
kill "$MERGES_PID" 2> /dev/null || true
for p in "${WORKER_PORTS[@]}"; do
  curl -s "http://127.0.0.1:$p/api/health" >> "$RESULTS/worker-health.json"
  echo >> "$RESULTS/worker-health.json"
done

if [[ $CH_OBSERVATIONS -gt 0 ]]; then
  log "3/3 ClickHouse at $CH_OBSERVATIONS observations: copying the stored entities"
  "$ROOT/scripts/setup-ui-test-env.sh" > /dev/null
  python3 "$ROOT/bench/clickhouse_replicate.py" --url "$CLICKHOUSE_URL" --user bench \
    --password bench --database "$CLICKHOUSE_DB" --project p --observations "$CH_OBSERVATIONS" \
    > "$RESULTS/replicate.json"
  cat "$RESULTS/replicate.json" >&2
  log "timing the web UI (dashboard per range, trace list)"
  BASE_URL=http://127.0.0.1:$WEB_PORT EMAIL=$LANGFUSE_INIT_USER_EMAIL \
    PASSWORD=$LANGFUSE_INIT_USER_PASSWORD PROJECT_ID=p RUNS=5 RANGES=7d,30d,all \
    LIST_RANGES=7d,all node "$ROOT/bench/dashboard_timing.mjs" > "$RESULTS/ui-timing.json"
fi

python3 "$ROOT/bench/scaleout_report.py" "$RESULTS" "$WEBS" "$WORKERS" "$PARTITIONS" | tee "$RESULTS/summary.md"
