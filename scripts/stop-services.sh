#!/usr/bin/env bash
# Stops what scripts/start-services.sh started under $LOUPE_SERVICES_DIR
# (default ${TMPDIR:-/tmp}/loupe-services), by the PIDs it recorded there and
# nothing else. Data stays; `--purge` also removes the directory.
set -uo pipefail

BASE=${LOUPE_SERVICES_DIR:-${TMPDIR:-/tmp}/loupe-services}
PURGE=0
[[ "${1:-}" == "--purge" ]] && PURGE=1

# PostgreSQL first, through pg_ctl, so it shuts down cleanly.
if [[ -f "$BASE/pg/data/postmaster.pid" ]]; then
  as=()
  [[ $(id -u) -eq 0 ]] && as=(runuser -u postgres --)
  "${as[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$BASE/pg/data" -m fast -w stop >/dev/null 2>&1 &&
    echo "stopped pg"
  rm -f "$BASE/pids/pg.pid"
fi

for f in "$BASE"/pids/*.pid; do
  [[ -f "$f" ]] || continue
  pid=$(cat "$f")
  name=$(basename "$f" .pid)
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "stopped $name ($pid)"
  fi
  rm -f "$f"
done

if [[ $PURGE == 1 ]]; then
  rm -rf "$BASE"
fi
exit 0
