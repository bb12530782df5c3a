"""HTTP/2 over TLS, chosen by ALPN in the host's TLS handshake (ABI 1.6), against a real nginx with a
throw-away certificate (verified through ca-file): the web flow of test_http_web (a login that sets a
session cookie on a 302, a gzip-encoded JSON document checked by its content, a multipart upload) over
h2; `http-version: auto` speaks h2 where the server selects it and falls back to HTTP/1.1 where it does
not; `http-version: 2` against a server without h2 is a counted `protocol` error and the run goes on.
report.json counts each action's protocols; the template plugin (echo) shows what the server selected."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import action, check, main, run_script, scenario
from nginx_server import Nginx

USERS = 3

ITEMS = json.dumps({"items": [{"id": i, "name": f"item {i}"} for i in range(200)]}, separators=(",", ":"))
BLOB = bytes((i * 7 + 3) % 251 for i in range(12_000))


def script(nginx):
    h2 = f"https://127.0.0.1:{nginx.h2s_port}"
    h1 = f"https://127.0.0.1:{nginx.https_port}"
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
      - log: "LOGIN status={{{{login.status}}}} protocol={{{{login.protocol}}}} sid={{{{login.cookies.sid}}}} body={{{{login.body}}}}"
        level: warn
      - ref: items
      - if: "length(items.body) == {len(ITEMS)}"
        then: [{{log: "ITEMS protocol={{{{items.protocol}}}} wire={{{{items.wire_body_bytes}}}} ce={{{{items.headers.content-encoding}}}} body={{{{items.body}}}}", level: warn}}]
        else: [{{goto: error_out}}]
      - ref: upload
      - ref: auto-h2
      - ref: auto-h1
      - log: "AUTO h2={{{{a2.protocol}}}} h1={{{{a1.protocol}}}}"
        level: warn
  refused:
    steps:
      - ref: h2-only
      - ref: after
    on-error: [{{goto: next}}]
actions:
  login: {{component: http, call: get, timeout: 5s, with: {{url: "{h2}/login", follow-redirects: "true", http-version: "2"}}, save-as: login}}
  items: {{component: http, call: get, timeout: 5s, with: {{url: "{h2}/json/items.json", http-version: "2"}}, save-as: items}}
  upload:
    component: http
    call: post
    timeout: 5s
    with:
      url: "{h2}/post"
      http-version: "2"
      multipart:
        note: "user {{{{env.user_id}}}}"
        report: {{file: "{{{{blob.report}}}}", filename: report.bin}}
  auto-h2: {{component: http, call: get, timeout: 5s, with: {{url: "{h2}/static/hello.txt", http-version: auto}}, save-as: a2}}
  auto-h1: {{component: http, call: get, timeout: 5s, with: {{url: "{h1}/static/hello.txt", http-version: auto}}, save-as: a1}}
  h2-only: {{component: http, call: get, timeout: 5s, with: {{url: "{h1}/static/hello.txt", http-version: "2"}}}}
  after: {{component: http, call: get, timeout: 5s, with: {{url: "{h1}/static/hello.txt"}}}}
load:
  scenarios:
    - {{name: web, workflow: web, user-count: {USERS}}}
    - {{name: refused, workflow: refused, user-count: {USERS}}}
"""


