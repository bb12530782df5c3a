#!/usr/bin/env bash
# The soak benchmark: is ntx's memory flat over a long run at full speed?
#
#   benchmarks/soak/run.sh [--duration S] [--connections C] [--sample S] [--out-dir] [--million] [--keep]
#
# What it does (traffic to 127.0.0.1 only; every load run is bounded by its own max-duration and by
# `timeout`):
#   1. starts nginx with a throw-away config (one worker pinned to CPU 0) serving a 1 KiB file;
#   2. soak: C users (default 50) loop one keep-alive GET for S seconds (default 600) on one loop
#      pinned to CPU 1, with the default workbook retention; samples ntx's RSS (VmRSS) every --sample
#      seconds (default 10) and prints a markdown table of time, RSS, tasks so far (from the
#      Prometheus endpoint) and the growth since the first minute; with --out-dir the run also writes
#      its --out folder (report.json, workbook.jsonl);
#   3. --million: a run of at least one million tasks without --out, its peak RSS (GNU time).
# Targets (docs/performance.md): after the first minute RSS grows less than 5%; one million tasks stay
# under 64 MiB peak RSS.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
DURATION=600 CONNECTIONS=50 SAMPLE=10 OUT_DIR=0 MILLION=0 KEEP=0
PORT=${PORT:-27180} METRICS_PORT=${METRICS_PORT:-27181}
SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-1}
BUILD_DIR=${BUILD_DIR:-$repo/build}

die() { echo "soak: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
  --duration) DURATION=${2:?}; shift 2 ;;
  --connections) CONNECTIONS=${2:?}; shift 2 ;;
  --sample) SAMPLE=${2:?}; shift 2 ;;
  --out-dir) OUT_DIR=1; shift ;;
  --million) MILLION=1; shift ;;
  --keep) KEEP=1; shift ;;
  -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 20 && DURATION <= 86400)) || die "--duration must be 20..86400 s"
[[ $CONNECTIONS =~ ^[0-9]+$ ]] && ((CONNECTIONS >= 1 && CONNECTIONS <= 1000)) || die "--connections must be 1..1000"
[[ $SAMPLE =~ ^[0-9]+$ ]] && ((SAMPLE >= 1 && SAMPLE <= 600)) || die "--sample must be 1..600 s"
(($(nproc) >= 2)) || die "needs 2 CPUs (server and generator pinned apart)"
for t in nginx taskset curl python3 /usr/bin/time; do
  command -v "$t" >/dev/null 2>&1 || die "$t is missing (scripts/install-deps.sh --bench)"
done
NTX=$BUILD_DIR/bin/ntx
if [ ! -x "$NTX" ]; then
  [ "$BUILD_DIR" = "$repo/build" ] || die "no $NTX"
  "$repo/scripts/build.sh" release >/dev/null
fi

# shellcheck source=../compare/work_dir.sh
source "$repo/benchmarks/compare/work_dir.sh"
bench_work_dir ntx-soak nginx_pid

# ---- nginx -------------------------------------------------------------------------------------------
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
python3 -c 'import sys; sys.stdout.write(("ntx-soak-asset--" * 64)[:1023] + "\n")' >"$work/nginx/www/asset"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000000;
    keepalive_timeout 60s;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        root $work/nginx/www;
    }
}
EOF
taskset -c "$SERVER_CPU" timeout -s TERM $((DURATION * 2 + 600)) nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" \
  >"$work/nginx/stdout" 2>&1 &
nginx_pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/asset" 2>/dev/null && break
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$work/nginx/error.log" >&2; die "nginx did not start"; }
  sleep 0.1
done

