"""on-error / on-timeout handlers and monitoring.retry with the C99 probe plugin: every route (retry,
compensating steps, goto exits, monitoring.retry, closing.rollback, next, stop: user) ends each action
in exactly one counted outcome and each task in the exit the script names."""
import tempfile

from harness import PROBE_COMPONENT, action, check, main, run_script, scenario

SCRIPT = f"""
{PROBE_COMPONENT}monitoring:
  retry: {{max: 2, backoff: 10ms}}
workflows:
  compensate:
    steps: [{{ref: fail}}, {{ref: never}}]
    on-error:
      - {{log: "compensating task {{{{env.task_id}}}}", level: warn}}
      - ref: undo
      - goto: closing
  step-retry:
    steps: [{{ref: flaky-2}}]
    on-error: [{{retry: {{max: 3, backoff: 5ms}}}}]
  step-retry-exhausted:
    steps: [{{ref: fail}}]
    on-error: [{{retry: {{max: 2, backoff: 5ms}}}}, {{ref: undo}}]
  task-retry:
    steps: [{{ref: ok}}, {{ref: flaky-1}}]
    on-error: [{{goto: monitoring.retry}}]
  task-retry-exhausted:
    steps: [{{ref: ok}}, {{ref: fail}}]
    on-error: [{{goto: monitoring.retry}}]
  rollback:
    steps: [{{ref: ok}}, {{ref: fail}}]
    on-error: [{{goto: closing.rollback}}]
  next:
    steps: [{{ref: fail}}, {{ref: ok}}]
    on-error: [{{goto: next}}]
  stop-user:
    steps: [{{ref: fail}}, {{ref: ok}}]
    on-error: [{{stop: user}}]
  action-timeout:
    steps: [{{ref: slow-with-handler}}, {{ref: never}}]
  task-timeout:
    timeout: 250ms
    steps: [{{ref: sleep-150}}, {{ref: sleep-150}}, {{ref: never}}]
    on-timeout: [{{ref: undo}}, {{goto: closing.rollback}}]
actions:
  ok: {{component: probe, call: sleep, with: {{ms: "0"}}}}
  never: {{component: probe, call: sleep, with: {{ms: "0"}}}}
  undo: {{component: probe, call: sleep, with: {{ms: "0"}}}}
  fail: {{component: probe, call: fail}}
  flaky-1: {{component: probe, call: flaky, with: {{failures: "1"}}}}
  flaky-2: {{component: probe, call: flaky, with: {{failures: "2"}}}}
  sleep-150: {{component: probe, call: sleep, with: {{ms: "150"}}, timeout: 5s}}
  slow-with-handler:
    component: probe
    call: sleep
    with: {{ms: "60000"}}
    timeout: 80ms
    on-timeout:
      - retry: {{max: 1, backoff: 5ms}}
      - {{log: "gave up waiting", level: warn}}
      - goto: error_out
load:
  scenarios:
    - {{name: compensate, workflow: compensate, user-count: 10}}
    - {{name: step-retry, workflow: step-retry, user-count: 10}}
    - {{name: step-retry-exhausted, workflow: step-retry-exhausted, user-count: 10}}
    - {{name: task-retry, workflow: task-retry, user-count: 10}}
    - {{name: task-retry-exhausted, workflow: task-retry-exhausted, user-count: 10}}
    - {{name: rollback, workflow: rollback, user-count: 10}}
    - {{name: next, workflow: next, user-count: 10}}
    - {{name: stop-user, workflow: stop-user, user-count: 10, task-duration: 10m}}
    - {{name: action-timeout, workflow: action-timeout, user-count: 10}}
    - {{name: task-timeout, workflow: task-timeout, user-count: 10}}
"""


def outcomes_add_up(a):
    check(a["count"] == a["ok"] + a["errors"] + a["timeouts"] + a["cancelled"], f"outcomes of {a['name']}: {a}")


