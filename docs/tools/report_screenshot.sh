#!/usr/bin/env bash
# Makes docs/images/report-html.png: runs examples/http-report against ntx-target on 127.0.0.1:20000
# and takes a headless-chromium screenshot of its report.html (no network: every host name resolves
# to nothing). Needs a release build (scripts/build.sh release) and chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
target_pid=""
cleanup() {
  if [ -n "$target_pid" ] && kill -0 "$target_pid" 2>/dev/null; then
    kill -TERM "$target_pid"; wait "$target_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
./build/bin/ntx-target --listen 127.0.0.1 --ports 20000 --ready-file "$work/ready" --max-seconds 120 >"$work/target.log" 2>&1 &
target_pid=$!
for _ in $(seq 1 500); do [ -f "$work/ready" ] && break; sleep 0.02; done
[ -f "$work/ready" ] || { echo "ntx-target did not start" >&2; exit 3; }
./build/bin/ntx run examples/http-report --out "$work/out" || true  # the errors.rate threshold fails on purpose
chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
  --host-resolver-rules="MAP * ~NOTFOUND" --hide-scrollbars --virtual-time-budget=5000 \
  --window-size=1240,1500 --screenshot="$PWD/docs/images/report-html.png" "file://$work/out/report.html" 2>/dev/null
echo "docs/images/report-html.png"
