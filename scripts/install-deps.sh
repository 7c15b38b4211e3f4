#!/usr/bin/env bash
# Installs the Debian 12 packages Loupe builds with (only what is missing).
# Used by `make run`, `make build` and `make test`; safe to run repeatedly.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev   # Asio/Beast HTTP server, Boost.JSON
  libabsl-dev                              # Status/StatusOr vocabulary
  libsqlite3-dev                           # embedded storage
  libre2-dev                               # model price regex matching
  libvalijson-dev                          # JSON Schema checks of dataset items
  libzstd-dev liblz4-dev zlib1g-dev        # payload and state compression, gzip bodies
  libssl-dev                               # SHA-256, CSPRNG, HMAC (SigV4)
  libcurl4-openssl-dev                     # S3 client (LANGFUSE_S3_*)
  libpq-dev                                # PostgreSQL client (DATABASE_URL)
  libhiredis-dev                           # Redis client (REDIS_*: the ingestion queue)
  libargon2-dev                            # password hashing
  libjemalloc-dev                          # allocator: less CPU per request, memory returned when idle
  libgtest-dev libgmock-dev                # unit tests
  libbenchmark-dev                         # micro-benchmarks
  clang-format                             # style check in make test
  protobuf-compiler libprotobuf-dev        # OTLP protobuf decoding
  libgrpc++-dev protobuf-compiler-grpc     # OTLP/gRPC receiver
)
# The web UI build (web/: npm ci + Vite). A machine that already has Node.js
# (e.g. NodeSource's nodejs, which bundles npm) keeps it: Debian's npm
# package conflicts with that one.
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi
if [[ "${LOUPE_WITH_FUZZ:-0}" == "1" ]]; then
  PACKAGES+=(clang-14 libfuzzer-14-dev libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
