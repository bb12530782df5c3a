"""Failed and timed-out actions are timed too, apart from the ok ones: report.json `latency_failed_ms`,
the summary's "failed and timed out" line. A timed-out action's latency is its timeout (not 0.00), an
ok one's latency is never mixed with it."""
import tempfile

from harness import PROBE_COMPONENT, action, check, main, run_script, scenario

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  slow: {{steps: [{{ref: nap}}, {{ref: too-slow}}]}}
  oops: {{steps: [{{ref: oops}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "20"}}}}
  too-slow: {{component: probe, call: sleep, with: {{ms: "400"}}, timeout: 80ms}}
  oops: {{component: probe, call: fail}}
load:
  scenarios:
    - {{name: slow, workflow: slow, user-count: 5}}
    - {{name: oops, workflow: oops, user-count: 3}}
"""


def test_failed_actions_have_a_latency_of_their_own():
    with tempfile.TemporaryDirectory() as tmp:
        run, report = run_script(tmp, SCRIPT)
        slow = scenario(report, "slow")
        nap, late = action(slow, "nap"), action(slow, "too-slow")
        check(nap["ok"] == 5 and nap["latency_failed_ms"]["max"] == 0 and nap["latency_ms"]["min"] >= 20, nap)
        check(late["timeouts"] == 5 and late["ok"] == 0 and late["latency_ms"]["max"] == 0, late)
        lf = late["latency_failed_ms"]
        # The host ends it at its 80 ms deadline (timers fire at or after it; a loaded machine adds a little).
        check(80 <= lf["min"] <= lf["p50"] <= lf["max"] < 400, lf)
        oops = action(scenario(report, "oops"), "oops")
        # `fail` fails inside run_action: well under a millisecond, but recorded (the summary line counts it).
        check(oops["errors"] == 3 and oops["latency_failed_ms"]["max"] < 80 and oops["latency_ms"]["max"] == 0, oops)
        check("failed and timed out: 5 (min " in run.stdout and "failed and timed out: 3 (min " in run.stdout, run.stdout)


if __name__ == "__main__":
    main([test_failed_actions_have_a_latency_of_their_own])