def test_h2_over_tls_by_alpn():
    nginx = Nginx(static_files={"items.json": ITEMS})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            files = {"report.bin": BLOB, "config.yaml": "log:\n  level: info\n",
                     "resource/config.yaml": f"http:\n  ca-file: {nginx.cert_file}\n"}
            run, r = run_script(tmp, script(nginx), files=files)
            web, refused = scenario(r, "web"), scenario(r, "refused")
            err = run.stderr
            for name in ("login", "items", "upload", "auto-h2", "auto-h1"):
                check(action(web, name)["ok"] == USERS, f"{name} {action(web, name)}")
            check(web["exits"]["error_out"] == 0, f"exits {web['exits']}")

            # nginx served the h2 actions as HTTP/2.0 over TLS, each user on one connection.
            reqs = nginx.requests()
            h2 = [q for q in reqs if q["http"] == "HTTP/2.0"]
            check(all(q["scheme"] == "https" for q in h2), f"h2 over TLS: {h2[:3]}")
            # login + account, items, post, auto-h2: 5 per user.
            check(len(h2) == 5 * USERS, f"{len(h2)} h2 requests: {reqs}")
            check(sum(1 for q in h2 if q["uri"] == "/account" and q["status"] == 200) == USERS, "h2 session cookie")
            check(sum(1 for q in h2 if q["uri"] == "/post" and q["status"] == 201) == USERS, "h2 multipart upload")
            h2_conns = {q["connection"] for q in h2 if q["uri"] != "/static/hello.txt"}
            check(len(h2_conns) == USERS, f"one h2 connection per user: {h2}")

            sids = re.findall(r"LOGIN status=200 protocol=h2 sid=(\S+) body=\{\"sid\":\"(\S+)\"\}", err)
            check(len(sids) == USERS and all(a == b for a, b in sids), f"h2 logins: {sids} {err[-3000:]}")
            check(len({a for a, _ in sids}) == USERS, f"each user its own session: {sids}")
            items = re.findall(r"ITEMS protocol=h2 wire=(\d+) ce=gzip body=(\{.*?\]\})", err)
            check(len(items) == USERS, f"items lines: {err[-2000:]}")
            check(all(json.loads(body) == json.loads(ITEMS) and int(wire) < len(ITEMS) for wire, body in items),
                  "gzip JSON decoded over h2, fewer bytes on the wire")

            # auto: h2 where the server selects it, HTTP/1.1 from the server without http2.
            check(err.count("AUTO h2=h2 h1=http/1.1") == USERS, f"auto lines: {err[-2000:]}")
            check(sum(1 for q in reqs if q["http"] == "HTTP/1.1" and q["scheme"] == "https"
                      and q["uri"] == "/static/hello.txt") == 2 * USERS, f"fallbacks and `after` on HTTP/1.1: {reqs}")

            # http-version 2 against a server that does not select h2: a counted protocol error, the run goes on.
            check(action(refused, "h2-only").get("errors_by_kind") == {"protocol": USERS}, f"{action(refused, 'h2-only')}")
            # (nginx without http2 ends the handshake with the no_application_protocol alert.)
            check("ALPN" in json.dumps(action(refused, "h2-only").get("error_examples")), f"{action(refused, 'h2-only')}")
            check(action(refused, "after")["ok"] == USERS, f"{action(refused, 'after')}")

            # report.json: the protocols each action spoke.
            for name in ("login", "items", "upload", "auto-h2"):
                check(action(web, name).get("protocols") == {"h2": USERS}, f"{name} {action(web, name)}")
            check(action(web, "auto-h1").get("protocols") == {"http/1.1": USERS}, f"{action(web, 'auto-h1')}")
            check(action(refused, "h2-only").get("protocols") == {}, f"{action(refused, 'h2-only')}")
    finally:
        nginx.stop()


def test_template_plugin_reports_the_alpn_selection():
    nginx = Nginx()
    try:
        with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as plugins:
            # The template is built from its one C file and the public header, as a plugin author would.
            src = os.environ["NTX_SOURCE_DIR"]
            subprocess.run([shutil.which("cc") or "gcc", "-std=c99", "-Wall", "-Werror", "-shared", "-fPIC",
                            "-fvisibility=hidden", "-I", os.path.join(src, "libntx", "include"),
                            os.path.join(src, "examples", "echo-plugin", "echo_plugin.c"),
                            "-o", os.path.join(plugins, "ntx_echo.so"), "-lpthread"], check=True)
            s = f"""components:
  - {{name: echo, version: "1.0.0", entry: echo}}
workflows:
  w:
    steps:
      - ref: h2
      - ref: bye
      - ref: h1
      - log: "ALPN h2s={{{{h2.alpn}}}} https={{{{h1.alpn}}}}."
        level: warn
actions:
  h2: {{component: echo, call: connect, timeout: 5s, with: {{host: 127.0.0.1, port: "{nginx.h2s_port}", tls: no-verify, alpn: "h2,http/1.1"}}, save-as: h2}}
  bye: {{component: echo, call: close}}
  h1: {{component: echo, call: connect, timeout: 5s, with: {{host: 127.0.0.1, port: "{nginx.https_port}", tls: no-verify, alpn: "h2,http/1.1"}}, save-as: h1}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 1}}
"""
            run, r = run_script(tmp, s, "--plugin-path", plugins)
            check(action(scenario(r, "s"), "h2")["ok"] == 1 and action(scenario(r, "s"), "h1")["ok"] == 1, f"{r}")
            check("ALPN h2s=h2 https=http/1.1." in run.stderr, f"{run.stderr[-2000:]}")
    finally:
        nginx.stop()


if __name__ == "__main__":
    main([test_h2_over_tls_by_alpn, test_template_plugin_reports_the_alpn_selection])
