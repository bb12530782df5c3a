"""Outcomes and exits with the C99 probe plugin: action timeouts, errors, connect failures, workflow
timeouts, max-duration and SIGINT all end in exactly one counted outcome and the right exit."""
import os
import signal
import subprocess
import tempfile
import time

from harness import NTX, PROBE_COMPONENT, Target, action, check, free_port, main, read_report, run_ntx, scenario, wait_for

PORT = free_port()       # the target server for the raw scenario
DEAD_PORT = free_port()  # nothing listens there
while DEAD_PORT == PORT:
    DEAD_PORT = free_port()

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  sleepy: {{steps: [{{ref: long-sleep}}]}}
  failing: {{steps: [{{ref: fail}}], on-error: [{{goto: error_out}}]}}
  raw-ok: {{steps: [{{ref: raw-get}}, {{ref: raw-get}}]}}
  refused: {{steps: [{{ref: raw-dead}}]}}
  slow-task:
    timeout: 250ms
    steps: [{{ref: short-sleep}}, {{ref: short-sleep}}, {{ref: short-sleep}}]
  forever: {{steps: [{{ref: short-sleep}}]}}
  late: {{steps: [{{ref: late-sleep}}]}}
  retrying: {{steps: [{{ref: fail-retry}}]}}
  paced: {{steps: [{{ref: paced}}, {{ref: paced}}, {{ref: paced}}, {{ref: paced}}, {{ref: paced}}]}}
  thinking: {{steps: [{{think: 200ms}}, {{log: "user {{{{env.user_id}}}} thought", level: warn}}, {{ref: short-sleep}}]}}
  parked: {{steps: [{{think: 60s}}, {{ref: short-sleep}}]}}
actions:
  long-sleep: {{component: probe, call: sleep, with: {{ms: "60000"}}, timeout: 100ms}}
  short-sleep: {{component: probe, call: sleep, with: {{ms: "150"}}, timeout: 5s}}
  fail: {{component: probe, call: fail}}
  late-sleep: {{component: probe, call: late, with: {{ms: "80"}}, timeout: 50ms}}
  fail-retry: {{component: probe, call: fail, retry: {{max: 2, backoff: 10ms}}}}
  paced: {{component: probe, call: sleep, with: {{ms: "0"}}, rate-limit: {{per-user: 5/s}}}}
  raw-get:
    component: probe
    call: raw
    with:
      host: 127.0.0.1
      port: "{PORT}"
      data: "GET /asset HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n"
      expect: "HTTP/1.1 200"
  raw-dead:
    component: probe
    call: raw
    with: {{host: 127.0.0.1, port: "{DEAD_PORT}", data: "x", expect: "y"}}
load:
  scenarios:
    - {{name: sleepy, workflow: sleepy, user-count: 20, spawn-rate: 200/s}}
    - {{name: failing, workflow: failing, user-count: 20}}
    - {{name: raw-ok, workflow: raw-ok, user-count: 20, spawn-rate: 100/s}}
    - {{name: refused, workflow: refused, user-count: 20}}
    - {{name: slow-task, workflow: slow-task, user-count: 10}}
    - {{name: forever, workflow: forever, user-count: 10, task-duration: 10m, max-duration: 600ms}}
    - {{name: late, workflow: late, user-count: 5, task-duration: 1s}}
    - {{name: retrying, workflow: retrying, user-count: 10}}
    - {{name: paced, workflow: paced, user-count: 10}}
    - {{name: thinking, workflow: thinking, user-count: 5}}
    - {{name: parked, workflow: parked, user-count: 5, max-duration: 300ms}}
