#!/usr/bin/env bash
# Installs what the black-box and SDK compatibility tests need. Idempotent: a
# second run only checks stamps and returns in well under a second.
#
#   .venv-test/sdk       pytest, requests, langfuse (Python SDK v2)       <- runs pytest
#                        + chdb (tests/support/requirements-chdb.txt)
#   .venv-test/litellm   litellm[proxy] + langfuse v2 (classic callback)  <- run as subprocesses
#   tests/compat/node/node_modules   npm `langfuse` v3 (from package-lock.json)
#
# Environment:
#   PYTHON=python3.11        interpreter used to create the venvs (default: python3)
#   LOUPE_SKIP_LITELLM=1     do not install the (large, ~700 MB) LiteLLM venv; the
#                            LiteLLM tests then skip with that reason
#   LOUPE_SKIP_NODE=1        do not install the npm SDK; the JS test then skips
#   FORCE=1                  reinstall everything
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_ROOT="$ROOT/.venv-test"
PYTHON="${PYTHON:-python3}"
FORCE="${FORCE:-0}"

log() { printf '[setup-test-env] %s\n' "$*"; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# make_venv NAME REQUIREMENTS_FILE
make_venv() {
  local name="$1" req="$2"
  local dir="$VENV_ROOT/$name"
  local stamp="$dir/.loupe-stamp"
  local want
  want="$(hash_of "$req")-$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  if [[ "$FORCE" != 1 && -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "venv $name: up to date ($dir)"
    return 0
  fi
  log "venv $name: creating $dir from ${req#"$ROOT"/}"
  rm -rf "$dir"
  mkdir -p "$VENV_ROOT"
  "$PYTHON" -m venv "$dir"
  log "venv $name: pip install -r ${req#"$ROOT"/} (this can take a few minutes the first time)"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
  log "venv $name: installed: $("$dir/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null |
    grep -iE '^(pytest|requests|langfuse|litellm)==' | tr '\n' ' ')"
}

"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' ||
  { log "need Python >= 3.9 (PYTHON=$PYTHON)"; exit 1; }

make_venv sdk "$ROOT/tests/integration/requirements.txt"

# chdb (ClickHouse in-process, for tests/scaleout's ClickHouse HTTP front) goes
# into the sdk venv with its own stamp, so that changing it does not rebuild
# the venv.
CHDB_REQ="$ROOT/tests/support/requirements-chdb.txt"
chdb_stamp="$VENV_ROOT/sdk/.loupe-chdb-stamp"
chdb_want="$(hash_of "$CHDB_REQ")"
if [[ "$FORCE" != 1 && -f "$chdb_stamp" && "$(cat "$chdb_stamp")" == "$chdb_want" ]]; then
  log "chdb: up to date"
else
  log "chdb: pip install -r ${CHDB_REQ#"$ROOT"/} into the sdk venv"
  "$VENV_ROOT/sdk/bin/python" -m pip install --quiet --disable-pip-version-check -r "$CHDB_REQ"
  echo "$chdb_want" >"$chdb_stamp"
fi

if [[ "${LOUPE_SKIP_LITELLM:-0}" == 1 ]]; then
  log "venv litellm: skipped (LOUPE_SKIP_LITELLM=1)"
else
  make_venv litellm "$ROOT/tests/compat/litellm/requirements.txt"
fi

NODE_DIR="$ROOT/tests/compat/node"
if [[ "${LOUPE_SKIP_NODE:-0}" == 1 ]]; then
  log "npm langfuse v3: skipped (LOUPE_SKIP_NODE=1)"
elif ! command -v npm >/dev/null 2>&1; then
  log "npm not found: install Node.js >= 18 (apt-get install nodejs npm) or set LOUPE_SKIP_NODE=1"
  exit 1
else
  stamp="$NODE_DIR/node_modules/.loupe-stamp"
  want="$(hash_of "$NODE_DIR/package.json" "$NODE_DIR/package-lock.json")"
  if [[ "$FORCE" != 1 && -f "$NODE_DIR/node_modules/langfuse/package.json" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "npm langfuse v3: up to date ($NODE_DIR/node_modules)"
  else
    log "npm langfuse v3: npm ci in ${NODE_DIR#"$ROOT"/}"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" >"$stamp"
    log "npm langfuse v3: installed $(node -p "require('$NODE_DIR/node_modules/langfuse/package.json').version")"
  fi
fi

log "done"
