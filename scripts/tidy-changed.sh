#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: bugprone, performance, concurrency) on the C++ sources changed against
# a base branch (default: main), committed or not, using the release build's compile_commands.json.
# Headers are checked through the sources that include them (HeaderFilterRegex).
# Usage: scripts/tidy-changed.sh [base]     exit 1 when clang-tidy reports a warning
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-main}
db=build
if [ ! -f "$db/compile_commands.json" ]; then
  cmake --preset release >/dev/null  # the preset exports compile_commands.json
fi
files=$( { git diff --name-only --diff-filter=d "$(git merge-base HEAD "$base")" -- '*.cpp';
           git ls-files --others --exclude-standard -- '*.cpp'; } | sort -u | grep -v '^tests/consumer/' || true)
# Only what the build compiles (an example built out of tree, like examples/echo-plugin, is not in it).
files=$(for f in $files; do grep -qF "\"file\": \"$PWD/$f\"" "$db/compile_commands.json" && echo "$f"; done || true)
if [ -z "$files" ]; then
  echo "tidy: no C++ source changed against $base"
  exit 0
fi
echo "tidy: $(echo "$files" | wc -l) file(s) changed against $base"
out=$(echo "$files" | xargs -P 2 -n 4 clang-tidy -p "$db" --quiet 2>/dev/null || true)
if echo "$out" | grep -q "warning:"; then
  echo "$out"
  exit 1
fi
echo "tidy: clean"
