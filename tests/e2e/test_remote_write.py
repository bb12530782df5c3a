"""Prometheus remote write (`--out prometheus-rw=URL`, `--out-stream`, config.yaml `outputs:`): a real
Prometheus (Debian's 2.42, started here on loopback with `--web.enable-remote-write-receiver`, a
throw-away config and data folder) receives the run's series every interval and the final counts at
the end; its HTTP API then returns them with ntx's labels and report.json's values. A receiver that
refuses (500), one that holds every request (slow) and one that is down never fail or stall the run:
the report is written and says how many samples were sent and dropped."""
import http.server
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from harness import NTX, PROBE_COMPONENT, check, free_port, main, read_report, run_ntx, stop_process, validate_script, \
    wait_for, write_res_dir

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  naps: {{steps: [{{ref: nap}}, {{ref: oops}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "20"}}}}
  oops: {{component: probe, call: fail}}
load:
  scenarios:
    - {{name: web, workflow: naps, user-count: 3, task-duration: 60s, max-duration: 3s}}
"""


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


class Prometheus:
    """A real Prometheus with its remote-write receiver on, scraping nothing."""

    def __init__(self, tmp):
        self.port = free_port()
        config = os.path.join(tmp, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 15s\n")
        self.proc = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp}/prom-data",
                                      f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h",
                                      "--web.enable-remote-write-receiver"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(self.ready, "prometheus to be ready", timeout=60)

    def ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited: {self.proc.stderr.read()[-2000:]}")
        try:
            return get(f"http://127.0.0.1:{self.port}/-/ready")[0] == 200
        except OSError:
            return False

    def url(self):
        return f"http://127.0.0.1:{self.port}/api/v1/write"

    def query(self, promql):
        status, text = get(f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        check(status == 200, text)
        return json.loads(text)["data"]["result"]

    def value(self, promql):
        result = self.query(promql)
        check(len(result) == 1, f"{promql}: {result}")
        return float(result[0]["value"][1])

    def own_metric(self, name, **labels):
        """A sample of Prometheus' own /metrics (what its receiver counted)."""
        body = get(f"http://127.0.0.1:{self.port}/metrics")[1]
        total = 0.0
        for line in body.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def stop(self):
        stop_process(self.proc, timeout=30)


def test_a_real_prometheus_receives_the_series():
    with tempfile.TemporaryDirectory() as tmp:
        prom = Prometheus(tmp)
        try:
            # config.yaml's outputs, as the other streams are declared.
            res = write_res_dir(tmp, SCRIPT, files={"config.yaml": f"outputs:\n  - {{prometheus-rw: {prom.url()}}}\n"})
            out = os.path.join(tmp, "out")
            rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet", "--run-id", "rw-test-1")
            check(rc == 0, f"exit {rc}: {stderr[-3000:]}")
            check("prometheus-rw" not in stderr, f"no warning when the receiver takes everything: {stderr}")
            r = read_report(out)
            rw = r["remote_write"]
            check(rw["url"] == prom.url() and rw["samples_dropped"] == 0 and rw["requests_failed"] == 0
                  and rw["last_error"] == "", rw)
            # A push per 1 s interval of a 3 s run (and one as it starts), and the final one.
            check(rw["requests"] >= 4 and rw["samples_sent"] > 0, rw)
            received = prom.own_metric("prometheus_http_requests_total", handler="/api/v1/write", code="204")
            check(received == rw["requests"], f"prometheus took {received} writes, ntx counted {rw['requests']}")

            nap = next(a for a in r["actions"] if a["name"] == "nap")
            oops = next(a for a in r["actions"] if a["name"] == "oops")
            run = 'run_id="rw-test-1"'
            # The last push holds the final counts: report.json's.
            result = prom.query(f'ntx_actions_total{{{run},action="nap",outcome="ok"}}')
            check(len(result) == 1, result)
            check(result[0]["metric"] == {"__name__": "ntx_actions_total", "run_id": "rw-test-1", "scenario": "web",
                                          "action": "nap", "outcome": "ok"}, result[0]["metric"])
            check(float(result[0]["value"][1]) == nap["ok"] > 0, f"{result[0]['value']} vs {nap['ok']}")
            check(prom.value(f'ntx_actions_total{{{run},action="oops",outcome="error"}}') == oops["errors"] > 0, oops)
            for kind, n in oops["errors_by_kind"].items():
                check(prom.value(f'ntx_action_errors_total{{{run},action="oops",error_kind="{kind}"}}') == n, (kind, n))
            check(prom.value(f'ntx_action_duration_seconds_count{{{run},action="nap",expected_response="true"}}')
                  == nap["ok"], "the histogram's count")
            check(prom.value(f'ntx_action_duration_seconds_bucket{{{run},action="nap",expected_response="true",le="0.01"}}')
                  == 0, "no nap of 20 ms ended under 10 ms")
            check(prom.value(f'ntx_run_phase{{{run},phase="closing"}}') == 1, "the final push is the closing one")
            check(prom.value(f'ntx_build_info{{{run}}}') == 1, "ntx_build_info")
            # Every push was stored: one sample of ntx_build_info each (the nap counter from the first
            # push that had counters), and the counter rose over them.
            stored = prom.value(f'count_over_time(ntx_build_info{{{run}}}[10m])')
            check(stored == rw["requests"], f"{stored} samples of ntx_build_info, {rw['requests']} pushes")
            naps = prom.value(f'count_over_time(ntx_actions_total{{{run},action="nap",outcome="ok"}}[10m])')
            check(rw["requests"] - 1 <= naps <= rw["requests"], f"{naps} samples of the nap counter")
            check(prom.value(f'min_over_time(ntx_actions_total{{{run},action="nap",outcome="ok"}}[10m])') < nap["ok"],
                  "earlier pushes held smaller counts")
            # (The type and help sent as metadata are checked by tests/test_remote_write.cpp: Prometheus
            # 2.42's receiver does not keep remote-write metadata.)
        finally:
            prom.stop()


