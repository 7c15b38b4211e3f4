#!/usr/bin/env bash
# Installs the clients of the OpenTelemetry end-to-end tests (tests/otel).
# Idempotent: a second run only checks stamps and returns in well under a second.
#
#   .venv-test/otel            langfuse (Python SDK v4) + OpenTelemetry SDK and
#                              OTLP exporters (HTTP protobuf, gRPC)   <- run as subprocesses
#                              (tests/otel/requirements.txt)
#   .venv-test/litellm-otel    the current LiteLLM, for its langfuse_otel callback
#                              (tests/otel/requirements-litellm.txt; apart from the older
#                              LiteLLM in .venv-test/litellm that tests/compat uses)
#   .venv-test/openai-otel     openai + openinference-instrumentation-openai +
#                              opentelemetry-instrumentation-openai (OpenLLMetry)
#                              (tests/otel/requirements-openai.txt)
#   tests/otel/node/node_modules   @langfuse/tracing + @langfuse/otel v5, OpenTelemetry JS SDK
#                                  and OTLP exporters (protobuf, JSON, gRPC), from package-lock.json
#
# The tests themselves run in .venv-test/sdk (scripts/setup-test-env.sh).
#
# Environment:
#   PYTHON=python3.11     interpreter used to create the venvs (default: python3)
#   LOUPE_SKIP_LITELLM=1  do not install .venv-test/litellm-otel; the LiteLLM test then skips
#   LOUPE_SKIP_NODE=1     do not install the npm clients; the JS tests then skip
#   FORCE=1               reinstall everything
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="$ROOT/tests/otel/node"
PYTHON="${PYTHON:-python3}"
FORCE="${FORCE:-0}"

log() { printf '[setup-otel-test-env] %s\n' "$*"; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' ||
  { log "need Python >= 3.9 (PYTHON=$PYTHON)"; exit 1; }
PY_VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# python_venv NAME REQUIREMENTS PACKAGE-REGEX: .venv-test/NAME from the pinned
# requirements file; a stamp of the file's hash and the Python version makes a
# second run a no-op. PACKAGE-REGEX picks the versions to log.
python_venv() {
  local name="$1" req="$ROOT/$2" pick="$3"
  local venv="$ROOT/.venv-test/$name"
  local stamp="$venv/.loupe-stamp"
  local want
  want="$(hash_of "$req")-$PY_VERSION"
  if [[ "$FORCE" != 1 && -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "venv $name: up to date ($venv)"
    return
  fi
  log "venv $name: creating $venv from $2"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
  log "venv $name: installed: $("$venv/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null |
    grep -iE "^($pick)==" | tr '\n' ' ')"
}

python_venv otel tests/otel/requirements.txt \
  'langfuse|opentelemetry-sdk|opentelemetry-exporter-otlp-proto-(http|grpc)'
if [[ "${LOUPE_SKIP_LITELLM:-0}" == 1 ]]; then
  log "venv litellm-otel: skipped (LOUPE_SKIP_LITELLM=1)"
else
  python_venv litellm-otel tests/otel/requirements-litellm.txt 'litellm|opentelemetry-sdk'
fi
python_venv openai-otel tests/otel/requirements-openai.txt \
  'openai|openinference-instrumentation-openai|opentelemetry-instrumentation-openai|opentelemetry-sdk'

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
