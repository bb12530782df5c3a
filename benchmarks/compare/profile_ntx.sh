#!/usr/bin/env bash
# Where does ntx spend a request? Drives the same load as compare_wrk.sh (ntx-target on one loopback
# port, CONNECTIONS keep-alive users repeating one GET for DURATION) under a profiler, and wrk beside
# it for reference.
#
# Usage: benchmarks/compare/profile_ntx.sh [perf|callgrind|count|all]      (default: all)
#   perf       perf stat (CPU time, syscalls per request, ntx and wrk) and a flat perf record profile
#              of ntx by library and by symbol (perf from the Debian package linux-perf)
#   callgrind  valgrind --tool=callgrind on ntx and wrk: user-space instructions and allocations
#              per request, and ntx's top functions (inclusive and self)
#   count      the per-request cost with nothing else in it: two callgrind runs in which every user
#              makes a fixed number of requests (a `loop: {count}` of the GET, COUNT1 and COUNT2,
#              default 50 and 250); the differences divided by the extra requests are the user-space
#              instructions and the allocations (malloc + operator new) of one request, independent
#              of start-up, run time and machine load. KEEP=1 keeps the larger run's callgrind.out.
# Environment: DURATION (default 5 here), CONNECTIONS, PORT, CLIENT_CPU, SERVER_CPU, PIN, BUILD_DIR,
# KEEP=1 (keep perf.data / callgrind.out), TOP=30 (rows per listing). Traffic goes to 127.0.0.1 only.
set -euo pipefail

mode=${1:-all}
case "$mode" in perf | callgrind | count | all) ;; *) echo "usage: $0 [perf|callgrind|count|all]" >&2; exit 2 ;; esac
DURATION=${DURATION:-5}
TOP=${TOP:-30}
# The run itself, not the supervisor that `ntx run` forks it from: a profiler follows the process it
# started, and the supervisor only waits (docs/plugins.md, "When a plugin crashes").
export NTX_SUPERVISE=0
bench_name=profile_ntx
# shellcheck source=bench_common.sh
source "$(dirname "$0")/bench_common.sh"

bench_need_tool wrk wrk
bench_need_tool python3 python3
[ "$mode" = callgrind ] || bench_need_tool perf linux-perf
[ "$mode" = perf ] || bench_need_tool valgrind valgrind
[ "$mode" = count ] && DURATION=600  # the counted runs end by their request count; DURATION only bounds them
bench_need_binaries
# Under callgrind ntx runs ~50x slower, but its loops stay bounded by DURATION all the same.
bench_start_server $((4 * (DURATION + 60) + 60))
res=$work/res
bench_write_res_dir "$res"

