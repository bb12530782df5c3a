"""deploy/slurm/ on a real, throw-away single-node Slurm (slurm_cluster.py): a 4-way job array of
`ntx run --segment` against nginx on loopback, the merge as a job depending on the array, and the merged
report equal in its counts to one process running the same test. Skips (and says why) when not root."""
import os
import sys
import tempfile
import time

from harness import BUILD, NTX, SOURCE, check, main, read_report, run_ntx, scenario
from nginx_server import Nginx
from slurm_cluster import SlurmCluster, available

N = 4

SCRIPT = """components:
  - {{name: http, version: "0.2.1", entry: http}}
actions:
  get: {{component: http, call: get, with: {{url: "http://127.0.0.1:{port}/static/hello.txt"}}, timeout: 5s}}
workflows:
  two-gets: {{steps: [{{ref: get}}, {{ref: get}}]}}
load:
  scenarios:
    - {{name: users, workflow: two-gets, user-count: 40, spawn-rate: 100/s}}
    - {{name: arrivals, workflow: two-gets, arrival-rate: 200/s, duration: 2s}}
thresholds:
  - "get.count >= 880"
"""


def test_a_job_array_of_segments_merges_to_the_single_run():
    with Nginx() as nginx, tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        res = os.path.join(tmp, "res")
        os.makedirs(res)
        with open(os.path.join(res, "script.yaml"), "w") as f:
            f.write(SCRIPT.format(port=nginx.http_port))
        rc, _, stderr = run_ntx("run", res, "--out", os.path.join(tmp, "single"), "--quiet", "--threads", "1")
        check(rc == 0, f"single run exited {rc}: {stderr[-2000:]}")
        single = read_report(os.path.join(tmp, "single"))
        before = len(nginx.requests())

        out = os.path.join(tmp, "runs")
        os.makedirs(out)
        slurm_dir = os.path.join(SOURCE, "deploy", "slurm")
        with SlurmCluster() as slurm:
            env = {"RES_DIR": res, "OUT": out, "START_AT": f"{time.time() + 5:.3f}", "SEGMENTS": str(N), "NTX": NTX,
                   "NTX_ARGS": "--threads 1"}
            export = "ALL," + ",".join(f"{k}={v}" for k, v in env.items())
            array = slurm.sbatch(f"--array=0-{N - 1}", f"--chdir={out}", f"--export={export}",
                                 os.path.join(slurm_dir, "ntx-segment.sbatch"))
            merge = slurm.sbatch(f"--dependency=afterany:{array}", f"--chdir={out}", f"--export={export}",
                                 os.path.join(slurm_dir, "ntx-merge.sbatch"))
            tasks = slurm.wait_job(array)

            def logs():
                text = ""
                for name in sorted(os.listdir(out)):
                    if name.endswith(".log"):
                        with open(os.path.join(out, name)) as f:
                            text += f"--- {name}\n{f.read()[-1500:]}"
                return text

            check(sorted(tasks) == [str(i) for i in range(N)] and set(tasks.values()) == {"COMPLETED"},
                  f"array tasks {tasks}: {logs()}")
            merged_state = slurm.wait_job(merge)
            check(merged_state == {"-": "COMPLETED"}, f"merge job {merged_state}: {logs()}")

        segs = [read_report(os.path.join(out, f"seg-{i}")) for i in range(N)]
        check([s["segment"]["index"] for s in segs] == list(range(N)), [s["segment"] for s in segs])
        merged = read_report(os.path.join(out, "merged"))
        check(len(nginx.requests()) - before == merged["totals"]["actions"], "nginx's own count")
        for key in ("actions", "ok", "errors", "timeouts"):
            check(merged["totals"][key] == single["totals"][key], f"totals.{key}: {merged['totals']} vs {single['totals']}")
        for name in ("users", "arrivals"):
            m, s1 = scenario(merged, name), scenario(single, name)
            check(m["users"]["spawned"] == s1["users"]["spawned"] and m["tasks"] == s1["tasks"],
                  f"{name}: {m['users']} {m['tasks']} vs {s1['users']} {s1['tasks']}")
        check(merged["thresholds_passed"], merged["thresholds"])
        # Each segment judged its share alone: get.count >= 880 failed on every one of them.
        check(not any(s["thresholds_passed"] for s in segs), [s["thresholds"] for s in segs])


if __name__ == "__main__":
    why = available()
    if why:
        print(f"SKIP test_slurm: {why}")
        sys.exit(0)
    main([test_a_job_array_of_segments_merges_to_the_single_run])
