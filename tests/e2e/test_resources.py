"""The resource manager end to end, against the bundled target server on 127.0.0.1: an exclusive pool
proven exclusive from its lease trail (leases.jsonl), health checks that take failing items out and
put recovered ones back, rollback of the users holding an item that goes down, users that give up
waiting, kv_store values in templates, and bad manifests (exit 2 with file:line:col)."""
import json
import os
import signal
import subprocess
import tempfile
import time

from harness import NTX, SOURCE, TEST_PLUGINS, Target, action, check, free_port, main, read_report, run_ntx, scenario, wait_for

SCALE = float(os.environ.get("NTX_E2E_LOAD_SCALE", "1"))


def target_block(n, start=30000):
    """ntx-target on the first free block of n ports from `start` (below the kernel's ephemeral ports,
    32768 and up, so that no outgoing connection holds one); returns (target, first port)."""
    for base in range(start, 32768 - n, 200):
        try:
            return Target(base, base + n - 1, threads=1), base
        except AssertionError as e:
            if "Address already in use" not in str(e):
                raise
    raise AssertionError(f"no free block of {n} ports")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def read_trail(out):
    with open(os.path.join(out, "leases.jsonl")) as f:
        return [json.loads(line) for line in f]


def replay_exclusive(events, pool):
    """Replays one pool's acquire/release events in the pool's own order: at no point may an item have
    two holders, and a release must come from the holder. Returns the holders left at the end."""
    holder = {}
    for e in sorted((e for e in events if e["pool"] == pool), key=lambda e: e["seq"]):
        if e["event"] == "acquire":
            check(e["item"] not in holder, f"item {e['item']} leased to {e['user']} while {holder.get(e['item'])} holds it")
            holder[e["item"]] = e["user"]
        elif e["event"] == "release":
            check(holder.get(e["item"]) == e["user"], f"release of item {e['item']} by {e['user']}, held by {holder.get(e['item'])}")
            del holder[e["item"]]
    return holder


HEADER = """components:
  - {name: http, version: "0.2.1", entry: http}
  - {name: resource-manager, kind: builtin}
"""


def test_300_users_on_an_exclusive_pool_of_100_pairs():
    target, base = target_block(100)
    with target, tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "res")
        write(os.path.join(res, "pairs.csv"), "ip,port\n" + "".join(f"127.0.0.1,{base + i}\n" for i in range(100)))
        write(os.path.join(res, "script.yaml"), HEADER + """resources:
  pairs:
    type: pair_pool
    provider: {component: resource-manager, leasing: {strategy: round-robin}}
    config: {manifest: ./pairs.csv, parser: {format: csv, fields: [ip, port]}}
    capacity: {size: 100, guard: exclusive}
workflows:
  w:
    steps:
      - ref: get
      - if: "contains(asset.body, resource.port)"   # the server on the leased port answered
        then: [{think: 50ms}]
        else: [{goto: error_out}]
      - ref: get
actions:
  get: {component: http, call: get, with: {url: "http://{{resource.ip}}:{{resource.port}}/asset"}, save-as: asset}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 300, user: {inherit: [pairs]}}
""")
        out = os.path.join(tmp, "out")
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet")
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        report = read_report(out)
        s = scenario(report, "s")
        check(s["users"]["completed"] == 300 and s["exits"]["error_out"] == 0, f"users {s['users']} exits {s['exits']}")
        check(action(s, "get")["ok"] == 600, f"get {action(s, 'get')}")
        pool = report["resources"]["pools"][0]
        leases = pool["leases"]
        check(leases["acquired"] == 300 and leases["released"] == 300, f"leases {leases}")
        check(leases["peak_held"] == 100 and leases["held_at_end"] == 0, f"leases {leases}")
        check(report["resources"]["leases_leaked"] == 0, "leaked")
        # All 300 start at once on 100 pairs: about 200 wait (a few may find a pair freed already).
        check(150 <= pool["waits"]["count"] <= 200 and pool["waits"]["timeouts"] == 0, f"waits {pool['waits']}")
        check(pool["waits"]["p99_ms"] >= 50, f"waits {pool['waits']}")
        events = read_trail(out)
        check(report["resources"]["lease_trail"].endswith("leases.jsonl"), "trail named in the report")
        check(replay_exclusive(events, "pairs") == {}, "leases held at the end of the trail")
        acquires = [e for e in events if e["event"] == "acquire"]
        users = {e["user"] for e in acquires}
        check(len(acquires) == 300 and len(users) == 300, f"{len(acquires)} acquires by {len(users)} users")
        check({e["key"] for e in acquires} == {f"127.0.0.1:{base + i}" for i in range(100)}, "every pair leased")
        check(all(e["reason"] == "end" for e in events if e["event"] == "release"), "release reasons")
        check(all(events[i]["t_ms"] <= events[i + 1]["t_ms"] for i in range(len(events) - 1)), "trail in time order")


