"""config.yaml network.allow and the redirect header rule (issue 23, defect 8), against real servers: a
redirecting HTTP server on 127.0.0.1 that sends users to a second server on 127.0.0.2 (loopback too
on Linux, but another address, so another origin a policy can leave out).

- Without a policy, a cross-origin redirect is followed, and only the headers named in
  keep-on-redirect go with it (X-Api-Key, Authorization and Cookie stay behind); a same-origin
  redirect keeps them all.
- With network.allow [127.0.0.1], the redirect to 127.0.0.2, a direct connect to 127.0.0.2 and a
  port outside an entry's range end as `denied` before any packet: the other server accepts no
  connection at all. A name (localhost) is allowed through its resolved address. The ftp plugin
  (libcurl's own sockets) is held to the same policy through connect_allowed (ABI 1.5).
- Bad entries are `file:line:col: error:` of ntx validate, all at once."""
import http.server
import json
import os
import socket
import tempfile
import threading

from harness import action, check, main, run_script, scenario, validate_script

USERS = 4


class Recorder(http.server.ThreadingHTTPServer):
    """An HTTP server on `address` (port chosen by the kernel) that answers each path as `routes` says
    and records every request's path and headers, and every connection it accepts."""

    daemon_threads = True

    def __init__(self, address, routes):
        self.routes = routes
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with server.lock:
                    server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, headers = server.routes.get(self.path, (404, {}))
                body = b"ok" if status == 200 else b""
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        super().__init__((address, 0), Handler)
        self.port = self.server_address[1]

    def get_request(self):
        conn = super().get_request()
        with self.lock:
            self.connections += 1
        return conn

    def __enter__(self):
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


def servers():
    other = Recorder("127.0.0.2", {"/landing": (200, {}), "/direct": (200, {})})
    home = Recorder("127.0.0.1", {})
    home.routes.update({
        "/to-other": (302, {"Location": f"http://127.0.0.2:{other.port}/landing"}),
        "/same": (302, {"Location": "/ok"}),
        "/ok": (200, {}),
    })
    return home, other


HEADERS = ('headers: {Authorization: "Bearer S3CRET", X-Api-Key: k-123, X-Trace: t-9, Cookie: "sid=c00k"}, '
           'keep-on-redirect: "x-trace"')


def script(home, other):
    return f"""components:
  - {{name: http, version: "0.2.2", entry: http}}
workflows:
  w-cross: {{steps: [{{ref: cross}}]}}
  w-same: {{steps: [{{ref: same}}]}}
  w-direct: {{steps: [{{ref: direct}}]}}
  w-by-name: {{steps: [{{ref: by-name}}]}}
  w-other-port: {{steps: [{{ref: other-port}}]}}
actions:
  cross: {{component: http, call: get, timeout: 5s, with: {{url: "http://127.0.0.1:{home.port}/to-other", follow-redirects: "true", {HEADERS}}}}}
  same: {{component: http, call: get, timeout: 5s, with: {{url: "http://127.0.0.1:{home.port}/same", follow-redirects: "true", {HEADERS}}}}}
  direct: {{component: http, call: get, timeout: 5s, with: {{url: "http://127.0.0.2:{other.port}/direct"}}}}
  by-name: {{component: http, call: get, timeout: 5s, with: {{url: "http://localhost:{home.port}/ok"}}}}
  other-port: {{component: http, call: get, timeout: 5s, with: {{url: "http://127.0.0.1:{other.port}/ok"}}}}
load:
  scenarios:
    - {{name: cross, workflow: w-cross, user-count: {USERS}}}
    - {{name: same, workflow: w-same, user-count: {USERS}}}
    - {{name: direct, workflow: w-direct, user-count: {USERS}}}
    - {{name: by-name, workflow: w-by-name, user-count: {USERS}}}
    - {{name: other-port, workflow: w-other-port, user-count: {USERS}}}
"""


def test_cross_origin_redirect_keeps_only_marked_headers():
    home, other = servers()
    with home, other, tempfile.TemporaryDirectory() as tmp:
        # other-port: nothing listens on 127.0.0.1 at the other server's port (it is bound on .2).
        _, r = run_script(tmp, script(home, other), "--quiet", expect_exit=0)
        a = action(scenario(r, "cross"), "cross")
        check(a["ok"] == USERS and a["count"] == USERS, f"cross: {a}")
        landed = [h for path, h in other.requests if path == "/landing"]
        check(len(landed) == USERS, f"the other server saw {len(landed)} redirected requests: {other.requests}")
        for h in landed:
            check(h.get("x-trace") == "t-9", f"the header marked to keep did not follow: {h}")
            for dropped in ("x-api-key", "authorization", "cookie"):
                check(dropped not in h, f"{dropped} followed a redirect to another origin: {h}")
        # The same origin: every header follows.
        a = action(scenario(r, "same"), "same")
        check(a["ok"] == USERS, f"same: {a}")
        same = [h for path, h in home.requests if path == "/ok" and "x-trace" in h]
        check(len(same) == USERS, f"home saw {len(same)} same-origin hops: {home.requests}")
        for h in same:
            check(h.get("x-api-key") == "k-123" and h.get("authorization") == "Bearer S3CRET", f"same origin: {h}")
        check(action(scenario(r, "direct"), "direct")["ok"] == USERS, "no policy: the direct connect works")
        check(action(scenario(r, "by-name"), "by-name")["ok"] == USERS, "no policy: localhost works")
        a = action(scenario(r, "other-port"), "other-port")
        check(a["errors_by_kind"] == {"connect": USERS}, f"other-port without a policy is refused by the OS: {a}")


