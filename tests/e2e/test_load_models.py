"""The call model against the real target server: the open model's arrival schedule, the closed
model's ramp by spawn-rate, a profile, and exactly-counted timeouts on slow responses."""
import os
import tempfile

from harness import Target, action, check, free_port, main, read_report, run_ntx, scenario

PORT = free_port()
# Sanitizer builds run 5-15x slower: they check the same behaviour at a fifth of the load (every
# assertion still holds, at a rate a sanitized binary can sustain); the release build runs it in full.
SCALE = float(os.environ.get("NTX_E2E_LOAD_SCALE", "1"))
RATE = int(1000 * SCALE)     # open model arrivals per second
USERS = int(200 * SCALE)     # closed model users, started at USERS / 2 per second


def run_script(script, extra_files=None):
    tmp = tempfile.mkdtemp(prefix="ntx-load-")
    res, out = os.path.join(tmp, "res"), os.path.join(tmp, "out")
    os.makedirs(res)
    with open(os.path.join(res, "script.yaml"), "w") as f:
        f.write(script)
    for name, text in (extra_files or {}).items():
        with open(os.path.join(res, name), "w") as f:
            f.write(text)
    rc, stdout, stderr = run_ntx("run", res, "--out", out, "--quiet")
    check(rc == 0, f"ntx run exited {rc}: {stderr}")
    return read_report(out)


HEAD = f"""components:
  - {{name: http, version: "0.2.1", entry: http}}
actions:
  get: {{component: http, call: get, with: {{url: "http://127.0.0.1:{PORT}/asset"}}, timeout: 5s}}
workflows:
  one-get: {{steps: [{{ref: get}}]}}
"""


def test_open_model_keeps_its_schedule():
    with Target(PORT, PORT, threads=1) as target:
        r = run_script(HEAD + f"""load:
  scenarios:
    - {{name: open, workflow: one-get, arrival-rate: {RATE}/s, duration: 5s, max-users: 500}}
""")
        s = scenario(r, "open")
        check(s["model"] == "open", s["model"])
        arr = s["arrivals"]
        check(abs(arr["started"] - 5 * RATE) <= 0.02 * 5 * RATE, f"started {arr} ({5 * RATE} +/- 2%)")
        check(arr["dropped"] == 0 and arr["planned"] == arr["started"], f"arrivals {arr}")
        a = action(s, "get")
        check(a["ok"] == arr["started"] and a["errors"] == 0, f"get {a}")
        check(target.stats()["requests"] == a["ok"], "server count")
        # Starts per 100 ms over the 5 s window: spread evenly, never burst at tick starts.
        started = s["timeline"]["started"][:50]
        mean = sum(started) / len(started)
        check(abs(mean - RATE / 10) <= 0.02 * RATE / 10, f"mean starts per 100 ms {mean}")
        check(max(started) / mean < 1.5, f"burst: max {max(started)} vs mean {mean}: {started}")


def test_open_model_counts_dropped_arrivals():
    with Target(PORT, PORT, threads=1):
        r = run_script(HEAD.replace("/asset", "/slow?ms=300") + """load:
  scenarios:
    - {name: capped, workflow: one-get, arrival-rate: 200/s, duration: 1s, max-users: 20}
""")
        s = scenario(r, "capped")
        arr = s["arrivals"]
        # Each user holds a slot for ~300 ms: at 200/s about 60 would be online; 20 may be.
        check(arr["planned"] == 200, f"arrivals {arr}")
        check(arr["dropped"] > 50 and arr["started"] + arr["dropped"] == 200, f"arrivals {arr}")
        check(s["users"]["peak_online"] <= 20, f"peak {s['users']}")


def test_closed_model_ramps_by_spawn_rate_and_never_overshoots():
    with Target(PORT, PORT, threads=1):
        r = run_script(HEAD + f"""load:
  scenarios:
    - {{name: closed, workflow: one-get, user-count: {USERS}, spawn-rate: {USERS // 2}/s, task-duration: 3s}}
""")
        s = scenario(r, "closed")
        online = s["timeline"]["online"]
        check(max(online) == USERS, f"peak online {max(online)}")
        first_full = next(i for i, v in enumerate(online) if v == USERS)
        # The last user starts just before 2 s: the sampled online count reaches the total at 2 s,
        # within a tick.
        check(19 <= first_full <= 20, f"reached {USERS} in bucket {first_full}: {online[:25]}")
        check(s["users"]["spawned"] == USERS and s["users"]["completed"] == USERS, f"users {s['users']}")


def test_profile_moves_online_users_along_its_stages():
    with Target(PORT, PORT, threads=1):
        r = run_script(HEAD + """load:
  profiles:
    wave:
      stages:
        - {duration: 1s, target: 40}
        - {duration: 1s, target: 40}
        - {duration: 1s, target: 10}
  scenarios:
    - {name: wave, workflow: one-get, profile: wave}
""")
        s = scenario(r, "wave")
        online = s["timeline"]["online"]
        check(max(online) == 40, f"peak {max(online)}: {online}")
        check(15 <= online[5] <= 25, f"half way up the first stage: {online[5]}")  # ~20 at 0.5 s
        check(all(v == 40 for v in online[11:19]), f"hold: {online[10:20]}")
        check(10 <= online[28] <= 16, f"near the end of the ramp down: {online[28]}")  # ~12.4 at 2.85 s
        check(s["users"]["stopped"] == 0, f"users {s['users']}")


def test_exactly_the_slow_responses_time_out():
    manifest = "ms\n" + "\n".join("600" if i % 3 == 0 else "0" for i in range(30)) + "\n"
    script = f"""components:
  - {{name: http, version: "0.2.1", entry: http}}
resources:
  delays:
    type: pair_pool
    config: {{manifest: ./delays.csv, parser: {{format: csv, fields: [ms]}}}}
actions:
  slow: {{component: http, call: get, with: {{url: "http://127.0.0.1:{PORT}/slow?ms={{{{resource.ms}}}}"}}, timeout: 300ms}}
workflows:
  wf: {{steps: [{{ref: slow}}]}}
load:
  scenarios:
    - {{name: slow, workflow: wf, user-count: 30, user: {{inherit: [delays]}}}}
"""
    with Target(PORT, PORT, threads=1):
        r = run_script(script, {"delays.csv": manifest})
        s = scenario(r, "slow")
        a = action(s, "slow")
        check(a["timeouts"] == 10 and a["ok"] == 20 and a["errors"] == 0, f"slow {a}")
        check(s["exits"]["timeout_out"] == 10, f"exits {s['exits']}")


if __name__ == "__main__":
    main([test_open_model_keeps_its_schedule, test_open_model_counts_dropped_arrivals,
          test_closed_model_ramps_by_spawn_rate_and_never_overshoots, test_profile_moves_online_users_along_its_stages,
          test_exactly_the_slow_responses_time_out])
