#!/usr/bin/env bash
# ntx beside wrk, h2load, Locust and Artillery, in one sitting, against one nginx on 127.0.0.1.
#
#   benchmarks/compare/run.sh [--rounds N] [--duration S] [--connections C] [--only LIST] [--no-install] [--keep]
#
# What it does (every load run is bounded by its own duration and by `timeout`; traffic goes to
# 127.0.0.1 only):
#   1. installs what it needs: scripts/install-deps.sh --bench (wrk, h2load, Locust, GNU time, node/npm)
#      and Artillery (pinned in package.json) into benchmarks/compare/node_modules; builds ntx if needed.
#   2. starts nginx with a throw-away config: one process pinned to CPU 0, serving a 1 KiB file at
#      /asset, POST /items (reads the body, 201) and DELETE /items/<id> (204).
#   3. runs ROUNDS alternating rounds, each generator pinned to CPU 1 (the order flips every round):
#        get:   ntx, wrk, h2load -- GET /asset over C keep-alive connections for S seconds
#        flow:  ntx, Locust (FastHttpUser), Artillery -- C users looping GET -> POST (the body just
#               got) -> DELETE for S seconds
#        open:  ntx at a fixed 2,000 arrivals/s (open model), one GET each, latency from intended starts
#        watch: ntx's GET run --quiet, with the progress line, and with the progress line and
#               --metrics-listen (scraped every second)
#        h2:    ntx, h2load -m 10 -- HTTP/2 (h2c, prior knowledge) GET /asset over C connections
#               carrying 10 streams each (ntx: 10*C users sharing connections, max-streams: 10)
#   4. measures each generator's CPU-seconds (user+sys) and peak RSS with GNU time, takes requests and
#      p50/p99 from each tool's own output, and prints a markdown table with ntx's ratio to each peer.
# A default run (2 rounds of 8 s) takes about 3-4 minutes. --only get,flow runs a subset.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ROUNDS=2 DURATION=8 CONNECTIONS=50 ONLY="get,flow,open,watch,h2" INSTALL=1 KEEP=0
H2_STREAMS=10
OPEN_RATE=2000
PORT=${PORT:-27080} METRICS_PORT=${METRICS_PORT:-27081} H2_PORT=${H2_PORT:-27082}
SERVER_CPU=${SERVER_CPU:-0} CLIENT_CPU=${CLIENT_CPU:-1}
BUILD_DIR=${BUILD_DIR:-$repo/build}
ARTILLERY_VERSION=$(sed -n 's/.*"artillery": *"\([^"]*\)".*/\1/p' "$here/package.json")

die() { echo "run.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
  --rounds) ROUNDS=${2:?}; shift 2 ;;
  --duration) DURATION=${2:?}; shift 2 ;;
  --connections) CONNECTIONS=${2:?}; shift 2 ;;
  --only) ONLY=${2:?}; shift 2 ;;
  --no-install) INSTALL=0; shift ;;
  --keep) KEEP=1; shift ;;
  -h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1 && ROUNDS <= 20)) || die "--rounds must be 1..20"
[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 2 && DURATION <= 300)) || die "--duration must be 2..300 s"
[[ $CONNECTIONS =~ ^[0-9]+$ ]] && ((CONNECTIONS >= 1 && CONNECTIONS <= 1000)) || die "--connections must be 1..1000"
for part in ${ONLY//,/ }; do
  case "$part" in get | flow | open | watch | h2) ;; *) die "--only takes get, flow, open, watch, h2" ;; esac
done
want() { [[ ",$ONLY," == *",$1,"* ]]; }
(($(nproc) >= 2)) || die "needs 2 CPUs (server and generator pinned apart)"

