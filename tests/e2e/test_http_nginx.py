"""The http plugin against a real nginx on 127.0.0.1, over http and https: every method, status
classes, save-as of status, headers, body and timings, chunked (gzip) responses, query params,
redirects (followed, not followed, a loop, too many), certificate verification (on by default, with a
CA file, off, a name mismatch), SNI, keep-alive reuse and a connection per action (with TLS session resumption), and the bundled
examples/https res_dir. Counts come from report.json and are checked against nginx's own access log."""
import os
import re
import shutil
import tempfile

from harness import SOURCE, action, check, main, read_report, run_ntx, scenario
from nginx_server import Nginx

USERS = 6  # users per scenario; each runs its workflow once

COMPONENT = """components:
  - name: http
    version: "0.2.2"
    entry: http
"""


def write_res_dir(root, script, component_config=None):
    os.makedirs(os.path.join(root, "resource"), exist_ok=True)
    with open(os.path.join(root, "script.yaml"), "w") as f:
        f.write(script)
    with open(os.path.join(root, "config.yaml"), "w") as f:
        f.write("log:\n  level: warn\n")
    if component_config:
        with open(os.path.join(root, "resource", "config.yaml"), "w") as f:
            f.write(component_config)


def run(tmp, name, script, component_config=None):
    res, out = os.path.join(tmp, name), os.path.join(tmp, name + "-out")
    write_res_dir(res, script, component_config)
    rc, stdout, stderr = run_ntx("run", res, "--out", out)
    if not os.path.exists(os.path.join(out, "report.json")):
        raise AssertionError(f"{name}: ntx run exited {rc} without a report: {stderr[-3000:]}")
    return rc, stdout, stderr, read_report(out)


def yaml_map(d):
    return "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"


class Script:
    """Builds a script of one-workflow scenarios: each case is a named list of steps."""

    def __init__(self):
        self.actions, self.workflows, self.scenarios = [], [], []

    def action(self, name, call, url, **with_):
        w = {"url": f'"{url}"'}
        for k, v in with_.items():
            if k == "save_as":
                continue
            w[k.replace("_", "-")] = v if isinstance(v, str) and v.startswith("{") else f'"{v}"'
        line = f"  {name}: {{component: http, call: {call}, timeout: 5s, with: {yaml_map(w)}"
        if "save_as" in with_:
            line += f", save-as: {with_['save_as']}"
        self.actions.append(line + "}")

    def scenario(self, name, steps, users=USERS):
        self.workflows.append(f"  w-{name}:\n    steps:\n" + "".join(f"      - {s}\n" for s in steps))
        self.scenarios.append(f"    - {{name: {name}, workflow: w-{name}, user-count: {users}, spawn-rate: 100/s}}")

    def text(self):
        return (COMPONENT + "workflows:\n" + "".join(self.workflows) + "actions:\n" + "\n".join(self.actions) +
                "\nload:\n  scenarios:\n" + "\n".join(self.scenarios) + "\n")


def one(report, scen, act=None):
    s = scenario(report, scen)
    return action(s, act or scen)


def expect(report, scen, act=None, ok=0, errors_by_kind=None, timeouts=0, classes=None):
    a = one(report, scen, act)
    errors_by_kind = errors_by_kind or {}
    check(a["count"] == ok + sum(errors_by_kind.values()) + timeouts, f"{scen}/{a['name']} count: {a}")
    check(a["ok"] == ok, f"{scen}/{a['name']} ok: {a}")
    check(a["errors_by_kind"] == errors_by_kind, f"{scen}/{a['name']} errors: {a['errors_by_kind']}")
    check(a["timeouts"] == timeouts, f"{scen}/{a['name']} timeouts: {a}")
    check(a["status_classes"] == (classes or {}), f"{scen}/{a['name']} status classes: {a['status_classes']}")
    return a


