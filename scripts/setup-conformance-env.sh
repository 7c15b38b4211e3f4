#!/usr/bin/env bash
# Installs what tests/conformance and tests/sdk_current need. Idempotent: a
# second run only checks stamps. Run after scripts/setup-test-env.sh (it adds
# packages to the .venv-test/sdk venv that one creates).
#
#   .venv-test/sdk                  + PyYAML, jsonschema, referencing, schemathesis
#                                   (tests/conformance/requirements.txt)
#   .venv-test/langfuse-v4          Langfuse Python SDK v4 (tests/sdk_current/python/requirements.txt)
#   tests/sdk_current/node/node_modules   @langfuse/client v5 (package-lock.json)
#
# Environment: PYTHON (default python3), LOUPE_SKIP_NODE=1, FORCE=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_ROOT="$ROOT/.venv-test"
PYTHON="${PYTHON:-python3}"
FORCE="${FORCE:-0}"

log() { printf '[setup-conformance-env] %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# 1. Conformance packages into the pytest venv.
SDK_VENV="$VENV_ROOT/sdk"
REQ="$ROOT/tests/conformance/requirements.txt"
if [[ ! -x "$SDK_VENV/bin/python" ]]; then
  log "$SDK_VENV missing: run scripts/setup-test-env.sh first"
  exit 1
fi
stamp="$SDK_VENV/.loupe-conformance-stamp"
want="$(hash_of "$REQ")"
if [[ "$FORCE" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "conformance packages: up to date"
else
  log "conformance packages: pip install -r ${REQ#"$ROOT"/} into $SDK_VENV"
  "$SDK_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
  echo "$want" >"$stamp"
fi

# 2. Python SDK v4 in its own venv.
V4="$VENV_ROOT/langfuse-v4"
REQ4="$ROOT/tests/sdk_current/python/requirements.txt"
want="$(hash_of "$REQ4")-$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$FORCE" != 1 && -x "$V4/bin/python" && -f "$V4/.loupe-stamp" && "$(cat "$V4/.loupe-stamp")" == "$want" ]]; then
  log "venv langfuse-v4: up to date"
else
  log "venv langfuse-v4: creating $V4"
  rm -rf "$V4"
  "$PYTHON" -m venv "$V4"
  "$V4/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ4"
  echo "$want" >"$V4/.loupe-stamp"
  log "venv langfuse-v4: $("$V4/bin/python" -m pip freeze --disable-pip-version-check | grep -i '^langfuse==')"
fi

# 3. @langfuse/client v5.
NODE_DIR="$ROOT/tests/sdk_current/node"
if [[ "${LOUPE_SKIP_NODE:-0}" == 1 ]]; then
  log "@langfuse/client: skipped (LOUPE_SKIP_NODE=1)"
elif ! command -v npm >/dev/null 2>&1; then
  log "npm not found: install Node.js >= 20 or set LOUPE_SKIP_NODE=1"
  exit 1
else
  stamp="$NODE_DIR/node_modules/.loupe-stamp"
  want="$(hash_of "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")"
  if [[ "$FORCE" != 1 && -f "$NODE_DIR/node_modules/@langfuse/client/package.json" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "@langfuse/client: up to date"
  else
    log "@langfuse/client: npm ci in ${NODE_DIR#"$ROOT"/}"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
  fi
fi

log "done"