# ---- the res_dir: C users looping one GET for a task-duration ---------------------------------------
res() {  # res DIR SECONDS
  local dir=$1 seconds=$2
  mkdir -p "$dir/resource"
  printf 'tick: 20ms\nthreads: 1\nlog:\n  level: warn\n' >"$dir/config.yaml"
  printf 'http:\n  user-agent: ntx-soak\n' >"$dir/resource/config.yaml"
  cat >"$dir/script.yaml" <<EOF
version: "1.0"
components:
  - {name: http, version: "0.2.1", kind: native, entry: http}
workflows:
  get: {steps: [{ref: get-asset}]}
actions:
  get-asset: {component: http, call: get, with: {url: "http://127.0.0.1:$PORT/asset"}, timeout: 2s}
load:
  scenarios:
    - {name: soak, workflow: get, user-count: $CONNECTIONS, spawn-rate: 1000000/s, task-duration: ${seconds}s, max-duration: $((seconds + 5))s}
EOF
  "$NTX" validate "$dir" >/dev/null
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
requests() {  # the run's tasks so far (one GET each), from the metrics endpoint
  curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null | awk '/^ntx_workbook_entries / {printf "%d", $2}'
}

# ---- the soak ----------------------------------------------------------------------------------------
res "$work/res" "$DURATION"
out_args=()
[ "$OUT_DIR" = 1 ] && out_args=(--out "$work/out")
echo "soak: $CONNECTIONS users, $DURATION s, RSS every $SAMPLE s (ntx $("$NTX" --version | awk '{print $2}'))" >&2
taskset -c "$CLIENT_CPU" timeout -s INT $((DURATION + 60)) "$NTX" run "$work/res" --quiet "${out_args[@]}" \
  --metrics-listen "127.0.0.1:$METRICS_PORT" >"$work/ntx.out" 2>"$work/ntx.err" &
ntx_pid=$!
# timeout runs ntx as its child: sample ntx itself.
for _ in $(seq 1 50); do
  child=$(pgrep -P "$ntx_pid" -x ntx || true)
  [ -n "$child" ] && break
  sleep 0.1
done
[ -n "$child" ] || die "ntx did not start ($(cat "$work/ntx.err"))"
printf '| t (s) | RSS (MiB) | tasks | growth since 60 s |\n|---:|---:|---:|---:|\n'
t=0 base=0
while kill -0 "$ntx_pid" 2>/dev/null; do
  sleep "$SAMPLE"
  t=$((t + SAMPLE))
  kill -0 "$child" 2>/dev/null || break
  rss=$(rss_kib "$child")
  ((rss > 0)) || break
  n=$(requests || echo 0)
  if ((t >= 60 && base == 0)); then base=$rss; fi
  growth="-"
  ((base > 0)) && growth=$(awk -v a="$rss" -v b="$base" 'BEGIN {printf "%+.1f%%", (a - b) * 100 / b}')
  printf '| %d | %.1f | %s | %s |\n' "$t" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$n" "$growth"
done
wait "$ntx_pid" || echo "soak: ntx exited $? ($(tail -n 3 "$work/ntx.err"))" >&2

# ---- a million tasks without --out -------------------------------------------------------------------
if [ "$MILLION" = 1 ]; then
  # 50 users at ~150k requests/s on a quiet core pass a million tasks in ~7 s; they run 60 s (the
  # count is read from the end summary's workbook line).
  res "$work/res-million" 60
  taskset -c "$CLIENT_CPU" /usr/bin/time -f '%M %U %S' -o "$work/time" timeout -s INT 120 \
    "$NTX" run "$work/res-million" >"$work/million.out" 2>"$work/million.err" || true
  read -r peak user sys <"$work/time"
  tasks=$(awk '/^workbook: / {print $2; exit}' "$work/million.out")
  printf '\nmillion: %s tasks without --out, peak RSS %.1f MiB, CPU %s s user + %s s sys\n' \
    "${tasks:-?}" "$(awk -v k="$peak" 'BEGIN {print k / 1024}')" "$user" "$sys"
  if [ -z "$tasks" ] || ((tasks < 1000000)); then echo "soak: fewer than a million tasks: a busy machine?" >&2; fi
fi