# ---- 1. tools ----------------------------------------------------------------------------------------
if [ "$INSTALL" = 1 ]; then
  "$repo/scripts/install-deps.sh" --bench
  if want flow && [ ! -x "$here/node_modules/.bin/artillery" ]; then
    echo "run.sh: installing artillery@$ARTILLERY_VERSION from npm into $here/node_modules (one time, a few minutes)" >&2
    (cd "$here" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  fi
fi
for t in wrk h2load locust nginx taskset /usr/bin/time python3 curl; do
  command -v "$t" >/dev/null 2>&1 || die "$t is missing (run without --no-install, or scripts/install-deps.sh --bench)"
done
ARTILLERY=$here/node_modules/.bin/artillery
if want flow; then [ -x "$ARTILLERY" ] || die "artillery is missing: run without --no-install"; fi
NTX=$BUILD_DIR/bin/ntx
if [ ! -x "$NTX" ]; then
  [ "$BUILD_DIR" = "$repo/build" ] || die "no $NTX"
  "$repo/scripts/build.sh" release >/dev/null
fi

# The work dir; the EXIT trap stops nginx and removes the dir (--keep keeps it).
# shellcheck source=work_dir.sh
source "$here/work_dir.sh"
bench_work_dir ntx-compare nginx_pid

# ---- 2. nginx ----------------------------------------------------------------------------------------
mkdir -p "$work/nginx/www" "$work/nginx/tmp"
# 1 KiB of printable text (no template braces: Artillery renders the body it posts back).
python3 -c 'import sys; sys.stdout.write(("ntx-bench-asset-" * 64)[:1023] + "\n")' >"$work/nginx/www/asset"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    default_type application/octet-stream;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        listen 127.0.0.1:$H2_PORT backlog=4096 http2;  # h2c with prior knowledge
        root $work/nginx/www;
        location = /asset { limit_except GET { deny all; } }
        # POST: nginx reads the whole body, then answers 201.
        location = /items { client_max_body_size 64k; client_body_buffer_size 64k; limit_except POST { deny all; } return 201 "created\n"; }
        location /items/ { limit_except DELETE { deny all; } return 204; }
    }
}
EOF
run_seconds=$((ROUNDS * 10 * (DURATION + 100) + 300))  # an upper bound for the whole sitting
taskset -c "$SERVER_CPU" timeout -s TERM "$run_seconds" nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" \
  >"$work/nginx/stdout" 2>&1 &
nginx_pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/asset" 2>/dev/null && break
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$work/nginx/error.log" "$work/nginx/stdout" >&2; die "nginx did not start"; }
  sleep 0.1
done
curl -fsS -o /dev/null -X POST --data-binary @"$work/nginx/www/asset" "http://127.0.0.1:$PORT/items" || die "POST /items fails"
curl -fsS -o /dev/null -X DELETE "http://127.0.0.1:$PORT/items/1" || die "DELETE /items/1 fails"
# nginx's own process (timeout's child).
server_pid=$(pgrep -P "$nginx_pid" nginx || echo "$nginx_pid")
url="http://127.0.0.1:$PORT"
h2_url="http://127.0.0.1:$H2_PORT"
if want h2; then
  curl -fsS -o /dev/null --http2-prior-knowledge "$h2_url/asset" || die "h2c GET /asset fails"
fi

