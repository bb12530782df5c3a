"""A 2-minute soak smoke: does the run's memory stay flat while tasks pile up? (The 10-minute soak, with
its table, stays a benchmark: benchmarks/soak/run.sh.)

USERS users loop one keep-alive GET against a real ntx-target on 127.0.0.1 for DURATION s, one loop, at
full speed, with --out (the workbook writer, the sampled snapshot and the live metrics all on). Every
SAMPLE s the test reads the run's VmRSS from /proc (the run is the child `ntx run` forks and
supervises) and the tasks so far from its Prometheus endpoint (ntx_workbook_entries: one entry per task).

After a warm-up, the samples are split in thirds; the mean RSS of the last third minus that of the first
is the growth, and the mean task counts of the two thirds give the tasks that ran between them. What
the bound means, computed from this run's own counts (printed):

  - a leak of L bytes per task grows RSS by L x tasks_between; at the few thousand tasks per second even a
    busy 2-core machine gives (hundreds of thousands of tasks between the thirds), ALLOWED_GROWTH (1.5
    MiB) is crossed by a leak of a few bytes per task;
  - the test insists it could see a leak of MAX_DETECTABLE_LEAK (100) bytes per task: if the run made too
    few tasks for that (ALLOWED_GROWTH / tasks_between > 100), it fails as inconclusive rather than pass;
  - ALLOWED_GROWTH covers what legitimately grows with time, not tasks: the per-interval timelines
    (one point a second, capped at 2,000) and the allocator settling (the 600 s benchmark: +0.1 MiB
    after the first minute).

Release build only (scripts/test.sh leaves it out of the sanitizer runs): a sanitizer's allocator
(quarantine, shadow) is not what ships, and its slower loop would make too few tasks.
"""
import os
import statistics
import subprocess
import tempfile
import time
import urllib.request

from harness import NTX, Target, check, free_port, main, read_report, stop_process, wait_for, write_res_dir

USERS = 64
DURATION = 120           # s of load
SAMPLE = 3               # s between samples
WARM_UP = 15             # s left out: connections, buffers and the allocator's arenas settle
ALLOWED_GROWTH = 1.5 * (1 << 20)
MAX_DETECTABLE_LEAK = 100  # bytes per task the test must be able to see

PORT = free_port()
SCRIPT = f"""components:
  - {{name: http, version: "0.2.1", entry: http}}
actions:
  get: {{component: http, call: get, with: {{url: "http://127.0.0.1:{PORT}/asset"}}, timeout: 5s}}
workflows:
  soak: {{steps: [{{ref: get}}]}}
load:
  scenarios:
    - {{name: soak, workflow: soak, user-count: {USERS}, spawn-rate: 1000000/s, task-duration: {DURATION}s,
        max-duration: {DURATION + 5}s}}
"""


def run_child(pid):
    """The run `ntx run` (pid) forked, once it exists."""
    path = f"/proc/{pid}/task/{pid}/children"
    found = []

    def child():
        try:
            with open(path) as f:
                found[:] = f.read().split()
        except OSError:
            return False
        return bool(found)
    wait_for(child, "ntx run to fork its run")
    return int(found[0])


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def tasks_so_far(metrics_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("ntx_workbook_entries{") or line.startswith("ntx_workbook_entries "):
                return int(float(line.rsplit(" ", 1)[1]))
    raise AssertionError("no ntx_workbook_entries in the metrics")


def test_rss_stays_flat_while_tasks_pile_up():
    metrics_port = free_port()
    with Target(PORT, PORT, threads=1), tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, SCRIPT), os.path.join(tmp, "out")
        with open(os.path.join(tmp, "stderr"), "w+") as err:
            ntx = subprocess.Popen([NTX, "run", res, "--out", out, "--quiet", "--threads", "1",
                                    "--metrics-listen", f"127.0.0.1:{metrics_port}"],
                                   stdout=subprocess.DEVNULL, stderr=err)
            samples = []  # (seconds since the run started, RSS bytes, tasks so far)
            try:
                child = run_child(ntx.pid)
                start = time.monotonic()
                wait_for(lambda: tasks_so_far_or_none(metrics_port) is not None, "the metrics endpoint")
                next_at = start + SAMPLE
                while ntx.poll() is None and time.monotonic() - start < DURATION - 2:
                    time.sleep(max(0.0, next_at - time.monotonic()))  # the sampling cadence, not a wait for state
                    next_at += SAMPLE
                    try:
                        samples.append((time.monotonic() - start, rss_bytes(child), tasks_so_far(metrics_port)))
                    except (OSError, AssertionError):
                        break  # the run is closing
                ntx.wait(timeout=DURATION + 60)
            finally:
                stop_process(ntx)
            err.seek(0)
            stderr = err.read()
        check(ntx.returncode == 0, f"ntx run exited {ntx.returncode}: {stderr[-2000:]}")
        r = read_report(out)
    t = r["totals"]
    check(t["errors"] == 0 and t["timeouts"] == 0 and t["actions"] == t["ok"] > 0, f"totals {t}")

    steady = [s for s in samples if s[0] >= WARM_UP]
    check(len(steady) >= 24, f"only {len(steady)} samples after the warm-up: {samples}")
    third = len(steady) // 3
    first, last = steady[:third], steady[-third:]
    growth = statistics.mean(s[1] for s in last) - statistics.mean(s[1] for s in first)
    tasks_between = statistics.mean(s[2] for s in last) - statistics.mean(s[2] for s in first)
    detectable = ALLOWED_GROWTH / max(tasks_between, 1)
    print(f"{t['actions']} tasks in {DURATION} s; RSS {steady[0][1] / 2**20:.1f} MiB at {steady[0][0]:.0f} s, "
          f"{steady[-1][1] / 2**20:.1f} MiB at {steady[-1][0]:.0f} s; last third - first third: "
          f"{growth / 1024:+.0f} KiB over {tasks_between:.0f} tasks ({growth / max(tasks_between, 1):+.2f} bytes "
          f"per task; a leak above {detectable:.2f} bytes per task would fail)")
    check(detectable <= MAX_DETECTABLE_LEAK,
          f"inconclusive: {tasks_between:.0f} tasks between the thirds cannot show a {MAX_DETECTABLE_LEAK}-byte "
          f"per-task leak under a {ALLOWED_GROWTH / 2**20} MiB bound")
    check(growth < ALLOWED_GROWTH,
          f"RSS grew {growth / 1024:.0f} KiB between the first and last thirds ({tasks_between:.0f} tasks): "
          f"{[(round(s[0]), s[1] // 1024, s[2]) for s in steady]}")


def tasks_so_far_or_none(metrics_port):
    try:
        return tasks_so_far(metrics_port)
    except (OSError, AssertionError):
        return None


if __name__ == "__main__":
    main([test_rss_stays_flat_while_tasks_pile_up])
