"""The design notes' constructs (../shared/seeds, the audit of issue 22), one by one: each either runs or
is refused at validation with its documented reason (docs/dsl.md), file:line:col and exit code 2 —
none is accepted and ignored. Runs use the probe test plugin (no server needed)."""
import json
import os
import re
import subprocess
import tempfile
import urllib.request

from harness import NTX, TEST_PLUGINS, action, check, free_port, main, read_report, run_ntx, run_script, scenario, \
    stop_process, validate_script, wait_for, write_res_dir

PROBE = f'{{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}'


def base(extra="", wf_keys="", steps="[{ref: nap}]", components=""):
    return f"""
components:
  - {PROBE}
{components}
workflows:
  w:
{wf_keys}    steps: {steps}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "1"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 2}}
{extra}"""


POOL = """
resources:
  pool:
    type: pair_pool
    provider:
      component: resource-manager
      calls: {calls}
    config: {{manifest: ./pool.csv, parser: {{format: csv, fields: [ip, port]}}}}
"""


def refused(script, needle, files=None, where=None):
    """validate exits 2, and one diagnostic says `needle` (at `where`, a 'line:col' of script.yaml)."""
    err = validate_script(script, files)
    check(needle in err, f"expected {needle!r} in:\n{err}")
    line = next(l for l in err.splitlines() if needle in l)
    check(re.match(r"^\S+:\d+:\d+: error: ", line), f"not file:line:col: {line}")
    if where:
        check(f"script.yaml:{where}: error:" in line, f"expected at {where}: {line}")
    return err


def accepted(script, files=None):
    validate_script(script, files, expect_exit=0)


def test_wbs_level():
    refused(base(wf_keys="    wbs-level: L9\n"), "is at WBS level L3, not 'L9'", where="7:16")
    accepted(base(wf_keys="    wbs-level: L3\n"))


def test_provider_calls():
    files = {"pool.csv": "ip,port\n127.0.0.1,1\n"}
    refused(base(POOL.format(calls="{acquire: no_such_call, release: release_pair}")),
            "calls.acquire: the resource-manager has no call 'no_such_call'", files)
    refused(base(POOL.format(calls="{acquire: release_pair}")), "is not the resource-manager's acquire call", files)
    refused(base(POOL.format(calls="{mount: mount_file}")), "a pair_pool has no 'mount' call", files)
    accepted(base(POOL.format(calls="{acquire: allocate_pair, release: release_pair}")), files)


def test_builtin_component():
    rm = "  - {name: resource-manager, kind: builtin, %s}"
    refused(base(components=rm % 'version: "99.0.0"'), "the built-in resource-manager is ntx's own")
    refused(base(components=rm % "entry: plugins/resource/manager.wasm"), "is built into ntx: it has no entry")
    refused(base(components=rm % "metadata: {capabilities: [allocate_pair, teleport]}"),
            "the built-in resource-manager has no capability 'teleport'")
    refused(base(components=rm % "metadata: {resources: {provides: [pair_pool, teleports]}}"),
            "does not provide 'teleports'")
    refused(base(components=rm % "metadata: {transport: tcp}"), "it has no transport")
    _, out, _ = run_ntx("--version")
    version = re.search(r"(\d+\.\d+\.\d+)", out).group(1)
    accepted(base(components=rm % f'version: "{version}", metadata: {{capabilities: [allocate_pair, release_pair, '
                                  f'mount_file], resources: {{provides: [pair_pool, file_blob, kv_store]}}}}'))


def test_metadata_transport():
    http = "  - {name: http, metadata: {transport: %s}}"
    refused(base(components=http % "udp"), "metadata.transport is 'udp' but plugin ntx_http.so speaks http over tcp")
    refused(base(components=http % "carrier-pigeon"), "unknown transport 'carrier-pigeon'")
    accepted(base(components=http % "tcp"))
    # The probe plugin does not (cannot, by the ABI) declare a transport: refused, not believed.
    script = base().replace(PROBE, PROBE[:-1] + ", metadata: {transport: tcp}}")
    refused(script, "metadata.transport cannot be checked")


