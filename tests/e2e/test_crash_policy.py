"""A plugin that kills the process loses nothing (issue 23, defect 1): `ntx run` supervises the run it
forks, and when a plugin segfaults, aborts or throws through the C ABI, report.json still holds what
the healthy scenario counted (from the last live snapshot, at most a second old), a message names the
plugin and the call in flight, and ntx exits 3. Signals still stop a supervised run cleanly."""
import os
import signal
import subprocess
import tempfile
import time

from harness import NTX, PROBE_COMPONENT, action, check, main, read_report, run_ntx, scenario, wait_for, write_res_dir
from hostile import build_hostile, hostile_component


def script(so, crash_call):
    return f"""
{PROBE_COMPONENT}{hostile_component(so)}workflows:
  healthy: {{steps: [{{ref: tick}}]}}
  doomed: {{steps: [{{ref: wait}}, {{ref: boom}}]}}
actions:
  tick: {{component: probe, call: sleep, with: {{ms: "10"}}}}
  wait: {{component: probe, call: sleep, with: {{ms: "1600"}}}}
  boom: {{component: hostile, call: {crash_call}}}
load:
  scenarios:
    - {{name: healthy, workflow: healthy, user-count: 4, task-duration: 20s}}
    - {{name: doomed, workflow: doomed, user-count: 1}}
"""


def crash_run(call, signame):
    so = build_hostile()
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, script(so, call)), os.path.join(tmp, "out")
        t0 = time.monotonic()
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet", timeout=60)
        elapsed = time.monotonic() - t0
        check(rc == 3, f"{call}: ntx exited {rc}, not 3: {stderr[-2000:]}")
        check(elapsed < 10, f"{call}: the crash ended the run after {elapsed:.1f} s (its plan was 20 s)")
        check("plugin 'hostile'" in stderr and "run_action" in stderr and "'boom'" in stderr and signame in stderr,
              f"{call}: the message names the plugin, the call and the action: {stderr[-2000:]}")
        r = read_report(out)
        crashed = r.get("crashed")
        check(crashed and crashed["plugin"] == "hostile" and crashed["component"] == "hostile"
              and crashed["call"] == "run_action" and crashed["action"] == "boom" and crashed["signal_name"] == signame
              and crashed["from_snapshot"], f"{call}: crashed = {crashed}")
        check(r["interrupted"], "a crashed run is not a completed one")
        # The healthy scenario ran 1.6 s before the crash: 4 users x 10 ms sleeps, snapshots each second.
        tick = action(scenario(r, "healthy"), "tick")
        check(tick["ok"] >= 200 and tick["errors"] == 0, f"{call}: healthy results lost: {tick}")


def test_segfault_in_run_action():
    crash_run("segv", "SIGSEGV")


def test_abort_in_run_action():
    crash_run("abort", "SIGABRT")


def test_exception_through_the_abi():
    crash_run("throw", "SIGABRT")


def stop_by_signal(sig):
    """`sig` to `ntx run` (the supervisor) stops the run gracefully: a complete report, exit 4."""
    so = build_hostile()
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, script(so, "ok")), os.path.join(tmp, "out")
        proc = subprocess.Popen([NTX, "run", res, "--out", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            # The progress line is the run's: once it printed, the run is executing.
            first = proc.stdout.readline()
            check(first, "no progress line")
            proc.send_signal(sig)
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        check(proc.returncode == 4, f"exit {proc.returncode}, not 4 (interrupted): {stderr[-2000:]}")
        r = read_report(out)
        check(r["interrupted"] and "crashed" not in r, f"interrupted={r['interrupted']} crashed={r.get('crashed')}")
        check(r["totals"]["duration_s"] < 15, f"the run went on for {r['totals']['duration_s']} s after {sig.name}")


def test_sigterm_reaches_the_supervised_run():
    stop_by_signal(signal.SIGTERM)


def test_sighup_stops_the_run_like_sigterm():
    """A closed terminal (SIGHUP) is forwarded as SIGTERM: a graceful stop, not a crash report."""
    stop_by_signal(signal.SIGHUP)


def test_ctrl_c_of_the_process_group_stops_once():
    """A terminal's Ctrl-C signals the whole foreground group: the run must see one SIGINT (a graceful
    stop), not two (the second would cancel in-flight actions at once)."""
    so = build_hostile()
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, script(so, "ok")), os.path.join(tmp, "out")
        proc = subprocess.Popen([NTX, "run", res, "--out", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            check(proc.stdout.readline(), "no progress line")
            os.killpg(proc.pid, signal.SIGINT)
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        check(proc.returncode == 4, f"exit {proc.returncode}: {stderr[-2000:]}")
        r = read_report(out)
        # 1.6 s sleeps of the doomed user are in flight: a graceful stop lets them end ok, a hard one cancels.
        wait = action(scenario(r, "doomed"), "wait")
        check(wait.get("cancelled", 0) == 0, f"a second stop cancelled in-flight actions: {wait}")


if __name__ == "__main__":
    main([test_segfault_in_run_action, test_abort_in_run_action, test_exception_through_the_abi,
          test_sigterm_reaches_the_supervised_run, test_sighup_stops_the_run_like_sigterm,
          test_ctrl_c_of_the_process_group_stops_once])
