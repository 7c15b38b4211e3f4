#!/usr/bin/env bash
# Installs the clients of the OpenTelemetry end-to-end tests (tests/otel).
# Idempotent: a second run only checks stamps and returns in well under a second.
#
#   .venv-test/otel            langfuse (Python SDK v4) + OpenTelemetry SDK and
#                              OTLP exporters (HTTP protobuf, gRPC)   <- run as subprocesses
#   tests/otel/node/node_modules   @langfuse/tracing + @langfuse/otel v5, OpenTelemetry JS SDK
#                                  and OTLP exporters (protobuf, JSON, gRPC), from package-lock.json
#
# The tests themselves run in .venv-test/sdk (scripts/setup-test-env.sh).
#
# Environment:
#   PYTHON=python3.11     interpreter used to create the venv (default: python3)
#   LOUPE_SKIP_NODE=1     do not install the npm clients; the JS tests then skip
#   FORCE=1               reinstall everything
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-test/otel"
REQ="$ROOT/tests/otel/requirements.txt"
NODE_DIR="$ROOT/tests/otel/node"
PYTHON="${PYTHON:-python3}"
FORCE="${FORCE:-0}"

log() { printf '[setup-otel-test-env] %s\n' "$*"; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' ||
  { log "need Python >= 3.9 (PYTHON=$PYTHON)"; exit 1; }

stamp="$VENV/.loupe-stamp"
want="$(hash_of "$REQ")-$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$FORCE" != 1 && -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "venv otel: up to date ($VENV)"
else
  log "venv otel: creating $VENV from ${REQ#"$ROOT"/}"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" >"$stamp"
  log "venv otel: installed: $("$VENV/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null |
    grep -iE '^(langfuse|opentelemetry-sdk|opentelemetry-exporter-otlp-proto-(http|grpc))==' | tr '\n' ' ')"
fi

if [[ "${LOUPE_SKIP_NODE:-0}" == 1 ]]; then
  log "npm otel clients: skipped (LOUPE_SKIP_NODE=1)"
elif ! command -v npm >/dev/null 2>&1; then
  log "npm not found: install Node.js >= 18 (apt-get install nodejs npm) or set LOUPE_SKIP_NODE=1"
  exit 1
else
  stamp="$NODE_DIR/node_modules/.loupe-stamp"
  want="$(hash_of "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")"
  if [[ "$FORCE" != 1 && -f "$NODE_DIR/node_modules/@langfuse/otel/package.json" && -f "$stamp" &&
    "$(cat "$stamp")" == "$want" ]]; then
    log "npm otel clients: up to date ($NODE_DIR/node_modules)"
  else
    log "npm otel clients: npm ci in ${NODE_DIR#"$ROOT"/}"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
    log "npm otel clients: installed @langfuse/otel $(node -p "require('$NODE_DIR/node_modules/@langfuse/otel/package.json').version")"
  fi
fi

log "done"