def test_root_resource_yaml():
    files = {"resource.yaml": "- {ip: 127.0.0.1, port: 1}\n"}
    err = validate_script(base(), files)
    check(re.search(r"resource\.yaml:1:1: error: resource\.yaml is not named by any resource", err), err)
    named = POOL.format(calls="{acquire: allocate_pair}").replace("./pool.csv", "./resource.yaml").replace(
        "format: csv", "format: yaml")
    accepted(base(named), files)


def test_parallel_in_graph_node():
    script = f"""
components:
  - {PROBE}
workflows:
  g:
    nodes:
      fan:
        parallel:
          - ref: a
          - steps: [{{ref: b}}, {{ref: c}}]
        controls: {{flow: {{transitions: [{{to: after}}]}}}}
      after:
        ref: d
actions:
  a: {{component: probe, call: sleep, with: {{ms: "200"}}, save-as: got_a}}
  b: {{component: probe, call: sleep, with: {{ms: "100"}}}}
  c: {{component: probe, call: sleep, with: {{ms: "100"}}}}
  d: {{component: probe, call: sleep, with: {{ms: "1"}}}}
load:
  scenarios:
    - {{name: s, workflow: g, user-count: 3}}
"""
    with tempfile.TemporaryDirectory() as tmp:
        _, report = run_script(tmp, script, "--quiet")
        s = scenario(report, "s")
        for name in "abcd":
            a = action(s, name)
            check(a["count"] == 3 and a["ok"] == 3, f"{name}: {a}")
    refused(script.replace("controls: {flow:", "controls: {exec: {timeout: 1s}, flow:"),
            "controls.exec applies to an action node")


def test_progress_rollback():
    refused(base("progress: {rollback: last-stable-point}"),
            "progress.rollback: no resource has a health-check, so nothing could trigger a rollback")
    refused(base("progress: {rollback: yesterday}"), "unknown progress.rollback 'yesterday'")
    files = {"pool.csv": "ip,port\n127.0.0.1,1\n"}
    pool = POOL.format(calls="{acquire: allocate_pair}") + "    health-check: {interval: 1s, timeout: 100ms, probe: tcp}\n"
    accepted(base(pool + "progress: {rollback: last-stable-point}"), files)


def test_monitoring_health():
    refused(base("monitoring: {health: {interval: 5s}}"),
            "monitoring.health: health checks belong to a resource in ntx")


def test_feature_flags():
    script = f"""
components:
  - {PROBE}
workflows:
  w:
    steps:
      - if: "feature('new-checkout')"
        then: [{{ref: v2}}]
        else: [{{ref: v1}}]
actions:
  v1: {{component: probe, call: sleep, with: {{ms: "1"}}}}
  v2: {{component: probe, call: sleep, with: {{ms: "1"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 3}}
"""
    config = {"config.yaml": "features:\n  new-checkout: off\n  legacy: on\n"}
    with tempfile.TemporaryDirectory() as tmp:
        _, report = run_script(tmp, script, "--quiet", files=config)
        names = {a["name"]: a["count"] for a in scenario(report, "s")["actions"]}
        check(names.get("v1") == 3 and not names.get("v2"), names)
        check(report["features"] == {"new-checkout": False, "legacy": True}, report["features"])
    with tempfile.TemporaryDirectory() as tmp:
        _, report = run_script(tmp, script, "--quiet", "--feature", "new-checkout=on", files=config)
        names = {a["name"]: a["count"] for a in scenario(report, "s")["actions"]}
        check(names.get("v2") == 3 and not names.get("v1"), names)
        check(report["features"]["new-checkout"] is True, report["features"])
        check({"name": "feature.new-checkout", "value": "on", "source": "--feature"} in report["overrides"],
              report["overrides"])
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, script, config)
        rc, _, err = run_ntx("validate", res, "--feature", "new-chekout=on")
        check(rc == 2 and "config.yaml declares no feature 'new-chekout'" in err and "did you mean 'new-checkout'" in err, err)
        rc, _, err = run_ntx("validate", res, "--feature", "new-checkout=maybe")
        check(rc == 2 and "expected NAME=on or NAME=off" in err, err)
    refused(script.replace("new-checkout", "nope"), "unknown feature 'nope'", config)
    refused(script, "unknown feature 'new-checkout'")  # no config.yaml: no flags


