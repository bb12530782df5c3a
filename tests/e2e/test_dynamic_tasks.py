"""Dynamic tasks: a plugin's request_task (template and ad hoc) is scheduled on the requester's loop,
answered with distinct task ids, counted with origin=dynamic, and refused (NTX_E_LIMIT, counted) past
config.yaml's dynamic-tasks limits."""
import os
import re
import tempfile

from harness import TEST_PLUGINS, action, check, main, read_report, run_ntx, scenario

HEAD = f"""
components:
  - name: probe
    version: "1.0.0"
    entry: {TEST_PLUGINS}/ntx_probe.so
"""


def run(script, config=""):
    tmp = tempfile.TemporaryDirectory()
    res, out = os.path.join(tmp.name, "res"), os.path.join(tmp.name, "out")
    os.makedirs(res)
    with open(os.path.join(res, "script.yaml"), "w") as f:
        f.write(HEAD + script)
    if config:
        with open(os.path.join(res, "config.yaml"), "w") as f:
            f.write(config)
    rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet")
    check(rc == 0, f"ntx run exited {rc}: {stderr}")
    report = read_report(out)
    tmp.cleanup()
    return report, stderr


def test_template_and_ad_hoc_tasks_run_and_are_counted():
    r, stderr = run("""
workflows:
  templated:
    steps:
      - ref: spawn-sleeps
      - {log: "ids {{s.ids}} started {{s.started}}", level: warn}
  ad-hoc:
    steps: [{ref: spawn-failures}]
actions:
  # The template sleeps a minute under a 5 s timeout; the plugin's override (ms: 20) makes it quick.
  dyn-sleep: {component: probe, call: sleep, with: {ms: "60000"}, timeout: 5s}
  spawn-sleeps:
    component: probe
    call: spawn
    with: {template: dyn-sleep, count: "3", p.ms: "20"}
    save-as: s
  spawn-failures: {component: probe, call: spawn, with: {call: fail, count: "2"}}
load:
  scenarios:
    - {name: templated, workflow: templated, user-count: 10}
    - {name: ad-hoc, workflow: ad-hoc, user-count: 10}
""")
    s = scenario(r, "templated")
    d = s["dynamic_tasks"]
    check(d == {"requested": 30, "started": 30, "refused": 0, "ended": 30}, f"templated dynamic tasks {d}")
    a = action(s, "dyn-sleep")
    check(a["ok"] == 30 and a["count"] == 30 and a["dynamic"] == 30 and a["origin"] == "dynamic", f"dyn-sleep {a}")
    check(a["latency_ms"]["max"] < 4000, f"the override ms=20 applied: {a['latency_ms']}")
    check(action(s, "spawn-sleeps")["origin"] == "static", "the requesting action is static")
    # Dynamic tasks are outside the call model: 10 users, 10 tasks of the workflow, no exits.
    check(s["users"]["spawned"] == 10 and s["tasks"] == 10, f"templated users {s['users']} tasks {s['tasks']}")
    check(sum(s["exits"].values()) == 0, f"templated exits {s['exits']}")
    ids = []
    for m in re.finditer(r"ids ([0-9,]+) started 3", stderr):
        ids += m.group(1).split(",")
    check(len(ids) == 30 and len(set(ids)) == 30, f"30 distinct task ids handed back, got {ids}")

    s = scenario(r, "ad-hoc")
    a = action(s, "probe.fail (ad hoc)")
    check(a["errors"] == 20 and a["dynamic"] == 20 and a["origin"] == "dynamic", f"ad hoc {a}")
    check(s["dynamic_tasks"]["ended"] == 20 and s["exits"]["error_out"] == 0, f"ad hoc {s['dynamic_tasks']} {s['exits']}")
    check(r["totals"]["actions"] == r["totals"]["ok"] + r["totals"]["errors"], f"totals {r['totals']}")


def test_max_concurrent_refuses_and_counts():
    r, _ = run("""
workflows:
  w: {steps: [{ref: spawn}]}
actions:
  slow: {component: probe, call: sleep, with: {ms: "300"}}
  spawn: {component: probe, call: spawn, with: {template: slow, count: "8"}, save-as: s}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
""", "threads: 1\ndynamic-tasks: {max-concurrent: 5}\n")
    s = scenario(r, "s")
    check(s["dynamic_tasks"] == {"requested": 8, "started": 5, "refused": 3, "ended": 5}, f"{s['dynamic_tasks']}")
    check(action(s, "slow")["ok"] == 5, f"{s['actions']}")


def test_rate_refuses_the_excess():
    r, _ = run("""
workflows:
  w: {steps: [{ref: spawn}]}
actions:
  quick: {component: probe, call: sleep, with: {ms: "0"}}
  spawn: {component: probe, call: spawn, with: {template: quick, count: "25"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
""", "threads: 1\ndynamic-tasks: {rate: 10/s}\n")
    d = scenario(r, "s")["dynamic_tasks"]
    # A burst of one second's worth (10) passes; the rest of 25 requests made within one call are refused
    # (one more token may accrue if the loop stalls 100 ms inside that call).
    check(10 <= d["started"] <= 11 and d["started"] + d["refused"] == 25, f"{d}")


def test_unknown_template_fails_the_requesting_action():
    r, _ = run("""
workflows:
  w: {steps: [{ref: spawn}]}
actions:
  spawn: {component: probe, call: spawn, with: {template: no-such-action, count: "1"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 3}
""")
    s = scenario(r, "s")
    a = action(s, "spawn")
    check(a["errors"] == 3 and a["errors_by_kind"] == {"invalid": 3}, f"{a}")
    check(s["dynamic_tasks"]["requested"] == 0, f"{s['dynamic_tasks']}")


if __name__ == "__main__":
    main([test_template_and_ad_hoc_tasks_run_and_are_counted, test_max_concurrent_refuses_and_counts,
          test_rate_refuses_the_excess, test_unknown_template_fails_the_requesting_action])
