"""save-as scopes and persist, against the bundled target server: task-local variables are gone at the
next task, user-local ones stay, a global one saved by one user is read by later users, and persist
writes one JSON file per save (off the hot path) whose contents are what the server sent; a file name
that does not render to a bare name is a counted persist error, and the run goes on."""
import glob
import json
import os
import tempfile

from harness import Target, action, check, free_port, main, run_script, scenario, validate_script

USERS = 6
TASKS_PER_USER = 4  # task-duration and a think make every user run about this many tasks


def script(port):
    return f"""
components:
  - {{name: http, version: "0.2.0", entry: http}}
workflows:
  # Each task: the first visit of a user (nothing saved yet) or a repeat visit (saved by an earlier task).
  user-memory:
    steps:
      - if: "exists(seen_user.status)"
        then: [{{ref: repeat-user}}]
        else: [{{ref: first-user}}]
      - if: "exists(seen_task.status)"
        then: [{{ref: repeat-task}}]
        else: [{{ref: first-task}}]
      - {{think: 200ms}}
  # Every user: publish the global unless some user (an earlier one) already did.
  shared:
    steps:
      - if: "exists(global.token.status)"
        then: [{{ref: reuse-global}}]
        else: [{{ref: publish-global}}]
  persisted:
    steps:
      - ref: save-file
      - ref: bad-name
      - ref: to-ledger
      - if: "workbook.ledger_token == ledger_token.body && workbook.ledger_token.body == ledger_token.body && length(ledger_token.body) > 3"
        then: [{{ref: read-ledger}}]
        else: [{{goto: error_out}}]
actions:
  first-user:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{port}/asset"}}
    save-as: {{var: seen_user, scope: user-local}}
  repeat-user: {{component: http, call: get, with: {{url: "http://127.0.0.1:{port}/asset?again={{{{seen_user.status}}}}"}}}}
  first-task:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{port}/asset"}}
    save-as: {{var: seen_task, scope: task-local}}
  repeat-task: {{component: http, call: get, with: {{url: "http://127.0.0.1:{port}/asset"}}}}
  publish-global:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{port}/asset"}}
    save-as: {{var: token, scope: global}}
  reuse-global:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{port}/status/{{{{global.token.status}}}}"}}
  save-file:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{port}/asset"}}
    save-as:
      var: asset
      persist: {{type: file, dir: artifacts/assets, filename: "{{{{env.user_id}}}}-asset.json"}}
  bad-name:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{port}/asset"}}
    save-as:
      var: other
      persist: {{dir: artifacts/bad, filename: "{{{{other.status}}}}/x.json"}}
  to-ledger:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{port}/status/203"}}
    save-as: {{var: ledger_token, scope: workbook}}
  read-ledger:
    component: http
    call: get
    with: {{url: "http://127.0.0.1:{port}/status/{{{{ledger_token.status}}}}?from-ledger={{{{length(workbook.ledger_token)}}}}"}}
load:
  scenarios:
    - {{name: user-memory, workflow: user-memory, user-count: {USERS}, task-duration: 700ms}}
    - {{name: shared, workflow: shared, user-count: 10, spawn-rate: 10/s}}
    - {{name: persisted, workflow: persisted, user-count: {USERS}}}
"""