def test_network_allow_denies_before_any_packet():
    home, other = servers()
    with home, other, tempfile.TemporaryDirectory() as tmp:
        config = f"network:\n  allow:\n    - 127.0.0.1:{home.port}\n"
        run, r = run_script(tmp, script(home, other), "--quiet", expect_exit=0, files={"config.yaml": config})
        check(other.connections == 0, f"the server outside the policy accepted {other.connections} connections")
        for name in ("cross", "direct", "other-port"):
            a = action(scenario(r, name), name)
            check(a["count"] == USERS and a["errors_by_kind"] == {"denied": USERS}, f"{name}: {a}")
        # The redirect hop was denied after the first hop reached home.
        check(sum(1 for path, _ in home.requests if path == "/to-other") == USERS, f"home: {home.requests}")
        # localhost resolves to ::1 and 127.0.0.1: the allowed address is the one tried.
        check(action(scenario(r, "by-name"), "by-name")["ok"] == USERS, "localhost through 127.0.0.1")
        check(action(scenario(r, "same"), "same")["ok"] == USERS, "the same-origin redirect stays allowed")
        text = json.dumps(r)
        check("denied by network.allow" in text and f"127.0.0.2:{other.port}" in text,
              f"the report does not say what was denied: {text[:3000]}")
        check(r["totals"]["errors"] == 3 * USERS, f"totals {r['totals']}")


def test_ftp_connects_are_held_to_the_policy():
    # A listener on 127.0.0.2 stands where an FTP server would be: the policy must stop curl's own
    # connect before it reaches it (without the check it would be a protocol error or a timeout).
    listener = socket.socket()
    listener.bind(("127.0.0.2", 0))
    listener.listen(16)
    listener.settimeout(0.0)
    port = listener.getsockname()[1]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script_text = f"""components:
  - {{name: ftp, version: "0.1.0", entry: ftp}}
workflows:
  w: {{steps: [{{ref: login}}]}}
actions:
  login: {{component: ftp, call: login, timeout: 3s, with: {{url: "ftp://127.0.0.2:{port}/", user: u, password: p}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 2}}
"""
            _, r = run_script(tmp, script_text, "--quiet", expect_exit=0,
                              files={"config.yaml": "network:\n  allow: [127.0.0.1]\n"})
            a = action(scenario(r, "s"), "login")
            check(a["errors_by_kind"] == {"denied": 2}, f"ftp: {a}")
            accepted = 0
            try:
                while listener.accept():
                    accepted += 1
            except (BlockingIOError, OSError):
                pass
            check(accepted == 0, f"the ftp plugin connected {accepted} times past the policy")
            check("denied by the run's network.allow" in json.dumps(r), "the reason names the policy")
    finally:
        listener.close()


def test_bad_entries_are_errors_with_their_place():
    script_text = """components:
  - {name: http, version: "0.2.2", entry: http}
workflows:
  w: {steps: [{ref: a}]}
actions:
  a: {component: http, call: get, with: {url: "http://127.0.0.1:1/"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
"""
    config = """network:
  allow:
    - 127.0.0.1:0
    - "10.1.0.0/8"
    - ok.example:80-90
    - [nested]
    - 127.0.0.1:90-80
"""
    err = validate_script(script_text, files={"config.yaml": config})
    for place, says in (("config.yaml:3:17: error: network.allow: a port is a number", ""),
                        ("config.yaml:4:8: error: network.allow: '10.1.0.0/8' has address bits set past its prefix", ""),
                        ("config.yaml:6:7: error: each network.allow entry is one text", ""),
                        ("config.yaml:7:17: error: network.allow: the port range '90-80' ends before it starts", "")):
        check(place in err, f"missing {place!r} in: {err}")
    check("ok.example" not in err, f"a good entry was reported: {err}")
    err = validate_script(script_text, files={"config.yaml": "network:\n  allow: 127.0.0.1\n"})
    check("config.yaml:2:10: error: network.allow is a list" in err, err)


if __name__ == "__main__":
    main([test_cross_origin_redirect_keeps_only_marked_headers, test_network_allow_denies_before_any_packet,
          test_ftp_connects_are_held_to_the_policy, test_bad_entries_are_errors_with_their_place])
