"""parallel steps: branches run at once (a scenario of three 300 ms sleeps in parallel ends well before
the same sleeps in a row, in the same run), the variables branches save reach the steps after the join
(seen by the target server), a failed branch fails the step (its handler's retry re-runs every branch,
then error_out), and the task deadline cancels the branches still running (timeout_out); planning
rejects a branch that reads what a sibling saves."""
import tempfile

from harness import TEST_PLUGINS, Target, action, check, free_port, main, run_script, scenario, validate_script

USERS = 4


def script(port):
    return f"""
components:
  - {{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}
  - {{name: http, version: "0.2.0", entry: http}}
workflows:
  fan-out:
    steps:
      - parallel:
          - ref: nap-a
          - ref: nap-b
          - steps: [{{ref: nap-c}}, {{log: "branch c done", level: warn}}]
  in-a-row:
    steps: [{{ref: row-a}}, {{ref: row-b}}, {{ref: row-c}}]
  join:
    steps:
      - parallel:
          - ref: get-asset
          - ref: get-created
      - if: "exists(asset.status) && exists(created.status)"
        then: [{{ref: after-join}}]
        else: [{{goto: error_out}}]
  failing:
    steps:
      - parallel:
          - ref: nap-ok
          - ref: boom
      - ref: never
    on-error:
      - retry: {{max: 1, backoff: 10ms}}
      - goto: error_out
  late:
    timeout: 300ms
    steps:
      - parallel:
          - ref: quick
          - ref: slow
      - ref: never-late
actions:
  nap-a: {{component: probe, call: sleep, with: {{ms: "300"}}}}
  nap-b: {{component: probe, call: sleep, with: {{ms: "300"}}}}
  nap-c: {{component: probe, call: sleep, with: {{ms: "300"}}}}
  row-a: {{component: probe, call: sleep, with: {{ms: "300"}}}}
  row-b: {{component: probe, call: sleep, with: {{ms: "300"}}}}
  row-c: {{component: probe, call: sleep, with: {{ms: "300"}}}}
  get-asset: {{component: http, call: get, with: {{url: "http://127.0.0.1:{port}/asset"}}, save-as: asset}}
  get-created: {{component: http, call: get, with: {{url: "http://127.0.0.1:{port}/status/201"}}, save-as: created}}
  after-join:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{port}/status/{{{{created.status}}}}?bytes={{{{length(asset.body)}}}}"}}
  nap-ok: {{component: probe, call: sleep, with: {{ms: "20"}}}}
  boom: {{component: probe, call: fail}}
  never: {{component: probe, call: sleep, with: {{ms: "0"}}}}
  quick: {{component: probe, call: sleep, with: {{ms: "10"}}}}
  slow: {{component: probe, call: sleep, with: {{ms: "5000"}}}}
  never-late: {{component: probe, call: sleep, with: {{ms: "0"}}}}
load:
  scenarios:
    - {{name: fan-out, workflow: fan-out, user-count: 1}}
    - {{name: in-a-row, workflow: in-a-row, user-count: 1}}
    - {{name: join, workflow: join, user-count: {USERS}}}
    - {{name: failing, workflow: failing, user-count: {USERS}}}
    - {{name: late, workflow: late, user-count: {USERS}}}
"""


def test_parallel_steps():
    port = free_port()
    with Target(port, port) as target, tempfile.TemporaryDirectory() as tmp:
        run, r = run_script(tmp, script(port), "--quiet")
        stderr = run.stderr

        # Three 300 ms sleeps: at once in one scenario, in a row in the other (same run, same machine).
        par, seq = scenario(r, "fan-out"), scenario(r, "in-a-row")
        for a in ("nap-a", "nap-b", "nap-c"):
            check(action(par, a)["ok"] == 1, f"{a}: {action(par, a)}")
        check(par["users"]["completed"] == 1 and par["tasks"] == 1, f"one user, one task: {par}")
        check(par["duration_s"] + 0.4 < seq["duration_s"],
              f"parallel {par['duration_s']} s vs in a row {seq['duration_s']} s")
        check("branch c done" in stderr, "a branch of several steps ran its log step")

        # Both branches' saves reach the step after the join: /status/201 once in the branch, once after.
        s = scenario(r, "join")
        check(action(s, "after-join")["ok"] == USERS and s["exits"]["error_out"] == 0, f"join {s['actions']} {s['exits']}")
        check(action(s, "after-join")["status_classes"] == {"2xx": USERS}, f"after-join {action(s, 'after-join')}")
        check(target.stats()["by_path"].get("/status/201") == 2 * USERS, f"target saw {target.stats()['by_path']}")

        # A failed branch fails the step: one retry re-runs both branches, then error_out.
        s = scenario(r, "failing")
        check(action(s, "boom")["errors"] == 2 * USERS and action(s, "nap-ok")["ok"] == 2 * USERS,
              f"failing {s['actions']}")
        check(action(s, "never")["count"] == 0 and s["exits"]["error_out"] == USERS, f"failing {s['exits']}")
        check(s["tasks"] == USERS, "the branches are not tasks of their own")

        # The task deadline reaches the branches: the slow one is cut (a timeout), the task ends timed out.
        s = scenario(r, "late")
        check(action(s, "quick")["ok"] == USERS, f"late {s['actions']}")
        slow = action(s, "slow")
        check(slow["timeouts"] == USERS and slow["ok"] == 0, f"slow {slow}")
        check(s["exits"]["timeout_out"] == USERS and action(s, "never-late")["count"] == 0, f"late {s['exits']}")
        check(s["duration_s"] < 4, f"the deadline ended the task, not the 5 s sleep: {s['duration_s']}")

        # Every branch action ended in exactly one counted outcome.
        t = r["totals"]
        check(t["actions"] == t["ok"] + t["errors"] + t["timeouts"] + t["cancelled"], f"totals {t}")


def test_a_branch_cannot_read_a_sibling():
    stderr = validate_script(f"""components:
  - {{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}
workflows:
  w:
    steps:
      - parallel:
          - ref: save
          - ref: read
      - parallel: [{{ref: save}}]
actions:
  save: {{component: probe, call: flaky, with: {{failures: "0"}}, save-as: c}}
  read: {{component: probe, call: sleep, with: {{ms: "{{{{c.calls}}}}"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 1}}
""")
    check("script.yaml:12:52: error: action 'read' (step 1 of workflow 'w[1].parallel[2]') reads 'c' in with.ms, "
          "but no earlier step of the workflow saves it" in stderr, stderr)
    check("script.yaml:9:19: error: a parallel step needs two or more branches" in stderr, stderr)


if __name__ == "__main__":
    main([test_parallel_steps, test_a_branch_cannot_read_a_sibling])