def test_scopes_and_persist():
    port = free_port()
    with Target(port, port) as target, tempfile.TemporaryDirectory() as tmp:
        # config.yaml: log.mask, the defaults and the Server header.
        run, r = run_script(tmp, script(port), "--workbook-retain", "all",
                            files={"config.yaml": "log: {mask: [password, token, authorization, cookie, server]}\n"})
        out, stdout = run.out, run.stdout

        # user-local: one first visit per user, every later task a repeat; task-local: always a first visit.
        s = scenario(r, "user-memory")
        tasks = s["tasks"]
        check(tasks >= 2 * USERS, f"every user ran several tasks: {tasks}")
        check(action(s, "first-user")["ok"] == USERS, f"first-user {action(s, 'first-user')}")
        check(action(s, "repeat-user")["ok"] == tasks - USERS, f"repeat-user {action(s, 'repeat-user')} of {tasks} tasks")
        check(action(s, "first-task")["ok"] == tasks, f"first-task {action(s, 'first-task')} of {tasks} tasks")
        check(action(s, "repeat-task")["count"] == 0, f"repeat-task {action(s, 'repeat-task')}")

        # global: the first user publishes; users spawned 100 ms apart later read it (status 200 -> /status/200).
        s = scenario(r, "shared")
        published, reused = action(s, "publish-global")["ok"], action(s, "reuse-global")
        check(published >= 1 and published + reused["count"] == 10, f"publish {published} reuse {reused}")
        check(reused["ok"] >= 5 and reused["errors"] == 0, f"later users read the global: {reused}")
        check(target.stats()["by_path"].get("/status/200", 0) == reused["ok"],
              f"the global's value reached the server: {target.stats()}")

        # persist: one file per user, the saved fields as JSON; the bad names are counted, not written.
        files = sorted(glob.glob(os.path.join(out, "artifacts", "assets", "*-asset.json")))
        check(len(files) == USERS, f"persisted files: {files}")
        ids = sorted(int(os.path.basename(p).split("-")[0]) for p in files)
        check(len(set(ids)) == USERS, f"one file per user id: {ids}")
        with open(files[0]) as f:
            saved = json.load(f)
        check(saved.get("status") == "200" and len(saved.get("body", "")) > 0, f"file contents: {str(saved)[:200]}")
        check(saved.get("headers.server") == "***", f"log.mask names the Server header: {str(saved)[:300]}")
        check(not os.path.exists(os.path.join(out, "artifacts", "bad")), "no file for a bad name")
        p = r["persist"]
        check(p["files"] == USERS and p["errors"] == USERS, f"report persist: {p}")
        check("is not a bare file name" in p["first_error"], p["first_error"])
        check(p["bytes"] == sum(os.path.getsize(x) for x in files), f"persist bytes {p['bytes']}")
        check("persist: 6 files" in stdout, stdout[-600:])

        # scope workbook: the body is also the entry's registers.<var>, read back as {{workbook.<var>}}
        # (equal to the saved body: the if above let every user through); log.mask names it (a "token"),
        # so the snapshot shows *** instead.
        s = scenario(r, "persisted")
        check(action(s, "read-ledger")["ok"] == USERS, f"read-ledger {action(s, 'read-ledger')}")
        check(target.stats()["by_path"].get("/status/203") == 2 * USERS, f"target saw {target.stats()['by_path']}")
        entries = [json.loads(line) for line in open(os.path.join(out, "workbook.jsonl"))]
        mine = [e for e in entries if e["scenario"] == "persisted"]
        check(len(mine) == USERS, f"{len(mine)} persisted entries")
        for e in mine:
            reg = e.get("sections", {}).get("registers", {}).get("ledger_token")
            check(reg == "***", f"registers.ledger_token masked in {e}")


def test_scope_mistakes_are_planning_errors():
    stderr = validate_script("""components:
  - {name: http, version: "0.2.0", entry: http}
workflows:
  w:
    steps: [{ref: a}, {ref: b}, {ref: c}]
actions:
  a: {component: http, call: get, with: {url: "http://127.0.0.1:1/"}, save-as: {var: x, scope: user-local}}
  b: {component: http, call: get, with: {url: "http://127.0.0.1:1/{{global.x}}"}, save-as: {var: x, scope: gobal}}
  c:
    component: http
    call: get
    with: {url: "http://127.0.0.1:1/"}
    save-as: {var: y, persist: {type: s3, dir: d}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
""")
    # (x is user-local, so global.x names nothing; the scope typo gets a hint.)
    for want in ("script.yaml:8:67: error: 'global.x': no action saves a global variable named 'x'",
                 "script.yaml:8:108: error: unknown save-as scope 'gobal' (did you mean 'global'?)",
                 "script.yaml:13:39: error: unknown persist type 's3' (file)",
                 "script.yaml:13:32: error: persist needs 'filename'"):
        check(want in stderr, f"missing {want!r} in:\n{stderr}")


if __name__ == "__main__":
    main([test_scopes_and_persist, test_scope_mistakes_are_planning_errors])
