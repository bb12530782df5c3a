"""thresholds in script.yaml decide the exit code: evaluated at the end against the report (printed,
in report.json and in report.xml as JUnit test cases), abort-on-fail stops a failing run early, and a
bad threshold is refused at planning with file:line:col and exit 2."""
import os
import tempfile
import xml.etree.ElementTree as ET

from harness import PROBE_COMPONENT, check, main, read_report, run_ntx

# 20 users x 5 naps of 30 ms: 100 actions whose latency is at least 30 ms; one `fail` per user in the
# second scenario when `failing` is set.
BASE = f"""
{PROBE_COMPONENT}workflows:
  naps: {{steps: [{{ref: nap}}, {{ref: nap}}, {{ref: nap}}, {{ref: nap}}, {{ref: nap}}]}}
  oops: {{steps: [{{think: 20ms}}, {{ref: oops}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "30"}}}}
  oops: {{component: probe, call: fail}}
load:
  scenarios:
    - {{name: napping, workflow: naps, user-count: 20, spawn-rate: 400/s}}
"""
FAILING = "    - {name: failing, workflow: oops, user-count: 10}\n"


def write(root, text):
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "script.yaml"), "w") as f:
        f.write(text)


def run(tmp, text, *extra):
    res, out = os.path.join(tmp, "res"), os.path.join(tmp, "out")
    write(res, text)
    rc, stdout, stderr = run_ntx("run", res, "--out", out, *extra)
    return rc, stdout, stderr, out


def junit(out):
    root = ET.parse(os.path.join(out, "report.xml")).getroot()  # raises if it is not well-formed XML
    return {s.get("name"): s for s in root.iter("testsuite")}


def test_passing_thresholds_exit_0():
    with tempfile.TemporaryDirectory() as tmp:
        script = BASE + """thresholds:
  - "probe.nap.p99 < 5s"
  - "nap.p50 >= 29ms"
  - "errors.rate < 1%"
  - "actions.count == 100"
  - "scenario.napping.users == 20"
"""
        rc, stdout, stderr, out = run(tmp, script)
        check(rc == 0, f"exit {rc}: {stderr}")
        r = read_report(out)
        check(r["thresholds_passed"] is True, r["thresholds"])
        check([t["passed"] for t in r["thresholds"]] == [True] * 5, r["thresholds"])
        p50 = next(t for t in r["thresholds"] if t["metric"] == "nap.p50")
        check(29 <= p50["actual"] <= 1000 and p50["unit"] == "ms" and p50["limit"] == 29, p50)
        check(p50["actual"] == r["actions"][0]["latency_ms"]["p50"], (p50, r["actions"][0]))
        count = next(t for t in r["thresholds"] if t["metric"] == "actions.count")
        check(count["actual"] == 100, count)
        check("thresholds: 5 passed, 0 failed" in stdout, stdout)
        check("PASS nap.p50 >= 29ms" in stdout, stdout)
        suites = junit(out)
        check(suites["thresholds"].get("tests") == "5" and suites["thresholds"].get("failures") == "0",
              suites["thresholds"].attrib)
        check(suites["error-budget"].get("tests") == "1" and suites["error-budget"].get("failures") == "0",
              suites["error-budget"].attrib)


def test_a_failing_threshold_exits_1():
    with tempfile.TemporaryDirectory() as tmp:
        script = BASE + FAILING + """thresholds:
  - "nap.p50 < 10ms"
  - "nap.count == 100"
  - threshold: "oops.error-rate <= 100%"
"""
        rc, stdout, stderr, out = run(tmp, script)
        check(rc == 1, f"exit {rc}: {stderr}")
        r = read_report(out)
        check(r["interrupted"] is False, "the run completed")
        check([t["passed"] for t in r["thresholds"]] == [False, True, True], r["thresholds"])
        check(r["thresholds"][0]["actual"] >= 29, r["thresholds"][0])
        check(r["thresholds_passed"] is False, r)
        check("thresholds: 2 passed, 1 failed" in stdout and "FAIL nap.p50 < 10ms" in stdout, stdout)
        suites = junit(out)
        th = suites["thresholds"]
        check(th.get("tests") == "3" and th.get("failures") == "1", th.attrib)
        failed = [c for c in th.iter("testcase") if c.find("failure") is not None]
        check([c.get("name") for c in failed] == ["nap.p50 < 10ms"], [c.attrib for c in failed])
        # Error budgets: nap had no errors (passes); oops failed 10 of 10, within its 100% budget.
        eb = suites["error-budget"]
        check(eb.get("tests") == "2" and eb.get("failures") == "0", eb.attrib)
        names = sorted(c.get("classname") + "/" + c.get("name") for c in eb.iter("testcase"))
        check(names == ["error-budget.failing/oops", "error-budget.napping/nap"], names)


def test_error_budget_without_a_threshold_fails_in_junit_only():
    with tempfile.TemporaryDirectory() as tmp:
        rc, stdout, stderr, out = run(tmp, BASE + FAILING, "--quiet")
        check(rc == 0, f"no thresholds: the exit code stays 0 ({rc}): {stderr}")
        eb = junit(out)["error-budget"]
        check(eb.get("failures") == "1", eb.attrib)
        failure = next(c for c in eb.iter("testcase") if c.find("failure") is not None).find("failure")
        check("10 of 10 failed" in failure.get("message"), failure.attrib)


def test_abort_on_fail_stops_the_run():
    with tempfile.TemporaryDirectory() as tmp:
        script = BASE.replace("user-count: 20, spawn-rate: 400/s", "user-count: 5, task-duration: 60s, max-duration: 60s") + \
            FAILING.replace("user-count: 10", "user-count: 5, task-duration: 60s, max-duration: 60s") + """thresholds:
  errors.rate: {condition: "< 10%", abort-on-fail: true}
"""
        rc, stdout, stderr, out = run(tmp, script, "--quiet")
        check(rc == 1, f"exit {rc}: {stderr}")
        r = read_report(out)
        check(r["aborted_by_threshold"] is True and r["interrupted"] is True, r)
        check(r["totals"]["duration_s"] < 30, f"the run went on for {r['totals']['duration_s']} s")
        check(r["thresholds"][0]["passed"] is False and r["thresholds"][0]["abort_on_fail"] is True, r["thresholds"])
        check("threshold 'errors.rate < 10%' failed during the run" in stderr, stderr)


def test_a_bad_threshold_is_refused_at_planning():
    with tempfile.TemporaryDirectory() as tmp:
        script = BASE + 'thresholds:\n  - "probe.nap.p5O < 300ms"\n  - "nap.p99 < 3 parsecs"\n'
        rc, stdout, stderr, out = run(tmp, script)
        check(rc == 2, f"exit {rc}: {stderr}")
        line = BASE.count("\n") + 2
        check(f"script.yaml:{line}:16: error: unknown metric 'p5O' in threshold 'probe.nap.p5O'" in stderr, stderr)
        check("did you mean 'p50'?" in stderr, stderr)
        check(f"script.yaml:{line + 1}:18: error:" in stderr and "does not fit metric 'p99'" in stderr, stderr)
        check(not os.path.exists(os.path.join(out, "report.json")), "nothing ran")


if __name__ == "__main__":
    main([test_passing_thresholds_exit_0, test_a_failing_threshold_exits_1,
          test_error_budget_without_a_threshold_fails_in_junit_only, test_abort_on_fail_stops_the_run,
          test_a_bad_threshold_is_refused_at_planning])