def test_masking_alias():
    script = base(steps='[{ref: nap}, {log: "secret=hunter2 region={{global.region}}", level: warn}]',
                  extra="globals: {region: eu-west}")
    with tempfile.TemporaryDirectory() as tmp:
        run, _ = run_script(tmp, script, "--quiet", files={"config.yaml": "masking: [secret]\n"})
        check("secret=***" in run.stderr and "hunter2" not in run.stderr, run.stderr[-2000:])
        check("region=eu-west" in run.stderr, "a static global reaches the log step: " + run.stderr[-2000:])
    err = validate_script(base(), {"config.yaml": "masking: [a]\nlog: {mask: [b]}\n"})
    check("has both 'masking' and 'log.mask'" in err, err)


def test_globals():
    refused(base(steps='[{log: "{{global.nope}}"}]', extra="globals: {region: eu}"),
            "global.nope")
    refused(base(extra="globals: {nap: x}").replace('with: {ms: "1"}}', 'with: {ms: "1"}, save-as: nap}'),
            "global 'nap' is also a variable an action saves")


def test_five_phases_in_order():
    script = base(steps="[{ref: slow}]").replace(
        "actions:\n", 'actions:\n  slow: {component: probe, call: sleep, with: {ms: "300"}}\n')
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, script), os.path.join(tmp, "out")
        rc, _, err = run_ntx("run", res, "--out", out, "--workbook-stream", "--quiet")
        check(rc == 0, err)
        with open(os.path.join(out, "workbook-stream.jsonl")) as f:
            events = [json.loads(line) for line in f]
        phases = [(ev["phase"], ev["t_ms"]) for ev in events if ev["kind"] == "phase"]
        check([p for p, _ in phases] == ["initiating", "planning", "executing", "monitoring", "closing"], phases)
        times = [t for _, t in phases]
        check(times == sorted(times), f"the phases' times go forward: {phases}")
        # Monitoring begins once both users started (at once) and before their 300 ms tasks end.
        check(phases[3][1] < 300 <= phases[4][1], phases)
        check(read_report(out)["scenarios"][0]["actions"][0]["count"] == 2, "the run ran")



def run_phase_gauges(port):
    """{phase: value} of ntx_run_phase on the metrics endpoint ({} while it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            body = r.read().decode()
    except OSError:
        return {}
    return {m.group(1): float(m.group(2)) for m in re.finditer(r'^ntx_run_phase\{[^}]*phase="(\w+)"\} (\S+)$', body, re.M)}


def test_monitoring_phase_in_metrics():
    # Two users start at once and sleep 4 s: the run is in monitoring (all started, tasks running).
    script = base(steps="[{ref: slow}]").replace(
        "actions:\n", 'actions:\n  slow: {component: probe, call: sleep, with: {ms: "4000"}}\n')
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, script), os.path.join(tmp, "out")
        proc = subprocess.Popen([NTX, "run", res, "--out", out, "--quiet", "--metrics-listen", f"127.0.0.1:{port}"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: run_phase_gauges(port).get("monitoring") == 1, "ntx_run_phase monitoring = 1", timeout=60)
            g = run_phase_gauges(port)
            check(g.get("executing") == 0 and g.get("closing") == 0, g)
            check(proc.poll() is None, "the run still goes on while monitoring")
        finally:
            stop_process(proc)


if __name__ == "__main__":
    main([test_wbs_level, test_provider_calls, test_builtin_component, test_metadata_transport, test_root_resource_yaml,
          test_parallel_in_graph_node, test_progress_rollback, test_monitoring_health, test_feature_flags,
          test_masking_alias, test_globals, test_five_phases_in_order, test_monitoring_phase_in_metrics])
