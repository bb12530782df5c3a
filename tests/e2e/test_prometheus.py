"""--metrics-listen: the run serves Prometheus' text format on 127.0.0.1 while it runs. The body passes
`promtool check metrics`, and a real Prometheus server (started here on loopback with a throw-away
config and data folder, stopped after) scrapes it; its HTTP API then returns ntx's series, labelled
run_id / scenario / action (no constant label), with error kinds and ntx_build_info. Any address
with --metrics-public (a warning); the final counts stay up for --metrics-grace."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from harness import NTX, PROBE_COMPONENT, TEST_PLUGINS, check, free_port, main, read_report, stop_process, wait_for, write_res_dir

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  naps: {{steps: [{{ref: nap}}, {{ref: oops}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "20"}}}}
  oops: {{component: probe, call: fail}}
load:
  scenarios:
    - {{name: "web \\"main\\"", workflow: naps, user-count: 4, task-duration: 60s, max-duration: 60s}}
"""


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read().decode()


def scrape(port):
    try:
        return get(f"http://127.0.0.1:{port}/metrics")[1]
    except OSError:
        return ""


def sample(body, name, **labels):
    """The value of the sample `name` whose labels include `labels`."""
    for line in body.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_endpoint_promtool_and_a_real_prometheus():
    port, prom_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, SCRIPT), os.path.join(tmp, "out")
        ntx = subprocess.Popen([NTX, "run", res, "--out", out, "--quiet", "--metrics-listen", f"127.0.0.1:{port}",
                                "--run-id", "prom-test-1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        prom = None
        try:
            wait_for(lambda: (sample(scrape(port), "ntx_actions_total", action="nap", outcome="ok") or 0) > 0,
                     "the endpoint to count ok naps", timeout=60)
            body = scrape(port)
            check('ntx_users{run_id="prom-test-1",scenario="web \\"main\\"",state="online"} 4' in body, body[:3000])
            check('phase="executing"' not in body.replace('ntx_run_phase{run_id="prom-test-1",phase="executing"}', ""),
                  "no constant phase label on the series")
            check(sample(body, "ntx_build_info", run_id="prom-test-1") == 1, "ntx_build_info")
            check((sample(body, "ntx_action_errors_total", action="oops") or 0) > 0, "errors by kind (error_kind label)")
            check(sample(body, "ntx_users", state="stopping") == 0 and sample(body, "ntx_users", state="waiting_resource") == 0,
                  "no user stopping or waiting while the run goes on")
            # One workbook entry per task; the task counter is published every 100 ms, the entries at once.
            tasks, entries = sample(body, "ntx_tasks_total"), sample(body, "ntx_workbook_entries")
            check(entries >= 4 and entries >= tasks > 0, f"workbook entries {entries}, tasks {tasks}")
            check(sample(body, "ntx_actions_total", action="oops", outcome="error") > 0, "errors are counted")
            check(sample(body, "ntx_action_duration_seconds_bucket", action="nap", expected_response="true", le="0.01") == 0,
                  "no nap of 20 ms ended under 10 ms")
            ok = sample(body, "ntx_actions_total", action="nap", outcome="ok")
            below_1s = sample(body, "ntx_action_duration_seconds_bucket", action="nap", expected_response="true", le="1")
            check(below_1s == sample(body, "ntx_action_duration_seconds_count", action="nap", expected_response="true") == ok,
                  body[:3000])
            # Failed actions are timed too, apart from the ok ones.
            errors = sample(body, "ntx_actions_total", action="oops", outcome="error")
            failed_timed = sample(body, "ntx_action_duration_seconds_count", action="oops", expected_response="false")
            check(failed_timed is not None and failed_timed == errors > 0, body[:3000])
            lint = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
            check(lint.returncode == 0, f"promtool: {lint.stdout} {lint.stderr}")

            data = os.path.join(tmp, "prom-data")
            config = os.path.join(tmp, "prometheus.yml")
            with open(config, "w") as f:
                f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: ntx
    static_configs:
      - targets: ["127.0.0.1:{port}"]
""")
            prom = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
                                     f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=1h"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            query = urllib.parse.urlencode({"query": 'ntx_actions_total{action="nap",outcome="ok"}'})

            def series():
                if prom.poll() is not None:
                    raise AssertionError(f"prometheus exited: {prom.stderr.read()[-2000:]}")
                try:
                    status, text = get(f"http://127.0.0.1:{prom_port}/api/v1/query?{query}")
                except OSError:
                    return []
                return json.loads(text)["data"]["result"] if status == 200 else []

            wait_for(lambda: series(), "prometheus to scrape ntx", timeout=60)
            result = series()[0]
            check(result["metric"]["job"] == "ntx" and result["metric"]["scenario"] == 'web "main"', result)
            check(result["metric"]["run_id"] == "prom-test-1" and "component" not in result["metric"], result)
            check(set(result["metric"]) == {"__name__", "job", "instance", "run_id", "scenario", "action", "outcome"}, result)
            check(float(result["value"][1]) > 0, result)
            scraped = float(result["value"][1])
        finally:
            if prom is not None:
                stop_process(prom, timeout=30)
            stop_process(ntx, signal.SIGINT, timeout=60)
        check(ntx.returncode == 4, f"an interrupted run exits 4, got {ntx.returncode}: {ntx.stderr.read()}")
        r = read_report(out)
        check(r["actions"][0]["ok"] >= scraped, f"the final count {r['actions'][0]['ok']} < scraped {scraped}")
        # The endpoint closed with the run.
        check(scrape(port) == "", "the endpoint is gone after the run")


def test_stopping_users_are_a_gauge():
    """After a stop request, users finishing their (long) action are `stopping` until it ends."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, f"""components:
  - {{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}
workflows:
  long: {{steps: [{{ref: slow}}]}}
actions:
  slow: {{component: probe, call: sleep, with: {{ms: "4000"}}}}
load:
  scenarios:
    - {{name: s, workflow: long, user-count: 3, task-duration: 60s, max-duration: 60s}}
""", files={"config.yaml": "grace-period: 30s\n"})  # the users finish their 4 s action
        ntx = subprocess.Popen([NTX, "run", res, "--quiet", "--metrics-listen", f"127.0.0.1:{port}"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: sample(scrape(port), "ntx_users", state="online") == 3, "three users online", timeout=60)
            check(sample(scrape(port), "ntx_users", state="stopping") == 0, "nobody stopping yet")
            ntx.send_signal(signal.SIGINT)
            wait_for(lambda: sample(scrape(port), "ntx_users", state="stopping") == 3, "three users stopping", timeout=30)
            body = scrape(port)
            check(sample(body, "ntx_users", state="online") == 3, f"stopping users are still online: {body[:2000]}")
            ntx.wait(timeout=60)
        finally:
            if ntx.poll() is None:
                ntx.kill()
                ntx.wait()
        check(ntx.returncode == 4, f"an interrupted run exits 4, got {ntx.returncode}")


def test_a_public_address_and_the_grace_after_the_run():
    """--metrics-public: 0.0.0.0 is accepted, with a warning. --metrics-grace: after the run the endpoint
    serves the final counts (those of report.json, phase closing) until the grace ends."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, SCRIPT.replace("task-duration: 60s, max-duration: 60s", "max-duration: 2s")), \
            os.path.join(tmp, "out")
        ntx = subprocess.Popen([NTX, "run", res, "--out", out, "--quiet", "--metrics-listen", f"0.0.0.0:{port}",
                                "--metrics-public", "--metrics-grace", "4s"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        try:
            report = os.path.join(out, "report.json")
            wait_for(lambda: os.path.exists(report), "the run to end and write its report", timeout=60)
            seen = time.monotonic()
            body = scrape(port)
            check(ntx.poll() is None, "the process is still up for the grace")
            r = read_report(out)
            nap = next(a for a in r["actions"] if a["name"] == "nap")
            check(sample(body, "ntx_actions_total", action="nap", outcome="ok") == nap["ok"] > 0,
                  f"the final counts: {sample(body, 'ntx_actions_total', action='nap', outcome='ok')} vs {nap['ok']}")
            check(sample(body, "ntx_run_phase", phase="closing") == 1, "phase closing after the run")
            check(sample(body, "ntx_build_info", run_id=r["run_id"]) == 1, f"run_id {r['run_id']}")
            oops = next(a for a in r["actions"] if a["name"] == "oops")
            for kind, n in oops["errors_by_kind"].items():
                check(sample(body, "ntx_action_errors_total", action="oops", error_kind=kind) == n, f"{kind}: {n}")
            lint = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True, timeout=60)
            check(lint.returncode == 0, f"promtool: {lint.stdout} {lint.stderr}")
            ntx.wait(timeout=60)
            ended = time.monotonic()
        finally:
            if ntx.poll() is None:
                ntx.kill()
                ntx.wait()
        check(ntx.returncode == 0, f"exit {ntx.returncode}: {ntx.stderr.read()}")
        check(ended - seen >= 3.0, f"the endpoint stayed up for the grace: {ended - seen:.2f} s after the report")
        check(scrape(port) == "", "the endpoint is gone after the grace")


def test_metrics_listen_refuses_a_non_loopback_address():
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, SCRIPT.replace("task-duration: 60s, max-duration: 60s", "max-duration: 2s"))
        p = subprocess.run([NTX, "run", res, "--quiet", "--metrics-listen", "0.0.0.0:9"], capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 2 and "not a loopback address" in p.stderr and "--metrics-public" in p.stderr,
              f"{p.returncode} {p.stderr}")
        # With --metrics-public it is accepted, and says so.
        port = free_port()
        p = subprocess.run([NTX, "run", res, "--quiet", "--metrics-listen", f"0.0.0.0:{port}", "--metrics-public"],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0 and "warning: the metrics endpoint listens on 0.0.0.0" in p.stderr, f"{p.returncode} {p.stderr}")
        p = subprocess.run([NTX, "run", res, "--quiet", "--metrics-listen", "localhost"], capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 2 and "ADDRESS:PORT" in p.stderr, f"{p.returncode} {p.stderr}")
        with socket.socket() as busy:  # a port in use: refused before anything starts
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            p = subprocess.run([NTX, "run", res, "--quiet", "--metrics-listen", f"127.0.0.1:{port}"],
                               capture_output=True, text=True, timeout=60)
        check(p.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in p.stderr, f"{p.returncode} {p.stderr}")


if __name__ == "__main__":
    main([test_metrics_endpoint_promtool_and_a_real_prometheus, test_stopping_users_are_a_gauge,
          test_a_public_address_and_the_grace_after_the_run,
          test_metrics_listen_refuses_a_non_loopback_address])