def test_every_route():
    with tempfile.TemporaryDirectory() as tmp:
        run, r = run_script(tmp, SCRIPT, "--quiet")
        stderr = run.stderr
        for s in r["scenarios"]:
            for a in s["actions"]:
                outcomes_add_up(a)

        # log, a compensating action, then goto closing: the user ends; the next step never runs.
        s = scenario(r, "compensate")
        check(action(s, "fail")["errors"] == 10, f"compensate: {s['actions']}")
        check(action(s, "undo")["ok"] == 10, f"compensate undo: {s['actions']}")
        check(action(s, "never")["count"] == 0, f"compensate never: {s['actions']}")
        check(s["exits"]["closing"] == 10 and s["exits"]["error_out"] == 0, f"compensate exits {s['exits']}")
        check(stderr.count("compensating task ") == 10, "one log line per compensated task")

        # The handler's retry re-runs the failed step: two failures, then success, per user.
        s = scenario(r, "step-retry")
        a = action(s, "flaky-2")
        check(a["errors"] == 20 and a["ok"] == 10 and a["retries"] == 20, f"step-retry: {a}")
        check(sum(s["exits"].values()) == 0 and s["users"]["completed"] == 10, f"step-retry {s['exits']} {s['users']}")

        # Retries exhausted: three attempts, then the handler's steps, then the default error_out.
        s = scenario(r, "step-retry-exhausted")
        a = action(s, "fail")
        check(a["errors"] == 30 and a["retries"] == 20, f"step-retry-exhausted: {a}")
        check(action(s, "undo")["ok"] == 10, f"step-retry-exhausted undo: {s['actions']}")
        check(s["exits"]["error_out"] == 10, f"step-retry-exhausted exits {s['exits']}")

        # monitoring.retry restarts the whole task (its first step runs again); the second run works.
        s = scenario(r, "task-retry")
        check(action(s, "ok")["ok"] == 20, f"task-retry ok: {s['actions']}")
        a = action(s, "flaky-1")
        check(a["errors"] == 10 and a["ok"] == 10, f"task-retry flaky: {a}")
        check(s["task_retries"] == 10 and s["tasks"] == 10, f"task-retry: {s['task_retries']} restarts, {s['tasks']} tasks")
        check(sum(s["exits"].values()) == 0, f"task-retry exits {s['exits']}")

        # monitoring.retry max 2: three runs of the task, then error_out.
        s = scenario(r, "task-retry-exhausted")
        check(action(s, "ok")["ok"] == 30 and action(s, "fail")["errors"] == 30, f"exhausted: {s['actions']}")
        check(s["task_retries"] == 20 and s["exits"]["error_out"] == 10, f"exhausted: {s['task_retries']} {s['exits']}")

        s = scenario(r, "rollback")
        check(s["exits"]["rollback"] == 10 and s["exits"]["error_out"] == 0, f"rollback exits {s['exits']}")
        check(s["users"]["completed"] == 10, f"rollback users {s['users']}")

        # goto next: the failure is counted and the workflow goes on.
        s = scenario(r, "next")
        check(action(s, "fail")["errors"] == 10 and action(s, "ok")["ok"] == 10, f"next: {s['actions']}")
        check(sum(s["exits"].values()) == 0 and s["users"]["completed"] == 10, f"next {s['exits']} {s['users']}")

        # stop: user ends the user at once although its task-duration is ten minutes.
        s = scenario(r, "stop-user")
        check(s["exits"]["stop_user"] == 10 and s["users"]["stopped"] == 10, f"stop-user {s['exits']} {s['users']}")
        check(action(s, "ok")["count"] == 0 and s["tasks"] == 10, f"stop-user: {s['actions']}")
        check(s["duration_s"] < 30, f"stop-user ran {s['duration_s']} s")

        # The action's own on-timeout: one retry (two timeouts), a log line, then error_out.
        s = scenario(r, "action-timeout")
        a = action(s, "slow-with-handler")
        check(a["timeouts"] == 20 and a["retries"] == 10 and a["ok"] == 0, f"action-timeout: {a}")
        check(s["exits"]["error_out"] == 10 and s["exits"]["timeout_out"] == 0, f"action-timeout exits {s['exits']}")
        check(action(s, "never")["count"] == 0, f"action-timeout never: {s['actions']}")
        check(stderr.count("gave up waiting") == 10, "one log line per timed-out task")

        # The task deadline (250 ms) cuts the second 150 ms step; the workflow's on-timeout runs its
        # compensation and rolls the task back instead of the default timeout_out.
        s = scenario(r, "task-timeout")
        a = action(s, "sleep-150")
        check(a["ok"] == 10 and a["timeouts"] == 10, f"task-timeout: {a}")
        check(action(s, "undo")["ok"] == 10 and action(s, "never")["count"] == 0, f"task-timeout: {s['actions']}")
        check(s["exits"]["rollback"] == 10 and s["exits"]["timeout_out"] == 0, f"task-timeout exits {s['exits']}")


if __name__ == "__main__":
    main([test_every_route])
