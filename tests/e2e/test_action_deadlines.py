"""Action deadlines are armed lazily (one timer per user that re-arms itself for the action in flight):
an action that outlives an earlier action's shorter timeout is not cut by it, and an action whose
timeout is shorter than an earlier action's is cut at its own deadline, not the earlier one's."""
import os
import tempfile
import time

from harness import PROBE_COMPONENT, action, check, main, read_report, run_ntx, scenario, write_res_dir

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  # The timer is armed for quick-short's 100 ms; mid-long (300 ms, its own timeout 3 s) is in flight
  # when it fires and must go on. Repeated for 1.5 s, so the timer re-arms across tasks.
  later-longer: {{steps: [{{ref: quick-short}}, {{ref: mid-long}}]}}
  # The timer is armed for quick-long's 10 s; stuck-short's 200 ms must still fire at 200 ms.
  later-shorter: {{steps: [{{ref: quick-long}}, {{ref: stuck-short}}]}}
actions:
  quick-short: {{component: probe, call: sleep, with: {{ms: "10"}}, timeout: 100ms}}
  mid-long: {{component: probe, call: sleep, with: {{ms: "300"}}, timeout: 3s}}
  quick-long: {{component: probe, call: sleep, with: {{ms: "10"}}, timeout: 10s}}
  stuck-short: {{component: probe, call: sleep, with: {{ms: "60000"}}, timeout: 200ms}}
load:
  scenarios:
    - {{name: later-longer, workflow: later-longer, user-count: 10, task-duration: 1500ms}}
    - {{name: later-shorter, workflow: later-shorter, user-count: 10}}
"""


def test_each_action_ends_at_its_own_deadline():
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, SCRIPT), os.path.join(tmp, "out")
        t0 = time.monotonic()
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet")
        elapsed = time.monotonic() - t0
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        r = read_report(out)

        s = scenario(r, "later-longer")
        quick, mid = action(s, "quick-short"), action(s, "mid-long")
        check(quick["ok"] == quick["count"] and quick["count"] >= 30, f"quick-short: {quick}")
        check(mid["ok"] == mid["count"] and mid["timeouts"] == 0 and mid["count"] >= 30, f"mid-long: {mid}")
        check(mid["latency_ms"]["min"] >= 299, f"mid-long ran its 300 ms: {mid['latency_ms']}")

        s = scenario(r, "later-shorter")
        stuck = action(s, "stuck-short")
        check(stuck["timeouts"] == 10 and stuck["count"] == 10, f"stuck-short: {stuck}")
        # Cut at 200 ms, not at quick-long's 10 s: the scenario ends well before that.
        check(s["duration_s"] < 5.0, f"later-shorter lasted {s['duration_s']} s")
        check(elapsed < 9.0, f"the run took {elapsed:.1f} s")


if __name__ == "__main__":
    main([test_each_action_ends_at_its_own_deadline])