# ---- ntx res_dirs ------------------------------------------------------------------------------------
ntx_res() {  # ntx_res DIR KIND   (KIND: get | flow | open | h2)
  local dir=$1 kind=$2 users=$CONNECTIONS
  mkdir -p "$dir/resource"
  printf 'tick: 20ms\nthreads: 1\nlog:\n  level: warn\n' >"$dir/config.yaml"
  printf 'http:\n  user-agent: ntx-bench\n' >"$dir/resource/config.yaml"
  if [ "$kind" = h2 ]; then
    # h2load -m N: N streams in flight per connection; here N users per shared connection.
    printf '  http-version: "2"\n  max-streams: %s\n' "$H2_STREAMS" >>"$dir/resource/config.yaml"
    users=$((CONNECTIONS * H2_STREAMS))
  fi
  {
    printf 'version: "1.0"\ncomponents:\n  - name: http\n    version: "%s"\n    kind: native\n    entry: http\n' \
      "$([ "$kind" = h2 ] && echo 0.2.3 || echo 0.2.1)"
    case "$kind" in
    get | open | h2)
      printf 'workflows:\n  get:\n    steps:\n      - ref: get-asset\n'
      printf 'actions:\n  get-asset:\n    component: http\n    call: get\n    with:\n      url: "%s/asset"\n    timeout: 2s\n' \
        "$([ "$kind" = h2 ] && echo "$h2_url" || echo "$url")"
      ;;
    flow)
      printf 'workflows:\n  get:\n    steps:\n      - ref: get-asset\n      - ref: post-item\n      - ref: delete-item\n'
      printf 'actions:\n'
      printf '  get-asset:\n    component: http\n    call: get\n    with:\n      url: "%s/asset"\n    timeout: 2s\n    save-as: asset\n' "$url"
      printf '  post-item:\n    component: http\n    call: post\n    with:\n      url: "%s/items"\n      body: "{{asset.body}}"\n    timeout: 2s\n' "$url"
      printf '  delete-item:\n    component: http\n    call: delete\n    with:\n      url: "%s/items/1"\n    timeout: 2s\n' "$url"
      ;;
    esac
    printf 'load:\n  scenarios:\n    - name: bench\n      workflow: get\n'
    if [ "$kind" = open ]; then
      printf '      arrival-rate: %s/s\n      duration: %ss\n      max-users: 2000\n      max-duration: %ss\n' \
        "$OPEN_RATE" "$DURATION" $((DURATION + 5))
    else
      printf '      user-count: %s\n      spawn-rate: 1000000/s\n      task-duration: %ss\n      max-duration: %ss\n' \
        "$users" "$DURATION" $((DURATION + 5))
    fi
  } >"$dir/script.yaml"
  "$NTX" validate "$dir" >/dev/null
}
want get || want watch && ntx_res "$work/res-get" get
want flow && ntx_res "$work/res-flow" flow
want open && ntx_res "$work/res-open" open
want h2 && ntx_res "$work/res-h2" h2
if want flow; then
  cp "$here/peers/locustfile.py" "$work/locustfile.py"
  cp "$here/peers/artillery-flow.js" "$work/artillery-flow.js"
  cat >"$work/artillery-flow.yml" <<EOF
config:
  target: "$url"
  processor: "./artillery-flow.js"
  phases:
    - duration: 1
      arrivalCount: $CONNECTIONS
  http:
    timeout: 5
scenarios:
  - name: get-post-delete
    flow:
      - loop:
          - get:
              url: "/asset"
              afterResponse: "saveBody"
          - post:
              url: "/items"
              body: "{{ assetBody }}"
          - delete:
              url: "/items/1"
        whileTrue: "beforeDeadline"
EOF
fi

# ---- 3. runs -----------------------------------------------------------------------------------------
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
# measure TAG CMD...: runs CMD pinned to the client CPU under GNU time and `timeout`; records wall,
# user, sys seconds and peak RSS (KiB) in TAG.time, and nginx's CPU ticks over the run in TAG.server.
measure() {
  local tag=$1 before after rc=0
  shift
  before=$(server_ticks)
  taskset -c "$CLIENT_CPU" /usr/bin/time -f '%e %U %S %M' -o "$work/$tag.time" \
    timeout -s INT -k 10 $((DURATION + 90)) "$@" >"$work/$tag.out" 2>"$work/$tag.err" || rc=$?
  after=$(server_ticks)
  echo $((after - before)) >"$work/$tag.server"
  echo "$rc" >"$work/$tag.rc"
  printf '  %-14s exit %s, %s\n' "$tag" "$rc" "$(awk '{printf "wall %.1fs, cpu %.2fs", $1, $2 + $3}' "$work/$tag.time" 2>/dev/null || echo '?')" >&2
  sleep 1  # TIME_WAIT and the server settle between tools
}

