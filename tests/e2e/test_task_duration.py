"""Each workflow's task duration (transaction time) is measured, with percentiles, per scenario and per
workflow in report.json and in thresholds (`<workflow>.task.p95`); failed tasks apart. An inline step's
`name:` names its row (not `w[1]`)."""
import tempfile

from harness import PROBE_COMPONENT, action, check, main, run_script, scenario, validate_script

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  checkout:
    steps:
      - {{action: probe.sleep, name: browse, with: {{ms: "30"}}}}
      - {{think: 40ms}}
      - {{action: probe.sleep, with: {{ms: "30"}}}}
  broken:
    steps:
      - {{action: probe.sleep, name: before-failing, with: {{ms: "25"}}}}
      - {{action: probe.fail, name: failing}}
load:
  scenarios:
    - {{name: buyers, workflow: checkout, user-count: 4}}
    - {{name: more-buyers, workflow: checkout, user-count: 2}}
    - {{name: broken, workflow: broken, user-count: 3}}
thresholds:
  - "checkout.task.p95 < 5s"
  - "checkout.task.min >= 100ms"
  - "checkout.task.count == 6"
  - "broken.task.failed == 3"
"""


def test_task_duration_and_names():
    with tempfile.TemporaryDirectory() as tmp:
        run, report = run_script(tmp, SCRIPT)
        buyers = scenario(report, "buyers")
        names = [a["name"] for a in buyers["actions"]]
        check(names == ["browse", "checkout[3]"], names)  # named by `name:`, else by place
        check(action(scenario(report, "broken"), "failing")["errors"] == 3, scenario(report, "broken"))
        td = buyers["task_duration_ms"]
        # 30 ms + 40 ms + 30 ms of host timers, at least; far less than a second on any machine.
        check(100 <= td["min"] <= td["p50"] <= td["max"] < 1000, td)
        check(buyers["tasks_ended"] == {"ok": 4, "failed": 0}, buyers["tasks_ended"])
        wf = {w["name"]: w for w in report["workflows"]}
        check(wf["checkout"]["tasks"] == {"ok": 6, "failed": 0}, wf)
        check(wf["broken"]["tasks"] == {"ok": 0, "failed": 3} and wf["broken"]["task_failed_duration_ms"]["min"] >= 25, wf)
        check(all(t["passed"] for t in report["thresholds"]), report["thresholds"])
        check(report["thresholds"][0]["metric"] == "checkout.task.p95", report["thresholds"][0])
        check("task duration: 4 ran to their end" in run.stdout, run.stdout)


def test_bad_task_thresholds():
    err = validate_script(SCRIPT.replace('"checkout.task.min >= 100ms"', '"checkout.task.ratio > 1"')
                          .replace('"broken.task.failed == 3"', '"chekout.task.p95 < 1s"'))
    check("unknown metric 'ratio'" in err, err)
    check("chekout.task" in err, err)


if __name__ == "__main__":
    main([test_task_duration_and_names, test_bad_task_thresholds])
