"""The workbook ledger against the bundled target server, through examples/workbook-ledger: 1,000 users,
one task each. workbook.jsonl has exactly 1,000 entries with the right final states (closing.done,
closing.error for a 503, closing.timeout for a server slower than the action's timeout); a value an
update-workbook step wrote reaches the server through a later action's {{workbook.*}} URL; the change
stream (--workbook-stream) has per-entry state transitions that never leave a closing state, end in
the snapshot's state, and come in batches of at most max-batch-size; report.json's `workbook`
summary matches. A bad `workbook:` section is exit 2 with file:line:col."""
import collections
import json
import os
import shutil
import tempfile

from harness import SOURCE, TEST_PLUGINS, Target, check, free_port, main, read_report, run_ntx

USERS = 1000
EXAMPLE = os.path.join(SOURCE, "examples", "workbook-ledger")


def example_on(port, tmp):
    res = os.path.join(tmp, "res")
    shutil.copytree(EXAMPLE, res)
    path = os.path.join(res, "script.yaml")
    with open(path) as f:
        text = f.read()
    check("127.0.0.1:20000" in text, "the example targets 127.0.0.1:20000")
    with open(path, "w") as f:
        f.write(text.replace("127.0.0.1:20000", f"127.0.0.1:{port}"))
    return res


def expected_state(user_id):
    if user_id % 10 == 0:
        return "closing.error"
    if user_id % 10 == 1:
        return "closing.timeout"
    return "closing.done"


def test_ledger_snapshot_stream_and_summary():
    port = free_port()
    with Target(port, port) as target, tempfile.TemporaryDirectory() as tmp:
        res = example_on(port, tmp)
        out = os.path.join(tmp, "out")
        rc, stdout, stderr = run_ntx("run", res, "--out", out, "--workbook-stream", "--workbook-retain", "all", "--quiet")
        check(rc == 0, f"exit {rc}: {stderr}")
        stats = target.stats()

        # The snapshot: one entry per user x task (one task each), sorted by user.
        with open(os.path.join(out, "workbook.jsonl")) as f:
            entries = [json.loads(line) for line in f]
        check(len(entries) == USERS, f"{len(entries)} entries")
        check(sorted(e["user_id"] for e in entries) == list(range(1, USERS + 1)), "one entry per user 1..1000")
        check(len({(e["user_id"], e["task_id"]) for e in entries}) == USERS, "user x task is unique")
        wrong = [(e["user_id"], e["state"]) for e in entries if e["state"] != expected_state(e["user_id"])]
        check(not wrong, f"final states: {wrong[:10]}")
        states = collections.Counter(e["state"] for e in entries)
        check(states == {"closing.done": 800, "closing.error": 100, "closing.timeout": 100}, states)
        for e in entries:
            check(e["owner"] == "ledger/ledger" and e["scope_trace"][1:3] == ["ledger", "ledger"], e)
            check(e["scope_trace"][3] == f"task-{e['task_id']}", e)
            check(e["timeout_at_ms"] is not None and e["timeout_at_ms"] >= e["start_at_ms"] + 10000, e)
            tel, reg = e["sections"]["telemetry"], e["sections"]["registers"]
            check(tel["counters.success"] == "1" and tel["code"] == "202", e)
            check(reg["note"] == f"user {e['user_id']} fetched fetch", e)
            last = {"closing.done": ("confirm", "ok"), "closing.error": ("refused", "error"),
                    "closing.timeout": ("stall", "timeout")}[e["state"]]
            check((e["current_action"], e["evidence"]["last_event"]) == last, e)
            check(e["evidence"]["response_ms"] >= (300 if e["state"] == "closing.timeout" else 0), e)

        # {{workbook.telemetry.code}} reached the server: /status/202 once per user that got there.
        by_path = stats["by_path"]
        check(by_path.get("/status/202") == 800, f"the server saw /status/202 800 times: {by_path}")
        check(by_path.get("/status/503") == 100 and by_path.get("/slow") == 100, by_path)
        check(not any(p.startswith("/status/2") and p != "/status/202" for p in by_path), by_path)

        # report.json's summary.
        r = read_report(out)
        w = r["workbook"]
        check(w["entries"] == USERS and w["snapshot"] == "workbook.jsonl", w)
        check(w["by_state"] == {"closing.done": 800, "closing.error": 100, "closing.timeout": 100}, w)
        check(w["stream"]["dropped"] == 0 and w["stream"]["max_batch"] <= 64, w)

        # The change stream.
        with open(os.path.join(out, "workbook-stream.jsonl")) as f:
            events = [json.loads(line) for line in f]
        # The file leads with the two phases before the bus existed (initiating, planning: batch 1).
        check(w["stream"]["events"] + 2 == len(events), f"{w['stream']['events']} + 2 vs {len(events)} lines")
        batches = collections.Counter(ev["batch"] for ev in events)
        check(max(batches.values()) <= 64, f"a batch over max-batch-size: {max(batches.values())}")
        check(sorted(batches) == list(range(1, len(batches) + 1)), "batches numbered 1..n in order")
        check(events[0]["t_ms"] == 0 and events[-1]["t_ms"] >= max(ev["t_ms"] for ev in events),
              "the phase events open and close the run's clock")
        phases = [ev["phase"] for ev in events if ev["kind"] == "phase"]
        check(phases == ["initiating", "planning", "executing", "monitoring", "closing"], phases)
        check(events[0]["kind"] == "phase" and events[-1]["kind"] == "phase", "the run's phases open and close the stream")
        per_entry = collections.defaultdict(list)
        for ev in events:
            if ev["kind"] in ("task.state", "workbook.field"):
                per_entry[(ev["user_id"], ev["task_id"])].append(ev)
        check(len(per_entry) == USERS, f"{len(per_entry)} entries in the stream")
        final = {(e["user_id"], e["task_id"]): e for e in entries}
        for key, evs in per_entry.items():
            seq = [ev["fields"]["state"] for ev in evs]
            times = [ev["t_ms"] for ev in evs]
            check(times == sorted(times), f"{key}: time goes forward: {times}")
            closed = [i for i, s in enumerate(seq) if s.startswith("closing.")]
            check(closed and closed[0] == len(seq) - 1, f"{key}: nothing after closing: {seq}")
            check(seq[-1] == final[key]["state"], f"{key}: stream ends {seq[-1]}, snapshot {final[key]['state']}")
            check(all(s.split(".")[0] in ("executing", "monitoring", "closing") for s in seq), seq)
            check(evs[-1]["priority"] == 5 and evs[-1]["phase"] == "closing", evs[-1])
            fields = {}
            for ev in evs:
                fields.update(ev["fields"])
            check(fields.get("telemetry.counters.success") == "1" and fields.get("telemetry.code") == "202",
                  f"{key}: field changes in the stream: {fields}")


