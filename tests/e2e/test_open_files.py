"""The open-file limit (issue 23, defect 10), against a real ntx-target: ntx raises its soft
RLIMIT_NOFILE to the hard limit (300 users with a soft limit of 256 all succeed); when even the hard
limit cannot hold users x connections, planning says so with the numbers, and the connections that
cannot open count as `nofile` errors (with a hint), not as `io`."""
import os
import subprocess
import tempfile

from harness import NTX, Target, action, check, free_port, main, read_report, scenario, write_res_dir

PORT = free_port()
USERS = 300
SCRIPT = f"""components:
  - {{name: http, version: "0.2.1", entry: http}}
actions:
  get: {{component: http, call: get, with: {{url: "http://127.0.0.1:{PORT}/asset"}}, timeout: 5s}}
workflows:
  hold: {{steps: [{{ref: get}}]}}
load:
  scenarios:
    # Every user online at once for 2 s, each holding its keep-alive connection.
    - {{name: many, workflow: hold, user-count: {USERS}, task-duration: 2s}}
"""


def run_limited(soft, hard):
    tmp = tempfile.mkdtemp(prefix="ntx-nofile-")
    res, out = write_res_dir(tmp, SCRIPT), os.path.join(tmp, "out")
    p = subprocess.run(["prlimit", f"--nofile={soft}:{hard}", "--", NTX, "run", res, "--out", out, "--quiet",
                        "--threads", "1"], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stderr, read_report(out)


def test_the_soft_limit_is_raised_to_the_hard_one():
    with Target(PORT, PORT, threads=1):
        rc, stderr, r = run_limited(256, 4096)
    a = action(scenario(r, "many"), "get")
    check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
    check(a["errors"] == 0 and a["ok"] >= USERS, f"get: {a}")
    check("open files" not in stderr, f"no warning when the raised limit fits: {stderr[-1000:]}")


def test_a_limit_too_small_is_said_at_planning_and_counted_as_nofile():
    with Target(PORT, PORT, threads=1):
        rc, stderr, r = run_limited(256, 256)
    check(f"{USERS} users x 1 connection each need about {USERS + 64} open files, more than this process may open "
          f"(256; hard limit 256)" in stderr, f"planning warning: {stderr[-2000:]}")
    a = action(scenario(r, "many"), "get")
    kinds = a["errors_by_kind"]
    check(kinds.get("nofile", 0) > 0 and "io" not in kinds, f"errors_by_kind: {kinds}")
    check("ulimit -n" in stderr or "ulimit -n" in str(r), "the nofile reason carries the hint")


if __name__ == "__main__":
    main([test_the_soft_limit_is_raised_to_the_hard_one, test_a_limit_too_small_is_said_at_planning_and_counted_as_nofile])
