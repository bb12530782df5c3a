"""Files stay contained (issue 23, defect 6): symlinks planted in --out are never written through, a
persist folder planted as a link out of --out is refused, persist.dir cannot leave --out, a file_blob
or manifest cannot leave the res_dir, and a run clears what an earlier run of ntx left in its --out
(a killed run's workbook-stream.jsonl) but nothing else."""
import os
import tempfile

from harness import PROBE_COMPONENT, check, main, read_report, run_ntx, validate_script, write_res_dir

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  w: {{steps: [{{ref: tick}}]}}
actions:
  tick: {{component: probe, call: flaky, with: {{failures: "0"}}, save-as: {{var: c, persist: {{dir: p, filename: "{{{{env.user_id}}}}.json"}}}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 2}}
"""


def test_planted_symlinks_are_not_followed():
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, SCRIPT), os.path.join(tmp, "out")
        victims = os.path.join(tmp, "victims")
        os.makedirs(out)
        os.makedirs(os.path.join(victims, "dir"))
        planted = {}
        for name in ("report.json.tmp", "report.json", "workbook.jsonl", "workbook-stream.jsonl", "report.html.tmp"):
            victim = os.path.join(victims, name)
            with open(victim, "w") as f:
                f.write("precious\n")
            os.symlink(victim, os.path.join(out, name))
            planted[name] = victim
        os.symlink(os.path.join(victims, "dir"), os.path.join(out, "p"))  # the persist folder
        with open(os.path.join(out, "mine.txt"), "w") as f:
            f.write("not ntx's\n")
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet", "--workbook-stream", "--workbook-retain", "all")
        check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
        for name, victim in planted.items():
            with open(victim) as f:
                check(f.read() == "precious\n", f"{name}: the victim {victim} was overwritten")
        for name in ("report.json", "workbook.jsonl", "workbook-stream.jsonl"):
            check(not os.path.islink(os.path.join(out, name)), f"{name} is still a link")
        check(os.listdir(os.path.join(victims, "dir")) == [], "persist files went through the planted folder link")
        r = read_report(out)
        check(r["persist"]["errors"] == 2 and r["persist"]["files"] == 0, f"persist: {r['persist']}")
        with open(os.path.join(out, "mine.txt")) as f:
            check(f.read() == "not ntx's\n", "a file that is not ntx's was touched")


def test_a_rerun_clears_only_its_own_files():
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, SCRIPT), os.path.join(tmp, "out")
        os.makedirs(out)
        with open(os.path.join(out, "workbook-stream.jsonl"), "w") as f:
            f.write('{"a killed run": "cut mid-li')
        with open(os.path.join(out, "notes.md"), "w") as f:
            f.write("mine\n")
        rc, _, stderr = run_ntx("run", res, "--out", out, "--quiet")
        check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
        check(not os.path.exists(os.path.join(out, "workbook-stream.jsonl")), "a stale change stream survived the re-run")
        check(os.path.exists(os.path.join(out, "notes.md")), "a file that is not ntx's was removed")


def test_persist_dir_stays_inside_out():
    for d in ("../escape", "/tmp/ntx-escape"):
        err = validate_script(SCRIPT.replace("dir: p", f"dir: {d}"))
        check(f"persist.dir '{d}' leaves the run's --out folder" in err, f"{d}: {err}")


def test_resource_files_stay_inside_the_res_dir():
    blob = f"""
{PROBE_COMPONENT}resources:
  body:
    type: file_blob
    config: {{file: ../../../../../../etc/os-release}}
workflows:
  w: {{steps: [{{ref: tick}}]}}
actions:
  tick: {{component: probe, call: flaky, with: {{failures: "0", data: "{{{{blob.body}}}}"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 1}}
"""
    err = validate_script(blob)
    check("'../../../../../../etc/os-release' is outside the res_dir" in err, err)


if __name__ == "__main__":
    main([test_planted_symlinks_are_not_followed, test_a_rerun_clears_only_its_own_files, test_persist_dir_stays_inside_out,
          test_resource_files_stay_inside_the_res_dir])
