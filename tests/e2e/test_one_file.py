"""One file instead of a res_dir: `ntx run path/to/script.yaml` (its folder is the res_dir) and `ntx run -`
(the script on stdin, the current directory the res_dir), against the real ntx-target; the shipped http
plugin found by `call: http.get` / `component: http` with no component block; version prefixes."""
import os
import subprocess
import tempfile

from harness import NTX, Target, action, check, free_port, main, read_report, run_ntx, scenario

PORT = free_port()

# No components block, no version, no entry: the shipped http plugin is found by its name.
SCRIPT = f"""
actions:
  home: {{call: http.get, with: {{url: "http://127.0.0.1:{PORT}/asset"}}}}
  status: {{component: http, call: get, with: {{url: "http://127.0.0.1:{PORT}/status/201"}}}}
workflows:
  w: {{steps: [{{ref: home}}, {{ref: status}}, {{action: http.post, with: {{url: "http://127.0.0.1:{PORT}/asset", body: hi}}}}]}}
load:
  scenarios: [{{name: s, workflow: w, user-count: 3}}]
"""


def test_run_a_script_file():
    with Target(PORT, PORT) as target, tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "tests"))
        path = os.path.join(tmp, "tests", "smoke.yaml")
        with open(path, "w") as f:
            f.write(SCRIPT)
        # config.yaml next to the file is read: its folder is the res_dir.
        with open(os.path.join(tmp, "tests", "config.yaml"), "w") as f:
            f.write("threads: 1\n")
        out = os.path.join(tmp, "out")
        rc, _, err = run_ntx("run", path, "--out", out, "-q")
        check(rc == 0, err)
        s = scenario(read_report(out), "s")
        for name in ("home", "status", "w[3]"):
            a = action(s, name)
            check(a["count"] == 3 and a["ok"] == 3, f"{name}: {a}")
        check(target.stats()["requests"] == 9, "the server saw every request")
        rc, stdout, _ = run_ntx("validate", path)
        check(rc == 0 and stdout.strip() == f"{path}: ok", stdout)


def test_run_stdin():
    with Target(PORT, PORT), tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        p = subprocess.run([NTX, "run", "-", "--out", out, "-q", "--users", "2"], input=SCRIPT, cwd=tmp,
                           capture_output=True, text=True, timeout=120)
        check(p.returncode == 0, p.stderr)
        check(action(scenario(read_report(out), "s"), "home")["ok"] == 2, "two users")
        # Errors name <stdin> at line and column.
        p = subprocess.run([NTX, "validate", "-"], input=SCRIPT.replace("user-count: 3", "user-count: 3, vus: 5"),
                           cwd=tmp, capture_output=True, text=True, timeout=60)
        check(p.returncode == 2 and "<stdin>:8:" in p.stderr and "unknown key 'vus'" in p.stderr, p.stderr)
        check("ntx: 1 error in <stdin>" in p.stderr, p.stderr)


def test_versions_and_entries():
    with tempfile.TemporaryDirectory() as tmp:
        def validate(components):
            path = os.path.join(tmp, "s.yaml")
            with open(path, "w") as f:
                f.write(f"components: {components}\n" + SCRIPT)
            return run_ntx("validate", path)

        rc, _, err = validate('[{name: http, version: "0.2"}]')  # a prefix: any 0.2.x
        check(rc == 0, err)
        rc, _, err = validate('[{name: http, version: "0.3"}]')
        check(rc == 2 and "requires version 0.3 but plugin" in err and "s.yaml:1:" in err, err)
        rc, _, err = validate('[{name: http, version: "zero"}]')
        check(rc == 2 and "is not a semantic version" in err, err)
        # A component without an entry that is not a shipped protocol: an error at file:line:col, and
        # no second, placeless error from the loader.
        rc, _, err = validate('[{name: mine, version: "1.0.0"}]')
        lines = [l for l in err.splitlines() if ": error:" in l]
        check(rc == 2 and len(lines) == 1 and lines[0].startswith(os.path.join(tmp, "s.yaml") + ":1:"), err)


if __name__ == "__main__":
    main([test_run_a_script_file, test_run_stdin, test_versions_and_entries])
