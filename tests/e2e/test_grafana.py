"""deploy/grafana/ntx-dashboard.json: every PromQL expression of the dashboard, run against a real
Prometheus (started here on loopback with a throw-away config) that scraped a real run (ntx against
ntx-target: ok actions, 503s, thresholds, and an exclusive pool with a health check that three users
share two items of, so that one waits), returns data: at least one series with a number over the
run's window. Grafana's variables are replaced as Grafana would ($run_id by the run's id,
$__rate_interval by 4x the scrape interval)."""
import json
import os
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from harness import NTX, SOURCE, TARGET, check, free_port, main, read_report, stop_process, wait_for, write_res_dir

SCRIPT = """components:
  - {name: http, version: "0.2.1", entry: http}
  - {name: resource-manager, kind: builtin}
resources:
  desks:
    type: pair_pool
    provider: {component: resource-manager, leasing: {strategy: round-robin}}
    config: {manifest: ./desks.csv, parser: {format: csv, fields: [ip, port]}}
    capacity: {size: 2, guard: exclusive}
    health-check: {interval: 1s, timeout: 1s, probe: tcp, on-failure: ignore}
workflows:
  browse: {steps: [{ref: home}, {think: 20ms}, {ref: pay}, {think: 20ms}]}
  member: {steps: [{ref: desk}, {think: 1500ms}]}
actions:
  home: {component: http, call: get, with: {url: "http://127.0.0.1:PORT/asset"}, timeout: 2s}
  pay: {component: http, call: get, with: {url: "http://127.0.0.1:PORT/status/503"}, timeout: 2s}
  desk: {component: http, call: get, with: {url: "http://{{resource.ip}}:{{resource.port}}/asset"}, timeout: 2s}
load:
  scenarios:
    - {name: shoppers, workflow: browse, user-count: 4, task-duration: 6s, max-duration: 6s}
    # Three users, two desks: one waits for a lease until a first user ends (after about 1.5 s).
    - {name: members, workflow: member, user-count: 3, user: {inherit: [desks]}}
thresholds: ["home.p99 < 500ms", "pay.error-rate < 1%"]
"""


def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read().decode())


def expressions(dashboard):
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def test_every_dashboard_query_returns_data_from_a_real_prometheus():
    with open(os.path.join(SOURCE, "deploy", "grafana", "ntx-dashboard.json")) as f:
        dashboard = json.load(f)
    exprs = list(expressions(dashboard))
    check(len(exprs) >= 10, f"the dashboard's queries: {exprs}")
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    check({"run_id", "datasource"} <= variables, variables)
    target_port, port, prom_port = free_port(), free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        ready = os.path.join(tmp, "ready")
        target = subprocess.Popen([TARGET, "--listen", "127.0.0.1", "--ports", str(target_port), "--ready-file", ready,
                                   "--max-seconds", "120"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        prom = ntx = None
        try:
            wait_for(lambda: os.path.exists(ready), "ntx-target to listen")
            config, data = os.path.join(tmp, "prometheus.yml"), os.path.join(tmp, "prom-data")
            with open(config, "w") as f:
                f.write(f"""global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: ntx
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
""")
            prom = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
                                     f"--web.listen-address=127.0.0.1:{prom_port}", "--storage.tsdb.retention.time=1h"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            api = f"http://127.0.0.1:{prom_port}/api/v1"

            def ready_api():
                try:
                    return get_json(f"{api}/status/buildinfo")["status"] == "success"
                except OSError:
                    return False
            wait_for(ready_api, "prometheus to answer", timeout=60)
            # Prometheus hands discovered targets to its scrapers every 5 s: wait until it scrapes (the
            # endpoint is down yet), else the first seconds of the run are never stored.
            wait_for(lambda: get_json(f"{api}/targets")["data"]["activeTargets"], "prometheus to have its target", timeout=30)
            desks = "ip,port\n" + f"127.0.0.1,{target_port}\n" * 2
            res, out = write_res_dir(tmp, SCRIPT.replace("PORT", str(target_port)), files={"desks.csv": desks}), \
                os.path.join(tmp, "out")
            start = time.time()
            # The grace keeps the final counts up for the last scrapes.
            ntx = subprocess.Popen([NTX, "run", res, "--out", out, "--quiet", "--metrics-listen", f"127.0.0.1:{port}",
                                    "--metrics-grace", "4s"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            rc = ntx.wait(timeout=120)
            end = time.time()
            check(rc == 1, f"pay.error-rate fails: exit {rc} {ntx.stderr.read()}")
            report = read_report(out)
            run_id = report["run_id"]
            waits = report["resources"]["pools"][0]["waits"]["count"]
            check(waits >= 1, f"a member waited for a desk: {report['resources']['pools'][0]}")
            empty = []
            for title, expr in exprs:
                q = expr.replace("$run_id", run_id).replace("$__rate_interval", "4s")
                args = urllib.parse.urlencode({"query": q, "start": start, "end": end, "step": "1"})
                body = get_json(f"{api}/query_range?{args}")
                check(body["status"] == "success", f"{title}: {q}: {body}")
                values = [float(v) for series in body["data"]["result"] for _, v in series["values"]]
                if not any(v == v for v in values):  # a number, not only NaN
                    empty.append((title, q))
            check(not empty, f"queries without data: {empty}")

            # The pool's series hold report.json's counts (the last scrapes, in the grace, are final).
            # last_over_time: once the endpoint closes, a failed scrape before `end` writes staleness markers
            # and an instant query of the bare series at `end` finds nothing; range vectors skip markers.
            def at_end(q):
                q = f"last_over_time({q}[15s])"
                args = urllib.parse.urlencode({"query": q.replace("$run_id", run_id), "time": end})
                result = get_json(f"{api}/query?{args}")["data"]["result"]
                check(len(result) == 1, f"{q}: {result}")
                return float(result[0]["value"][1])
            pool = report["resources"]["pools"][0]
            for event in ("acquired", "released"):
                check(at_end(f'ntx_lease_events_total{{run_id="$run_id",pool="desks",event="{event}"}}')
                      == pool["leases"][event] == 3, f"{event}: {pool['leases']}")
            check(at_end('ntx_resource_waits_total{run_id="$run_id",pool="desks"}') == waits, pool["waits"])
            check(at_end('ntx_leases_peak{run_id="$run_id",pool="desks"}') == pool["leases"]["peak_held"] == 2, pool)
            check(at_end('ntx_pool_items_available{run_id="$run_id",pool="desks"}') == 2, "both desks free at the end")
            # While two members held both desks (the first 1.5 s), none was available.
            args = urllib.parse.urlencode({"query": f'ntx_pool_items_available{{run_id="{run_id}"}}', "start": start,
                                           "end": end, "step": "1"})
            seen = [float(v) for series in get_json(f"{api}/query_range?{args}")["data"]["result"] for _, v in series["values"]]
            check(seen and min(seen) == 0, f"no desk available while both were leased: {seen}")
        finally:
            if ntx is not None and ntx.poll() is None:
                ntx.kill()
                ntx.wait()
            if prom is not None:
                stop_process(prom, timeout=30)
            stop_process(target, timeout=30)


if __name__ == "__main__":
    main([test_every_dashboard_query_returns_data_from_a_real_prometheus])