run_tool() {  # run_tool TOOL ROUND
  local tool=$1 r=$2 tag="$1-$2"
  case "$tool" in
  ntx-get) measure "$tag" "$NTX" run "$work/res-get" --out "$work/$tag.d" --threads 1 --quiet ;;
  wrk) measure "$tag" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 2s --latency "$url/asset" ;;
  h2load)
    # HTTP/1.1, one thread; the per-request log is h2load's only source of percentiles.
    measure "$tag" h2load --h1 -t1 -c"$CONNECTIONS" -D"$DURATION" --warm-up-time=0 --log-file="$work/$tag.log" "$url/asset" ;;
  ntx-flow) measure "$tag" "$NTX" run "$work/res-flow" --out "$work/$tag.d" --threads 1 --quiet ;;
  locust)
    measure "$tag" locust -f "$work/locustfile.py" --headless -u "$CONNECTIONS" -r "$CONNECTIONS" -t "${DURATION}s" \
      --host "$url" --csv "$work/$tag" --only-summary --stop-timeout 2 --loglevel WARNING ;;
  artillery)
    # Its users loop until DURATION seconds after the flow's first step (artillery-flow.js).
    measure "$tag" env LOOP_MS=$((DURATION * 1000)) ARTILLERY_DISABLE_TELEMETRY=true \
      "$ARTILLERY" run --quiet --output "$work/$tag.json" "$work/artillery-flow.yml" ;;
  ntx-open) measure "$tag" "$NTX" run "$work/res-open" --out "$work/$tag.d" --threads 1 --quiet ;;
  ntx-h2) measure "$tag" "$NTX" run "$work/res-h2" --out "$work/$tag.d" --threads 1 --quiet ;;
  h2load-h2)
    # h2c (prior knowledge: h2load's default for http://), H2_STREAMS streams per connection.
    measure "$tag" h2load -t1 -c"$CONNECTIONS" -m"$H2_STREAMS" -D"$DURATION" --warm-up-time=0 \
      --log-file="$work/$tag.log" "$h2_url/asset" ;;
  ntx-quiet) measure "$tag" "$NTX" run "$work/res-get" --out "$work/$tag.d" --threads 1 --quiet ;;
  ntx-progress) measure "$tag" "$NTX" run "$work/res-get" --out "$work/$tag.d" --threads 1 ;;
  ntx-watched)
    # The progress line (stdout, a file here) and the Prometheus endpoint, scraped every second by
    # curl pinned to the server's CPU (its own CPU is not ntx's, and it must not take ntx's CPU).
    local scraper
    (for _ in $(seq 1 $((DURATION + 20))); do
      sleep 1
      taskset -c "$SERVER_CPU" curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null && echo ok
    done >"$work/$tag.scrapes") &
    scraper=$!
    measure "$tag" "$NTX" run "$work/res-get" --out "$work/$tag.d" --threads 1 --metrics-listen "127.0.0.1:$METRICS_PORT"
    kill "$scraper" 2>/dev/null || true
    wait "$scraper" 2>/dev/null || true
    ;;
  esac
}

# One round: the tools of each group in order; every other round in reverse order.
round() {
  local r=$1 group tools
  for group in get flow open watch h2; do
    want "$group" || continue
    case "$group" in
    get) tools=(ntx-get wrk h2load) ;;
    flow) tools=(ntx-flow locust artillery) ;;
    open) tools=(ntx-open) ;;
    watch) tools=(ntx-quiet ntx-progress ntx-watched) ;;
    h2) tools=(ntx-h2 h2load-h2) ;;
    esac
    if ((r % 2 == 0)); then
      local i rev=()
      for ((i = ${#tools[@]} - 1; i >= 0; i--)); do rev+=("${tools[i]}"); done
      tools=("${rev[@]}")
    fi
    for t in "${tools[@]}"; do run_tool "$t" "$r"; done
  done
}

echo "run.sh: nginx pid $server_pid on CPU $SERVER_CPU at $url; generators on CPU $CLIENT_CPU;" \
  "$ROUNDS round(s) of ${DURATION}s runs, $CONNECTIONS connections; parts: $ONLY" >&2
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r" >&2
  round "$r"
done

# ---- 4. the table ------------------------------------------------------------------------------------
versions="$work/versions"
{
  echo "ntx: $("$NTX" --version 2>&1 | head -n1) ($(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'))"
  echo "wrk: $(dpkg-query -W -f='${Version}' wrk 2>/dev/null)"
  echo "h2load: $(h2load --version 2>&1 | head -n1)"
  echo "locust: $(dpkg-query -W -f='${Version}' python3-locust 2>/dev/null) (Debian python3-locust, FastHttpUser)"
  want flow && echo "artillery: $ARTILLERY_VERSION (node $(node --version))"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //')"
  echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$versions"
python3 "$here/summarize.py" "$work" "$ROUNDS" "$DURATION" "$CONNECTIONS" "$OPEN_RATE" "$ONLY" "$versions" "$(getconf CLK_TCK)"