def test_methods_statuses_and_redirects_over_http_and_https():
    with Nginx() as ngx, tempfile.TemporaryDirectory() as tmp:
        sc = Script()
        for tls in (False, True):
            p = "s" if tls else ""
            u = lambda path: ngx.url(path, tls=tls)  # noqa: E731
            ca = {"ca_file": ngx.cert_file} if tls else {}
            sc.action(f"get{p}", "get", u("/static/hello.txt"), save_as="g", **ca)
            sc.action(f"head{p}", "head", u("/static/hello.txt"), **ca)
            sc.action(f"post{p}", "post", u("/post"), body="a=1", **ca)
            sc.action(f"put{p}", "put", u(f"/dav/u{{{{env.user_id}}}}{p}.txt"), body="user {{env.user_id}}", **ca)
            sc.action(f"delete{p}", "delete", u(f"/dav/u{{{{env.user_id}}}}{p}.txt"), **ca)
            sc.action(f"patch{p}", "patch", u("/static/hello.txt"), body="x", **ca)
            sc.action(f"e404{p}", "get", u("/status/404"), **ca)
            sc.action(f"e503{p}", "get", u("/status/503"), **ca)
            sc.action(f"redir{p}", "get", u("/redirect/to-static"), follow_redirects="true", save_as="r", **ca)
            sc.action(f"nofollow{p}", "get", u("/redirect/to-static"), **ca)
            sc.action(f"loop{p}", "get", u("/loop/a"), follow_redirects="true", **ca)
            sc.action(f"hops{p}", "get", u("/hop/1"), follow_redirects="true", max_redirects="3", **ca)
            sc.action(f"gzip{p}", "get", u("/gzip/hello.txt"), headers="{Accept-Encoding: gzip}", save_as="z", **ca)
            sc.action(f"query{p}", "get", u("/static/hello.txt?x=0"), query="{case: q" + p + ", v: 'a b&c'}", **ca)
            sc.scenario(f"crud{p}", [f"ref: get{p}",
                                     'log: "SAVED{} status={{{{g.status}}}} len={{{{g.headers.content-length}}}} '
                                     'body={{{{g.body}}}} connect={{{{g.time.connect_ms}}}} first={{{{g.time.first_byte_ms}}}} '
                                     'total={{{{g.time.total_ms}}}}"'.format(p) + "\n        level: warn",
                                     f"ref: head{p}", f"ref: post{p}", f"ref: put{p}", f"ref: delete{p}",
                                     f"ref: query{p}"])
            for case in ("patch", "e404", "e503", "nofollow", "loop", "hops"):
                sc.scenario(f"{case}{p}", [f"ref: {case}{p}"])
            sc.scenario(f"redir{p}", [f"ref: redir{p}",
                                      'log: "REDIR{} status={{{{r.status}}}} redirects={{{{r.redirects}}}} url={{{{r.url}}}}"'
                                      .format(p) + "\n        level: warn"])
            sc.scenario(f"gzip{p}", [f"ref: gzip{p}",
                                     'log: "GZIP{} te={{{{z.headers.transfer-encoding}}}} ce={{{{z.headers.content-encoding}}}}"'
                                     .format(p) + "\n        level: warn"])
        rc, stdout, stderr, r = run(tmp, "methods", sc.text())
        check(rc == 0, f"ntx run exited {rc}: {stderr[-3000:]}")
        n = USERS
        for tls in (False, True):
            p = "s" if tls else ""
            scheme = "https" if tls else "http"
            for name, code in (("get", 200), ("head", 200), ("post", 201), ("put", 201), ("delete", 204)):
                expect(r, f"crud{p}", f"{name}{p}", ok=n, classes={"2xx": n})
            expect(r, f"crud{p}", f"query{p}", ok=n, classes={"2xx": n})
            # nginx refuses PATCH on a static file: 405, a counted status error.
            expect(r, f"patch{p}", errors_by_kind={"status": n}, classes={"4xx": n})
            expect(r, f"e404{p}", errors_by_kind={"status": n}, classes={"4xx": n})
            expect(r, f"e503{p}", errors_by_kind={"status": n}, classes={"5xx": n})
            expect(r, f"redir{p}", ok=n, classes={"2xx": n})
            expect(r, f"nofollow{p}", ok=n, classes={"3xx": n})
            expect(r, f"loop{p}", errors_by_kind={"limit": n})
            expect(r, f"hops{p}", errors_by_kind={"limit": n})
            expect(r, f"gzip{p}", ok=n, classes={"2xx": n})

            # nginx's own ledger, request by request.
            def count(**m):
                return ngx.count(scheme=scheme, **m)
            check(count(method="GET", uri="/static/hello.txt", status=200, args="-") == 2 * n,
                  f"{scheme} GETs of hello.txt (get + redirect target): {ngx.requests()}")
            check(count(method="HEAD", uri="/static/hello.txt", status=200) == n, f"{scheme} HEADs")
            check(count(method="POST", uri="/post", status=201) == n, f"{scheme} POSTs")
            check(count(method="PUT", uri_prefix="/dav/u", status=201) == n, f"{scheme} PUTs")
            check(count(method="DELETE", uri_prefix="/dav/u", status=204) == n, f"{scheme} DELETEs")
            check(count(method="PATCH", status=405) == n, f"{scheme} PATCHes")
            check(count(uri="/redirect/to-static", status=301) == 2 * n, f"{scheme} 301s (followed and not)")
            check(count(uri="/loop/a") == n and count(uri="/loop/b") == n, f"{scheme} loop: a->b->a stops at a")
            check(count(uri_prefix="/hop/") == 4 * n, f"{scheme} hops: the first request and 3 redirects")
            check(count(uri="/gzip/hello.txt", status=200) == n, f"{scheme} gzip")
            check(count(args=f"x=0&case=q{p}&v=a%20b%26c") == n, f"{scheme} query params: {ngx.requests()}")
            check(not os.listdir(os.path.join(ngx.root, "dav")), "every PUT file was DELETEd")

            # save-as: status, headers, body and timings of a real response.
            saved = re.findall(rf"SAVED{p} status=200 len=17 body=hello from nginx\n connect=([\d.]+) first=([\d.]+) total=([\d.]+)",
                               stderr)
            check(len(saved) == n, f"{scheme} saved results: {saved} in {stderr[-2000:]}")
            for connect, first, total in saved:
                check(0 < float(connect) <= float(first) <= float(total) < 5000, f"timings {connect} {first} {total}")
            final = ngx.url("/static/hello.txt", tls=tls)
            check(stderr.count(f"REDIR{p} status=200 redirects=1 url={final}") == n, f"{scheme} redirect results")
            check(stderr.count(f"GZIP{p} te=chunked ce=gzip") == n, f"{scheme} chunked gzip responses")

        # The https requests came without SNI (an IP address) and verified against the CA file.
        check(ngx.count(scheme="https", sni="localhost") == 0, "no SNI for an IP address")
        t = r["totals"]
        check(t["actions"] == t["ok"] + t["errors"] + t["timeouts"] + t["cancelled"], f"totals {t}")
        check("status 2xx" in stdout and "4xx" in stdout, "status classes in the end summary")