ntx_requests() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["ok"])' "$1/report.json"; }
wrk_requests() { sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$1"; }
bound=(timeout -s INT -k 5 $((DURATION + 60)))

# ---- perf ------------------------------------------------------------------------------------------
run_perf() {
  if ! perf stat -e task-clock true >/dev/null 2>&1; then
    echo "perf cannot count in this environment (perf_event_paranoid / container); try: $0 callgrind" >&2
    return 1
  fi
  local ev="task-clock,context-switches,raw_syscalls:sys_enter"
  ev+=",syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_read,syscalls:sys_enter_write"
  ev+=",syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl"
  perf stat -e "$ev" -x, -o "$work/ntx.stat" -- "${bound[@]}" "${pin_client[@]}" \
    "$NTX" run "$res" --out "$work/ntx-stat" --threads 1 >/dev/null 2>"$work/ntx-stat.err" ||
    { ev="task-clock,context-switches"; echo "(syscall tracepoints unavailable: CPU time only)" >&2
      perf stat -e "$ev" -x, -o "$work/ntx.stat" -- "${bound[@]}" "${pin_client[@]}" \
        "$NTX" run "$res" --out "$work/ntx-stat" --threads 1 >/dev/null; }
  sleep 1
  perf stat -e "$ev" -x, -o "$work/wrk.stat" -- "${bound[@]}" "${pin_client[@]}" \
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 2s "$bench_url" >"$work/wrk-stat.out"
  python3 - "$work/ntx.stat" "$(ntx_requests "$work/ntx-stat")" "$work/wrk.stat" "$(wrk_requests "$work/wrk-stat.out")" <<'PY'
import sys
def load(path):
    out = {}
    for line in open(path):
        parts = line.strip().split(",")
        if len(parts) > 3 and parts[0] and parts[0][0].isdigit():
            out[parts[2]] = float(parts[0])
    return out
ntx, wrk = load(sys.argv[1]), load(sys.argv[3])
n_ntx, n_wrk = int(sys.argv[2]), int(sys.argv[4])
print(f"\nperf stat, per request (ntx {n_ntx} requests, wrk {n_wrk}):")
print(f"  {'counter':<34} {'ntx':>10} {'wrk':>10}")
for key in ntx:
    a, b = ntx[key] / n_ntx, wrk.get(key, 0.0) / n_wrk
    if key == "task-clock":  # msec -> us per request
        print(f"  {'CPU us/request (task-clock)':<34} {a * 1000:>10.2f} {b * 1000:>10.2f}   ntx/wrk {a / b if b else 0:.3f}")
    else:
        print(f"  {key:<34} {a:>10.3f} {b:>10.3f}")
PY
  sleep 1
  perf record -q -F 1999 -o "$work/ntx.perf" -- "${bound[@]}" "${pin_client[@]}" \
    "$NTX" run "$res" --out "$work/ntx-perf" --threads 1 >/dev/null 2>&1
  echo
  echo "perf record of ntx ($(ntx_requests "$work/ntx-perf") requests), share of samples by library:"
  perf report -i "$work/ntx.perf" --stdio --no-children --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -n 8 || true
  echo
  echo "top $TOP symbols (self):"
  perf report -i "$work/ntx.perf" --stdio --no-children --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9]' |
    head -n "$TOP" | sed -e 's/ \{2,\}/  /g' -e 's/[ -]*$//' | cut -c1-160 || true
}

# ---- callgrind -------------------------------------------------------------------------------------
cg_counts() {  # cg_counts CALLGRIND_FILE -> "instructions malloc_calls new_calls"
  python3 - "$1" <<'PY'
import collections, re, sys
names, calls, total, cfn = {}, collections.Counter(), 0, None
for line in open(sys.argv[1]):
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if m:
        kind, ident, name = m.groups()
        if name:
            names[ident] = name.split(" [")[0].strip()
        if kind == "cfn":
            cfn = ident
        continue
    if line.startswith("calls=") and cfn:
        calls[cfn] += int(line[6:].split()[0])
    elif line.startswith("summary:") or line.startswith("totals:"):
        total = int(line.split()[1])
def n(name):
    return sum(c for i, c in calls.items() if names.get(i) == name)
print(total, n("malloc"), n("operator new(unsigned long)"))
PY
}

cg_summary() {  # cg_summary TOOL FILE REQUESTS
  local counts
  counts=$(cg_counts "$2")
  python3 - "$1" "$3" "$counts" <<'PY'
import sys
tool, requests, (total, mallocs, news) = sys.argv[1], int(sys.argv[2]), map(int, sys.argv[3].split())
print(f"  {tool}: {requests} requests, {total / requests:,.0f} user-space instructions/request, "
      f"malloc {mallocs / requests:.2f}/request, operator new {news / requests:.2f}/request")
PY
}

# callgrind OUT_FILE COMMAND...: runs COMMAND in $work under valgrind's callgrind (pinned like the client).
callgrind() {
  local out=$1
  shift
  (cd "$work" && "${bound[@]}" "${pin_client[@]}" valgrind -q --tool=callgrind --callgrind-out-file="$out" "$@")
}

# callgrind_top_self FILE: its top $TOP functions by self cost.
callgrind_top_self() {
  callgrind_annotate --inclusive=no "$1" 2>/dev/null |
    grep -E '^ *[0-9,]+ \( *[0-9.]+%\)' | grep -v 'PROGRAM TOTALS' | head -n "$TOP" | cut -c1-170 || true
}

