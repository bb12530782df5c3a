"""save-as extract against a real nginx: a JSON pointer, a JSONPath, a header regex and a body regex
capture values that the next request uses in its URL (nginx answers 200 only for the file the right
value names, so a wrong capture is a counted 404, never a silent pass). An extract that finds nothing
(a missing member, a body that is not JSON, a regex with no match) is a counted `extract` error with
the first example, unless it has a default; and a pattern that does not compile is a planning error."""
import json
import os
import tempfile

from harness import action, check, main, run_script, scenario, validate_script
from nginx_server import Nginx

LOGIN = json.dumps({"token": "tok123", "user": {"id": 42, "roles": ["a", "b"]}, "items": [{"name": "first"}]})
PAGE = '<form><input name="csrf" value="c-77"></form>'
FILES = {
    "login.json": LOGIN,
    "page.html": PAGE,
    "broken.json": '{"token": "tok123", ',
    "tok123.txt": "token ok\n",
    "user-42-b.txt": "user ok\n",
    "first.txt": "item ok\n",
    "c-77.txt": "csrf ok\n",
    f"len-{len(LOGIN)}.txt": "length ok\n",
}
USERS = 3


def script(n):
    base = f"http://127.0.0.1:{n.http_port}/static"
    return f"""
components:
  - {{name: http, version: "0.2.0", entry: http}}
workflows:
  flow:
    steps:
      - ref: login
      - {{action: http.get, name: use-token, with: {{url: "{base}/{{{{login.token}}}}.txt"}}}}
      - {{action: http.get, name: use-user, with: {{url: "{base}/user-{{{{login.uid}}}}-{{{{login.role}}}}.txt"}}}}
      - {{action: http.get, name: use-item, with: {{url: "{base}/{{{{login.item}}}}.txt"}}}}
      - {{action: http.get, name: use-length, with: {{url: "{base}/len-{{{{login.len}}}}.txt"}}}}
      - ref: page
      - {{action: http.get, name: use-csrf, with: {{url: "{base}/{{{{page.csrf}}}}.txt"}}}}
  missing:
    steps:
      - ref: want-missing
      - {{action: http.get, name: after-missing, with: {{url: "{base}/tok123.txt"}}}}
  defaults:
    steps:
      - ref: with-defaults
      - {{action: http.get, name: use-default, with: {{url: "{base}/{{{{d.token}}}}.txt"}}}}
  not-json:
    steps:
      - ref: read-broken
actions:
  login:
    component: http
    call: get
    with: {{url: "{base}/login.json"}}
    save-as:
      var: login
      extract:
        token: {{json: /token}}
        uid:   {{json: $.user.id}}
        role:  {{json: "/user/roles/1"}}
        item:  {{json: "$.items[0].name"}}
        len:   {{header: Content-Length, regex: "(\\\\d+)"}}
  page:
    component: http
    call: get
    with: {{url: "{base}/page.html"}}
    save-as:
      var: page
      extract:
        csrf: {{regex: 'name="csrf" value="([^"]+)"'}}
  want-missing:
    component: http
    call: get
    with: {{url: "{base}/login.json"}}
    save-as:
      var: m
      extract:
        token: {{json: /token}}
        nick: {{json: /user/nick}}
  with-defaults:
    component: http
    call: get
    with: {{url: "{base}/broken.json"}}
    save-as:
      var: d
      extract:
        token: {{json: /token, default: tok123}}
        etag: {{header: etag, regex: "no-such-thing", default: none}}
  read-broken:
    component: http
    call: get
    with: {{url: "{base}/broken.json"}}
    save-as:
      var: b
      extract:
        token: {{json: /token}}
load:
  scenarios:
    - {{name: flow, workflow: flow, user-count: {USERS}}}
    - {{name: missing, workflow: missing, user-count: 2}}
    - {{name: defaults, workflow: defaults, user-count: 2}}
    - {{name: not-json, workflow: not-json, user-count: 2}}
"""


def test_captures_feed_the_next_requests():
    with Nginx(static_files=FILES) as n, tempfile.TemporaryDirectory() as tmp:
        run, report = run_script(tmp, script(n))
        flow = scenario(report, "flow")
        for name in ("login", "use-token", "use-user", "use-item", "use-length", "page", "use-csrf"):
            a = action(flow, name)
            check(a["ok"] == USERS and a["errors"] == 0, f"{name}: {a}")
        # nginx saw each captured value in a URL, once per user.
        for uri in ("/static/tok123.txt", "/static/user-42-b.txt", "/static/first.txt", "/static/c-77.txt",
                    f"/static/len-{len(LOGIN)}.txt"):
            check(n.count(uri=uri, status=200) >= USERS, f"{uri}: {n.requests()}")

        miss = action(scenario(report, "missing"), "want-missing")
        check(miss["ok"] == 0 and miss["errors"] == 2 and miss["errors_by_kind"] == {"extract": 2}, miss)
        reason = miss["error_examples"]["extract"]["reason"]
        check(reason == "extract 'nick' {json: /user/nick}: no such member: 'nick' at /user", reason)
        # The failed action ends the task (error_out): the next step never runs.
        check(action(scenario(report, "missing"), "after-missing")["count"] == 0, scenario(report, "missing"))
        check(scenario(report, "missing")["exits"]["error_out"] == 2, scenario(report, "missing"))

        d = scenario(report, "defaults")
        check(action(d, "with-defaults")["ok"] == 2 and action(d, "use-default")["ok"] == 2, d)

        bad = action(scenario(report, "not-json"), "read-broken")
        check(bad["errors_by_kind"] == {"extract": 2}, bad)
        check("the body is not JSON" in bad["error_examples"]["extract"]["reason"], bad)
        check("error extract: 2" in run.stdout, run.stdout)


def test_bad_patterns_are_planning_errors():
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
    save-as:
      var: a
      extract:
        x: {regex: "sid=([^;]+"}
        y: {json: "token"}
        z: {json: "$.a[*]"}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
""")
    check("script.yaml:14:" in err and "does not compile" in err, err)
    check("script.yaml:15:20: error:" in err and "must start with '/'" in err, err)
    check("script.yaml:16:" in err and "a bracket holds an index" in err, err)


if __name__ == "__main__":
    main([test_captures_feed_the_next_requests, test_bad_patterns_are_planning_errors])
