#!/usr/bin/env bash
# Runs the benchmarks against the build in $1 (default build/release) and
# writes bench/results.json.
set -euo pipefail
build=${1:-build/release}
cd "$(dirname "$0")/.."
out=bench/results.json
json_line=$("$build/json_bench" | tee /dev/stderr | tail -n 1)
printf '%s\n' "$json_line" > "$out"
echo "wrote $out"
