"""`ntx run` sized and pointed from the command line against the real ntx-target: --users, --rate,
--duration, --scenario, -e KEY=VALUE and the process environment; refused combinations and bad values
exit 2 with a clear message; a SIGINT'ed run exits 4 with its report written."""
import os
import signal
import subprocess
import tempfile

from harness import NTX, Target, action, check, free_port, main, read_report, run_ntx, run_script, scenario, \
    validate_script, wait_for, write_res_dir

PORT = free_port()

# BASE_URL comes from -e (or the environment); SUFFIX has a default. Both scenarios count their
# requests on the server, so the overrides are measured where they land.
SCRIPT = """
components:
  - {name: http, version: "0.2.1", entry: http}
workflows:
  visit: {steps: [{ref: asset}]}
actions:
  asset: {component: http, call: get, with: {url: "{{env.BASE_URL}}/asset{{default(env.SUFFIX, '')}}"}}
load:
  scenarios:
    - {name: closed, workflow: visit, user-count: 2}
    - {name: arrivals, workflow: visit, arrival-rate: 10/s, duration: 1s}
thresholds:
  - scenario.arrivals.error-rate < 1%
"""


BASE = f"BASE_URL=http://127.0.0.1:{PORT}"


def test_users_and_scenario():
    with Target(PORT, PORT) as target, tempfile.TemporaryDirectory() as tmp:
        run, report = run_script(tmp, SCRIPT, "--scenario", "closed", "--users", "7", "-e", BASE)
        check([s["name"] for s in report["scenarios"]] == ["closed"], f"only closed ran: {report['scenarios']}")
        a = action(scenario(report, "closed"), "asset")
        check(a["count"] == 7 and a["ok"] == 7, f"7 users, one task each: {a}")
        check(target.stats()["requests"] == 7, "the server saw 7 requests")
        # The threshold on the scenario that did not run went with it.
        check(report["thresholds"] == [], f"thresholds: {report['thresholds']}")
        used = {o["name"]: o for o in report["overrides"]}
        check(used["users"]["value"] == "7" and used["users"]["source"] == "--users", f"overrides: {used}")
        check(used["scenario"]["value"] == "closed", f"overrides: {used}")
        check(used["env.BASE_URL"]["source"] == "-e", f"overrides: {used}")
        check("overrides: " in run.stdout and "users=7 (--users)" in run.stdout, run.stdout)


def test_rate_and_duration_open():
    with Target(PORT, PORT) as target, tempfile.TemporaryDirectory() as tmp:
        _, report = run_script(tmp, SCRIPT, "--scenario", "arrivals", "--rate", "40/s", "--duration", "500ms",
                               "-e", BASE, "-e", "SUFFIX=?x=1")
        a = action(scenario(report, "arrivals"), "asset")
        # 40/s over 500 ms: 20 arrivals (the schedule is exact: arrival k at k/40 s).
        check(a["count"] == 20 and a["ok"] == 20, f"20 arrivals: {a}")
        check(target.stats()["requests"] == 20, "the server saw 20")
        check(report["thresholds_passed"] and len(report["thresholds"]) == 1, "the arrivals threshold ran")


def test_duration_closed_repeats():
    with Target(PORT, PORT), tempfile.TemporaryDirectory() as tmp:
        _, report = run_script(tmp, SCRIPT, "-s", "closed", "-u", "2", "-d", "1s", "-e", BASE)
        a = action(scenario(report, "closed"), "asset")
        # task-duration 1s: each of 2 users repeats its task for a second (one per tick at least).
        check(a["count"] > 10, f"users repeated their task for 1 s: {a}")
        check(report["totals"]["duration_s"] < 10, "the run ended after its duration")


