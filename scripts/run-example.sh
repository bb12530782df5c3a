#!/usr/bin/env bash
# The main job: installs what is needed, builds, starts the bundled target server on
# 127.0.0.1:20000-20999 and runs the bundled example (1000 users, GET -> POST -> DELETE) against it.
# The end summary goes to stdout; report.json to out/http-tri-phase/. Exits with ntx's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh release >/dev/null

work=$(mktemp -d)
target_pid=""
cleanup() {
  if [ -n "$target_pid" ] && kill -0 "$target_pid" 2>/dev/null; then
    kill -TERM "$target_pid" 2>/dev/null || true
    wait "$target_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

./build/bin/ntx-target --listen 127.0.0.1 --ports 20000-20999 --ready-file "$work/ready" \
  --max-seconds 600 >"$work/target.log" 2>&1 &
target_pid=$!
for _ in $(seq 1 500); do
  [ -f "$work/ready" ] && break
  kill -0 "$target_pid" 2>/dev/null || { cat "$work/target.log"; echo "ntx-target did not start" >&2; exit 3; }
  sleep 0.02
done
[ -f "$work/ready" ] || { echo "ntx-target did not become ready" >&2; exit 3; }

set +e
./build/bin/ntx run examples/http-tri-phase --out out/http-tri-phase "$@"
rc=$?
set -e
echo "report: out/http-tri-phase/report.json"
exit $rc
