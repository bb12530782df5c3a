"""The plugin contract is enforced (issue 23, defects 2-5), with a real plugin breaking it
(hostile_plugin.cpp, compiled here): an action completed from the plugin's own thread is refused
(NTX_E_STATE) instead of corrupting the heap, and the run goes on and ends; post (ABI 1.3) hands work
from that thread to the loop; a stale handle, a double completion and a completion after cancel are
refused; a call blocking its loop past the action's deadline counts as a timeout and is reported by
the watchdog; every breach is logged once per plugin and kind and counted in report.json's
plugin_violations; a table declaring 100,000 capabilities is refused by name, not a crash."""
import os
import tempfile

from harness import action, check, main, run_ntx, scenario, read_report, write_res_dir
from hostile import build_hostile, hostile_component


def run(scenarios, actions, timeout=60):
    so = build_hostile()
    script = f"""components:
{hostile_component(so)}workflows:
{''.join(f'  {name}: {{steps: [{{ref: {name}}}]}}' + chr(10) for name in actions)}actions:
{''.join(f'  {name}: {body}' + chr(10) for name, body in actions.items())}load:
  scenarios:
{''.join(f'    - {s}' + chr(10) for s in scenarios)}"""
    tmp = tempfile.mkdtemp(prefix="ntx-contract-")
    res, out = write_res_dir(tmp, script), os.path.join(tmp, "out")
    rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet", timeout=timeout)
    return rc, stderr, read_report(out)


def violations(report, kind):
    return sum(v["count"] for v in report["plugin_violations"] if v["kind"] == kind and v["plugin"] == "hostile")


def test_completion_from_the_plugins_own_thread_is_refused():
    rc, stderr, r = run(["{name: t, workflow: t, user-count: 4, task-duration: 1s}"],
                        {"t": "{component: hostile, call: from-thread, timeout: 100ms}"})
    check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
    a = action(scenario(r, "t"), "t")
    # Refused: never ok; each ends by its deadline.
    check(a["count"] >= 4 and a["ok"] == 0 and a["timeouts"] == a["count"], f"from-thread: {a}")
    check(violations(r, "off_loop") == a["count"], f"off_loop {violations(r, 'off_loop')} vs {a['count']} actions")
    check("off-loop action_complete returned -15" in stderr, "the plugin saw NTX_E_STATE")
    check(stderr.count("broke the plugin contract: off_loop") == 1, f"logged once: {stderr[-2000:]}")


def test_post_hands_work_to_the_loop():
    rc, stderr, r = run(["{name: p, workflow: p, user-count: 4, task-duration: 1s}"],
                        {"p": "{component: hostile, call: post, timeout: 1s}"})
    check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
    a = action(scenario(r, "p"), "p")
    check(a["count"] >= 40 and a["ok"] == a["count"], f"post: {a}")
    check(r["plugin_violations"] == [], f"violations: {r['plugin_violations']}")


def test_stale_double_and_after_cancel_are_refused_and_counted():
    rc, stderr, r = run(["{name: stale, workflow: stale, user-count: 2, task-duration: 1s}",
                         "{name: twice, workflow: twice, user-count: 2, task-duration: 500ms}",
                         "{name: late, workflow: late, user-count: 2, task-duration: 500ms}",
                         "{name: bad, workflow: bad, user-count: 1, task-duration: 300ms}"],
                        {"stale": "{component: hostile, call: stale, timeout: 100ms}",
                         "twice": "{component: hostile, call: twice}",
                         "late": "{component: hostile, call: late, timeout: 50ms}",
                         "bad": "{component: hostile, call: bad-fields, save-as: b}"})
    check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
    stale = action(scenario(r, "stale"), "stale")
    # Each user's first action is ok; every later one is ended only with its predecessor's handle:
    # refused, so it times out (it used to count ok).
    check(stale["ok"] >= 2 and stale["ok"] + stale["timeouts"] == stale["count"] and stale["timeouts"] >= 8,
          f"stale: {stale}")
    check(violations(r, "stale_handle") == stale["timeouts"], f"stale_handle: {r['plugin_violations']}")
    twice = action(scenario(r, "twice"), "twice")
    check(twice["ok"] == twice["count"] and violations(r, "double_completion") == twice["count"], f"twice: {twice}")
    late = action(scenario(r, "late"), "late")
    # The hostile on_error ends every cancelled action anyway: late's, and stale's timed-out ones.
    check(late["timeouts"] == late["count"] and violations(r, "after_cancel") == late["count"] + stale["timeouts"],
          f"late: {late}, after_cancel: {violations(r, 'after_cancel')}")
    bad = action(scenario(r, "bad"), "bad")
    check(bad["ok"] == bad["count"] and violations(r, "bad_result") == bad["count"], f"bad: {bad}")
    for kind in ("stale_handle", "double_completion", "after_cancel", "bad_result"):
        check(stderr.count(f"broke the plugin contract: {kind}") == 1, f"{kind} logged once: {stderr[-3000:]}")


def test_a_blocked_loop_is_a_timeout_and_reported():
    rc, stderr, r = run(["{name: b, workflow: b, user-count: 1}"],
                        {"b": "{component: hostile, call: block, with: {ms: \"1500\"}, timeout: 300ms}"})
    check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
    a = action(scenario(r, "b"), "b")
    check(a["count"] == 1 and a["timeouts"] == 1 and a["ok"] == 0, f"a completion past the deadline counts ok: {a}")
    check(violations(r, "blocked_loop") == 1, f"blocked_loop: {r['plugin_violations']}")
    check("blocked_loop: run_action of action 'b' kept loop" in stderr, f"watchdog: {stderr[-2000:]}")


def test_absurd_table_sizes_are_refused():
    so = build_hostile()
    env = dict(os.environ, HOSTILE_CAPS="100000")
    import subprocess
    from harness import NTX
    p = subprocess.run([NTX, "plugins", "info", so], capture_output=True, text=True, env=env, timeout=60)
    check(p.returncode == 3, f"exit {p.returncode}: {p.stdout[-1000:]} {p.stderr[-1000:]}")
    check("declares 100000 capabilities (at most 4096)" in p.stdout + p.stderr, f"{p.stdout[-1000:]}")


if __name__ == "__main__":
    main([test_completion_from_the_plugins_own_thread_is_refused, test_post_hands_work_to_the_loop,
          test_stale_double_and_after_cancel_are_refused_and_counted, test_a_blocked_loop_is_a_timeout_and_reported,
          test_absurd_table_sizes_are_refused])
