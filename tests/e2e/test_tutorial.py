"""docs/tutorial.md's one-file script, as the page prints it: no component block, a JSON login whose
token is captured and sent as a bearer header, checks, thresholds, sized from the command line with
--users, --duration and -e BASE_URL=... against a real ntx-target. Then the page's "make it fail on
purpose" promises: a broken token fails the checks and the thresholds (exit 1), a missing -e is a
planning error at file:line:col (exit 2)."""
import os
import re
import tempfile

from harness import SOURCE, Target, action, check, free_port, main, read_report, run_ntx, scenario

PORT = free_port()


def tutorial_script():
    with open(os.path.join(SOURCE, "docs", "tutorial.md")) as f:
        text = f.read()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    check(len(blocks) == 1, f"{len(blocks)} yaml blocks in the tutorial")
    return blocks[0]


def run_file(tmp, script, *args):
    path = os.path.join(tmp, "shop.yaml")
    with open(path, "w") as f:
        f.write(script)
    out = os.path.join(tmp, "out")
    rc, stdout, stderr = run_ntx("run", path, "--out", out, "--quiet", *args)
    return rc, stdout, stderr, out


def test_the_tutorial_runs_green():
    script = tutorial_script()
    check("components:" not in script and "{{login.token}}" in script and "check:" in script, script)
    with Target(PORT, PORT), tempfile.TemporaryDirectory() as tmp:
        rc, _, stderr, out = run_file(tmp, script, "-e", f"BASE_URL=http://127.0.0.1:{PORT}", "--users", "4",
                                      "--duration", "2s")
        check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
        r = read_report(out)
        s = scenario(r, "shoppers")
        for name in ("login", "browse", "checkout"):
            a = action(s, name)
            check(a["ok"] > 0 and a["errors"] == 0 and a["timeouts"] == 0, f"{name}: {a}")
            check(a["checks"] and all(c["fail"] == 0 and c["pass"] == a["count"] for c in a["checks"]), f"{name}: {a['checks']}")
        check(s["users"]["spawned"] == 4, f"--users 4: {s['users']}")
        used = {o["name"] for o in r["overrides"]}
        check({"users", "duration", "env.BASE_URL"} <= used, f"overrides {r['overrides']}")
        check(r["thresholds_passed"] and len(r["thresholds"]) == 3, f"{r['thresholds']}")


def test_a_broken_token_fails_the_checks_and_the_run():
    script = tutorial_script().replace("Bearer {{login.token}}", "Bearer x{{login.token}}")
    with Target(PORT, PORT), tempfile.TemporaryDirectory() as tmp:
        rc, _, stderr, out = run_file(tmp, script, "-e", f"BASE_URL=http://127.0.0.1:{PORT}", "--users", "2",
                                      "--duration", "1s")
        check(rc == 1, f"exit {rc}: {stderr[-2000:]}")
        browse = action(scenario(read_report(out), "shoppers"), "browse")
        check(browse["errors_by_kind"].get("status", 0) == browse["errors"] > 0, f"{browse}")
        check(any(c["fail"] > 0 for c in browse["checks"]), f"{browse['checks']}")


def test_a_missing_env_value_is_a_planning_error():
    with tempfile.TemporaryDirectory() as tmp:
        rc, _, stderr, _ = run_file(tmp, tutorial_script())
        check(rc == 2 and re.search(r"shop\.yaml:\d+:\d+: error: .*BASE_URL", stderr), f"exit {rc}: {stderr[-2000:]}")


if __name__ == "__main__":
    main([test_the_tutorial_runs_green, test_a_broken_token_fails_the_checks_and_the_run,
          test_a_missing_env_value_is_a_planning_error])
