"""One test split among N local processes (`ntx run --segment I/N --start-at T`) against a real nginx on
127.0.0.1, merged by `ntx merge`, compared with one process running the same test: the counts are
equal exactly, the merged percentiles are those of the combined histograms, user and task ids are
unique across the instances, thresholds are judged on the union, the union's arrivals keep the rate
after the barrier; and every bad input (segments, start times, merges of what does not belong
together) is refused with exit code 2 and a message naming what differs."""
import json
import math
import os
import shutil
import subprocess
import tempfile
import time

from harness import NTX, check, main, read_report, run_ntx, scenario, write_res_dir
from nginx_server import Nginx

N = 4
USERS = 60         # closed model: 60 users, 3 gets each, at 120 users/s
RATE = 400         # open model: 400 arrivals/s for 3 s
DURATION_S = 3


def script(port):
    return f"""components:
  - {{name: http, version: "0.2.1", entry: http}}
actions:
  get: {{component: http, call: get, with: {{url: "http://127.0.0.1:{port}/static/hello.txt"}}, timeout: 5s}}
  arrive: {{component: http, call: get, with: {{url: "http://127.0.0.1:{port}/static/hello.txt?open"}}, timeout: 5s}}
workflows:
  three-gets: {{steps: [{{ref: get}}, {{ref: get}}, {{ref: get}}]}}
  one-get: {{steps: [{{ref: arrive}}]}}
load:
  scenarios:
    - {{name: closed, workflow: three-gets, user-count: {USERS}, spawn-rate: 120/s}}
    - {{name: open, workflow: one-get, arrival-rate: {RATE}/s, duration: {DURATION_S}s, max-users: 400}}
thresholds:
  - "get.count >= {USERS * 3}"
  - "arrive.error-rate < 1%"
"""


# The report's histogram in Python: the same log-linear buckets (128 per power of two) and rule
# (the upper edge of the bucket holding the rank, clamped to min/max) as metrics/latency_histogram.
def upper_edge(i):
    if i < 128:
        return i
    shift = i // 128 - 1
    sub = (i % 128) | 128
    return ((sub + 1) << shift) - 1


def quantile_ms(h, q):
    if h["count"] == 0:
        return 0.0
    rank = max(1, math.ceil(q * h["count"]))
    seen = 0
    for i, n in h["buckets"]:  # (index, count) pairs, ascending (add_histograms)
        seen += n
        if seen >= rank:
            return min(max(upper_edge(i), h["min_us"]), h["max_us"]) / 1000.0
    return h["max_us"] / 1000.0


def buckets_of(h):
    """report.json's runs of adjacent buckets, [first, count, count, ...], as {index: count}."""
    out = {}
    for run in h["buckets"]:
        for k, n in enumerate(run[1:]):
            out[run[0] + k] = n
    return out


def add_histograms(hs):
    buckets = {}
    for h in hs:
        for i, n in buckets_of(h).items():
            buckets[i] = buckets.get(i, 0) + n
    return {"count": sum(h["count"] for h in hs), "sum_us": sum(h["sum_us"] for h in hs),
            "min_us": min((h["min_us"] for h in hs if h["count"]), default=0),
            "max_us": max((h["max_us"] for h in hs), default=0), "buckets": sorted(buckets.items())}


def by_name(actions):
    return {a["name"]: a for a in actions}


