"""Result streams: config.yaml `outputs:` and `--out-stream KIND=FILE` write every interval (CSV and
JSON lines, per scenario and per action) and every finished task (JSON lines) while the run goes;
their sums are report.json's. Unknown kinds (OTLP: no Debian package) are refused before the run."""
import csv
import json
import os
import tempfile

from harness import NTX, PROBE_COMPONENT, check, main, read_report, run_ntx, run_script, write_res_dir

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  naps: {{steps: [{{ref: nap}}, {{ref: oops}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "20"}}}}
  oops: {{component: probe, call: fail}}
load:
  scenarios:
    - {{name: napping, workflow: naps, user-count: 3, task-duration: 2500ms, max-duration: 2500ms}}
"""
CONFIG = "outputs:\n  - {csv: intervals.csv}\n  - {tasks: tasks.jsonl}\n"


def test_interval_and_task_streams_add_up_to_the_report():
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = os.path.join(tmp, "streams", "intervals.jsonl")
        run, r = run_script(tmp, SCRIPT, "--quiet", "--out-stream", f"jsonl={jsonl}", files={"config.yaml": CONFIG})
        actions = {a["name"]: a for a in r["scenarios"][0]["actions"]}
        with open(os.path.join(run.out, "intervals.csv")) as f:
            rows = list(csv.DictReader(f))
        check(rows and list(rows[0]) == ["t_s", "scenario", "action", "ok", "errors", "timeouts", "p50_ms", "p95_ms",
                                         "p99_ms", "online"], rows[:1])
        for name, a in actions.items():
            mine = [x for x in rows if x["action"] == name]
            check(len(mine) >= 3, f"{name}: a row per second: {len(mine)}")
            check(sum(int(x["ok"]) for x in mine) == a["ok"] and sum(int(x["errors"]) for x in mine) == a["errors"],
                  f"{name}: csv sums vs report")
        scen = [x for x in rows if x["action"] == ""]
        check(sum(int(x["ok"]) + int(x["errors"]) for x in scen) == r["totals"]["ok"] + r["totals"]["errors"], "scenario rows")
        check(all(x["online"] != "" for x in scen), "scenario rows carry online users")
        with open(jsonl) as f:
            lines = [json.loads(l) for l in f]
        kinds = {}
        for x in lines:
            if x.get("action") == "oops":
                for k, n in x.get("errors_by_kind", {}).items():
                    kinds[k] = kinds.get(k, 0) + n
        check(kinds == actions["oops"]["errors_by_kind"], f"jsonl errors by kind {kinds}")
        check(sum(x["ok"] for x in lines if x.get("action") == "nap") == actions["nap"]["ok"], "jsonl sums")
        naps = [x for x in lines if x.get("action") == "nap" and x["ok"]]
        check(all(20 <= x["p50_ms"] <= x["p95_ms"] <= x["p99_ms"] for x in naps), naps[:3])
        with open(os.path.join(run.out, "tasks.jsonl")) as f:
            tasks = [json.loads(l) for l in f]
        check(len(tasks) == r["workbook"]["entries"] > 0, f"{len(tasks)} task lines, {r['workbook']['entries']} entries")
        check(len({(t["user_id"], t["task_id"]) for t in tasks}) == len(tasks), "each task once")


def test_unknown_kinds_are_refused_before_the_run():
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, SCRIPT, files={"config.yaml": "outputs:\n  - {otlp: http://127.0.0.1:4318}\n"})
        rc, out, err = run_ntx("run", res, "--quiet")
        check(rc == 2 and "config.yaml:2:" in err and "OpenTelemetry" in err, f"{rc} {err}")
        res = write_res_dir(os.path.join(tmp, "b"), SCRIPT)
        rc, out, err = run_ntx("run", res, "--quiet", "--out-stream", "influx=x")
        check(rc == 2 and "unknown kind 'influx'" in err, f"{rc} {err}")
        rc, out, err = run_ntx("run", res, "--quiet", "--out-stream", "csv")
        check(rc == 2 and "KIND=TARGET" in err, f"{rc} {err}")


if __name__ == "__main__":
    main([test_interval_and_task_streams_add_up_to_the_report, test_unknown_kinds_are_refused_before_the_run])