class Refusing(http.server.BaseHTTPRequestHandler):
    """Answers every POST with 500 (or, slow, holds it until the test ends), noting its headers."""
    seen = []
    slow = threading.Event()
    release = threading.Event()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Refusing.seen.append((dict(self.headers), len(body)))
        if Refusing.slow.is_set():
            Refusing.release.wait(60)
        self.send_response(500)
        self.send_header("Content-Length", "12")
        self.end_headers()
        self.wfile.write(b"out of order")

    def log_message(self, *args):
        pass


def serve_refusing(slow):
    Refusing.seen.clear()
    Refusing.release.clear()
    (Refusing.slow.set if slow else Refusing.slow.clear)()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Refusing)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_against(url, *flags):
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, SCRIPT.replace("max-duration: 3s", "max-duration: 2s")), os.path.join(tmp, "out")
        started = time.monotonic()
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet", *flags)
        took = time.monotonic() - started
        check(rc == 0, f"a failing receiver does not fail the run: exit {rc}: {stderr[-3000:]}")
        return read_report(out), stderr, took


def test_a_receiver_that_refuses():
    server = serve_refusing(slow=False)
    url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/write"
    try:
        r, stderr, took = run_against(url, "--out", f"prometheus-rw={url}")  # k6's spelling
    finally:
        server.shutdown()
    rw = r["remote_write"]
    check(rw["samples_sent"] == 0 and rw["requests"] == 0 and rw["samples_dropped"] > 0, rw)
    check(rw["requests_failed"] >= 3 and rw["last_error"] == "HTTP 500: out of order", rw)
    # A 5xx is retried: three attempts per push.
    check(len(Refusing.seen) == 3 * rw["requests_failed"], f"{len(Refusing.seen)} posts, {rw['requests_failed']} failed")
    headers, size = Refusing.seen[0]
    check(headers.get("Content-Encoding") == "snappy" and headers.get("Content-Type") == "application/x-protobuf"
          and headers.get("X-Prometheus-Remote-Write-Version") == "0.1.0" and size > 0, headers)
    check(stderr.count("prometheus-rw " + url + ": HTTP 500") == 1, f"one warning as it starts failing: {stderr}")
    check("samples not delivered" in stderr, f"and one at the end: {stderr}")
    check(took < 2 + 15, f"the run took {took:.1f} s")


def test_a_slow_receiver_does_not_stall_the_end():
    server = serve_refusing(slow=True)
    url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/write"
    try:
        r, stderr, took = run_against(url, "--out-stream", f"prometheus-rw={url}")
    finally:
        Refusing.release.set()
        server.shutdown()
    rw = r["remote_write"]
    check(rw["samples_sent"] == 0 and rw["samples_dropped"] > 0 and rw["last_error"], rw)
    # 2 s of run, then at most the end's 5 s for the last push (plus start and exit).
    check(took < 2 + 5 + 5, f"the run took {took:.1f} s with a receiver that never answers")
    check(len(Refusing.seen) >= 1, "the receiver was reached")


def test_a_receiver_that_is_down():
    url = f"http://127.0.0.1:{free_port()}/api/v1/write"
    r, stderr, took = run_against(url, "--out-stream", f"prometheus-rw={url}")
    rw = r["remote_write"]
    check(rw["samples_sent"] == 0 and rw["samples_dropped"] > 0 and rw["requests_failed"] >= 1, rw)
    check("connect" in rw["last_error"].lower(), rw)
    check(stderr.count("warn") >= 1 and "prometheus-rw " + url in stderr, stderr)
    check(took < 2 + 15, f"the run took {took:.1f} s")


def test_bad_targets_are_refused():
    err = validate_script(SCRIPT, files={"config.yaml": "outputs:\n  - {prometheus-rw: 127.0.0.1:9090}\n"})
    check("config.yaml:2:21: error: outputs: prometheus-rw wants the receiver's http:// or https:// URL" in err, err)
    with tempfile.TemporaryDirectory() as tmp:
        rc, _, stderr = run_ntx("run", write_res_dir(tmp, SCRIPT), "--quiet", "--out-stream", "prometheus-rw=ftp://x")
    check(rc == 2 and "prometheus-rw wants the receiver's http:// or https:// URL" in stderr, f"{rc}: {stderr}")


if __name__ == "__main__":
    main([test_a_real_prometheus_receives_the_series, test_a_receiver_that_refuses, test_a_slow_receiver_does_not_stall_the_end,
          test_a_receiver_that_is_down, test_bad_targets_are_refused])
