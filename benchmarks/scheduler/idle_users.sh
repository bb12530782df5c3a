#!/usr/bin/env bash
# The cost of idle online users: memory per user and CPU per scheduler tick.
#
# Starts N users that park in `think` (no component, no network) under a workflow timeout (so every
# user sits in the shard's deadline wheel), on one loop, and samples the process from /proc while the
# users are parked: CPU (user + sys) between two points after the spawn, divided by the ticks in
# between, is the cost of one tick over N idle users. RSS above a one-user run, divided by N, is the
# memory per idle user. Everything stops by itself after THINK seconds.
#
#   benchmarks/scheduler/idle_users.sh [N=100000] [THINK=12]
# Needs a release build (./scripts/build.sh). Sends no traffic at all.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
THINK=${2:-12}
NTX=${NTX_BIN:-build/bin/ntx}
TICK_MS=20
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_res() {  # dir users
    mkdir -p "$1"
    cat > "$1/script.yaml" <<YAML
workflows:
  idle:
    timeout: 10m
    steps: [{think: ${THINK}s}]
load:
  scenarios:
    - {name: idle, workflow: idle, user-count: $2}
YAML
    printf 'tick: %sms\nthreads: 1\n' "$TICK_MS" > "$1/config.yaml"
}

# CPU time of every thread of the process in nanoseconds (schedstat: finer than /proc/PID/stat's 10 ms).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d", s}'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

measure() {  # users -> prints "rss_kb cpu_ms_per_tick"
    make_res "$work/res-$1" "$1"
    "$NTX" run "$work/res-$1" --out "$work/out-$1" --quiet &
    local pid=$!
    sleep 3  # the spawn (one tick) is long over; every user is parked
    local c1 t1 c2 t2 rss
    c1=$(cpu_ns $pid); t1=$(date +%s%N)
    sleep $((THINK - 5))
    c2=$(cpu_ns $pid); t2=$(date +%s%N)
    rss=$(rss_kb $pid)
    wait $pid
    local ticks=$(( (t2 - t1) / 1000000 / TICK_MS ))
    awk -v c=$((c2 - c1)) -v n="$ticks" -v rss="$rss" 'BEGIN { printf "%d %.4f\n", rss, c / 1e6 / n }'
}

read -r base_rss base_tick < <(measure 1)
read -r rss tick < <(measure "$N")
per_user=$(( (rss - base_rss) * 1024 / N ))
echo "| users | RSS | RSS per extra user | CPU per tick (20 ms ticks, 1 loop) |"
echo "| --- | --- | --- | --- |"
echo "| 1 | $((base_rss / 1024)) MiB | - | ${base_tick} ms |"
echo "| $N | $((rss / 1024)) MiB | ${per_user} B | ${tick} ms |"
