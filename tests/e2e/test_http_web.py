"""The http plugin as a web application's users meet it, against real servers on 127.0.0.1: a login
through nginx that sets a session cookie on a 302 and an account page that answers only with it, a
gzip-encoded JSON document decoded before the script reads it, and form, multipart (a file_blob part),
JSON and basic-auth requests checked by what a Python server received. Bad servers: malformed and
foreign Set-Cookie headers (ignored and counted, the action succeeds), a truncated and a corrupt gzip
body (`protocol`), a decompression bomb (`limit`); the run goes on and writes its report."""
import base64
import email.parser
import gzip
import json
import os
import re
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import action, check, main, run_script, scenario, validate_script
from nginx_server import Nginx

USERS = 4

ITEMS = json.dumps({"items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(300)]},
                   separators=(",", ":"))

BLOB = bytes((i * 13 + 5) % 251 for i in range(20_000)).replace(b"{", b"(")


class Upstream(ThreadingHTTPServer):
    """Records every request (method, path, headers, body) and answers by path."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]
        self.lock = threading.Lock()
        self.received = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def record(self, req):
        with self.lock:
            self.received.append(req)

    def requests(self, path):
        with self.lock:
            return [r for r in self.received if r["path"] == path]

    def close(self):
        self.shutdown()
        self.server_close()


GZ_ITEMS = gzip.compress(ITEMS.encode())
BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.handle_any(b"")

    def do_POST(self):
        self.handle_any(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def handle_any(self, body):
        self.server.record({"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                            "body": body})
        if self.path == "/bad-cookies":
            self.reply(200, b"ok", [("Set-Cookie", "novalue"), ("Set-Cookie", "=empty"),
                                    ("Set-Cookie", "sp ace=1"), ("Set-Cookie", "evil=1; Domain=attacker.test"),
                                    ("Set-Cookie", "good=yes; Path=/")])
        elif self.path == "/echo-cookie":
            self.reply(200, self.headers.get("Cookie", "-").encode())
        elif self.path == "/truncated":
            self.reply(200, GZ_ITEMS[: len(GZ_ITEMS) // 2], [("Content-Encoding", "gzip")])
        elif self.path == "/corrupt":
            bad = bytearray(GZ_ITEMS)
            for i in range(20, 60):
                bad[i] ^= 0xA5
            self.reply(200, bytes(bad), [("Content-Encoding", "gzip")])
        elif self.path == "/bomb":
            self.reply(200, BOMB, [("Content-Encoding", "gzip")])
        else:
            self.reply(200, b'{"ok":true}', [("Content-Type", "application/json")])


def script(nginx, up):
    n = f"http://127.0.0.1:{nginx.http_port}"
    n2 = f"http://127.0.0.1:{nginx.h2c_port}"
    u = f"http://127.0.0.1:{up.port}"
    return f"""components:
  - {{name: http, version: "0.2.2", entry: http}}
resources:
  report:
    type: file_blob
    config: {{file: ./report.bin}}
workflows:
  web:
    steps:
      - ref: login
      - log: "LOGIN status={{{{login.status}}}} redirects={{{{login.redirects}}}} sid={{{{login.cookies.sid}}}} body={{{{login.body}}}}"
        level: warn
      - ref: items
      - if: "length(items.body) == {len(ITEMS)}"
        then: [{{log: "ITEMS decoded={{{{items.body}}}} wire={{{{items.wire_body_bytes}}}} ce={{{{items.headers.content-encoding}}}}", level: warn}}]
        else: [{{goto: error_out}}]
      - ref: upload
      - ref: form
      - ref: json
      - ref: basic
  web2:
    steps:
      - ref: login2
      - log: "LOGIN2 status={{{{login2.status}}}} protocol={{{{login2.protocol}}}} sid={{{{login2.cookies.sid}}}} body={{{{login2.body}}}}"
        level: warn
      - ref: items2
      - if: "length(items2.body) == {len(ITEMS)}"
        then: [{{log: "ITEMS2 protocol={{{{items2.protocol}}}} wire={{{{items2.wire_body_bytes}}}}", level: warn}}]
        else: [{{goto: error_out}}]
      - ref: upload2
      - ref: head2
  bad:
    steps:
      - ref: bad-cookies
      - ref: echo-cookie
      - log: "ECHO {{{{echo.body}}}}"
        level: warn
      - ref: truncated
      - ref: corrupt
      - ref: bomb
      - ref: after
    on-error: [{{goto: next}}]
actions:
  login: {{component: http, call: get, timeout: 5s, with: {{url: "{n}/login", follow-redirects: "true"}}, save-as: login}}
  items: {{component: http, call: get, timeout: 5s, with: {{url: "{n}/json/items.json"}}, save-as: items}}
  upload:
    component: http
    call: post
    timeout: 5s
    with:
      url: "{u}/upload"
      cookies: {{extra: "set-by-script"}}
      multipart:
        note: "user {{{{env.user_id}}}}"
        report: {{file: "{{{{blob.report}}}}", filename: report.bin, content-type: application/x-ntx}}
  form: {{component: http, call: post, timeout: 5s, with: {{url: "{u}/form", form: {{user: "ann lee", q: "a&b=c"}}}}}}
  json: {{component: http, call: post, timeout: 5s, with: {{url: "{u}/json", json: {{name: widget, price: 9.5, n: 3, live: true, tags: {{color: red}}}}}}}}
  basic: {{component: http, call: get, timeout: 5s, with: {{url: "{u}/basic", auth: {{user: admin, password: "hunter2-secret"}}}}}}
  login2: {{component: http, call: get, timeout: 5s, with: {{url: "{n2}/login", follow-redirects: "true", http-version: "2"}}, save-as: login2}}
  items2: {{component: http, call: get, timeout: 5s, with: {{url: "{n2}/json/items.json", http-version: "2"}}, save-as: items2}}
  upload2:
    component: http
    call: post
    timeout: 5s
    with:
      url: "{n2}/post"
      http-version: "2"
      multipart: {{report: {{file: "{{{{blob.report}}}}", filename: report.bin}}}}
  head2: {{component: http, call: head, timeout: 5s, with: {{url: "{n2}/static/hello.txt", http-version: "2"}}}}
  bad-cookies: {{component: http, call: get, timeout: 5s, with: {{url: "{u}/bad-cookies"}}}}
  echo-cookie: {{component: http, call: get, timeout: 5s, with: {{url: "{u}/echo-cookie"}}, save-as: echo}}
  truncated: {{component: http, call: get, timeout: 5s, with: {{url: "{u}/truncated"}}, save-as: t}}
  corrupt: {{component: http, call: get, timeout: 5s, with: {{url: "{u}/corrupt"}}, save-as: c}}
  bomb: {{component: http, call: get, timeout: 5s, with: {{url: "{u}/bomb"}}, save-as: b}}
  after: {{component: http, call: get, timeout: 5s, with: {{url: "{u}/after"}}, save-as: a}}
load:
  scenarios:
    - {{name: web, workflow: web, user-count: {USERS}}}
    - {{name: web2, workflow: web2, user-count: {USERS}}}
    - {{name: bad, workflow: bad, user-count: {USERS}}}
"""


def test_web_flow_and_bad_servers():
    nginx = Nginx(static_files={"items.json": ITEMS})
    up = Upstream()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            files = {"report.bin": BLOB, "config.yaml": "log:\n  level: info\n",
                     "resource/config.yaml": "http:\n  max-decoded-bytes: 1048576\n"}
            run, r = run_script(tmp, script(nginx, up), files=files)
            web, bad = scenario(r, "web"), scenario(r, "bad")
            err = run.stderr

            # The login: a 302 that sets the cookie, followed to /account, which answers 200 only with it.
            check(action(web, "login")["ok"] == USERS, f"login {action(web, 'login')}")
            check(nginx.count(uri="/account", status=200, http="HTTP/1.1") == USERS and nginx.count(uri="/account", status=401) == 0,
                  f"nginx: {nginx.requests()}")
            sids = re.findall(r"LOGIN status=200 redirects=1 sid=(\S+) body=\{\"sid\":\"(\S+)\"\}", err)
            check(len(sids) == USERS, f"login lines: {err[-3000:]}")
            check(all(a == b for a, b in sids), f"the account saw the cookie the login set: {sids}")
            check(len({a for a, _ in sids}) == USERS, f"each user its own session: {sids}")

            # gzip JSON: decoded before the script reads it; the wire had fewer bytes.
            check(web["exits"]["error_out"] == 0, f"exits {web['exits']}")
            items = re.findall(r"ITEMS decoded=(\{.*?\]\}) wire=(\d+) ce=gzip", err)
            check(len(items) == USERS, f"items lines: {err[-2000:]}")
            check(all(json.loads(body) == json.loads(ITEMS) and int(wire) < len(ITEMS) for body, wire in items),
                  "decoded JSON equals the file, the wire bytes are fewer")
            check(action(web, "items")["bytes_received"] < USERS * len(ITEMS), f"items {action(web, 'items')}")

            # multipart: the server got the text part, the blob's exact bytes, and the cookies.
            uploads = up.requests("/upload")
            check(len(uploads) == USERS, f"{len(uploads)} uploads")
            for req in uploads:
                ct = req["headers"]["Content-Type"]
                msg = email.parser.BytesParser().parsebytes(b"Content-Type: " + ct.encode() + b"\r\n\r\n" + req["body"])
                parts = {p.get_param("name", header="content-disposition"): p for p in msg.get_payload()}
                check(parts["note"].get_payload(decode=True).decode().startswith("user "), "text part")
                rep = parts["report"]
                check(rep.get_filename() == "report.bin" and rep.get_content_type() == "application/x-ntx", "file part")
                check(rep.get_payload(decode=True) == BLOB, "the blob's bytes arrived unchanged")
                check("extra=set-by-script" in req["headers"].get("Cookie", ""), f"cookies: {req['headers']}")
            # form, json and basic auth, as the server parsed them.
            check(all(r["body"] == b"user=ann+lee&q=a%26b%3Dc" and
                      r["headers"]["Content-Type"] == "application/x-www-form-urlencoded" for r in up.requests("/form")),
                  f"form {up.requests('/form')[:1]}")
            check(all(json.loads(r["body"]) == {"name": "widget", "price": 9.5, "n": 3, "live": True, "tags": {"color": "red"}}
                      for r in up.requests("/json")), f"json {up.requests('/json')[:1]}")
            check(all(base64.b64decode(r["headers"]["Authorization"].split()[1]) == b"admin:hunter2-secret"
                      for r in up.requests("/basic")) and len(up.requests("/basic")) == USERS, "basic auth")
            for name in ("upload", "form", "json", "basic"):
                check(action(web, name)["ok"] == USERS, f"{name} {action(web, name)}")
            # The password is in no log line and not in the report.
            check("hunter2-secret" not in err and "hunter2-secret" not in run.stdout, "password masked")
            with open(os.path.join(run.out, "report.json")) as f:
                check("hunter2-secret" not in f.read(), "password not in report.json")

            # The same flow over HTTP/2 (h2c): nginx logged HTTP/2.0, each user's requests on one connection.
            web2 = scenario(r, "web2")
            for name in ("login2", "items2", "upload2", "head2"):
                check(action(web2, name)["ok"] == USERS, f"{name} {action(web2, name)}")
            check(web2["exits"]["error_out"] == 0, f"web2 exits {web2['exits']}")
            h2 = [q for q in nginx.requests() if q["http"] == "HTTP/2.0"]
            check(len(h2) == 5 * USERS, f"{len(h2)} h2 requests: {h2[:3]}")
            check(len({q["connection"] for q in h2}) == USERS, f"one connection per user: {h2}")
            check(sum(1 for q in h2 if q["uri"] == "/account" and q["status"] == 200) == USERS, "h2 session cookie")
            sids2 = re.findall(r"LOGIN2 status=200 protocol=h2c sid=(\S+) body=\{\"sid\":\"(\S+)\"\}", err)
            check(len(sids2) == USERS and all(a == b for a, b in sids2), f"h2 logins: {sids2}")
            check(len(re.findall(r"ITEMS2 protocol=h2c wire=\d+", err)) == USERS, "h2 gzip JSON decoded")

            # Bad servers: cookies ignored and counted, the action ok; bodies counted by kind.
            check(action(bad, "bad-cookies")["ok"] == USERS, f"{action(bad, 'bad-cookies')}")
            check(err.count("ECHO good=yes") == USERS, f"only the good cookie came back: {err[-2000:]}")
            m = re.search(r"http: (\d+) Set-Cookie headers ignored \((\d+) malformed, (\d+) for another domain", err)
            check(m and (int(m[1]), int(m[2]), int(m[3])) == (4 * USERS, 3 * USERS, USERS), f"cookie counts: {m and m[0]} {err[-3000:]}")
            check(action(bad, "truncated").get("errors_by_kind") == {"protocol": USERS}, f"{action(bad, 'truncated')}")
            check(action(bad, "corrupt").get("errors_by_kind") == {"protocol": USERS}, f"{action(bad, 'corrupt')}")
            check(action(bad, "bomb").get("errors_by_kind") == {"limit": USERS}, f"{action(bad, 'bomb')}")
            check(action(bad, "after")["ok"] == USERS, f"the users went on: {action(bad, 'after')}")
    finally:
        up.close()
        nginx.stop()


def test_users_share_h2_connections_with_max_streams():
    # max-streams 8, one loop: the 8 users' streams share one h2c connection to nginx, each user with
    # its own cookie jar (its login's session reaches its /account), gzip JSON decoded, a HEAD.
    users = 8
    nginx = Nginx(static_files={"items.json": ITEMS})
    try:
        n2 = f"http://127.0.0.1:{nginx.h2c_port}"
        script_text = f"""components:
  - {{name: http, version: "0.2.3", entry: http}}
workflows:
  w:
    steps:
      - ref: login
      - log: "SHARED sid={{{{login.cookies.sid}}}} body={{{{login.body}}}} protocol={{{{login.protocol}}}}"
        level: warn
      - ref: items
      - if: "length(items.body) == {len(ITEMS)}"
        then: [{{log: "SHAREDITEMS ok", level: warn}}]
        else: [{{goto: error_out}}]
      - ref: head
actions:
  login: {{component: http, call: get, timeout: 5s, with: {{url: "{n2}/login", follow-redirects: "true", http-version: "2"}}, save-as: login}}
  items: {{component: http, call: get, timeout: 5s, with: {{url: "{n2}/json/items.json", http-version: "2"}}, save-as: items}}
  head: {{component: http, call: head, timeout: 5s, with: {{url: "{n2}/static/hello.txt", http-version: "2"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: {users}}}
"""
        with tempfile.TemporaryDirectory() as tmp:
            run, r = run_script(tmp, script_text, files={"config.yaml": "threads: 1\nlog:\n  level: warn\n",
                                                         "resource/config.yaml": "http:\n  max-streams: 8\n"})
            s = scenario(r, "s")
            for name in ("login", "items", "head"):
                check(action(s, name)["ok"] == users, f"{name} {action(s, name)}")
            check(s["exits"]["error_out"] == 0, f"exits {s['exits']}")
            h2 = [q for q in nginx.requests() if q["http"] == "HTTP/2.0"]
            check(len(h2) == 4 * users, f"{len(h2)} h2 requests")
            check(len({q["connection"] for q in h2}) == 1, f"one shared connection: {sorted({q['connection'] for q in h2})}")
            check(nginx.count(uri="/account", status=200) == users, "each user's session reached /account")
            logins = re.findall(r"SHARED sid=(\S+) body=\{\"sid\":\"(\S+)\"\} protocol=h2c", run.stderr)
            check(len(logins) == users and all(a == b for a, b in logins), f"logins {logins}")
            check(run.stderr.count("SHAREDITEMS ok") == users, "gzip JSON decoded on the shared connection")
    finally:
        nginx.stop()


BAD_KEYS = """components:
  - {name: http, version: "0.2.2", entry: http}
workflows:
  w: {steps: [{ref: a}, {ref: b}, {ref: c}]}
actions:
  a: {component: http, call: post, with: {url: "http://127.0.0.1:1/", body: x, form: {k: v}, cookies: maybe}}
  b: {component: http, call: post, with: {url: "http://127.0.0.1:1/", json: "{nope", cookies: {"bad name": x}}}
  c: {component: http, call: get, with: {url: "http://127.0.0.1:1/", auth: {user: u}, compresion: "false"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
"""


def test_validate_reports_the_new_keys():
    err = validate_script(BAD_KEYS)
    for expected in (
        "script.yaml:6:90: error: action 'a': body, form, multipart and json cannot be combined: give one",
        "script.yaml:6:103: error: action 'a': cookies must be \"true\" or \"false\"",
        "script.yaml:7:77: error: action 'b': json is not valid JSON",
        "script.yaml:7:108: error: action 'b': invalid cookie name 'bad name'",
        "script.yaml:8:99: error: action 'c': http get has no parameter 'compresion' (did you mean 'compression'?)",
        "script.yaml:8:30: error: action 'c': auth needs both user and password",
    ):
        check(expected in err, f"missing {expected!r} in:\n{err}")


if __name__ == "__main__":
    main([test_web_flow_and_bad_servers, test_users_share_h2_connections_with_max_streams,
          test_validate_reports_the_new_keys])