def run_until_trail(args, out, on_first_lease, timeout=60):
    """Runs ntx; once the trail shows the first acquire, calls on_first_lease(); waits for the end."""
    proc = subprocess.Popen([NTX, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    trail = os.path.join(out, "leases.jsonl")

    def leased():
        try:
            with open(trail) as f:
                return '"acquire"' in f.read()
        except FileNotFoundError:
            return proc.poll() is not None

    try:
        wait_for(leased, "the first lease in the trail")
        on_first_lease()
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stdout, stderr


def test_failing_pairs_are_not_leased_and_come_back_when_they_recover():
    target, base = target_block(5)
    closed = [free_port() for _ in range(3)]  # nothing listens there (yet)
    revived = []
    with target, tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "res")
        ports = [base + i for i in range(5)] + closed
        write(os.path.join(res, "pairs.yaml"), "items:\n" + "".join(f"  - {{ip: 127.0.0.1, port: {p}}}\n" for p in ports))
        write(os.path.join(res, "script.yaml"), HEADER + """resources:
  pairs:
    type: pair_pool
    provider: {component: resource-manager, leasing: {strategy: least-used, ttl: 50ms}}
    config: {manifest: ./pairs.yaml, parser: {format: yaml, fields: [ip, port]}}
    capacity: {guard: exclusive}
    health-check: {interval: 100ms, timeout: 50ms, probe: tcp, on-failure: evict}
workflows:
  w:
    steps:
      - ref: get
      - think: 60ms
actions:
  get: {component: http, call: get, with: {url: "http://{{resource.ip}}:{{resource.port}}/asset"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 6, task-duration: 3s, user: {inherit: [pairs]}}
""")
        out = os.path.join(tmp, "out")

        def revive():
            revived.append(Target(closed[0], closed[0], threads=1))

        try:
            rc, _, stderr = run_until_trail(["run", res, "--out", out, "--quiet"], out, revive)
        finally:
            for t in revived:
                t.stop()
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        report = read_report(out)
        s = scenario(report, "s")
        get = action(s, "get")
        check(get["errors"] == 0 and get["ok"] > 20, f"get {get}")  # no user ever got a dead pair
        health = report["resources"]["pools"][0]["health"]
        check(health["downs"] == 3 and health["recoveries"] == 1 and health["down_at_end"] == 2, f"health {health}")
        check(health["rounds"] >= 10 and health["failures"] >= 2 * health["rounds"], f"health {health}")
        events = read_trail(out)
        replay_exclusive(events, "pairs")
        down = {}  # item -> seq of its down event (None once up again)
        up_seq = None
        for e in sorted(events, key=lambda e: e["seq"]):
            if e["event"] == "down":
                down[e["item"]] = e["seq"]
            elif e["event"] == "up":
                down[e["item"]] = None
                up_seq = e["seq"]
            elif e["event"] == "acquire":
                check(down.get(e["item"]) is None, f"item {e['item']} ({e['key']}) leased while down")
        first = min(e["seq"] for e in events if e["event"] == "acquire")
        check(all(e["seq"] < first for e in events if e["event"] == "down"), "the first probe round ran before any lease")
        revived_key = f"127.0.0.1:{closed[0]}"
        check(up_seq is not None, "the revived pair came up")
        check(any(e["event"] == "acquire" and e["key"] == revived_key and e["seq"] > up_seq for e in events),
              "the revived pair was leased after it recovered")
        check(not any(e["event"] == "acquire" and e["key"] in (f"127.0.0.1:{closed[1]}", f"127.0.0.1:{closed[2]}")
                      for e in events), "a dead pair was leased")
        check(report["resources"]["pools"][0]["leases"]["expired"] > 0, "ttl expiries at task boundaries")


def test_rollback_when_a_held_item_goes_down():
    targets = [Target(p, p, threads=1) for p in [free_port() for _ in range(3)]]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            res = os.path.join(tmp, "res")
            write(os.path.join(res, "pairs.csv"), "".join(f"127.0.0.1,{t.first}\n" for t in targets))
            write(os.path.join(res, "script.yaml"), HEADER + """resources:
  pairs:
    type: pair_pool
    config: {manifest: ./pairs.csv, parser: {fields: [ip, port]}}
    health-check: {interval: 100ms, timeout: 50ms, on-failure: rollback}
workflows:
  w:
    steps:
      - ref: get
      - think: 3s
      - ref: get
actions:
  get: {component: http, call: get, with: {url: "http://{{resource.ip}}:{{resource.port}}/asset"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 3, user: {inherit: [pairs]}}
""")
            out = os.path.join(tmp, "out")
            rc, _, stderr = run_until_trail(["run", res, "--out", out, "--quiet"], out, targets[0].stop)
            check(rc == 0, f"ntx run exited {rc}: {stderr}")
            report = read_report(out)
            s = scenario(report, "s")
            check(s["exits"]["rollback"] == 1 and s["users"]["completed"] == 3, f"exits {s['exits']} users {s['users']}")
            check(action(s, "get")["ok"] == 5, f"get {action(s, 'get')}")  # the rolled-back task skipped its second get
            pool = report["resources"]["pools"][0]
            check(pool["leases"]["rolled_back"] == 1 and pool["leases"]["held_at_end"] == 0, f"pool {pool}")
            events = sorted(read_trail(out), key=lambda e: e["seq"])
            down = [e for e in events if e["event"] == "down"]
            check(len(down) == 1 and down[0]["key"] == f"127.0.0.1:{targets[0].first}", f"down {down}")
            release = [e for e in events if e["event"] == "release" and e["item"] == down[0]["item"]]
            check(len(release) == 1 and release[0]["seq"] > down[0]["seq"], f"release {release}")
            # Rolled back well before the 3 s think would have ended.
            check(release[0]["t_ms"] < 2500, f"released at {release[0]['t_ms']} ms")
    finally:
        for t in targets:
            t.stop()


def test_users_give_up_waiting_with_a_counted_outcome():
    with tempfile.TemporaryDirectory() as tmp:
        port, port2 = free_port(), free_port()
        with Target(port, port, threads=1), Target(port2, port2, threads=1):
            res = os.path.join(tmp, "res")
            write(os.path.join(res, "pairs.csv"), f"127.0.0.1,{port}\n127.0.0.1,{port2}\n")
            write(os.path.join(res, "script.yaml"), HEADER + """resources:
  pairs:
    type: pair_pool
    provider: {leasing: {wait-timeout: 1500ms}}
    config: {manifest: ./pairs.csv, parser: {fields: [ip, port]}}
workflows:
  w:
    steps:
      - ref: get
      - think: 3s
actions:
  get: {component: http, call: get, with: {url: "http://{{resource.ip}}:{{resource.port}}/asset"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 6, user: {inherit: [pairs]}}
""")
            out = os.path.join(tmp, "out")
            rc, stdout, stderr = run_ntx("run", res, "--out", out)
            check(rc == 0, f"ntx run exited {rc}: {stderr}")
            check("4 waiting for a resource" in stdout, f"progress line: {stdout}")
            s = scenario(read_report(out), "s")
            check(s["resource_wait_timeouts"] == 4 and s["users"]["completed"] == 2, f"{s['resource_wait_timeouts']} {s['users']}")
            check(s["users"]["spawned"] == 6 and s["tasks"] == 2, f"users {s['users']} tasks {s['tasks']}")
            pool = read_report(out)["resources"]["pools"][0]
            check(pool["waits"]["count"] == 4 and pool["waits"]["timeouts"] == 4, f"waits {pool['waits']}")
            check(1500 <= pool["waits"]["p50_ms"] <= 2000, f"waits {pool['waits']}")
            check("4 users gave up waiting for a resource lease" in stdout, stdout)


def test_kv_store_values_and_blob_checksums_in_templates_and_report():
    port = free_port()
    with Target(port, port, threads=1), tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "res")
        write(os.path.join(res, "routes.csv"), "key,value\nasset,/asset\nmissing,/nope\n")
        write(os.path.join(res, "payload.json"), '{"hello": "world"}')
        write(os.path.join(res, "script.yaml"), HEADER + f"""resources:
  routes:
    type: kv_store
    config: {{manifest: ./routes.csv}}
  settings:
    type: kv_store
    config: {{items: {{host: 127.0.0.1, port: "{port}"}}}}
  payload:
    type: file_blob
    config: {{file: ./payload.json, checksum: auto}}
workflows:
  w:
    steps:
      - ref: put
      - ref: get
      - if: "asset.body == blob.payload && resource.routes.missing == '/nope'"
        then: [{{log: ok}}]
        else: [{{goto: error_out}}]
actions:
  put: {{component: http, call: post, with: {{url: "http://{{{{resource.settings.host}}}}:{{{{resource.settings.port}}}}{{{{resource.routes.asset}}}}", body: "{{{{blob.payload}}}}"}}}}
  get: {{component: http, call: get, with: {{url: "http://{{{{resource.settings.host}}}}:{{{{resource.settings.port}}}}{{{{resource.routes.asset}}}}"}}, save-as: asset}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 3}}
""")
        out = os.path.join(tmp, "out")
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet")
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        report = read_report(out)
        s = scenario(report, "s")
        check(action(s, "get")["ok"] == 3 and s["exits"]["error_out"] == 0, f"{s['actions']} {s['exits']}")
        r = report["resources"]
        check(sorted((k["name"], k["keys"], k["source"]) for k in r["kv_stores"]) ==
              [("routes", 2, "./routes.csv"), ("settings", 2, "inline")], f"kv {r['kv_stores']}")
        import hashlib
        digest = hashlib.sha256(b'{"hello": "world"}').hexdigest()
        check(r["file_blobs"] == [{"name": "payload", "file": "payload.json", "size": 18, "sha256": digest, "checksum": "auto"}],
              f"blobs {r['file_blobs']}")
        check(r["pools"] == [] and r["leases_leaked"] == 0 and "lease_trail" not in r, f"resources {r}")
        # A key no store has is a planning error at the template.
        with open(os.path.join(res, "script.yaml")) as f:
            text = f.read()
        write(os.path.join(res, "script.yaml"), text.replace("resource.routes.asset}}\"}, save-as", "resource.routes.assets}}\"}, save-as"))
        rc, _, stderr = run_ntx("validate", res)
        check(rc == 2 and "no kv_store resource 'routes' with key 'assets'" in stderr, f"{rc} {stderr}")