def run_segments(res, tmp, n, start_in_s=2.0, extra=()):
    """Starts the n instances at once (each a process of its own), waits for them; their out dirs."""
    start_at = f"{time.time() + start_in_s:.3f}"
    procs, outs = [], []
    for i in range(n):
        out = os.path.join(tmp, f"seg{i}")
        outs.append(out)
        procs.append(subprocess.Popen([NTX, "run", res, "--out", out, "--quiet", "--threads", "1", "--segment", f"{i}/{n}",
                                       "--start-at", start_at, "--workbook-retain", "all", *extra],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=240)
        results.append((p.returncode, stderr))
    return outs, results, float(start_at)


def workbook_ids(out):
    ids = []
    with open(os.path.join(out, "workbook.jsonl")) as f:
        for line in f:
            e = json.loads(line)
            ids.append((e["user_id"], e["task_id"]))
    return ids


def test_segments_merge_to_the_single_run():
    with Nginx() as nginx, tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, script(nginx.http_port))
        single_out = os.path.join(tmp, "single")
        rc, _, stderr = run_ntx("run", res, "--out", single_out, "--quiet", "--threads", "1")
        check(rc == 0, f"the single run exited {rc}: {stderr[-2000:]}")
        single = read_report(single_out)
        requests_single = len(nginx.requests())

        outs, results, start_at = run_segments(res, tmp, N)
        for i, (rc, stderr) in enumerate(results):
            # Each instance judges only its share: get.count >= 180 fails on 45 gets.
            check(rc == 1, f"segment {i}/{N} exited {rc}, not 1 (its share fails get.count): {stderr[-2000:]}")
        segs = [read_report(o) for o in outs]
        check(len(nginx.requests()) - requests_single == sum(s["totals"]["actions"] for s in segs), "nginx's own count")
        for i, s in enumerate(segs):
            check(s["segment"] == {"index": i, "count": N}, s["segment"])
            check(s["script_hash"] == single["script_hash"] and s["script_hash"].startswith("sha256:"), s["script_hash"])
            check(s["start_at_unix_ms"] == round(start_at * 1000), (s["start_at_unix_ms"], start_at))
            # Nothing started before the barrier (the clock starts after it).
            check(s["started_at_unix_ms"] >= round(start_at * 1000), (s["started_at_unix_ms"], start_at))
        # Closed model: each instance started its stripe of the users, 15 each.
        for s in segs:
            check(scenario(s, "closed")["users"]["spawned"] == USERS // N, scenario(s, "closed")["users"])

        # User and task ids are unique across the instances.
        ids = [x for o in outs for x in workbook_ids(o)]
        check(len({u for u, _ in ids}) == len(ids), "a user id appears in two instances")
        check(len({t for _, t in ids}) == len(ids), "a task id appears in two instances")

        merged_out = os.path.join(tmp, "merged")
        rc, stdout, stderr = run_ntx("merge", *outs, "--out", merged_out)
        check(rc == 0, f"merge exited {rc}: {stderr} {stdout}")
        merged = read_report(merged_out)
        for f in ("report.xml", "report.html"):
            check(os.path.getsize(os.path.join(merged_out, f)) > 0, f"merged {f}")
        check(merged["thresholds_passed"] and all(t["passed"] for t in merged["thresholds"]), merged["thresholds"])
        check(merged["segment"] == {"index": 0, "count": 1}, merged["segment"])
        # The segments' workbook snapshots, as one, each entry with its segment.
        with open(os.path.join(merged_out, "workbook.jsonl")) as f:
            entries = [json.loads(line) for line in f]
        check(merged["workbook"]["snapshot"] == "workbook.jsonl", merged["workbook"])
        check(len(entries) == len(ids) == merged["workbook"]["entries"], (len(entries), len(ids), merged["workbook"]))
        check(sorted((e["user_id"], e["task_id"]) for e in entries) == sorted(ids), "the merged workbook's entries")
        for i, o in enumerate(outs):
            want = sorted(workbook_ids(o))
            check(sorted((e["user_id"], e["task_id"]) for e in entries if e["segment"] == i) == want, f"segment {i}'s entries")

        # Counts: equal to the single process's, exactly.
        for key in ("actions", "ok", "errors", "timeouts", "cancelled"):
            check(merged["totals"][key] == single["totals"][key], f"totals.{key}: {merged['totals']} vs {single['totals']}")
        for name in ("closed", "open"):
            m, s1 = scenario(merged, name), scenario(single, name)
            for key in ("spawned", "completed", "stopped"):
                check(m["users"][key] == s1["users"][key], f"{name} users.{key}: {m['users']} vs {s1['users']}")
            check(m["tasks"] == s1["tasks"], f"{name} tasks {m['tasks']} vs {s1['tasks']}")
            for a in s1["actions"]:
                ma = by_name(m["actions"])[a["name"]]
                check((ma["count"], ma["ok"]) == (a["count"], a["ok"]), f"{name}.{a['name']}: {ma['count']} vs {a['count']}")
        check(scenario(merged, "open")["arrivals"] == scenario(single, "open")["arrivals"],
              f"arrivals {scenario(merged, 'open')['arrivals']} vs {scenario(single, 'open')['arrivals']}")
        check(scenario(single, "open")["arrivals"]["planned"] == RATE * DURATION_S, scenario(single, "open")["arrivals"])

        # Percentiles: those of the combined histograms (report.json keeps each scenario action's), at
        # every level: per action, per scenario, the run.
        def hist(report, scen, act):
            return by_name(scenario(report, scen)["actions"])[act]["latency_histogram"]

        every = []
        for scen, act in (("closed", "get"), ("open", "arrive")):
            parts = [hist(s, scen, act) for s in segs]
            every += parts
            h = add_histograms(parts)
            got = by_name(scenario(merged, scen)["actions"])[act]
            check(add_histograms([got["latency_histogram"]]) == h, f"{act}: the merged histogram is not the sum")
            check(h["count"] == got["ok"], f"{act}: the histogram holds every ok action")
            for where in (got, by_name(merged["actions"])[act], scenario(merged, scen)):
                check(where["latency_ms"]["p99"] == round(quantile_ms(h, 0.99), 3), f"{act} p99 {where['latency_ms']}")
        combined = add_histograms(every)
        for q, key in ((0.5, "p50"), (0.9, "p90"), (0.95, "p95"), (0.99, "p99"), (0.999, "p999")):
            want = round(quantile_ms(combined, q), 3)
            check(merged["totals"]["latency_ms"][key] == want, f"totals {key}: {merged['totals']['latency_ms'][key]} vs {want}")
        check(merged["totals"]["latency_ms"]["max"] == combined["max_us"] / 1000, "totals max")

        # The union's arrivals per second after the barrier: the rate, within 1%.
        started = scenario(merged, "open")["timeline"]["started"]
        bucket = scenario(merged, "open")["timeline"]["bucket_ms"]
        per_s = 1000 // bucket
        for sec in range(DURATION_S):
            n = sum(started[sec * per_s:(sec + 1) * per_s])
            check(abs(n - RATE) <= 0.01 * RATE, f"second {sec}: {n} arrivals, not {RATE} +/- 1%: {started}")


def test_bad_segments_and_start_times_are_refused():
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, script(9))
        for bad, says in (("4/4", "numbered 0 to 3"), ("1/0", "N is 0"), ("a/b", "expected I/N")):
            for cmd in ("run", "validate"):
                rc, _, stderr = run_ntx(cmd, res, "--segment", bad)
                check(rc == 2 and "--segment" in stderr and says in stderr, f"{cmd} --segment {bad}: {rc} {stderr}")
        rc, stdout, stderr = run_ntx("validate", res, "--segment", "3/4")
        check(rc == 0 and "segment 3/4" in stdout, f"validate 3/4: {rc} {stdout} {stderr}")
        far = f"{time.time() + 3 * 24 * 3600:.0f}"
        rc, _, stderr = run_ntx("run", res, "--start-at", far)
        check(rc == 2 and "at most 24 hours ahead" in stderr, f"far --start-at: {rc} {stderr}")
        rc, _, stderr = run_ntx("run", res, "--start-at", "tomorrow")
        check(rc == 2 and "RFC 3339" in stderr, f"--start-at tomorrow: {rc} {stderr}")
        rc, _, stderr = run_ntx("run", res, "--start-at", "2026-02-30T10:00:00Z")
        check(rc == 2 and "RFC 3339" in stderr, f"--start-at Feb 30: {rc} {stderr}")

        # A pool smaller than N, a max-users smaller than N: planning errors with the numbers.
        pool = """resources:
  ports:
    type: pair_pool
    provider: {component: resource-manager}
    config: {manifest: ./ports.csv, parser: {format: csv, fields: [ip, port]}}
    capacity: {guard: exclusive}
"""
        text = script(9).replace("load:\n", pool + "load:\n").replace("max-users: 400", "max-users: 3") \
            .replace("entry: http}\n", "entry: http}\n  - {name: resource-manager, kind: builtin}\n") \
            .replace("spawn-rate: 120/s}", "spawn-rate: 120/s, user: {inherit: [ports]}}")
        res2 = write_res_dir(os.path.join(tmp, "pool"), text, {"ports.csv": "127.0.0.1,1\n127.0.0.1,2\n127.0.0.1,3\n"})
        rc, _, stderr = run_ntx("validate", res2, "--segment", "0/4")
        check(rc == 2, f"validate a 3-item pool in 4 segments: {rc} {stderr}")
        check("3 items cannot be partitioned among 4 segments" in stderr, stderr)
        check("max-users 3 cannot be divided among 4 segments" in stderr, stderr)
        rc, _, stderr = run_ntx("validate", res2, "--segment", "2/3")
        check(rc == 0, f"the same in 3 segments: {rc} {stderr}")


