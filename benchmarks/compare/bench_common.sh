# shellcheck shell=bash
# Shared by compare_wrk.sh and profile_ntx.sh (sourced, not run): settings from the environment,
# binaries, CPU pinning, the bundled target server on one loopback port, and the ntx res_dir of one
# keep-alive GET repeated by every user for a fixed duration. Traffic goes to 127.0.0.1 only, and
# every load loop is bounded in time (the tools' own duration, `timeout` around them, the server's
# --max-seconds, and the caller's EXIT trap).

bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_name=${bench_name:-bench}

bench_die() { echo "$bench_name: $*" >&2; exit "${2:-2}"; }

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-27000}
SERVER_THREADS=${SERVER_THREADS:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
SERVER_CPU=${SERVER_CPU:-1}
PIN=${PIN:-1}
BUILD_DIR=${BUILD_DIR:-$bench_repo/build}
KEEP=${KEEP:-0}

for v in DURATION CONNECTIONS PORT SERVER_THREADS CLIENT_CPU SERVER_CPU; do
  [[ ${!v} =~ ^[0-9]+$ ]] || bench_die "$v must be a whole number (got '${!v}')"
done
((DURATION >= 1 && DURATION <= 600)) || bench_die "DURATION must be 1..600 s"
((CONNECTIONS >= 1 && CONNECTIONS <= 10000)) || bench_die "CONNECTIONS must be 1..10000"
((PORT >= 1024 && PORT <= 65535)) || bench_die "PORT must be 1024..65535"
((SERVER_THREADS >= 1 && SERVER_THREADS <= 256)) || bench_die "SERVER_THREADS must be 1..256"

NTX=$BUILD_DIR/bin/ntx
TARGET=$BUILD_DIR/bin/ntx-target
bench_url="http://127.0.0.1:$PORT/asset"

# Builds the release tree when the binaries are missing (only for the default BUILD_DIR).
bench_need_binaries() {
  if [ ! -x "$NTX" ] || [ ! -x "$TARGET" ]; then
    [ "$BUILD_DIR" = "$bench_repo/build" ] || bench_die "no ntx / ntx-target in $BUILD_DIR/bin" 3
    "$bench_repo/scripts/build.sh" release >/dev/null
  fi
}

# Installs the Debian package of a missing tool (apt-get, non-interactive): bench_need_tool wrk wrk
bench_need_tool() {
  local cmd=$1 pkg=$2 sudo=""
  command -v "$cmd" >/dev/null 2>&1 && return 0
  echo "$bench_name: $cmd not found; installing the Debian package '$pkg' (apt-get, non-interactive)" >&2
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || bench_die "need root or sudo to install $pkg" 3
    sudo="sudo -n"
  fi
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$pkg" >/dev/null; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$pkg" >/dev/null
  fi
  command -v "$cmd" >/dev/null 2>&1 || bench_die "$cmd is still missing" 3
}

# pin_client / pin_server: taskset prefixes (empty on one CPU, without taskset, or with PIN=0).
bench_ncpu=$(nproc)
pin_client=()
pin_server=()
if [ "$PIN" = 1 ] && [ "$bench_ncpu" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  ((CLIENT_CPU < bench_ncpu && SERVER_CPU < bench_ncpu)) || bench_die "CLIENT_CPU/SERVER_CPU must be < $bench_ncpu"
  pin_client=(taskset -c "$CLIENT_CPU")
  pin_server=(taskset -c "$SERVER_CPU")
fi

# The work dir and the server; the EXIT trap stops the server and removes the dir (KEEP=1 keeps it).
# shellcheck source=work_dir.sh
source "$bench_repo/benchmarks/compare/work_dir.sh"
bench_work_dir "$bench_name" server_pid

# Starts ntx-target on 127.0.0.1:$PORT (pinned), bounded by --max-seconds $1, and waits until ready.
bench_start_server() {
  local max_seconds=$1
  "${pin_server[@]}" "$TARGET" --listen 127.0.0.1 --ports "$PORT" --threads "$SERVER_THREADS" \
    --ready-file "$work/ready" --max-seconds "$max_seconds" >"$work/target.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 250); do
    [ -f "$work/ready" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/target.log" >&2; bench_die "ntx-target did not start" 3; }
    sleep 0.02
  done
  bench_die "ntx-target did not become ready" 3
}

# Writes the ntx res_dir into $1: CONNECTIONS users, all spawned at once, each repeating one
# keep-alive GET of $bench_url until DURATION ends (max-duration is a hard stop 5 s later).
bench_write_res_dir() {
  local res=$1
  mkdir -p "$res/resource"
  cat >"$res/script.yaml" <<YAML
version: "1.0"
components:
  - name: http
    version: "0.2.1"
    kind: native
    entry: http
workflows:
  get_asset:
    steps:
      - ref: get-asset
actions:
  get-asset:
    component: http
    call: get
    with:
      url: "$bench_url"
      keep-alive: "true"
    timeout: 2s
load:
  scenarios:
    - name: vs-wrk
      workflow: get_asset
      user-count: $CONNECTIONS
      spawn-rate: 1000000/s
      task-duration: ${DURATION}s
      max-duration: $((DURATION + 5))s
YAML
  cat >"$res/config.yaml" <<YAML
tick: 20ms
threads: 1
log:
  level: warn
YAML
  cat >"$res/resource/config.yaml" <<YAML
http:
  user-agent: ntx-bench
YAML
}

# The two load commands, as arrays, bounded twice (their own duration, and `timeout`).
# shellcheck disable=SC2034  # ntx_cmd / wrk_cmd are for the caller
bench_ntx_cmd() {  # bench_ntx_cmd RES_DIR OUT_DIR
  ntx_cmd=(timeout -s INT -k 5 $((DURATION + 30)) "${pin_client[@]}" "$NTX" run "$1" --out "$2" --threads 1)
}
# shellcheck disable=SC2034
bench_wrk_cmd() {
  wrk_cmd=(timeout -s INT -k 5 $((DURATION + 30)) "${pin_client[@]}"
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 2s --latency "$bench_url")
}