def test_certificate_verification_and_sni():
    with Nginx() as ngx, tempfile.TemporaryDirectory() as tmp:
        sc = Script()
        hello = "/static/hello.txt"
        cases = {
            "default": dict(url=ngx.url(hello, tls=True)),                             # system store: untrusted
            "ca": dict(url=ngx.url(hello, tls=True), ca_file=ngx.cert_file),
            "ca-name": dict(url=ngx.url(hello, tls=True, host="localhost"), ca_file=ngx.cert_file),
            "off": dict(url=ngx.url(hello, tls=True), tls_verify="false"),
            "mismatch": dict(url=ngx.url(hello, tls=True), ca_file=ngx.cert_file, tls_server_name="wrong.example"),
            "mismatch-off": dict(url=ngx.url(hello, tls=True), tls_verify="false", tls_server_name="wrong.example"),
            "plain-port": dict(url=ngx.url(hello, tls=False).replace("http://", "https://"), tls_verify="false"),
            "bad-ca": dict(url=ngx.url(hello, tls=True), ca_file=os.path.join(tmp, "missing.pem")),
        }
        for name, c in cases.items():
            url = c.pop("url")
            sc.action(name, "get", url, query=f"{{case: {name}}}", **c)
            sc.scenario(name, [f"ref: {name}"])
        rc, stdout, stderr, r = run(tmp, "verify", sc.text())
        check(rc == 0, f"ntx run exited {rc}: {stderr[-3000:]}")
        n = USERS
        expect(r, "default", errors_by_kind={"tls": n})
        expect(r, "ca", ok=n, classes={"2xx": n})
        expect(r, "ca-name", ok=n, classes={"2xx": n})
        expect(r, "off", ok=n, classes={"2xx": n})
        expect(r, "mismatch", errors_by_kind={"tls": n})
        expect(r, "mismatch-off", ok=n, classes={"2xx": n})
        expect(r, "plain-port", errors_by_kind={"tls": n})
        expect(r, "bad-ca", errors_by_kind={"tls": n})
        # Failed handshakes never reached nginx as requests; the good ones did, with the right SNI.
        for name in ("default", "mismatch", "bad-ca"):
            check(ngx.count(args=f"case={name}") == 0, f"{name}: no request may pass a failed verification")
        check(ngx.count(args="case=ca", sni="-", status=200) == n, "IP address: no SNI")
        check(ngx.count(args="case=ca-name", sni="localhost", status=200) == n, "SNI localhost")
        check(ngx.count(args="case=mismatch-off", sni="wrong.example", status=200) == n, "SNI as configured")
        check(ngx.count(args="case=off", status=200) == n, "verification off")
        # The reasons reach the log at debug level only; run once more to read them.
        sc2 = Script()
        sc2.action("default", "get", ngx.url(hello, tls=True))
        sc2.action("mismatch", "get", ngx.url(hello, tls=True), ca_file=ngx.cert_file, tls_server_name="wrong.example")
        sc2.scenario("default", ["ref: default"], users=1)
        sc2.scenario("mismatch", ["ref: mismatch"], users=1)
        res = os.path.join(tmp, "reasons")
        write_res_dir(res, sc2.text())
        with open(os.path.join(res, "config.yaml"), "w") as f:
            f.write("log:\n  level: debug\n")
        rc, _, stderr2 = run_ntx("run", res, "--out", res + "-out", "--quiet")
        check(rc == 0, f"reasons run exited {rc}")
        check("certificate verify failed: self-signed certificate" in stderr2, stderr2[-2000:])
        check("certificate verify failed: hostname mismatch" in stderr2, stderr2[-2000:])


