"""config.yaml `network` throttles every host socket: a 256 KiB response read at 8 KiB per 20 ms tick
takes at least 31 windows after the first, and so does a 256 KiB request body sent at that rate. The
same run without the throttle is the control."""
import os
import tempfile

from harness import Target, action, check, free_port, main, read_report, run_ntx, scenario

PORT = free_port()
BODY = 256 * 1024
POST_BODY = "x" * BODY  # stored by the target: the next GET returns it, as large as the first


def run(config):
    with tempfile.TemporaryDirectory() as tmp:
        res, out = os.path.join(tmp, "res"), os.path.join(tmp, "out")
        os.makedirs(res)
        with open(os.path.join(res, "script.yaml"), "w") as f:
            f.write(f"""
components:
  - {{name: http, version: "0.2.1", entry: http}}
workflows:
  w: {{steps: [{{ref: get}}, {{ref: post}}]}}
actions:
  get: {{component: http, call: get, with: {{url: "http://127.0.0.1:{PORT}/asset"}}, timeout: 20s}}
  post: {{component: http, call: post, with: {{url: "http://127.0.0.1:{PORT}/asset", body: "{POST_BODY}"}}, timeout: 20s}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 2}}
""")
        with open(os.path.join(res, "config.yaml"), "w") as f:
            f.write("tick: 20ms\nthreads: 1\n" + config)
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet")
        check(rc == 0, f"ntx run exited {rc}: {stderr}")
        return read_report(out)


def test_throttle_slows_both_directions_and_counts_every_byte():
    with Target(PORT, PORT, args=("--body-size", str(BODY))):
        fast = scenario(run(""), "s")
        slow_report = run("network: {recv-rate: 8KiB/tick, send-rate: 8KiB/tick}\n")
    slow = scenario(slow_report, "s")
    for s in (fast, slow):
        check(action(s, "get")["ok"] == 2, f"get {action(s, 'get')}")
        check(action(s, "post")["ok"] == 2, f"post {action(s, 'post')}")
    # 256 KiB + headers at 8 KiB per 20 ms window: at least 32 windows, the first at once.
    get_slow = action(slow, "get")["latency_ms"]["min"]
    get_fast = action(fast, "get")["latency_ms"]["max"]
    check(get_slow >= 31 * 20 * 0.95, f"throttled GET took {get_slow} ms, expected >= {31 * 20} ms")
    check(get_fast < get_slow / 2, f"unthrottled GET took {get_fast} ms vs throttled {get_slow} ms")
    # The POST's 256 KiB body leaves at 8 KiB per window: at least 31 windows after the first.
    post = action(slow, "post")
    check(post["ok"] == 2 and post["bytes_sent"] >= 2 * len(POST_BODY), f"POST {post}")
    check(post["latency_ms"]["min"] >= 31 * 20 * 0.95, f"throttled POST took {post['latency_ms']['min']} ms")
    check(action(fast, "post")["latency_ms"]["max"] < post["latency_ms"]["min"] / 2, f"unthrottled POST {action(fast, 'post')}")
    t = slow_report["totals"]
    check(t["socket_bytes_received"] >= 2 * BODY and t["socket_bytes_sent"] >= 2 * len(POST_BODY), f"totals {t}")


if __name__ == "__main__":
    main([test_throttle_slows_both_directions_and_counts_every_byte])