def test_process_environment():
    with Target(PORT, PORT), tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, SCRIPT), os.path.join(tmp, "out")
        env = dict(os.environ, BASE_URL=f"http://127.0.0.1:{PORT}")
        p = subprocess.run([NTX, "run", res, "--out", out, "-s", "closed", "-q"], env=env, capture_output=True,
                           text=True, timeout=120)
        check(p.returncode == 0, p.stderr)
        used = {o["name"]: o for o in read_report(out)["overrides"]}
        check(used["env.BASE_URL"]["source"] == "environment", f"{used}")
        # -e wins over the environment.
        p = subprocess.run([NTX, "run", res, "--out", out, "-s", "closed", "-q", "-e", "BASE_URL=http://127.0.0.1:1"],
                           env=env, capture_output=True, text=True, timeout=120)
        a = action(scenario(read_report(out), "closed"), "asset")
        check(a["errors"] == 2 and a["ok"] == 0, f"-e pointed the run at a dead port (2 users): {a}")


def test_undefined_env_is_a_planning_error():
    env = {k: v for k, v in os.environ.items() if k != "BASE_URL"}
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([NTX, "validate", write_res_dir(tmp, SCRIPT)], env=env, capture_output=True, text=True)
    check(p.returncode == 2, p.stderr)
    check("script.yaml:7:" in p.stderr and "'BASE_URL' is not defined" in p.stderr and "-e BASE_URL=VALUE" in p.stderr,
          p.stderr)
    check("SUFFIX" not in p.stderr, "default() guards SUFFIX")
    # One error, at the template: no "missing parameter 'url'" from the plugin on top.
    check(p.stderr.count(": error:") == 1 and "missing parameter" not in p.stderr, p.stderr)


def test_refused_combinations():
    cases = [
        (["--users", "5"], "--users sets a closed scenario's user-count, but scenario 'arrivals' is open"),
        (["--rate", "5/s"], "--rate sets an open scenario's arrival-rate, but scenario 'closed' is closed"),
        (["--scenario", "closd"], "--scenario 'closd': the script has no scenario of that name (did you mean 'closed'?)"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, SCRIPT)
        for args, message in cases:
            for command in ("validate", "run"):
                rc, _, err = run_ntx(command, res, "-e", "BASE_URL=x", *args)
                check(rc == 2 and message in err, f"{command} {args}: {rc} {err}")
                check("script.yaml:" in err, f"located: {err}")
    profile = """
components: [{name: http, version: "0.2.1", entry: http}]
workflows: {w: {steps: [{action: http.get, with: {url: "http://127.0.0.1:1/"}}]}}
actions: {}
load:
  profiles: {ramp: {end-users: 3, duration: 1s}}
  scenarios: [{name: p, workflow: w, profile: ramp}]
"""
    with tempfile.TemporaryDirectory() as tmp:
        rc, _, err = run_ntx("validate", write_res_dir(tmp, profile), "--duration", "5s")
        check(rc == 2 and "scenario 'p' is driven by a profile" in err, err)


def test_bad_values():
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, SCRIPT)
        for args, message in [
            (["-e", "BASE_URL"], "-e 'BASE_URL': expected KEY=VALUE"),
            (["-e", "1X=2"], "KEY must be letters"),
            (["--users", "0"], "--users '0': expected a whole number of users, at least 1"),
            (["--users", "-3"], "--users '-3'"),
            (["--rate", "-1"], "--rate '-1': expected a positive rate"),
            (["--rate", "fast"], "--rate 'fast'"),
            (["--duration", "0s"], "--duration '0s': expected a positive duration"),
        ]:
            rc, _, err = run_ntx("run", res, *args)
            check(rc == 2 and message in err, f"{args}: {rc} {err}")


def test_sigint_exits_4():
    script = SCRIPT.replace("user-count: 2}", "user-count: 2, task-duration: 10m}")
    with Target(PORT, PORT) as target, tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, script), os.path.join(tmp, "out")
        p = subprocess.Popen([NTX, "run", res, "--out", out, "-s", "closed", "-e", BASE, "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: target.stats()["requests"] > 20, "requests to flow")
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        check(p.returncode == 4, f"exit {p.returncode}: {err}")
        report = read_report(out)
        check(report["interrupted"] and action(scenario(report, "closed"), "asset")["ok"] > 20, "report written")


if __name__ == "__main__":
    main([test_users_and_scenario, test_rate_and_duration_open, test_duration_closed_repeats, test_process_environment,
          test_undefined_env_is_a_planning_error, test_refused_combinations, test_bad_values, test_sigint_exits_4])
