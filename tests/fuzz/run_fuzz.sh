#!/usr/bin/env bash
# Builds the DSL loader's fuzz target with clang and runs it for a bounded time, starting from every
# example's script.yaml (and the corpus it grew before, kept in the build folder).
#   run_fuzz.sh SOURCE_DIR BUILD_DIR [SECONDS]
set -euo pipefail
src=$1 build=$2 seconds=${3:-60}
CXX=clang++ cmake -S "$src/tests/fuzz" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNTX_SOURCE_DIR="$src" >/dev/null
cmake --build "$build"
corpus=$build/corpus
mkdir -p "$corpus"
for f in "$src"/examples/*/script.yaml; do
  cp "$f" "$corpus/seed-$(basename "$(dirname "$f")").yaml"
done
# -rss_limit_mb: a leak or a blow-up fails the run; -timeout: one input taking over 10 s is a hang.
"$build/fuzz_script" -artifact_prefix="$build/" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -dict="$src/tests/fuzz/yaml.dict" "$corpus" 2>&1 | tail -n 25
