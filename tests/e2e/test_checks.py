"""check: and expect-status against a real nginx. Each check is counted pass / fail per action (✓/✗ in
the summary, `checks` in report.json) and a failing one does not fail its action, unless the action
says check-fails-action (then it is an error of kind `check` and the task ends through error_out);
expect-status decides which statuses succeed, both ways; thresholds read checks.rate and
<action>.checks.rate. Without a result (a refused connection) every check of the action fails."""
import tempfile

from harness import action, check, free_port, main, run_script, scenario, validate_script
from nginx_server import HELLO, Nginx

USERS = 4


def script(n, closed, thresholds):
    base = f"http://127.0.0.1:{n.http_port}"
    return f"""
components:
  - {{name: http, version: "0.2.0", entry: http}}
workflows:
  checked:
    steps:
      - action: http.get
        name: hello
        with: {{url: "{base}/static/hello.txt"}}
        save-as: {{var: h, extract: {{word: {{regex: "hello (\\\\w+)"}}}}}}
        check:
          - status == 200
          - contains(body, "hello")
          - h.word == "from"
          - contains(body, "goodbye")
      - action: http.get
        name: missing-ok
        with: {{url: "{base}/status/404"}}
        expect-status: [200, 404]
        check: [status == 404]
      - action: http.get
        name: wants-201
        with: {{url: "{base}/static/hello.txt"}}
        expect-status: [201]
  strict:
    steps:
      - action: http.get
        name: strict-get
        with: {{url: "{base}/static/hello.txt"}}
        check: [length(body) > 1000]
        check-fails-action: true
      - {{action: http.get, name: never, with: {{url: "{base}/static/hello.txt"}}}}
  refused:
    steps:
      - action: http.get
        name: refused-get
        with: {{url: "http://127.0.0.1:{closed}/"}}
        check: [status == 200]
load:
  scenarios:
    - {{name: checked, workflow: checked, user-count: {USERS}}}
    - {{name: strict, workflow: strict, user-count: 2}}
    - {{name: refused, workflow: refused, user-count: 1}}
thresholds:
{thresholds}"""


def test_checks_are_counted_and_shown():
    with Nginx() as n, tempfile.TemporaryDirectory() as tmp:
        thresholds = '  - "hello.checks.rate >= 75%"\n  - "missing-ok.checks.rate == 100%"\n  - "checks.rate > 99%"\n'
        run, report = run_script(tmp, script(n, free_port(), thresholds), expect_exit=1)
        c = scenario(report, "checked")
        hello = action(c, "hello")
        check(hello["ok"] == USERS and hello["errors"] == 0, hello)  # a failed check does not fail the action
        check(hello["checks"] == [{"check": "status == 200", "pass": USERS, "fail": 0},
                                  {"check": 'contains(body, "hello")', "pass": USERS, "fail": 0},
                                  {"check": 'h.word == "from"', "pass": USERS, "fail": 0},
                                  {"check": 'contains(body, "goodbye")', "pass": 0, "fail": USERS}], hello["checks"])
        missing = action(c, "missing-ok")
        check(missing["ok"] == USERS and missing["errors"] == 0 and missing["status_classes"] == {"4xx": USERS}, missing)
        check(missing["checks"] == [{"check": "status == 404", "pass": USERS, "fail": 0}], missing)
        wants = action(c, "wants-201")
        check(wants["ok"] == 0 and wants["errors_by_kind"] == {"status": USERS}, wants)
        check(wants["error_examples"]["status"]["reason"] == "status 200 is not among expect-status [201]", wants)

        strict = scenario(report, "strict")
        sg = action(strict, "strict-get")
        check(sg["errors_by_kind"] == {"check": 2} and sg["checks"][0]["fail"] == 2, sg)
        check(sg["error_examples"]["check"]["reason"] == "check failed: length(body) > 1000", sg)
        check(action(strict, "never")["count"] == 0 and strict["exits"]["error_out"] == 2, strict)

        refused = action(scenario(report, "refused"), "refused-get")
        check(refused["checks"] == [{"check": "status == 200", "pass": 0, "fail": 1}], refused)

        # 4 + 4 + 4 + 0 + 4 passed of 4*5 + 2 + 1 checks.
        check(report["checks"] == {"pass": 16, "fail": 7, "rate": round(16 / 23, 3)}, report["checks"])
        t = {x["expression"]: x for x in report["thresholds"]}
        check(t["hello.checks.rate >= 75%"]["passed"] and t["hello.checks.rate >= 75%"]["actual"] == 0.75, t)
        check(t["missing-ok.checks.rate == 100%"]["passed"], t)
        check(not t["checks.rate > 99%"]["passed"] and t["checks.rate > 99%"]["metric"] == "checks.rate", t)
        check("\u2713 status == 200 (4 of 4)" in run.stdout, run.stdout)
        check('\u2717 contains(body, "goodbye") (4 of 4 failed)' in run.stdout, run.stdout)
        check(HELLO.startswith("hello from"), "nginx's hello text is what the extract expects")


def test_bad_checks_are_planning_errors():
    err = validate_script("""
components:
  - {name: http, version: "0.2.0", entry: http}
workflows:
  w: {steps: [{ref: a}]}
actions:
  a:
    component: http
    call: get
    with: {url: "http://127.0.0.1:1/"}
    check:
      - "stauts == 200"
      - "status == "
    expect-status: [200, 99]
    check-fails-action: maybe
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
thresholds:
  - "checks.ratio > 1%"
""")
    check("script.yaml:12:" in err and "stauts" in err, err)
    check("script.yaml:13:" in err, err)
    check("script.yaml:14:26: error: expect-status 99 is not a status" in err, err)
    check("script.yaml:15:" in err, err)
    check("script.yaml:20:" in err and "unknown metric 'checks.ratio'" in err, err)


if __name__ == "__main__":
    main([test_checks_are_counted_and_shown, test_bad_checks_are_planning_errors])