def test_bad_manifests_exit_2_with_file_line_and_column():
    with tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "res")

        def script(manifest, fmt="csv"):
            write(os.path.join(res, "script.yaml"), HEADER + f"""resources:
  pairs:
    type: pair_pool
    config: {{manifest: ./{manifest}, parser: {{format: {fmt}, fields: [ip, port]}}}}
workflows:
  w: {{steps: [{{ref: get}}]}}
actions:
  get: {{component: http, call: get, with: {{url: "http://{{{{resource.ip}}}}:{{{{resource.port}}}}/"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 1, user: {{inherit: [pairs]}}}}
""")

        script("pairs.csv")
        with open(os.path.join(res, "pairs.csv"), "wb") as f:
            f.write(b"ip,port\n127.0.0.1,1\n127.0.0.1\n127.0.0.1,\xc3\x28\n,4\n")
        rc, _, stderr = run_ntx("validate", res)
        check(rc == 2, f"validate exited {rc}: {stderr}")
        check("pairs.csv:3:1: error: expected 2 fields (ip,port), found 1" in stderr, stderr)
        check("pairs.csv:4:11: error: not valid UTF-8 text" in stderr, stderr)
        check("pairs.csv:5:1: error: empty field 'ip'" in stderr, stderr)
        check("3 errors" in stderr, stderr)

        os.remove(os.path.join(res, "pairs.csv"))
        rc, _, stderr = run_ntx("run", res, "--quiet")
        check(rc == 2 and "script.yaml:7:24: error: cannot read manifest" in stderr and "no such file" in stderr, f"{rc} {stderr}")

        script("pairs.yaml", "yaml")
        write(os.path.join(res, "pairs.yaml"), "items:\n  - {ip: 127.0.0.1, port: 1}\n  - {ip: 127.0.0.2, port: [2\n")
        rc, _, stderr = run_ntx("validate", res)
        check(rc == 2 and "pairs.yaml:" in stderr and "error:" in stderr, f"{rc} {stderr}")