def test_a_passed_start_time_starts_at_once():
    with Nginx() as nginx, tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, script(nginx.http_port).replace(f"user-count: {USERS}", "user-count: 2")
                            .replace(f"arrival-rate: {RATE}/s, duration: {DURATION_S}s", "arrival-rate: 10/s, duration: 1s"))
        t0 = time.monotonic()
        rc, _, stderr = run_ntx("run", res, "--out", os.path.join(tmp, "out"), "--quiet", "--start-at",
                                "2026-01-01T00:00:00+01:00")
        check("passed" in stderr and "starting now" in stderr, stderr)
        check(rc == 1, f"exit {rc} (the get.count threshold fails with 2 users): {stderr[-2000:]}")
        check(time.monotonic() - t0 < 60, "it did not start at once")
        r = read_report(os.path.join(tmp, "out"))
        check(r["start_at_unix_ms"] == 1767222000000, r["start_at_unix_ms"])


def test_pool_items_are_partitioned_across_instances():
    with Nginx() as nginx, tempfile.TemporaryDirectory() as tmp:
        text = f"""components:
  - {{name: http, version: "0.2.1", entry: http}}
  - {{name: resource-manager, kind: builtin}}
resources:
  ports:
    type: pair_pool
    provider: {{component: resource-manager}}
    config: {{manifest: ./ports.csv, parser: {{format: csv, fields: [ip, port]}}}}
    capacity: {{guard: exclusive}}
actions:
  get: {{component: http, call: get, with: {{url: "http://127.0.0.1:{nginx.http_port}/static/hello.txt?{{{{resource.port}}}}"}}, timeout: 5s}}
workflows:
  w: {{steps: [{{ref: get}}, {{think: 20ms}}, {{ref: get}}]}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 30, spawn-rate: 300/s, user: {{inherit: [ports]}}}}
"""
        items = [f"127.0.0.1,{20000 + i}" for i in range(7)]
        res = write_res_dir(tmp, text, {"ports.csv": "\n".join(items) + "\n"})
        outs, results, _ = run_segments(res, tmp, 3, start_in_s=0.5)
        check(all(rc == 0 for rc, _ in results), results)
        keys = []
        for i, out in enumerate(outs):
            mine = set()
            with open(os.path.join(out, "leases.jsonl")) as f:
                for line in f:
                    e = json.loads(line)
                    if e["event"] == "acquire":
                        mine.add(e["key"])
            # Instance i leases exactly the items i, i+3, ... of the manifest.
            want = {items[k].replace(",", ":") for k in range(i, len(items), 3)}
            check(mine == want, f"segment {i}/3 leased {sorted(mine)}, not {sorted(want)}")
            keys += sorted(mine)
            r = read_report(out)
            check(r["resources"]["pools"][0]["items"] == len(want), r["resources"]["pools"])
            check(scenario(r, "s")["users"]["completed"] == 10, scenario(r, "s")["users"])
        check(len(keys) == len(set(keys)) == len(items), f"items leased on two instances, or not at all: {keys}")


