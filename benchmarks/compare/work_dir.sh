# shellcheck shell=bash
# Shared by bench_common.sh and run.sh (sourced, not run): the temp work dir of a benchmark script and
# its cleanup on exit.

# bench_work_dir NAME PID_VARIABLE: makes $work, a temp dir named after NAME, and sets the traps: at
# exit the server whose pid PID_VARIABLE (set to "" here) then holds is stopped, and $work removed.
bench_work_dir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  printf -v "$2" '%s' ""
  # shellcheck disable=SC2064  # the variable's name is fixed now, its value is read at exit
  trap "bench_cleanup \"\${$2}\"" EXIT
  trap 'exit 130' INT TERM
}

# bench_cleanup PID: stops PID (TERM, then waits) when it still runs; removes $work (KEEP=1 keeps it).
bench_cleanup() {
  local pid=$1
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