def test_every_exit_path_releases_its_leases():
    """error_out, timeout_out, rollback by a handler, max-duration cancel and SIGINT: no lease survives."""
    port, closed = free_port(), free_port()
    with Target(port, port, threads=1), tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "res")
        write(os.path.join(res, "pairs.csv"), "".join(f"127.0.0.1,{port}\n" for _ in range(4)) + f"127.0.0.1,{closed}\n")
        pools = "".join(f"""  {name}:
    type: pair_pool
    config: {{manifest: ./pairs.csv, parser: {{fields: [ip, port]}}}}
    capacity: {{size: {size}, guard: exclusive}}
""" for name, size in (("a", 5), ("b", 4), ("c", 4), ("d", 4)))
        write(os.path.join(res, "script.yaml"), HEADER + "resources:\n" + pools + f"""workflows:
  errors:      # the 5th pair is a closed port: its user ends through error_out
    steps: [{{ref: get}}]
  slow:        # the workflow's timeout: timeout_out
    steps: [{{ref: get}}, {{think: 5s}}]
    timeout: 300ms
  undone:      # a handler rolls the task back
    steps: [{{action: http.get, with: {{url: "http://127.0.0.1:{closed}/"}}}}]
    on-error: [{{goto: closing.rollback}}]
  forever:     # max-duration cancels the users mid-think
    steps: [{{ref: get}}, {{think: 30s}}]
actions:
  get: {{component: http, call: get, with: {{url: "http://{{{{resource.ip}}}}:{{{{resource.port}}}}/asset"}}}}
load:
  scenarios:
    - {{name: e, workflow: errors, user-count: 10, user: {{inherit: [a]}}}}
    - {{name: t, workflow: slow, user-count: 4, user: {{inherit: [b]}}}}
    - {{name: r, workflow: undone, user-count: 8, user: {{inherit: [c]}}}}
    - {{name: m, workflow: forever, user-count: 4, max-duration: 800ms, user: {{inherit: [d]}}}}
""")
        out = os.path.join(tmp, "out")
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet")
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        report = read_report(out)
        check(scenario(report, "e")["exits"]["error_out"] >= 1, "error_out")
        check(scenario(report, "t")["exits"]["timeout_out"] == 4, "timeout_out")
        check(scenario(report, "r")["exits"]["rollback"] == 8, "rollback")
        check(scenario(report, "m")["users"]["stopped"] == 4, "max-duration")
        for pool in report["resources"]["pools"]:
            n = {"a": 10, "b": 4, "c": 8, "d": 4}[pool["name"]]
            check(pool["leases"]["acquired"] == n and pool["leases"]["released"] == n and pool["leases"]["held_at_end"] == 0,
                  f"pool {pool['name']}: {pool['leases']}")
        events = read_trail(out)
        for name in "abcd":
            check(replay_exclusive(events, name) == {}, f"pool {name} holds leases at the end of the trail")

        # SIGINT while every user holds a pair: the report still shows every lease released.
        out2 = os.path.join(tmp, "out2")
        write(os.path.join(res, "script.yaml"), HEADER + "resources:\n" + pools + """workflows:
  forever: {steps: [{ref: get}, {think: 30s}]}
actions:
  get: {component: http, call: get, with: {url: "http://{{resource.ip}}:{{resource.port}}/asset"}}
load:
  scenarios:
    - {name: m, workflow: forever, user-count: 6, user: {inherit: [d]}}
""")
        proc = subprocess.Popen([NTX, "run", res, "--out", out2, "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: os.path.exists(os.path.join(out2, "leases.jsonl")) and
                     open(os.path.join(out2, "leases.jsonl")).read().count('"acquire"') == 4, "four leases")
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        check(proc.returncode == 4, f"interrupted run exited {proc.returncode}: {stderr}")
        report = read_report(out2)
        check(report["interrupted"], "interrupted")
        pool = [p for p in report["resources"]["pools"] if p["name"] == "d"][0]
        check(pool["leases"]["acquired"] == 4 and pool["leases"]["released"] == 4 and pool["waits"]["count"] == 2,
              f"pool d {pool}")
        check(report["resources"]["leases_leaked"] == 0, "leaked")
        check(replay_exclusive(read_trail(out2), "d") == {}, "trail")


def test_dynamic_tasks_keep_their_requesters_item_until_they_end():
    """A user that ends while the dynamic task it requested still runs hands its exclusive item on only
    when that task ends: the task borrows it, and nobody else may lease it meanwhile."""
    with tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "res")
        write(os.path.join(res, "pairs.csv"), "127.0.0.1,1\n")
        write(os.path.join(res, "script.yaml"), f"""components:
  - {{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}
resources:
  pairs:
    type: pair_pool
    config: {{manifest: ./pairs.csv, parser: {{fields: [ip, port]}}}}
workflows:
  w: {{steps: [{{ref: spawn}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "400"}}}}
  spawn: {{component: probe, call: spawn, with: {{template: nap, count: "1"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 2, user: {{inherit: [pairs]}}}}
""")
        out = os.path.join(tmp, "out")
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet")
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        s = scenario(read_report(out), "s")
        check(s["dynamic_tasks"]["ended"] == 2 and s["users"]["completed"] == 2, f"{s['dynamic_tasks']} {s['users']}")
        events = sorted(read_trail(out), key=lambda e: e["seq"])
        check(replay_exclusive(events, "pairs") == {}, "trail")
        check([e["event"] for e in events] == ["acquire", "release", "acquire", "release"], f"events {events}")
        # Each requester's own action ends at once; its item is held until its dynamic task's 400 ms nap ends.
        for acquire, release in ((events[0], events[1]), (events[2], events[3])):
            check(release["t_ms"] - acquire["t_ms"] >= 390, f"held {release['t_ms'] - acquire['t_ms']} ms")


