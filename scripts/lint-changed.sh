#!/usr/bin/env bash
# Lints what changed against a base ref (default: main), committed or not:
#   1. clang-format (.clang-format) on the changed lines only, through git clang-format: the tree is not
#      formatted as a whole yet, so checking whole files would report lines nobody touched;
#   2. clang-tidy (.clang-tidy: bugprone, performance, concurrency) on the changed C++ sources
#      (scripts/tidy-changed.sh, with the release build's compile_commands.json).
# Nothing is rewritten: it prints the formatting diff and the tidy warnings. To apply the formatting:
#   git clang-format <base>
# Usage: scripts/lint-changed.sh [base]     exit 1 when either check finds something
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-main}
status=0
from=$(git merge-base HEAD "$base")
exts=c,h,cpp,hpp
# git clang-format compares the working tree with `from`; --diff prints what it would change.
fmt=$(git clang-format --quiet --diff --extensions "$exts" "$from" -- . ':!tests/plugins/abi_1_0' 2>&1 || true)
if [ -n "$fmt" ] && ! echo "$fmt" | grep -qE "^(no modified files|clang-format did not modify)"; then
  echo "$fmt"
  echo "format: the changed lines above differ from .clang-format (apply with: git clang-format $base)"
  status=1
else
  echo "format: clean"
fi
scripts/tidy-changed.sh "$base" || status=1
exit $status