def test_merge_refuses_what_does_not_belong_together():
    with Nginx() as nginx, tempfile.TemporaryDirectory() as tmp:
        small = script(nginx.http_port).replace(f"user-count: {USERS}", "user-count: 4") \
            .replace(f"arrival-rate: {RATE}/s, duration: {DURATION_S}s", "arrival-rate: 20/s, duration: 1s")
        res = write_res_dir(tmp, small)
        outs, results, _ = run_segments(res, tmp, 2, start_in_s=0.5)
        check(all(os.path.isfile(os.path.join(o, "report.json")) for o in outs), results)

        def merge(*dirs):
            return run_ntx("merge", *dirs, "--out", os.path.join(tmp, "m"))

        rc, _, stderr = merge(outs[0])
        check(rc == 2 and "missing segments: 1/2" in stderr, f"a missing segment: {rc} {stderr}")
        rc, _, stderr = merge(outs[0], outs[0], outs[1])
        check(rc == 2 and "segment 0/2 appears twice" in stderr, f"a doubled segment: {rc} {stderr}")
        rc, _, stderr = merge()
        check(rc == 2, f"nothing to merge: {rc} {stderr}")

        # Another script: the same res_dir with one more user is another test.
        other = os.path.join(tmp, "other")
        res_other = write_res_dir(other, small.replace("user-count: 4", "user-count: 5"))
        other_outs, _, _ = run_segments(res_other, other, 2, start_in_s=0.5)
        rc, _, stderr = merge(outs[0], other_outs[1])
        check(rc == 2 and "another script" in stderr and "script_hash" in stderr, f"different scripts: {rc} {stderr}")

        # Other plugin versions (an instance that ran another http plugin build).
        changed = os.path.join(tmp, "changed")
        shutil.copytree(outs[1], changed)
        r = read_report(changed)
        check(r["plugins"] and r["plugins"][0]["component"] == "http", r["plugins"])
        r["plugins"][0]["version"] = "0.2.99"
        with open(os.path.join(changed, "report.json"), "w") as f:
            json.dump(r, f)
        rc, _, stderr = merge(outs[0], changed)
        check(rc == 2 and "other plugin versions" in stderr and "0.2.99" in stderr, f"plugin versions: {rc} {stderr}")

        # The right pair merges; its 12 gets fail the script's get.count >= 180: exit 1, not 2.
        rc, stdout, stderr = merge(outs[0], outs[1])
        check(rc == 1 and os.path.isfile(os.path.join(tmp, "m", "report.json")), f"the right pair merges: {rc} {stderr}")
        check("FAIL get.count >= 180 (actual 12" in stdout, stdout)


if __name__ == "__main__":
    main([test_bad_segments_and_start_times_are_refused, test_a_passed_start_time_starts_at_once,
          test_segments_merge_to_the_single_run, test_pool_items_are_partitioned_across_instances,
          test_merge_refuses_what_does_not_belong_together])