def test_example_resource_pool():
    """examples/resource-pool as shipped (its manifest moved only when its ports are taken)."""
    import shutil
    target, base = target_block(20, start=21000)
    with target, tempfile.TemporaryDirectory() as tmp:
        example = os.path.join(tmp, "resource-pool")
        shutil.copytree(os.path.join(SOURCE, "examples", "resource-pool"), example)
        if base != 21000:
            write(os.path.join(example, "pairs.csv"), "ip,port\n" + "".join(f"127.0.0.1,{base + i}\n" for i in range(20)))
        out = os.path.join(tmp, "out")
        rc, stdout, stderr = run_ntx("run", example, "--out", out)
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        report = read_report(out)
        s = scenario(report, "refresh")
        check(s["users"]["completed"] == 40 and sum(s["exits"].values()) == 0, f"users {s['users']} exits {s['exits']}")
        pool = report["resources"]["pools"][0]
        check(pool["leases"]["held_at_end"] == 0 and pool["leases"]["peak_held"] == 20, f"pool {pool}")
        check(pool["health"]["downs"] == 0 and pool["health"]["rounds"] >= 1, f"health {pool['health']}")
        replay_exclusive(read_trail(out), "ip-port-pool")
        check("pool ip-port-pool (exclusive least-used, 20 items)" in stdout, stdout)


if __name__ == "__main__":
    main([test_300_users_on_an_exclusive_pool_of_100_pairs,
          test_failing_pairs_are_not_leased_and_come_back_when_they_recover,
          test_rollback_when_a_held_item_goes_down,
          test_users_give_up_waiting_with_a_counted_outcome,
          test_kv_store_values_and_blob_checksums_in_templates_and_report,
          test_bad_manifests_exit_2_with_file_line_and_column,
          test_every_exit_path_releases_its_leases,
          test_dynamic_tasks_keep_their_requesters_item_until_they_end,
          test_example_resource_pool])
