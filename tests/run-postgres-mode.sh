#!/usr/bin/env bash
# The black-box, SDK and browser suites again, with every server's metadata
# (organizations, projects, keys, users, prompts, datasets, score configs,
# models, comments, annotation queues, LLM connections, media records) in a
# real PostgreSQL 15 instead of the embedded meta.db. Each server the tests
# start gets a fresh database of its own (tests/integration/harness.py).
#
#   tests/run-postgres-mode.sh               # all suites except tests/scaleout
#   tests/run-postgres-mode.sh api -k prompt # extra args replace the suite list
#
# PostgreSQL is started by scripts/start-services.sh in a private directory
# on a free port and stopped on exit, whatever the outcome.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

BASE="$(mktemp -d "${TMPDIR:-/tmp}/loupe-pgmode-XXXXXX")"
chmod 755 "$BASE"  # initdb runs as the postgres user
PG_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export LOUPE_SERVICES_DIR="$BASE" PG_PORT

cleanup() {
  "$ROOT/scripts/stop-services.sh" --purge > /dev/null 2>&1 || true
  rm -rf "$BASE"
}
trap cleanup EXIT

"$ROOT/scripts/start-services.sh" pg > "$BASE/start.log" 2>&1 || {
  cat "$BASE/start.log" >&2
  exit 1
}
export LOUPE_TEST_PG_ADMIN_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"

if [[ $# -eq 0 ]]; then
  set -- integration api_admin compat api otel ui conformance sdk_current media api_v2
fi
echo "[postgres-mode] metadata in PostgreSQL on port $PG_PORT"
"$ROOT/tests/run-integration.sh" "$@"
