"""A scenario's exits (and monitoring.exits, their run-wide default) decide where a failed or timed-out
task goes when no handler says (goto / stop): error_out / timeout_out, closing (the user leaves), or
fatal (the run stops, exit code 1, the report says why). A handler's own goto still wins."""
import tempfile
import time

from harness import PROBE_COMPONENT, check, main, run_script, scenario

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  failing:
    steps: [{{ref: fail}}]
    on-error: [{{log: "failed", level: debug}}]      # no goto: the scenario's exits decide
  explicit:
    steps: [{{ref: fail}}]
    on-error: [{{goto: error_out}}]                  # a handler's own goto wins
  slow:
    timeout: 50ms
    steps: [{{ref: nap}}]
actions:
  fail: {{component: probe, call: fail}}
  nap: {{component: probe, call: sleep, with: {{ms: "1000"}}}}
monitoring:
  exits: {{error: closing}}                          # every scenario's default
load:
  scenarios:
    # closing (from monitoring.exits): each user's first task fails and the user leaves.
    - {{name: leave, workflow: failing, user-count: 3, task-duration: 1s}}
    # error_out (its own exits): users go on with their next task until task-duration ends.
    - {{name: stay, workflow: failing, user-count: 2, task-duration: 400ms, exits: {{error: error_out}}}}
    # the handler's goto wins over the exits.
    - {{name: explicit, workflow: explicit, user-count: 2, task-duration: 400ms}}
    # a timeout goes to closing too when the exits say so (the seed's key names).
    - {{name: slow, workflow: slow, user-count: 2, task-duration: 1s, exit: {{timeout-out: closing}}}}
"""


def test_exits_route_failed_tasks():
    with tempfile.TemporaryDirectory() as tmp:
        run, report = run_script(tmp, SCRIPT)
        leave = scenario(report, "leave")
        check(leave["tasks"] == 3 and leave["exits"]["closing"] == 3 and leave["exits"]["error_out"] == 0, leave)
        stay = scenario(report, "stay")
        check(stay["exits"]["closing"] == 0 and stay["exits"]["error_out"] == stay["tasks"] and stay["tasks"] > 2,
              f"users stay and fail task after task: {stay['tasks']} tasks, exits {stay['exits']}")
        explicit = scenario(report, "explicit")
        check(explicit["exits"]["closing"] == 0 and explicit["exits"]["error_out"] == explicit["tasks"] > 2,
              f"the handler's goto error_out wins over monitoring.exits: {explicit['exits']}")
        slow = scenario(report, "slow")
        check(slow["tasks"] == 2 and slow["exits"]["closing"] == 2 and slow["exits"]["timeout_out"] == 0, slow)
        check(report["stopped_by_exit"] == "" and not report["interrupted"], report["stopped_by_exit"])


FATAL = f"""
{PROBE_COMPONENT}workflows:
  napping: {{steps: [{{ref: nap}}]}}
  failing: {{steps: [{{think: 300ms}}, {{ref: fail}}]}}
actions:
  fail: {{component: probe, call: fail}}
  nap: {{component: probe, call: sleep, with: {{ms: "100"}}}}
load:
  scenarios:
    - {{name: busy, workflow: napping, user-count: 5, task-duration: 60s}}
    - name: doomed
      workflow: failing
      user-count: 1
      task-duration: 60s
      exit: {{timeout: 150s, error-out: fatal}}      # as the design notes write it
"""


def test_fatal_exit_stops_the_run():
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        run, report = run_script(tmp, FATAL, expect_exit=1)
        took = time.monotonic() - started
        check(took < 30, f"the run stopped long before its 60 s: {took:.1f} s")
        check(report["interrupted"], "a fatal exit stops the run as one Ctrl-C")
        reason = report["stopped_by_exit"]
        check(reason.startswith("scenario 'doomed': task ") and reason.endswith("failed and its exit is fatal"), reason)
        doomed = scenario(report, "doomed")
        # One failed task; the user may have begun its next one (thinking) when the stop reached it.
        check(doomed["exits"]["error_out"] == 1 and doomed["actions"][0]["errors"] == 1 and
              doomed["users"]["stopped"] == 1, doomed)
        busy = scenario(report, "busy")
        check(busy["tasks"] >= 5 and busy["actions"][0]["cancelled"] == 0,
              f"the other users finished their action: {busy['actions'][0]}")
        check(f"stopped: {reason}" in run.stdout, run.stdout)


if __name__ == "__main__":
    main([test_exits_route_failed_tasks, test_fatal_exit_stops_the_run])
