#!/usr/bin/env bash
# Starts private, loopback-only instances of the services Loupe's scale-out
# mode uses, for tests and local development on Debian 12:
#
#   s3      OpenStack Swift with its s3api middleware: an S3 server that really
#           checks SigV4 signatures (header-signed and presigned requests)
#   pg      PostgreSQL 15
#   redis   Redis 7
#   ch      ClickHouse 18.16, the only one Debian 12 packages: too old for the
#           event store (it needs 23.2+; tests use the current engine through
#           tests/support/chdb_front.py), started only when asked for, to check
#           the ClickHouse client against the long-stable HTTP interface
#
#   scripts/start-services.sh [s3] [pg] [redis] [ch]   # no argument: s3, pg and redis
#   scripts/stop-services.sh                       # stops what this started
#
# Missing Debian packages of the requested services are installed first
# (apt-get; needs root or sudo). Everything lives under $LOUPE_SERVICES_DIR
# (default ${TMPDIR:-/tmp}/loupe-services): data, logs, and one PID file per
# process in pids/, which is all stop-services.sh looks at. Starting a service
# that is already running there is an error (stop it first).
#
# Ports and credentials (environment, defaults in brackets):
#   S3_PORT [58080]  S3_BUCKET [langfuse]  S3_REGION [us-east-1]
#   S3_ACCESS_KEY [langfuse:admin] (Swift tempauth keys are account:user)
#   S3_SECRET [s3secret]
#   S3_STORAGE_DOMAIN [localhost]: virtual-host style requests to
#     <bucket>.$S3_STORAGE_DOMAIN:$S3_PORT address the bucket by host name
#   SWIFT_OBJECT_PORT [56200], SWIFT_CONTAINER_PORT [56201], SWIFT_ACCOUNT_PORT [56202],
#   MEMCACHED_PORT [51211]: Swift's internal servers
#   PG_PORT [55432] (user postgres, trust auth, database langfuse)
#   REDIS_PORT [56379]  REDIS_PASSWORD [testpass]
#   CH_HTTP_PORT [58123]  CH_TCP_PORT [59000]  CH_PASSWORD [chpass] (user default)
#
# On success the last lines are the variables that point Loupe at the services.
set -euo pipefail

BASE=${LOUPE_SERVICES_DIR:-${TMPDIR:-/tmp}/loupe-services}
S3_PORT=${S3_PORT:-58080}
S3_BUCKET=${S3_BUCKET:-langfuse}
S3_REGION=${S3_REGION:-us-east-1}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-langfuse:admin}
S3_SECRET=${S3_SECRET:-s3secret}
S3_STORAGE_DOMAIN=${S3_STORAGE_DOMAIN:-localhost}
SWIFT_OBJECT_PORT=${SWIFT_OBJECT_PORT:-56200}
SWIFT_CONTAINER_PORT=${SWIFT_CONTAINER_PORT:-56201}
SWIFT_ACCOUNT_PORT=${SWIFT_ACCOUNT_PORT:-56202}
MEMCACHED_PORT=${MEMCACHED_PORT:-51211}
PG_PORT=${PG_PORT:-55432}
REDIS_PORT=${REDIS_PORT:-56379}
REDIS_PASSWORD=${REDIS_PASSWORD:-testpass}
CH_HTTP_PORT=${CH_HTTP_PORT:-58123}
CH_TCP_PORT=${CH_TCP_PORT:-59000}
CH_PASSWORD=${CH_PASSWORD:-chpass}

log() { printf '[start-services] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

SERVICES=()
for a in "$@"; do
  case "$a" in
    s3 | pg | redis | ch) SERVICES+=("$a") ;;
    install) ;;  # accepted for compatibility: missing packages are always installed
    *) die "unknown service '$a' (expected s3, pg, redis or ch)" ;;
  esac
