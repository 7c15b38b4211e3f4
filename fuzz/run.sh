#!/usr/bin/env bash
# Runs the fuzz targets over their seed corpora.
#   fuzz/run.sh smoke   ~20 s per target (part of `make test`)
#   fuzz/run.sh long    10 minutes per target; new inputs are kept in the corpus
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-smoke}"
secs=20
[[ "$mode" == "long" ]] && secs=600
for target in ingestion otlp; do
  bin="build/fuzz/fuzz/${target}_fuzz"
  corpus="fuzz/corpus/${target}"
  work="$(mktemp -d)"
  echo "fuzzing ${target} for ${secs}s"
  # Smoke runs write new inputs to a scratch dir so the checked-in corpus only
  # changes on purpose (long runs merge into it).
  if [[ "$mode" == "long" ]]; then
    "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -artifact_prefix=build/fuzz/ "$corpus" 2>&1 | tail -n 3
  else
    "$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -artifact_prefix=build/fuzz/ "$work" "$corpus" 2>&1 | tail -n 3
  fi
  rm -rf "$work"
done