run_callgrind() {
  callgrind "$work/ntx.callgrind" "$NTX" run "$res" --out "$work/ntx-cg" --threads 1 >/dev/null 2>"$work/ntx-cg.err"
  sleep 1
  callgrind "$work/wrk.callgrind" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 2s "$bench_url" \
    >"$work/wrk-cg.out" 2>"$work/wrk-cg.err"
  echo
  echo "callgrind (user space only; the kernel's TCP work is not counted):"
  cg_summary ntx "$work/ntx.callgrind" "$(ntx_requests "$work/ntx-cg")"
  cg_summary wrk "$work/wrk.callgrind" "$(wrk_requests "$work/wrk-cg.out")"
  echo
  echo "ntx, top $TOP functions by self cost:"
  callgrind_top_self "$work/ntx.callgrind"
  echo
  echo "ntx, top $TOP of its own functions by inclusive cost (what each step of a request costs):"
  callgrind_annotate --inclusive=yes "$work/ntx.callgrind" 2>/dev/null |
    grep -E '^ *[0-9,]+ \( *[0-9.]+%\) +[^ ]*:ntx::' | grep -v ' /usr/' | head -n "$TOP" | cut -c1-170 || true
}

# ---- count -----------------------------------------------------------------------------------------
# The res_dir of bench_write_res_dir, with each user's task a loop of $2 GETs instead of a time.
write_counted_res() {  # write_counted_res DIR COUNT
  bench_write_res_dir "$1"
  python3 - "$1/script.yaml" "$2" <<'PY'
import re, sys
path, count = sys.argv[1], sys.argv[2]
text = open(path).read()
text = text.replace("    steps:\n      - ref: get-asset\n",
                    f"    steps:\n      - loop: {{count: {count}}}\n        steps: [{{ref: get-asset}}]\n")
text = re.sub(r"      task-duration: .*\n", "", text)
open(path, "w").write(text)
PY
}

run_count() {
  local c1=${COUNT1:-50} c2=${COUNT2:-250} r
  for r in "$c1" "$c2"; do
    write_counted_res "$work/res-$r" "$r"
    callgrind "$work/count-$r.callgrind" "$NTX" run "$work/res-$r" --out "$work/count-$r" --threads 1 --quiet \
      >/dev/null 2>"$work/count-$r.err"
    sleep 1
  done
  python3 - "$(ntx_requests "$work/count-$c1")" "$(cg_counts "$work/count-$c1.callgrind")" \
    "$(ntx_requests "$work/count-$c2")" "$(cg_counts "$work/count-$c2.callgrind")" <<'PY'
import sys
r1, (i1, m1, n1), r2, (i2, m2, n2) = int(sys.argv[1]), map(int, sys.argv[2].split()), int(sys.argv[3]), map(int, sys.argv[4].split())
d = r2 - r1
print(f"\ncallgrind, per request from the difference of two runs ({r1} and {r2} requests, {d} extra):")
print(f"  user-space instructions: {(i2 - i1) / d:,.0f}")
print(f"  heap allocations: {(m2 - m1 + n2 - n1) / d:.2f} (malloc {(m2 - m1) / d:.2f}, operator new {(n2 - n1) / d:.2f})")
PY
  if [ "$KEEP" = 1 ]; then
    echo
    echo "ntx, top $TOP functions by self cost (the $c2-request run):"
    callgrind_top_self "$work/count-$c2.callgrind"
  fi
}

echo "profile: GET $bench_url, $CONNECTIONS connections, ${DURATION}s per run;" \
  "client ${pin_client[*]:-unpinned}, server ${pin_server[*]:-unpinned}; nproc=$bench_ncpu"
case "$mode" in
perf) run_perf ;;
callgrind) run_callgrind ;;
count) run_count ;;
all) run_perf || true; sleep 1; run_callgrind ;;
esac