done
[[ ${#SERVICES[@]} -gt 0 ]] || SERVICES=(s3 pg redis)
want() { [[ " ${SERVICES[*]} " == *" $1 "* ]]; }

SUDO=()
[[ $(id -u) -eq 0 ]] || SUDO=(sudo)

install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing Debian packages: ${missing[*]}"
  "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=900 update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
}

# wait_for NAME SECONDS COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local name=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    if "$@" >/dev/null 2>&1; then
      log "$name ready (${SECONDS}s)"
      return 0
    fi
    sleep 0.1
  done
  die "$name did not become ready within ${seconds}s (logs in $BASE/logs)"
}

# A PID file whose process still runs means the service is up already.
check_not_running() {
  local f=$BASE/pids/$1.pid
  if [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null; then
    die "$1 already runs under $BASE (pid $(cat "$f")): run scripts/stop-services.sh first"
  fi
  rm -f "$f"
}

PACKAGES=(curl)
want s3 && PACKAGES+=(swift-proxy swift-account swift-container swift-object memcached python3)
want pg && PACKAGES+=(postgresql-15)
want redis && PACKAGES+=(redis-server)
want ch && PACKAGES+=(clickhouse-server)
install_missing "${PACKAGES[@]}"

mkdir -p "$BASE/pids" "$BASE/logs"
chmod 755 "$BASE" # the postgres user must reach its data directory inside

# --------------------------------------------------------------------------- S3 (Swift + s3api)
start_s3() {
  local d=$BASE/swift n port
  for n in memcached swift-object swift-container swift-account swift-proxy; do check_not_running "$n"; done
  mkdir -p "$d/srv/d1"
  # Swift reads its hash path suffix from /etc/swift/swift.conf; the package
  # ships one, a minimal one is written if it is missing.
  if [[ ! -f /etc/swift/swift.conf ]]; then
    "${SUDO[@]}" mkdir -p /etc/swift
    printf '[swift-hash]\nswift_hash_path_suffix = %s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" |
      "${SUDO[@]}" tee /etc/swift/swift.conf >/dev/null
  fi

  # memcached drops privileges to "nobody" when started as root; it then
  # cannot write a PID file here, so its PID is taken from the daemon itself.
  local mc_user=()
  [[ $(id -u) -eq 0 ]] && mc_user=(-u root)
  memcached -d "${mc_user[@]}" -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -m 64 -P "$BASE/pids/memcached.pid"

  # One device, one replica: rings are rebuilt when the ports change.
  for n in object container account; do
    case $n in
      object) port=$SWIFT_OBJECT_PORT ;;
      container) port=$SWIFT_CONTAINER_PORT ;;
      account) port=$SWIFT_ACCOUNT_PORT ;;
    esac
    if [[ ! -f "$d/$n.ring.gz" || "$(cat "$d/$n.port" 2>/dev/null)" != "$port" ]]; then
      rm -f "$d/$n.builder" "$d/$n.ring.gz"
      (cd "$d" && swift-ring-builder "$n.builder" create 8 1 0 &&
        swift-ring-builder "$n.builder" add "r1z1-127.0.0.1:$port/d1" 1 &&
        swift-ring-builder "$n.builder" rebalance) >/dev/null
      echo "$port" >"$d/$n.port"
    fi
    cat >"$d/$n-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
devices = $d/srv
mount_check = false
swift_dir = $d
workers = 0
log_address = /dev/null
[pipeline:main]
pipeline = healthcheck $n-server
[app:$n-server]
use = egg:swift#$n
[filter:healthcheck]
use = egg:swift#healthcheck
EOF
  done
  # tempauth user "<account>_<user>" with the .admin role; s3api maps the S3
  # access key "<account>:<user>" to it and checks the SigV4 signature with
  # the user's key as the secret.
  local account=${S3_ACCESS_KEY%%:*} user=${S3_ACCESS_KEY#*:}
  cat >"$d/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $S3_PORT
swift_dir = $d
workers = 0
log_address = /dev/null
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = $S3_REGION
storage_domain = $S3_STORAGE_DOMAIN
[filter:tempauth]
use = egg:swift#tempauth
user_${account}_${user} = $S3_SECRET .admin
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
  # Debian's python3, not whatever python3 comes first on PATH (a pyenv or
  # venv interpreter lacks the swift module).
  for n in object container account proxy; do
    nohup /usr/bin/python3 "/usr/bin/swift-$n-server" "$d/$n-server.conf" \
      >"$BASE/logs/swift-$n.log" 2>&1 </dev/null &
    echo $! >"$BASE/pids/swift-$n.pid"
  done
  # The proxy answers 503 while a backend server is still importing Swift
  # (seconds on a busy machine): wait for each of them first.
  wait_for "swift object server" 120 curl -sf "http://127.0.0.1:$SWIFT_OBJECT_PORT/healthcheck"
  wait_for "swift container server" 120 curl -sf "http://127.0.0.1:$SWIFT_CONTAINER_PORT/healthcheck"
  wait_for "swift account server" 120 curl -sf "http://127.0.0.1:$SWIFT_ACCOUNT_PORT/healthcheck"
  wait_for "swift proxy" 120 curl -sf "http://127.0.0.1:$S3_PORT/healthcheck"

  # Create the bucket (idempotent), retrying while the account is being
  # created behind the proxy.
  local netrc=$d/s3.netrc code=""
  printf 'machine 127.0.0.1 login %s password %s\n' "$S3_ACCESS_KEY" "$S3_SECRET" >"$netrc"
  chmod 600 "$netrc"
  for _ in $(seq 1 300); do
    code=$(curl -s -o "$BASE/logs/create-bucket.out" -w '%{http_code}' \
      --aws-sigv4 "aws:amz:$S3_REGION:s3" --netrc-file "$netrc" \
      -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
      -X PUT "http://127.0.0.1:$S3_PORT/$S3_BUCKET" || true)
    case "$code" in 200 | 409) break ;; esac
    sleep 0.2
  done
  case "$code" in
    200 | 409) log "bucket $S3_BUCKET ready (${SECONDS}s)" ;;
    *) die "creating bucket $S3_BUCKET failed (HTTP $code): $(head -c 500 "$BASE/logs/create-bucket.out")" ;;
  esac
}