"""


def write_res_dir(root, script):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "script.yaml"), "w") as f:
        f.write(script)


def test_every_outcome_is_counted_once_with_its_exit():
    with Target(PORT, PORT) as target, tempfile.TemporaryDirectory() as tmp:
        res, out = os.path.join(tmp, "res"), os.path.join(tmp, "out")
        write_res_dir(res, SCRIPT)
        rc, stdout, stderr = run_ntx("run", res, "--out", out, "--quiet")
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        check(stdout == "", "--quiet prints no summary")
        r = read_report(out)

        s = scenario(r, "sleepy")
        a = action(s, "long-sleep")
        check(a["timeouts"] == 20 and a["ok"] == 0 and a["count"] == 20, f"sleepy: {a}")
        check(s["exits"]["timeout_out"] == 20 and s["exits"]["error_out"] == 0, f"sleepy exits {s['exits']}")

        s = scenario(r, "failing")
        a = action(s, "fail")
        check(a["errors"] == 20 and a["errors_by_kind"] == {"protocol": 20}, f"failing: {a}")
        check(s["exits"]["error_out"] == 20, f"failing exits {s['exits']}")

        s = scenario(r, "raw-ok")
        a = action(s, "raw-get")
        check(a["ok"] == 40 and a["count"] == 40, f"raw-ok: {a}")
        check(target.stats()["requests"] == 40, f"server saw {target.stats()['requests']} requests")

        s = scenario(r, "refused")
        a = action(s, "raw-dead")
        check(a["errors"] == 20 and a["errors_by_kind"] == {"connect": 20}, f"refused: {a}")
        check(s["exits"]["error_out"] == 20, f"refused exits {s['exits']}")

        # 150 ms steps under a 250 ms task timeout: the first ends ok, the second is cut by the task
        # deadline (checked on ticks), the third never starts.
        s = scenario(r, "slow-task")
        a = action(s, "short-sleep")
        check(a["ok"] == 10 and a["timeouts"] == 10 and a["count"] == 20, f"slow-task: {a}")
        check(s["exits"]["timeout_out"] == 10, f"slow-task exits {s['exits']}")

        # task-duration 10m, max-duration 600ms: the scenario ends at max-duration; users are stopped.
        s = scenario(r, "forever")
        check(s["users"]["stopped"] == 10 and s["users"]["completed"] == 0, f"forever users {s['users']}")
        check(s["duration_s"] < 60, f"forever ran {s['duration_s']} s")
        a = action(s, "short-sleep")
        check(a["ok"] >= 10, f"forever: {a}")
        check(a["count"] == a["ok"] + a["cancelled"], f"forever: {a}")

        # Completions that arrive after the host timed the action out are refused, never counted for
        # the user's next action: every late-sleep is a timeout.
        s = scenario(r, "late")
        a = action(s, "late-sleep")
        check(a["count"] > 5 and a["ok"] == 0 and a["timeouts"] == a["count"], f"late: {a}")
        check("stale completions refused" in stderr, "the probe saw its stale completions refused")
        check("a dead loop was accepted" not in stderr, stderr)

        # retry: max 2 -> three attempts per user, each a counted error; the task then goes to error_out.
        s = scenario(r, "retrying")
        a = action(s, "fail-retry")
        check(a["errors"] == 30 and a["retries"] == 20 and a["count"] == 30, f"retrying: {a}")
        check(s["exits"]["error_out"] == 10, f"retrying exits {s['exits']}")

        s = scenario(r, "paced")
        a = action(s, "paced")
        # rate-limit per-user 5/s: five starts per user at least 200 ms apart, enforced by the host. A
        # start is throttled when the previous action ended sooner than that; a sanitized loop can be
        # slow enough (>100 ms per action) to spare a few, never most, of the 40.
        check(a["ok"] == 50 and a["throttled"] >= 30, f"paced: {a}")
        check(s["duration_s"] >= 0.8, f"paced ran {s['duration_s']} s")

        # think pauses the user (no action in flight); log writes a templated line.
        s = scenario(r, "thinking")
        check(action(s, "short-sleep")["ok"] == 5 and s["duration_s"] >= 0.35, f"thinking: {s}")
        check(stderr.count(" thought") == 5, "five log lines")
        # Users parked in a 60 s think leave at max-duration, not after it.
        s = scenario(r, "parked")
        check(s["users"]["stopped"] == 5 and s["duration_s"] < 10, f"parked: {s['users']} {s['duration_s']}")
        check(action(s, "short-sleep")["count"] == 0, f"parked: {s['actions']}")

        t = r["totals"]
        check(t["actions"] == t["ok"] + t["errors"] + t["timeouts"] + t["cancelled"], f"totals {t}")


def test_sigint_still_writes_a_complete_report():
    script = SCRIPT.split("load:")[0] + """load:
  scenarios:
    - {name: raw-long, workflow: raw-ok, user-count: 4, task-duration: 10m}
"""
    with Target(PORT, PORT) as target, tempfile.TemporaryDirectory() as tmp:
        res, out = os.path.join(tmp, "res"), os.path.join(tmp, "out")
        write_res_dir(res, script)
        proc = subprocess.Popen([NTX, "run", res, "--out", out, "--quiet"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: target.stats()["requests"] >= 50, "the run to send requests")
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        check(proc.returncode == 4, f"an interrupted run exits 4, got {proc.returncode}: {stderr}")
        r = read_report(out)
        check(r["interrupted"] is True, "report says interrupted")
        s = scenario(r, "raw-long")
        a = action(s, "raw-get")
        check(a["count"] == a["ok"] + a["errors"] + a["timeouts"] + a["cancelled"], f"{a}")
        check(a["errors"] == 0, f"{a}")
        # A graceful stop: the in-flight actions finish within the grace period, so every request the
        # server answered was counted ok and nothing was cancelled.
        served = target.stats()["requests"]
        check(a["ok"] == served and a["cancelled"] == 0, f"server {served} vs {a}")
        check(s["users"]["stopped"] == 4, f"users {s['users']}")


if __name__ == "__main__":
    main([test_every_outcome_is_counted_once_with_its_exit, test_sigint_still_writes_a_complete_report])
