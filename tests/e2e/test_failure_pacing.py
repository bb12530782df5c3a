"""A failed task paces its user: against a port nothing listens on, every task fails at once, and the
user's next task waits for the loop's next tick (pacing.after-failure: tick, the default) or the
scenario's delay; never a loop spinning through failed tasks. A fatal exit stops every loop's users
at their next task: the overshoot is the actions already in flight."""
import tempfile
import time

from harness import check, free_port, main, run_script, scenario, validate_script

TICK_MS = 20


def script(port, scenarios):
    return f"""components:
  - {{name: http, version: "0.2.2", entry: http}}
workflows:
  dead: {{steps: [{{ref: get}}]}}
actions:
  get: {{component: http, call: get, timeout: 5s, with: {{url: "http://127.0.0.1:{port}/"}}}}
load:
  scenarios:
{scenarios}
"""


def test_a_dead_target_costs_one_task_per_tick():
    port = free_port()
    users, duration_ms = 10, 1000
    scenarios = (f"    - {{name: ticked, workflow: dead, user-count: {users}, task-duration: {duration_ms}ms}}\n"
                 f"    - {{name: delayed, workflow: dead, user-count: {users}, task-duration: {duration_ms}ms,\n"
                 f"       pacing: {{after-failure: 100ms}}}}\n")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        _, report = run_script(tmp, script(port, scenarios), "--quiet", "--threads", "2",
                               files={"config.yaml": f"tick: {TICK_MS}ms\n"})
        took_ms = (time.monotonic() - started) * 1000
        ticked = scenario(report, "ticked")
        ticks = duration_ms / TICK_MS
        check(ticked["actions"][0]["errors"] == ticked["tasks"] and ticked["exits"]["error_out"] == ticked["tasks"],
              ticked)
        # At most one task per user and tick (plus the first), and it did go on task after task.
        check(users * 3 <= ticked["tasks"] <= users * (ticks + 2),
              f"{ticked['tasks']} tasks of {users} users over {ticks:.0f} ticks (run took {took_ms:.0f} ms)")
        delayed = scenario(report, "delayed")
        check(users * 2 <= delayed["tasks"] <= users * (duration_ms / 100 + 2),
              f"pacing 100ms: {delayed['tasks']} tasks of {users} users in {duration_ms} ms")


def test_fatal_stops_every_loop_at_once():
    port = free_port()
    users = 10
    scenarios = (f"    - {{name: doomed, workflow: dead, user-count: {users}, task-duration: 60s,\n"
                 f"       pacing: {{after-failure: none}}, exits: {{error-out: fatal}}}}\n")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        _, report = run_script(tmp, script(port, scenarios), "--quiet", "--threads", "2", expect_exit=1)
        check(time.monotonic() - started < 30, "the run stopped long before its 60 s")
        doomed = scenario(report, "doomed")
        check(report["stopped_by_exit"].endswith("failed and its exit is fatal"), report["stopped_by_exit"])
        # Each user's first task, and at most the actions in flight when the fatal task ended (one per user).
        check(doomed["tasks"] <= 2 * users, f"{doomed['tasks']} tasks of {users} users after a fatal exit")
        a = doomed["actions"][0]
        check(a["count"] <= 2 * users, f"actions after a fatal exit: {a}")


def test_pacing_is_checked_at_planning():
    bad = "    - {name: s, workflow: dead, user-count: 1, pacing: {after-failure: soon}}\n"
    err = validate_script(script(free_port(), bad))
    check("unknown pacing.after-failure 'soon'" in err and "tick (the default), none, or a duration" in err, err)
    typo = "    - {name: s, workflow: dead, user-count: 1, pacing: {after-fail: tick}}\n"
    validate_script(script(free_port(), typo))


if __name__ == "__main__":
    main([test_a_dead_target_costs_one_task_per_tick, test_fatal_stops_every_loop_at_once, test_pacing_is_checked_at_planning])