# --------------------------------------------------------------------------- PostgreSQL 15
start_pg() {
  local bin=/usr/lib/postgresql/15/bin d=$BASE/pg as=()
  check_not_running pg
  mkdir -p "$d"
  # initdb and postgres refuse to run as root.
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$d"
    as=(runuser -u postgres --)
  fi
  [[ -f "$d/data/PG_VERSION" ]] ||
    "${as[@]}" "$bin/initdb" -D "$d/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$d/initdb.log"
  "${as[@]}" "$bin/pg_ctl" -D "$d/data" -l "$d/pg.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $d -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
  head -1 "$d/data/postmaster.pid" >"$BASE/pids/pg.pid"
  wait_for postgres 30 "$bin/pg_isready" -h 127.0.0.1 -p "$PG_PORT"
  "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='langfuse'" | grep -q 1 ||
    "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE langfuse"
}

# --------------------------------------------------------------------------- Redis
# Append-only file with an fsync per write: the ingestion queue's references
# must survive a Redis restart, as in a production deployment.
start_redis() {
  check_not_running redis
  mkdir -p "$BASE/redis"
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$BASE/redis" \
    --pidfile "$BASE/pids/redis.pid" --logfile "$BASE/logs/redis.log" --save '' \
    --appendonly yes --appendfsync always \
    --requirepass "$REDIS_PASSWORD"
  wait_for redis 30 sh -c "redis-cli -h 127.0.0.1 -p $REDIS_PORT -a '$REDIS_PASSWORD' --no-auth-warning ping | grep -q PONG"
}

# --------------------------------------------------------------------------- ClickHouse 18.16
# A private configuration (no /etc/clickhouse-server), loopback only, the
# default user with a password.
start_ch() {
  local d=$BASE/ch
  check_not_running ch
  mkdir -p "$d"/{data,tmp,user_files,format_schemas}
  cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$BASE/logs/ch.log</log><errorlog>$BASE/logs/ch.err.log</errorlog><size>100M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host><http_port>$CH_HTTP_PORT</http_port><tcp_port>$CH_TCP_PORT</tcp_port>
  <max_connections>256</max_connections><keep_alive_timeout>3</keep_alive_timeout><max_concurrent_queries>50</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <path>$d/data/</path><tmp_path>$d/tmp/</tmp_path><user_files_path>$d/user_files/</user_files_path><format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config><default_profile>default</default_profile><default_database>default</default_database>
  <timezone>UTC</timezone><mlock_executable>false</mlock_executable>
</yandex>
EOF
  cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password>$CH_PASSWORD</password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
EOF
  nohup /usr/sbin/clickhouse-server --config-file="$d/config.xml" >"$BASE/logs/ch.stdout.log" 2>&1 </dev/null &
  echo $! >"$BASE/pids/ch.pid"
  wait_for clickhouse 120 sh -c "curl -sf http://127.0.0.1:$CH_HTTP_PORT/ping | grep -q Ok"
}

want s3 && start_s3
want pg && start_pg
want redis && start_redis
want ch && start_ch

if want s3; then
  cat <<EOF
LANGFUSE_S3_MEDIA_UPLOAD_BUCKET=$S3_BUCKET
LANGFUSE_S3_MEDIA_UPLOAD_REGION=$S3_REGION
LANGFUSE_S3_MEDIA_UPLOAD_ENDPOINT=http://127.0.0.1:$S3_PORT
LANGFUSE_S3_MEDIA_UPLOAD_ACCESS_KEY_ID=$S3_ACCESS_KEY
LANGFUSE_S3_MEDIA_UPLOAD_SECRET_ACCESS_KEY=$S3_SECRET
LANGFUSE_S3_MEDIA_UPLOAD_FORCE_PATH_STYLE=true
EOF
fi
want pg && echo "DATABASE_URL=postgresql://postgres@127.0.0.1:$PG_PORT/langfuse"
want redis && echo "REDIS_CONNECTION_STRING=redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT"
if want ch; then
  echo "CLICKHOUSE_URL=http://127.0.0.1:$CH_HTTP_PORT"
  echo "CLICKHOUSE_USER=default"
  echo "CLICKHOUSE_PASSWORD=$CH_PASSWORD"
fi
exit 0
