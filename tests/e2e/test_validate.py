"""`ntx validate` and `ntx run` on bad input: file:line:col errors, all of them, exit code 2; a plugin
that fails to initialise is exit code 3."""
import os
import shutil
import tempfile

from harness import SOURCE, TEST_PLUGINS, check, main, run_ntx

EXAMPLE = os.path.join(SOURCE, "examples", "http-tri-phase")


def copy_example(tmp):
    dst = os.path.join(tmp, "res")
    shutil.copytree(EXAMPLE, dst)
    return dst


def edit(path, old, new):
    with open(path) as f:
        text = f.read()
    check(old in text, f"{old!r} not in {path}")
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))


def line_col(path, needle):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


def test_the_bundled_example_validates():
    rc, out, err = run_ntx("validate", EXAMPLE)
    check(rc == 0, f"exit {rc}: {err}")
    check("ok" in out, out)


def test_broken_script_reports_every_error_with_position():
    with tempfile.TemporaryDirectory() as tmp:
        res = copy_example(tmp)
        script = os.path.join(res, "script.yaml")
        edit(script, "spawn-rate: 200/s", "spawn-rat: 200/s")
        edit(script, "- ref: purge-delete", "- ref: purge-delet")
        rc, out, err = run_ntx("validate", res)
        check(rc == 2, f"exit {rc}")
        line, col = line_col(script, "spawn-rat")
        check(f"script.yaml:{line}:{col}: error: unknown key 'spawn-rat' in a scenario (did you mean 'spawn-rate'?)" in err, err)
        line, col = line_col(script, "purge-delet\n")
        check(f"script.yaml:{line}:{col + 0}: error: unknown action 'purge-delet' (did you mean 'purge-delete'?)" in err, err)
        check("2 errors" in err, err)
        # run refuses the same input the same way, before anything starts.
        rc, _, err2 = run_ntx("run", res)
        check(rc == 2 and "spawn-rat" in err2, f"run exit {rc}")


def test_bad_manifest_line_is_reported():
    with tempfile.TemporaryDirectory() as tmp:
        res = copy_example(tmp)
        manifest = os.path.join(res, "resource.csv")
        edit(manifest, "127.0.0.1,20500\n", "127.0.0.1;20500\n")
        rc, _, err = run_ntx("validate", res)
        check(rc == 2, f"exit {rc}")
        line, _ = line_col(manifest, "127.0.0.1;20500")
        check(f"resource.csv:{line}:1: error: expected 2 fields (ip,port), found 1" in err, err)


def test_wrong_plugin_version_and_capability():
    with tempfile.TemporaryDirectory() as tmp:
        res = copy_example(tmp)
        script = os.path.join(res, "script.yaml")
        edit(script, 'version: "0.2.1"', 'version: "0.3.0"')
        edit(script, "call: delete", "call: remove")
        rc, _, err = run_ntx("validate", res)
        check(rc == 2, f"exit {rc}")
        line, col = line_col(script, '"0.3.0"')
        check(f"script.yaml:{line}:{col}: error: component 'http' requires version 0.3.0 but plugin ntx_http.so is version 0.2.2" in err, err)
        line, col = line_col(script, "remove")
        check(f"script.yaml:{line}:{col}: error: action 'purge-delete' calls 'remove', which plugin 'http' does not declare" in err, err)


def test_bad_arguments_and_missing_dirs_exit_2():
    check(run_ntx("run")[0] == 2, "no res_dir")
    check(run_ntx("frobnicate", EXAMPLE)[0] == 2, "unknown command")
    check(run_ntx("run", EXAMPLE, "--threads", "many")[0] == 2, "bad option value")
    rc, _, err = run_ntx("validate", "/nonexistent/ntx-res")
    check(rc == 2 and "not a directory" in err, err)


def test_plugin_init_failure_exits_3():
    with tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "res")
        os.makedirs(os.path.join(res, "resource"))
        with open(os.path.join(res, "script.yaml"), "w") as f:
            f.write(f"""components:
  - {{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}
workflows:
  wf: {{steps: [{{ref: a}}]}}
actions:
  a: {{component: probe, call: fail}}
load:
  scenarios: [{{workflow: wf}}]
""")
        with open(os.path.join(res, "resource", "config.yaml"), "w") as f:
            f.write("probe:\n  fail-init: true\n")
        rc, _, err = run_ntx("run", res)
        check(rc == 3, f"exit {rc}: {err}")
        check("plugin 'probe'" in err and "failed to initialise" in err, err)


if __name__ == "__main__":
    main([test_the_bundled_example_validates, test_broken_script_reports_every_error_with_position,
          test_bad_manifest_line_is_reported, test_wrong_plugin_version_and_capability,
          test_bad_arguments_and_missing_dirs_exit_2, test_plugin_init_failure_exits_3])
