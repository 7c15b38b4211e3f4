#!/usr/bin/env bash
# Installs what the browser tests in tests/ui need: Debian's chromium (the
# browser playwright-core drives; a test tool's own browser download cannot
# work here) and playwright-core from tests/ui/package-lock.json. Idempotent:
# a second run only checks and returns.
#
#   LOUPE_SKIP_UI_BROWSER=1   install nothing; the browser tests then skip
#   FORCE=1                   reinstall the npm packages
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UI_DIR="$ROOT/tests/ui"
FORCE="${FORCE:-0}"
log() { printf '[setup-ui-test-env] %s\n' "$*"; }

if [[ "${LOUPE_SKIP_UI_BROWSER:-0}" == 1 ]]; then
  log "skipped (LOUPE_SKIP_UI_BROWSER=1)"
  exit 0
fi

if [[ -x /usr/bin/chromium ]]; then
  log "chromium: present ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
else
  log "chromium: apt-get install chromium (about 500 MB, once)"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    --no-install-recommends chromium fonts-liberation >/dev/null
  log "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
fi

if ! command -v npm >/dev/null 2>&1; then
  log "npm not found: install Node.js (apt-get install nodejs npm)"
  exit 1
fi
stamp="$UI_DIR/node_modules/.loupe-stamp"
want="$(cat "$UI_DIR/package.json" "$UI_DIR/package-lock.json" | sha256sum | cut -c1-16)"
if [[ "$FORCE" != 1 && -f "$UI_DIR/node_modules/playwright-core/package.json" && -f "$stamp" &&
      "$(cat "$stamp")" == "$want" ]]; then
  log "playwright-core: up to date"
else
  log "playwright-core: npm ci in tests/ui"
  # No browser download: the tests use /usr/bin/chromium.
  (cd "$UI_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
log "done"