def test_archive_baseline_and_compare():
    """Two runs of the example, the second with twice the server errors: archived under run ids, the
    second compared with the first by --baseline and by `ntx compare`, which says what got worse."""
    port = free_port()
    with Target(port, port), tempfile.TemporaryDirectory() as tmp:
        res = example_on(port, tmp)
        archive = os.path.join(tmp, "archive")
        out1, out2 = os.path.join(tmp, "out1"), os.path.join(tmp, "out2")
        rc, stdout, stderr = run_ntx("run", res, "--out", out1, "--archive", archive)
        check(rc == 0, f"exit {rc}: {stderr}")
        first = [l.split()[2] for l in stdout.splitlines() if l.startswith("archived as ")]
        check(len(first) == 1, stdout[-500:])
        run1 = first[0]
        check(os.path.isfile(os.path.join(archive, run1, "report.json")) and
              os.path.isfile(os.path.join(archive, run1, "workbook.jsonl")), os.listdir(archive))
        # The second run: every fifth user meets the 503 (200 errors instead of 100).
        path = os.path.join(res, "script.yaml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace('if: "env.user_id % 10 == 0"', 'if: "env.user_id % 5 == 0"'))
        rc, stdout, stderr = run_ntx("run", res, "--out", out2, "--archive", archive, "--baseline", run1)
        check(rc == 0, f"exit {rc}: {stderr}")
        second = [l.split()[2] for l in stdout.splitlines() if l.startswith("archived as ")]
        check(len(second) == 1 and second[0] != run1, stdout[-500:])
        check(f"compare: baseline {os.path.join(archive, run1)}" in stdout, stdout[-1500:])
        with open(os.path.join(archive, "index.jsonl")) as f:
            index = [json.loads(l) for l in f]
        check([i["run_id"] for i in index] == [run1, second[0]], index)

        rc, cmp_out, stderr = run_ntx("compare", run1, second[0], "--archive", archive)
        check(rc == 0, f"exit {rc}: {stderr}")
        rows = {}
        for line in cmp_out.splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[0] == "workbook":
                rows[parts[1]] = parts[2:]
        # 800 done / 100 error / 100 timeout, then 700 / 200 / 100 (users 5, 15, ... fail too).
        check(rows["closing.error"] == ["100", "200", "+100.0%", "worse"], rows)
        check(rows["closing.done"] == ["800", "700", "-12.5%", "worse"], rows)
        check(rows["closing.timeout"] == ["100", "100", "same"], rows)
        err = [l for l in cmp_out.splitlines() if l.startswith("error rate")]
        check(err and err[0].split()[-1] == "worse", cmp_out)
        for name in ("fetch", "refused", "confirm"):
            check(any(l.startswith(f"{name} p99 (ms)") for l in cmp_out.splitlines()), f"{name} p99 row: {cmp_out}")
        check(any(l.startswith("throughput (actions/s)") for l in cmp_out.splitlines()), cmp_out)
        # Paths work too; a missing run is exit 2.
        rc, _, _ = run_ntx("compare", out1, os.path.join(out2, "report.json"))
        check(rc == 0, "compare by folder and by file")
        rc, _, stderr = run_ntx("compare", out1, os.path.join(tmp, "nope"))
        check(rc == 2 and "not a report.json" in stderr, f"{rc}: {stderr}")


PLUGIN_PROGRESS = f"""
components:
  - {{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}
progress:
  batching: {{max-batch-size: 5, flush-interval: 50ms}}
workflows:
  w: {{steps: [{{ref: nap}}, {{ref: nap}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "30", progress: "0.5"}}}}
load:
  scenarios: [{{name: s, workflow: w, user-count: 20}}]
"""


def test_plugin_progress_reaches_the_stream_in_small_batches():
    """A plugin's progress host call (C ABI) becomes a `plugin` event on the bus; with max-batch-size 5
    no subscriber call carries more than 5 events."""
    with tempfile.TemporaryDirectory() as tmp:
        res, out = os.path.join(tmp, "res"), os.path.join(tmp, "out")
        os.makedirs(res)
        with open(os.path.join(res, "script.yaml"), "w") as f:
            f.write(PLUGIN_PROGRESS)
        rc, _, stderr = run_ntx("run", res, "--out", out, "--workbook-stream", "--quiet")
        check(rc == 0, f"exit {rc}: {stderr}")
        with open(os.path.join(out, "workbook-stream.jsonl")) as f:
            events = [json.loads(line) for line in f]
        plugin = [ev for ev in events if ev["kind"] == "plugin"]
        check(len(plugin) == 40, f"{len(plugin)} plugin events (20 users x 2 actions)")
        for ev in plugin:
            check(ev["scope"] == "action" and ev["progress"] == 0.5 and ev["fields"] == {"stage": "sleeping"}, ev)
            check(ev["path"] == "s/w/nap" and ev["user_id"] > 0 and ev["task_id"] > 0, ev)
        check(len({ev["user_id"] for ev in plugin}) == 20, "every user's progress")
        batches = collections.Counter(ev["batch"] for ev in events)
        check(max(batches.values()) <= 5, f"batch sizes {sorted(batches.values())}")
        r = read_report(out)
        # (+ 2: the file's first batch holds the phases before the bus existed, initiating and planning)
        check(r["workbook"]["stream"]["max_batch"] <= 5 and r["workbook"]["stream"]["events"] + 2 == len(events), r["workbook"])
        check(r["workbook"]["by_state"] == {"closing.done": 20}, r["workbook"])


BAD = """version: "1.0"
components:
  - {name: http, version: "0.2.1", entry: http}
workbook:
  telemetry:
    defaults: {counters: {success: 0}}
  expose:
    ok: telemetry.counters.sucess
workflows:
  w:
    steps:
      - update-workbook: {telemetry.counters.succes: "1"}
actions:
  a: {component: http, call: get, with: {url: "http://127.0.0.1:1/{{workbook.nope}}"}}
load:
  scenarios: [{name: s, workflow: w, user-count: 1}]
"""


def test_bad_workbook_section_is_exit_2_with_positions():
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "script.yaml"), "w") as f:
            f.write(BAD)
        rc, stdout, stderr = run_ntx("validate", tmp)
        check(rc == 2, f"exit {rc}: {stderr}")
        check("script.yaml:8:9: error: workbook.expose.ok: no workbook field 'telemetry.counters.sucess'" in stderr, stderr)
        check("did you mean 'telemetry.counters.success'?" in stderr, stderr)
        check("script.yaml:12:54: error: update-workbook: the workbook has no field or alias 'telemetry.counters.succes'"
              in stderr, stderr)
        check("the workbook has no field or alias 'nope'" in stderr, stderr)


if __name__ == "__main__":
    main([test_ledger_snapshot_stream_and_summary, test_archive_baseline_and_compare,
          test_plugin_progress_reaches_the_stream_in_small_batches,
          test_bad_workbook_section_is_exit_2_with_positions])
