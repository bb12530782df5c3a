"""user.context: a scenario's baseline context, workbook fields set from templates as each task's entry
opens (before its first step), readable by the workflow as {{workbook.*}} and in workbook.jsonl; and
what it may not read (a variable no step has saved yet) is a planning error."""
import json
import os
import tempfile

from harness import check, main, run_script, scenario, validate_script

SCRIPT = """
resources:
  targets:
    type: pair_pool
    config:
      manifest: ./pairs.csv
      parser: {format: csv, fields: [ip, port]}
workbook:
  governance:
    fields: [team]
  registers:
    defaults: {target: none, seen: none}
  expose:
    team: governance.team
workflows:
  w:
    steps:
      - think: 5ms
      - update-workbook: {registers.seen: "{{workbook.team}} at {{workbook.registers.target}}"}
load:
  scenarios:
    - name: leased
      workflow: w
      user-count: 3
      task-duration: 200ms
      user:
        inherit: [targets]
        context:
          team: "team-{{env.scenario}}-{{env.user_id}}"
          registers: {target: "{{resource.ip}}:{{resource.port}}"}
    - {name: plain, workflow: w, user-count: 1}
"""
PAIRS = "127.0.0.1,20001\n127.0.0.1,20002\n127.0.0.1,20003\n"


def test_context_fills_every_task_entry():
    with tempfile.TemporaryDirectory() as tmp:
        run, report = run_script(tmp, SCRIPT, "--workbook-retain", "all", files={"pairs.csv": PAIRS})
        with open(os.path.join(run.out, "workbook.jsonl")) as f:
            entries = [json.loads(line) for line in f]
        leased = [e for e in entries if e["scenario"] == "leased"]
        check(len(leased) == scenario(report, "leased")["tasks"] and len(leased) > 3,
              f"an entry per task, several tasks per user: {len(leased)}")
        targets = set()
        for e in leased:
            team = f"team-leased-{e['user_id']}"
            regs = e["sections"]["registers"]
            check(e["sections"]["governance"]["team"] == team, e)
            check(regs["target"].startswith("127.0.0.1:2000"), e)
            # The workflow's first update-workbook already reads the context: it was set before step 1.
            check(regs["seen"] == f"{team} at {regs['target']}", e)
            targets.add((e["user_id"], regs["target"]))
        users = {u for u, _ in targets}
        check(len(users) == 3 and len(targets) == 3, f"each user keeps its leased item in every task: {targets}")
        plain = [e for e in entries if e["scenario"] == "plain"]
        check(len(plain) == 1 and plain[0]["sections"]["registers"]["target"] == "none" and
              plain[0]["sections"]["registers"]["seen"] == " at none", f"no context: the defaults {plain}")


def test_context_reads_only_what_a_task_start_has():
    bad = ('components:\n  - {name: http, version: "0.2.2", entry: http}\n' +
           SCRIPT.replace('''          team: "team-{{env.scenario}}-{{env.user_id}}"''', '''          team: "{{token.body}}"''')
           .replace("      - think: 5ms\n",
                    '      - think: 5ms\n      - {action: http.get, with: {url: "http://127.0.0.1:1/"}, save-as: token}\n', 1))
    err = validate_script(bad, files={"pairs.csv": PAIRS})
    check(err.count(": error: ") == 1, err)
    check("user.context.governance.team reads 'token', but the context is set as each task starts, before any step "
          "saved it" in err, err)
    missing = SCRIPT.replace("registers: {target:", "registers: {targt:")
    err = validate_script(missing, files={"pairs.csv": PAIRS})
    check(err.count(": error: ") == 1, err)
    check("user.context: the workbook has no field or alias 'registers.targt' (did you mean 'registers.target'?)" in err,
          err)


if __name__ == "__main__":
    main([test_context_fills_every_task_entry, test_context_reads_only_what_a_task_start_has])
