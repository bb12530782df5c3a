"""The archive and the workbook file are contained (issue 23, defect 6):

- `--archive DIR` writes with the no-follow, exclusive opens of libntx/src/files/: a symlink (or a
  hard link) planted at DIR/index.jsonl pointing to a victim is refused, never written through; the
  run's copies go into a run folder this run created.
- workbook.jsonl is written as workbook.jsonl.tmp and renamed when complete: a run killed with
  SIGKILL while the workbook is being written leaves no workbook.jsonl at all (never one cut
  mid-line), and the next run into the same --out removes the stale temporary."""
import json
import os
import signal
import subprocess
import tempfile

from harness import NTX, PROBE_COMPONENT, check, main, run_ntx, wait_for, write_res_dir

SHORT = f"""{PROBE_COMPONENT}workflows:
  w: {{steps: [{{ref: nap}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "1"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 3}}
"""

# Arrivals for a minute: the workbook grows the whole time (every task kept).
LONG = f"""{PROBE_COMPONENT}workflows:
  w: {{steps: [{{ref: nap}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "1"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, arrival-rate: 3000/s, duration: 60s, max-users: 500}}
"""

VICTIM_TEXT = "the victim's own line\n"


def test_archive_refuses_planted_links():
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, SHORT)
        archive = os.path.join(tmp, "archive")
        os.makedirs(archive)
        for kind in ("symlink", "hardlink"):
            victim = os.path.join(tmp, f"victim-{kind}.txt")
            with open(victim, "w") as f:
                f.write(VICTIM_TEXT)
            index = os.path.join(archive, "index.jsonl")
            if os.path.lexists(index):
                os.remove(index)
            (os.symlink if kind == "symlink" else os.link)(victim, index)
            out = os.path.join(tmp, f"out-{kind}")
            rc, stdout, stderr = run_ntx("run", res, "--out", out, "--archive", archive, "--quiet")
            check(rc == 0, f"{kind}: exit {rc}: {stderr[-2000:]}")
            with open(victim) as f:
                check(f.read() == VICTIM_TEXT, f"{kind}: the victim behind archive/index.jsonl was written")
            check("not archived" in stderr and "index.jsonl" in stderr, f"{kind}: no warning: {stderr[-2000:]}")
        # Without the planted link the archive works: a run folder with report.json, one index line.
        os.remove(os.path.join(archive, "index.jsonl"))
        rc, stdout, stderr = run_ntx("run", res, "--out", os.path.join(tmp, "out-ok"), "--archive", archive, "--quiet")
        check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
        with open(os.path.join(archive, "index.jsonl")) as f:
            lines = [json.loads(line) for line in f]
        check(len(lines) == 1, f"index: {lines}")
        run_dir = os.path.join(archive, lines[0]["run_id"])
        check(os.path.isfile(os.path.join(run_dir, "report.json")) and not os.path.islink(run_dir), f"{run_dir}")


def test_killed_run_leaves_no_cut_workbook():
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, LONG)
        out = os.path.join(tmp, "out")
        env = dict(os.environ, NTX_SUPERVISE="0")  # the run is this process: SIGKILL hits the writer itself
        log = open(os.path.join(tmp, "stderr.txt"), "w+")
        proc = subprocess.Popen([NTX, "run", res, "--out", out, "--workbook-retain", "all", "--quiet"],
                                env=env, stdout=subprocess.DEVNULL, stderr=log)
        tmp_file = os.path.join(out, "workbook.jsonl.tmp")
        try:
            wait_for(lambda: os.path.exists(tmp_file) and os.path.getsize(tmp_file) > 300_000 or proc.poll() is not None,
                     "the workbook to grow past 300 kB", timeout=60)
            if proc.poll() is not None:
                log.seek(0)
                raise AssertionError(f"the run ended early: {log.read()[-2000:]}")
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        check(not os.path.lexists(os.path.join(out, "workbook.jsonl")),
              "a killed run left a workbook.jsonl (it can only be cut mid-line)")
        check(os.path.exists(tmp_file), "the temporary holds what was written")
        # The next run into the same --out owns it: the stale temporary goes, a whole workbook comes.
        rc, _, stderr = run_ntx("run", write_res_dir(os.path.join(tmp, "again"), SHORT), "--out", out,
                                "--workbook-retain", "all", "--quiet")
        check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
        check(not os.path.exists(tmp_file), "the killed run's temporary is still there")
        with open(os.path.join(out, "workbook.jsonl")) as f:
            text = f.read()
        check(text.endswith("\n") and len([json.loads(line) for line in text.splitlines()]) == 3, text[-500:])


if __name__ == "__main__":
    main([test_archive_refuses_planted_links, test_killed_run_leaves_no_cut_workbook])
