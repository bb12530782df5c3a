#!/usr/bin/env bash
# ntx vs wrk, same machine, same run: both drive the bundled ntx-target on ONE loopback port with the
# same number of keep-alive connections for the same duration, one load thread each, each pinned to
# its own CPU (the server to another). Prints req/s, p50/p99 and the client's CPU use for both, and
# the ratios ntx/wrk, which are the point: absolute numbers on a shared machine are noisy.
#
# Usage: benchmarks/compare/compare_wrk.sh            (from anywhere; builds the release tree if needed)
# Environment (all optional):
#   DURATION=10        seconds per tool per round (each load loop stops by itself after it)
#   CONNECTIONS=32     ntx users = wrk connections
#   PORT=27000         the one 127.0.0.1 port ntx-target listens on
#   ROUNDS=1           ntx, wrk, ntx, wrk ... ; the table shows every round and the median ratio
#   SERVER_THREADS=1   ntx-target's threads
#   CLIENT_CPU=0 SERVER_CPU=1   taskset CPUs (pinning is skipped on a single-CPU machine or with PIN=0)
#   BUILD_DIR=<repo>/build      where bin/ntx, bin/ntx-target and lib/ntx/plugins/ are
#   KEEP=1             keep the temp dir (res_dir, report.json, wrk output) and print its path
# Traffic goes to 127.0.0.1 only.
set -euo pipefail

bench_name=compare_wrk
# shellcheck source=bench_common.sh
source "$(dirname "$0")/bench_common.sh"
ROUNDS=${ROUNDS:-1}
if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 1 || ROUNDS > 20)); then bench_die "ROUNDS must be 1..20"; fi

bench_need_tool wrk wrk
bench_need_tool python3 python3
bench_need_binaries
bench_start_server $((ROUNDS * 2 * (DURATION + 30) + 60))
res=$work/res
bench_write_res_dir "$res"

# Runs "$@" (a load tool) with its CPU time recorded: the subshell's `times` prints its children's
# user and system seconds (second line) once the tool has been waited for.
run_timed() {
  local tag=$1
  shift
  (
    "$@" >"$work/$tag.out" 2>"$work/$tag.err" || echo $? >"$work/$tag.rc"
    times >"$work/$tag.times"
  )
}

server_cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

measure() {  # measure TOOL ROUND
  local tool=$1 round=$2 tag="$1-$2" before after
  before=$(server_cpu_ticks)
  if [ "$tool" = ntx ]; then
    bench_ntx_cmd "$res" "$work/$tag"
    run_timed "$tag" "${ntx_cmd[@]}"
  else
    bench_wrk_cmd
    run_timed "$tag" "${wrk_cmd[@]}"
  fi
  after=$(server_cpu_ticks)
  echo $((after - before)) >"$work/$tag.server_ticks"
  if [ -f "$work/$tag.rc" ]; then
    echo "compare_wrk: $tool (round $round) exited with $(cat "$work/$tag.rc"):" >&2
    tail -n 20 "$work/$tag.err" "$work/$tag.out" >&2
    exit 4
  fi
}

echo "ntx vs wrk: GET $bench_url, $CONNECTIONS connections, ${DURATION}s each, $ROUNDS round(s);" \
  "client CPU ${pin_client[*]:-unpinned}, server CPU ${pin_server[*]:-unpinned} ($SERVER_THREADS thread(s)); nproc=$bench_ncpu"
for round in $(seq 1 "$ROUNDS"); do
  measure ntx "$round"
  sleep 1  # let TIME_WAIT and the server settle between tools
  measure wrk "$round"
  [ "$round" = "$ROUNDS" ] || sleep 1
done

PYTHONPATH="$bench_repo/benchmarks/compare${PYTHONPATH:+:$PYTHONPATH}" \
  python3 - "$work" "$ROUNDS" "$DURATION" "$(getconf CLK_TCK)" <<'PY'
import json, re, statistics, sys
import wrk_output

work, rounds, duration, clk_tck = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])

def cpu_seconds(tag):
    # `times` output: line 1 the subshell, line 2 its children (the tool): "0m1.234s 0m0.567s"
    lines = open(f"{work}/{tag}.times").read().split("\n")
    total = 0.0
    for m in re.finditer(r"(\d+)m([\d.]+)s", lines[1]):
        total += int(m.group(1)) * 60 + float(m.group(2))
    return total

def server_cpu(tag):
    return int(open(f"{work}/{tag}.server_ticks").read()) / clk_tck

def ntx_result(tag):
    report = json.load(open(f"{work}/{tag}/report.json"))
    sc = report["scenarios"][0]
    act = sc["actions"][0]
    dur = sc["duration_s"] or report["totals"]["duration_s"]
    return {"reqs": act["ok"], "errors": act["count"] - act["ok"], "duration": dur,
            "rps": act["ok"] / dur if dur else 0.0,
            "p50": act["latency_ms"]["p50"], "p99": act["latency_ms"]["p99"]}

def wrk_result(tag):
    out = open(f"{work}/{tag}.out").read()
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    reqs, dur, p50, p99, errors = wrk_output.parse(out)
    return {"reqs": reqs, "errors": errors, "duration": dur, "rps": rps, "p50": p50, "p99": p99}

rows, ratios, eff_ratios = [], [], []
for r in range(1, rounds + 1):
    pair = {}
    for tool, parse in (("ntx", ntx_result), ("wrk", wrk_result)):
        tag = f"{tool}-{r}"
        res = parse(tag)
        res["cpu"] = cpu_seconds(tag)
        res["srv"] = server_cpu(tag)
        # client CPU use over its run, and requests per client CPU-second (per-core efficiency)
        res["cpu_pct"] = 100.0 * res["cpu"] / res["duration"] if res["duration"] else 0.0
        res["per_cpu_s"] = res["reqs"] / res["cpu"] if res["cpu"] else 0.0
        res["srv_pct"] = 100.0 * res["srv"] / res["duration"] if res["duration"] else 0.0
        pair[tool] = res
        rows.append((r, tool, res))
    ratios.append(pair["ntx"]["rps"] / pair["wrk"]["rps"] if pair["wrk"]["rps"] else 0.0)
    if pair["wrk"]["per_cpu_s"]:
        eff_ratios.append(pair["ntx"]["per_cpu_s"] / pair["wrk"]["per_cpu_s"])

hdr = f"{'round':>5} {'tool':<4} {'requests':>10} {'errors':>6} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} " \
      f"{'client CPU':>10} {'req/CPU-s':>10} {'server CPU':>10}"
print()
print(hdr)
print("-" * len(hdr))
for r, tool, x in rows:
    print(f"{r:>5} {tool:<4} {x['reqs']:>10} {x['errors']:>6} {x['rps']:>10.0f} {x['p50']:>8.3f} {x['p99']:>8.3f} "
          f"{x['cpu_pct']:>9.0f}% {x['per_cpu_s']:>10.0f} {x['srv_pct']:>9.0f}%")
print()
for i, (a, b) in enumerate(zip(ratios, eff_ratios or [0.0] * len(ratios)), 1):
    print(f"round {i}: ntx/wrk req/s = {a:.3f}   ntx/wrk req per client CPU-second = {b:.3f}")
print(f"median ntx/wrk req/s ratio: {statistics.median(ratios):.3f}")
if eff_ratios:
    print(f"median ntx/wrk req-per-CPU-second ratio: {statistics.median(eff_ratios):.3f}")
PY