def test_keep_alive_reuse_and_connection_per_action():
    for protocols, version in (("TLSv1.2 TLSv1.3", "TLSv1.3"), ("TLSv1.2", "TLSv1.2")):
        keep_alive_reuse_and_connection_per_action(protocols, version)


def keep_alive_reuse_and_connection_per_action(protocols, version):
    with Nginx(ssl_protocols=protocols) as ngx, tempfile.TemporaryDirectory() as tmp:
        for tls in (False, True):
            for per_action in (False, True):
                sc = Script()
                extra = {"ca_file": ngx.cert_file} if tls else {}
                tag = f"{'s' if tls else 'p'}{'n' if per_action else 'k'}"
                sc.action("g", "get", ngx.url("/static/hello.txt", tls=tls), query=f"{{run: {tag}}}", **extra)
                sc.scenario("five", ["ref: g"] * 5, users=4)
                config = "http:\n  keep-alive: false\n" if per_action else None
                rc, _, stderr, r = run(tmp, tag, sc.text(), config)
                check(rc == 0, f"{tag}: ntx run exited {rc}: {stderr[-2000:]}")
                expect(r, "five", "g", ok=20, classes={"2xx": 20})
                want = 20 if per_action else 4
                check(r["totals"]["sockets_opened"] == want, f"{tag}: sockets {r['totals']}")
                mine = [q for q in ngx.requests() if q["args"] == f"run={tag}"]
                check({q["tls"] for q in mine} == ({version} if tls else {"-"}), f"{tag}: TLS versions {mine}")
                conns = {q["connection"] for q in mine}
                check(len(conns) == want, f"{tag}: nginx saw {len(conns)} connections, want {want}")
                if tls and per_action:
                    # Sessions are resumed per target: only connections opened before the loop had a
                    # session for it (at most one per user: the first round) run a full handshake.
                    resumed = sum(1 for q in mine if q["resumed"])
                    check(resumed >= 20 - 4, f"{tag} {version}: {resumed} of 20 connections resumed a TLS session")


def test_https_example_res_dir():
    with Nginx() as ngx, tempfile.TemporaryDirectory() as tmp:
        example = os.path.join(tmp, "https")
        shutil.copytree(os.path.join(SOURCE, "examples", "https"), example)
        shutil.copyfile(ngx.cert_file, os.path.join(example, "ca.pem"))
        script = os.path.join(example, "script.yaml")
        with open(script) as f:
            text = f.read()
        check("127.0.0.1:8443" in text, "the example targets 127.0.0.1:8443")
        with open(script, "w") as f:
            f.write(text.replace("127.0.0.1:8443", f"127.0.0.1:{ngx.https_port}"))
        out = os.path.join(tmp, "out")
        rc, stdout, stderr = run_ntx("run", example, "--out", out)
        check(rc == 0, f"ntx run exited {rc}: {stderr[-3000:]}")
        r = read_report(out)
        s = r["scenarios"][0]
        users = s["users"]["spawned"]
        check(users > 0 and s["users"]["completed"] == users, f"users {s['users']}")
        for a in s["actions"]:
            check(a["ok"] == a["count"] == users and a["errors"] == 0, f"{a['name']}: {a}")
            check(sum(a["status_classes"].values()) == users and set(a["status_classes"]) <= {"2xx"},
                  f"{a['name']}: {a['status_classes']}")
        check(ngx.count(scheme="https", method="PUT", uri_prefix="/dav/user-", status=201) == users,
              f"example PUTs {ngx.requests()}")
        check(ngx.count(scheme="https", method="GET", uri_prefix="/dav/user-", status=200, args="from=ntx-example")
              == users, "example GETs of the PUT files")
        check(ngx.count(scheme="https", uri="/redirect/to-static", status=301) == users, "example redirects")
        check(ngx.count(scheme="https", method="GET", uri="/static/hello.txt", status=200) == users,
              "example redirect targets")
        check(ngx.count(scheme="https", method="DELETE", uri_prefix="/dav/user-", status=204) == users,
              "example DELETEs")
        check(len({q["connection"] for q in ngx.requests()}) == users, "one kept-alive connection per user")
        check(r["totals"]["sockets_opened"] == users, f"sockets {r['totals']}")


if __name__ == "__main__":
    main([test_methods_statuses_and_redirects_over_http_and_https, test_certificate_verification_and_sni,
          test_keep_alive_reuse_and_connection_per_action, test_https_example_res_dir])
