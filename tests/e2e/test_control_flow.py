"""Control flow compiled to branches and jumps: if/then/else on expressions, loops by count, while and
over a list, goto to named steps and to exits, and conditions that cannot be evaluated (counted, the
task ends through error_out)."""
import tempfile

from harness import PROBE_COMPONENT, TEST_PLUGINS, action, check, main, run_script, scenario, validate_script

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  branches:
    steps:
      - if: "env.user_id % 2 == 0"
        then: [{{ref: even}}]
        else: [{{ref: odd}}, {{goto: error_out}}]
      - ref: after
  counted:
    steps:
      - loop: {{count: 3}}
        steps: [{{ref: ok}}]
  over:
    steps:
      - loop: {{over: ["5", "10", "15"], as: ms}}
        steps:
          - {{log: "sleeping {{{{ms}}}} ms", level: warn}}
          - action: probe.sleep
            with: {{ms: "{{{{ms}}}}"}}
  while:
    steps:
      - loop: {{while: "default(c.calls, 0) < 4", max: 10}}
        steps: [{{ref: count-call}}]
  runaway:
    steps:
      - loop: {{while: "true", max: 7}}
        steps: [{{ref: ok}}]
  named:
    steps:
      - {{name: top, ref: count-call}}
      - if: "{{{{c.calls < 3}}}}"
        then: [{{goto: top}}]
      - ref: after
  again:
    steps: [{{ref: ok}}, {{goto: monitoring.retry}}]
  undo:
    steps: [{{ref: ok}}, {{goto: closing.rollback}}]
  broken:
    steps:
      - if: "number('not a number') > 1"
        then: [{{ref: ok}}]
      - ref: after
actions:
  ok: {{component: probe, call: sleep, with: {{ms: "0"}}}}
  even: {{component: probe, call: sleep, with: {{ms: "0"}}}}
  odd: {{component: probe, call: sleep, with: {{ms: "0"}}}}
  after: {{component: probe, call: sleep, with: {{ms: "0"}}}}
  count-call: {{component: probe, call: flaky, with: {{failures: "0"}}, save-as: c}}
load:
  scenarios:
    - {{name: branches, workflow: branches, user-count: 10}}
    - {{name: counted, workflow: counted, user-count: 4}}
    - {{name: over, workflow: over, user-count: 2}}
    - {{name: while, workflow: while, user-count: 3}}
    - {{name: runaway, workflow: runaway, user-count: 2}}
    - {{name: named, workflow: named, user-count: 3}}
    - {{name: broken, workflow: broken, user-count: 2}}
    - {{name: again, workflow: again, user-count: 2}}
    - {{name: undo, workflow: undo, user-count: 2}}
monitoring:
  retry: {{max: 2, backoff: 10ms}}
"""


def test_control_flow():
    with tempfile.TemporaryDirectory() as tmp:
        run, r = run_script(tmp, SCRIPT, "--quiet")
        stderr = run.stderr

        # user ids 1..10: five even users take `then`, five odd ones `else` and leave through error_out.
        s = scenario(r, "branches")
        check(action(s, "even")["ok"] == 5 and action(s, "odd")["ok"] == 5, f"branches {s['actions']}")
        check(action(s, "after")["ok"] == 5 and s["exits"]["error_out"] == 5, f"branches {s['actions']} {s['exits']}")

        check(action(scenario(r, "counted"), "ok")["ok"] == 12, "loop count 3 x 4 users")

        s = scenario(r, "over")
        a = action(s, "over[1].steps[2]")
        check(a["ok"] == 6 and a["latency_ms"]["min"] >= 4.5, f"over: {a}")
        for ms in ("5", "10", "15"):
            check(stderr.count(f"sleeping {ms} ms") == 2, f"loop item {ms} logged once per user")

        # while: the condition reads the saved result; four calls per user end the loop.
        check(action(scenario(r, "while"), "count-call")["ok"] == 12, f"while {scenario(r, 'while')['actions']}")
        # while true stops at max.
        check(action(scenario(r, "runaway"), "ok")["ok"] == 14, f"runaway {scenario(r, 'runaway')['actions']}")

        s = scenario(r, "named")
        check(action(s, "count-call")["ok"] == 9 and action(s, "after")["ok"] == 3, f"named {s['actions']}")

        s = scenario(r, "broken")
        check(s["condition_errors"] == 2 and s["exits"]["error_out"] == 2, f"broken {s['condition_errors']} {s['exits']}")
        check(action(s, "after")["count"] == 0 and action(s, "ok")["count"] == 0, f"broken {s['actions']}")
        check("is not a number" in stderr, "the condition's error is logged")

        # goto: monitoring.retry as a step restarts the task (twice, by the policy), then error_out;
        # goto: closing.rollback ends the task rolled back.
        s = scenario(r, "again")
        check(action(s, "ok")["ok"] == 6 and s["task_retries"] == 4 and s["exits"]["error_out"] == 2, f"again {s}")
        s = scenario(r, "undo")
        check(action(s, "ok")["ok"] == 2 and s["exits"]["rollback"] == 2, f"undo {s['exits']}")


def test_goto_and_condition_mistakes_are_planning_errors():
    stderr = validate_script(f"""components:
  - {{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}
workflows:
  w:
    steps:
      - {{name: start, ref: ok}}
      - goto: strat
      - if: "meta.status == 200"
        then: [{{ref: ok}}]
      - loop: {{count: 2, while: "true"}}
        steps: [{{ref: ok}}]
actions:
  ok: {{component: probe, call: sleep, with: {{ms: "0"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 1}}
""")
    check("script.yaml:7:15: error: goto 'strat': workflow 'w' has no step of that name" in stderr
          and "did you mean 'start'?" in stderr, stderr)
    check("script.yaml:8:14: error: if: 'meta.status': no action saves a variable named 'meta'" in stderr, stderr)
    check("script.yaml:10:15: error: a loop takes exactly one of count, while or over" in stderr, stderr)


if __name__ == "__main__":
    main([test_control_flow, test_goto_and_condition_mistakes_are_planning_errors])
