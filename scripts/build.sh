#!/usr/bin/env bash
# Configures and builds one preset (release, asan, tsan, ci) quietly; prints the log's tail on failure.
# Usage: scripts/build.sh [preset]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
dir=$(case "$preset" in release) echo build ;; *) echo "build-$preset" ;; esac)
mkdir -p "$dir"
# The release build is the one CI runs (scripts/test.sh, .ci/run): there warnings are errors
# (NTX_WERROR). `NTX_WERROR=OFF scripts/build.sh release` relaxes it for a local experiment. The
# stricter set (-Wshadow -Wpedantic) is the ci preset's (cmake --workflow --preset ci).
extra=()
if [ "$preset" = release ]; then
  extra=(-DNTX_WERROR="${NTX_WERROR:-ON}")
fi
if ! { cmake --preset "$preset" "${extra[@]}" && cmake --build "$dir"; } >"$dir/build.log" 2>&1; then
  tail -n 80 "$dir/build.log"
  echo "build ($preset) failed; full log: $dir/build.log" >&2
  exit 1
fi
grep -E "warning:" "$dir/build.log" | sort -u | head -n 20 || true
echo "built $preset in $dir"
