#!/usr/bin/env bash
# The black-box, SDK and browser suites again, on the scale-out backends:
# every server the tests start keeps its metadata (organizations, projects,
# keys, users, prompts, datasets, score configs, models, comments,
# annotation queues, LLM connections, media records) in a real PostgreSQL 15,
# each in a fresh database of its own (tests/integration/harness.py).
# With --clickhouse, traces, observations and scores also go to ClickHouse
# (the real engine, chdb, behind tests/support/chdb_front.py), each server in
# a fresh ClickHouse database.
#
#   tests/run-scaleout-mode.sh                    # all suites except tests/scaleout
#   tests/run-scaleout-mode.sh --clickhouse       # PostgreSQL and ClickHouse
#   tests/run-scaleout-mode.sh -k prompt          # options go to pytest
#   tests/run-scaleout-mode.sh api -x             # suites named first replace the list
#
# The services are started in a private directory on free ports and stopped
# on exit, whatever the outcome.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WITH_CLICKHOUSE=0
if [[ "${1:-}" == "--clickhouse" ]]; then
  WITH_CLICKHOUSE=1
  shift
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
BASE="$(mktemp -d "${TMPDIR:-/tmp}/loupe-svcmode-XXXXXX")"
chmod 755 "$BASE"  # initdb runs as the postgres user
PG_PORT="$(free_port)"
export LOUPE_SERVICES_DIR="$BASE" PG_PORT
CH_PID=

# Keeps the tests' exit status: nothing here may fail (with `set -e`, a
# failing command would end the script with its own status instead).
cleanup() {
  if [[ -n "$CH_PID" ]]; then
    kill "$CH_PID" 2> /dev/null || true
    wait "$CH_PID" 2> /dev/null || true
  fi
  "$ROOT/scripts/stop-services.sh" --purge > /dev/null 2>&1 || true
  rm -rf "$BASE" || true
}
trap cleanup EXIT

"$ROOT/scripts/start-services.sh" pg > "$BASE/start.log" 2>&1 || {
  cat "$BASE/start.log" >&2
  exit 1
}
export LOUPE_TEST_PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
MODE="metadata in PostgreSQL on port $PG_PORT"

if [[ $WITH_CLICKHOUSE == 1 ]]; then
  "$ROOT/scripts/setup-test-env.sh" > /dev/null
  CH_PORT="$(free_port)"
  export LOUPE_TEST_CLICKHOUSE_USER=loupe LOUPE_TEST_CLICKHOUSE_PASSWORD="ch-$RANDOM$RANDOM"
  "$ROOT/.venv-test/sdk/bin/python" "$ROOT/tests/support/chdb_front.py" --data "$BASE/clickhouse" \
    --port "$CH_PORT" --user loupe --password "$LOUPE_TEST_CLICKHOUSE_PASSWORD" \
    > "$BASE/clickhouse.log" 2>&1 &
  CH_PID=$!
  for _ in $(seq 1 1200); do
    curl -sf "http://127.0.0.1:$CH_PORT/ping" > /dev/null && break
    kill -0 "$CH_PID" 2> /dev/null || { cat "$BASE/clickhouse.log" >&2; exit 1; }
    sleep 0.1
  done
  export LOUPE_TEST_CLICKHOUSE_URL="http://127.0.0.1:$CH_PORT"
  MODE="$MODE, events in ClickHouse (chdb) on port $CH_PORT"
fi

# tests/scaleout chooses each server's backends itself.
if [[ $# -eq 0 || "$1" == -* ]]; then
  set -- integration api_admin compat api otel ui conformance sdk_current media api_v2 "$@"
fi
echo "[service-mode] $MODE"
"$ROOT/tests/run-integration.sh" "$@"
