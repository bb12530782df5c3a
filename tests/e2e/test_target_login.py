"""ntx-target's login routes, spoken to directly over HTTP and through ntx: POST /login answers a token,
/api/me and /api/orders want it as a bearer token (401 without, or with a forged one); --help lists
every route."""
import json
import subprocess
import tempfile
import urllib.error
import urllib.request

from harness import TARGET, Target, action, check, free_port, main, run_script, scenario

PORT = free_port()
BASE = f"http://127.0.0.1:{PORT}"


def request(method, path, body=None, headers=None):
    req = urllib.request.Request(BASE + path, method=method, data=body.encode() if body is not None else None,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def test_login_and_bearer_routes():
    with Target(PORT, PORT):
        status, body = request("POST", "/login", json.dumps({"user": "ada", "password": "pw"}))
        check(status == 200 and isinstance(body["token"], str), f"{status} {body}")
        token = body["token"]
        auth = {"Authorization": f"Bearer {token}"}
        check(request("GET", "/api/me", headers=auth) == (200, {"user": "ada"}), "me")
        check(request("POST", "/api/orders", "{}", auth) == (201, {"order": 1, "user": "ada"}), "first order")
        check(request("POST", "/api/orders", "{}", auth)[1]["order"] == 2, "orders are numbered")
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {token}"},
                        {"Authorization": "Bearer " + token[:-1] + ("0" if token[-1] != "0" else "1")},
                        # another user's name with ada's hash
                        {"Authorization": "Bearer " + "626f62" + token[token.index("."):]}):
            status, body = request("GET", "/api/me", headers=headers)
            check(status == 401 and "Bearer" in body["error"], f"{headers}: {status} {body}")
        for bad in ("not json", "[]", '{"user": "ada"}', '{"user": "", "password": "x"}', '{"user": 1, "password": "x"}'):
            status, body = request("POST", "/login", bad)
            check(status == 400 and body["error"], f"{bad}: {status} {body}")
        # Unicode and quotes in a user name survive the round trip.
        status, body = request("POST", "/login", json.dumps({"user": 'é"x', "password": "p"}))
        check(request("GET", "/api/me", headers={"Authorization": f"Bearer {body['token']}"}) == (200, {"user": 'é"x'}),
              "unicode user")


def test_help_lists_routes():
    p = subprocess.run([TARGET, "--help"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 0, p.stderr)
    for route in ("/asset", "/status/CODE", "/slow?ms=N", "/chunked?n=N", "/close", "POST /login", "GET /api/me",
                  "POST /api/orders", "/_stats", "/_stats/reset"):
        check(route in p.stdout, f"{route} not in --help: {p.stdout}")


def test_ntx_logs_in_and_is_refused_without_the_token():
    # Through ntx: every user's login is ok, and a bearer header that is not an issued token is a counted
    # 401 (the capture of the token itself is save-as extract's test, with the captures).
    script = f"""
actions:
  login:
    call: http.post
    with: {{url: "{BASE}/login", body: '{{"user": "u{{{{env.user_id}}}}", "password": "p"}}'}}
    save-as: login
  me:
    call: http.get
    with: {{url: "{BASE}/api/me", headers: {{authorization: "Bearer nope"}}}}
workflows: {{w: {{steps: [{{ref: login}}, {{ref: me}}]}}}}
load: {{scenarios: [{{name: s, workflow: w, user-count: 4}}]}}
"""
    with Target(PORT, PORT) as target, tempfile.TemporaryDirectory() as tmp:
        _, report = run_script(tmp, script, "-q")
        s = scenario(report, "s")
        check(action(s, "login")["ok"] == 4, f"{action(s, 'login')}")
        me = action(s, "me")
        check(me["errors"] == 4 and me["status_classes"] == {"4xx": 4}, f"a forged token is refused: {me}")
        check(target.stats()["requests"] == 8, "8 requests")


if __name__ == "__main__":
    main([test_login_and_bearer_routes, test_help_lists_routes, test_ntx_logs_in_and_is_refused_without_the_token])
