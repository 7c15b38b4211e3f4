#!/usr/bin/env bash
# Black-box + SDK compatibility tests against the real binary.
#
#   tests/run-integration.sh                 # setup (no-op when done) + all tests
#   tests/run-integration.sh -k ingestion    # extra args go to pytest
#
# tests/scaleout starts the services it needs (OpenStack Swift with s3api, installed on first
# use) through scripts/start-services.sh in its temporary directory, on free ports, and stops
# them with scripts/stop-services.sh; a service that cannot start fails those tests.
#
# Env: LOUPE_BIN (default build/release/loupe), LOUPE_SKIP_LITELLM=1, LOUPE_SKIP_NODE=1,
#      LOUPE_KEEP_TMP=1 (keep the servers' data dirs and logs), LOUPE_TEST_LOG_LEVEL (default info).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup-test-env.sh"
"$ROOT/scripts/setup-conformance-env.sh"
"$ROOT/scripts/setup-otel-test-env.sh"
"$ROOT/scripts/setup-ui-test-env.sh"

BIN="${LOUPE_BIN:-$ROOT/build/release/loupe}"
if [[ ! -x "$BIN" ]]; then
  echo "loupe binary not found at $BIN: build it first (make build) or set LOUPE_BIN" >&2
  exit 1
fi
export LOUPE_BIN="$BIN"

cd "$ROOT/tests"
exec "$ROOT/.venv-test/sdk/bin/python" -m pytest -c "$ROOT/tests/pytest.ini" -q "$@"
