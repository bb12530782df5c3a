"""Why a run failed, without a debug log: the first error of each kind (its reason, user, task and time)
is in report.json's `error_examples` and in the summary, log.mask applied; the first condition that
could not be evaluated is in `condition_error_example`. The user and task named are a real workbook
entry that ended in error."""
import json
import os
import re
import tempfile

from harness import action, check, free_port, main, run_script, scenario


def script(closed_port):
    return f"""
components:
  - {{name: http, version: "0.2.2", entry: http}}
workflows:
  no-scheme:
    steps: [{{ref: fetch-config}}]
  refused:
    steps: [{{ref: fetch-closed}}]
  broken-if:
    steps:
      - if: "number('not a number') > 1"
        then: [{{ref: fetch-closed}}]
actions:
  fetch-config:
    component: http
    call: get
    # Bad only once rendered: a literal url without its scheme is refused at validation (the
    # plugin's validate_action, test_plugin_params), this one fails each run as `invalid`.
    with: {{url: "{{{{ '' }}}}127.0.0.1:{closed_port}/cfg?token=s3cr3t"}}
  fetch-closed:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{closed_port}/"}}
load:
  scenarios:
    - {{name: bad-url, workflow: no-scheme, user-count: 3}}
    - {{name: down, workflow: refused, user-count: 2}}
    - {{name: bad-condition, workflow: broken-if, user-count: 2}}
"""


CONFIG = "threads: 2\n"


def test_first_error_of_each_kind():
    closed = free_port()  # nothing listens there: connects are refused
    with tempfile.TemporaryDirectory() as tmp:
        # Errors are counted; without thresholds the run passes (exit 0).
        run, report = run_script(tmp, script(closed), files={"config.yaml": CONFIG})
        # The summary wraps long lines at 100 columns onto lines indented by 4 (a scenario's) or 8 (an
        # action's): read them joined.
        out, err = re.sub(r"\n(?: {8}| {4})(?=\S)", " ", run.stdout), run.stderr
        with open(os.path.join(run.out, "report.json")) as f:
            raw = f.read()
        entries = {}
        with open(os.path.join(run.out, "workbook.jsonl")) as f:
            for line in f:
                e = json.loads(line)
                entries[(e["user_id"], e["task_id"])] = e

        bad = action(scenario(report, "bad-url"), "fetch-config")
        check(bad["errors_by_kind"] == {"invalid": 3}, bad)
        ex = bad["error_examples"]
        check(set(ex) == {"invalid"}, ex)
        reason = ex["invalid"]["reason"]
        # log.mask ends the masked value at a space: the closing quote goes with it.
        check(reason.startswith(f'invalid url "127.0.0.1:{closed}/cfg?token=***') and
              reason.endswith("expected http://host[:port]/path"), reason)
        check(0 <= ex["invalid"]["at_s"] <= report["totals"]["duration_s"], ex)
        key = (ex["invalid"]["user"], ex["invalid"]["task"])
        check(key in entries and entries[key]["scenario"] == "bad-url" and entries[key]["state"] == "closing.error",
              f"{key} is a workbook entry of bad-url that ended in error: {entries.get(key)}")
        check(f"error invalid: 3, the first (user {key[0]}, task {key[1]}, at " in out and
              "expected http://host[:port]/path" in out, out)

        down = action(scenario(report, "down"), "fetch-closed")
        check(down["errors_by_kind"] == {"connect": 2}, down)
        reason = down["error_examples"]["connect"]["reason"]
        check(f"127.0.0.1:{closed}" in reason and "refused" in reason.lower(), reason)
        key = (down["error_examples"]["connect"]["user"], down["error_examples"]["connect"]["task"])
        check(key in entries and entries[key]["scenario"] == "down", f"{key}: {entries.get(key)}")

        cond = scenario(report, "bad-condition")
        check(cond["condition_errors"] == 2, cond)
        example = cond["condition_error_example"]
        check(example.startswith("[user=") and "number" in example and "error_out" in example, example)
        check(f"2 conditions or workbook updates could not be evaluated; the first: {example}" in out, out)
        check(scenario(report, "down")["condition_error_example"] == "", "no condition failed there")

        # log.mask: the token never reaches the summary, the report or the log.
        check("s3cr3t" not in out and "s3cr3t" not in err and "s3cr3t" not in raw, "the token is masked everywhere")


def test_no_errors_no_examples():
    """A run without errors has empty examples (the key is always present)."""
    with tempfile.TemporaryDirectory() as tmp:
        run, report = run_script(tmp, """
workflows:
  w: {steps: [{think: 1ms}]}
load:
  scenarios: [{name: s, workflow: w, user-count: 1}]
""")
        check(report["scenarios"][0]["condition_error_example"] == "", report["scenarios"][0])
        check("the first (user" not in run.stdout, run.stdout)


if __name__ == "__main__":
    main([test_first_error_of_each_kind, test_no_errors_no_examples])
