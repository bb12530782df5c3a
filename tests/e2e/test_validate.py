"""`ntx validate` and `ntx run` on bad input: file:line:col errors, all of them, exit code 2; a plugin
that fails to initialise is exit code 3."""
import os
import shutil
import tempfile

from harness import SOURCE, TEST_PLUGINS, check, main, run_ntx, write_res_dir

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


def validate_edited(tmp, name, *edits):
    """Copies the bundled example into `tmp`, makes `edits` ((old, new) pairs) to its file `name` and
    checks that `ntx validate` refuses it with exit code 2; returns (res_dir, the file's path, stderr)."""
    res = copy_example(tmp)
    path = os.path.join(res, name)
    for old, new in edits:
        edit(path, old, new)
    rc, _, err = run_ntx("validate", res)
    check(rc == 2, f"exit {rc}")
    return res, path, err


def line_col(path, needle):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n, line.index(needle) + 1
    raise AssertionError(f"{needle!r} not in {path}")


def check_script_error(script, needle, message, err):
    """err reports `message` at the line and column where `needle` first stands in `script`."""
    line, col = line_col(script, needle)
    check(f"script.yaml:{line}:{col}: error: {message}" in err, err)


def test_the_bundled_example_validates():
    rc, out, err = run_ntx("validate", EXAMPLE)
    check(rc == 0, f"exit {rc}: {err}")
    check("ok" in out, out)


def test_broken_script_reports_every_error_with_position():
    with tempfile.TemporaryDirectory() as tmp:
        res, script, err = validate_edited(tmp, "script.yaml", ("spawn-rate: 200/s", "spawn-rat: 200/s"),
                                           ("- ref: purge-delete", "- ref: purge-delet"))
        check_script_error(script, "spawn-rat", "unknown key 'spawn-rat' in a scenario (did you mean 'spawn-rate'?)", err)
        check_script_error(script, "purge-delet\n", "unknown action 'purge-delet' (did you mean 'purge-delete'?)", err)
        check("2 errors" in err, err)
        # run refuses the same input the same way, before anything starts.
        rc, _, err2 = run_ntx("run", res)
        check(rc == 2 and "spawn-rat" in err2, f"run exit {rc}")


def test_bad_manifest_line_is_reported():
    with tempfile.TemporaryDirectory() as tmp:
        _, manifest, err = validate_edited(tmp, "resource.csv", ("127.0.0.1,20500\n", "127.0.0.1;20500\n"))
        line, _ = line_col(manifest, "127.0.0.1;20500")
        check(f"resource.csv:{line}:1: error: expected 2 fields (ip,port), found 1" in err, err)


def test_wrong_plugin_version_and_capability():
    with tempfile.TemporaryDirectory() as tmp:
        _, script, err = validate_edited(tmp, "script.yaml", ('version: "0.2.1"', 'version: "0.3.0"'),
                                         ("call: delete", "call: remove"))
        check_script_error(script, '"0.3.0"',
                           "component 'http' requires version 0.3.0 but plugin ntx_http.so is version 0.2.3", err)
        check_script_error(script, "remove",
                           "action 'purge-delete' calls 'remove', which plugin 'http' does not declare", err)


def test_bad_arguments_and_missing_dirs_exit_2():
    check(run_ntx("run")[0] == 2, "no res_dir")
    check(run_ntx("frobnicate", EXAMPLE)[0] == 2, "unknown command")
    check(run_ntx("run", EXAMPLE, "--threads", "many")[0] == 2, "bad option value")
    rc, _, err = run_ntx("validate", "/nonexistent/ntx-res")
    check(rc == 2 and "not a directory" in err, err)


def test_plugin_init_failure_exits_3():
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, f"""components:
  - {{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}
workflows:
  wf: {{steps: [{{ref: a}}]}}
actions:
  a: {{component: probe, call: fail}}
load:
  scenarios: [{{workflow: wf}}]
""", files={"resource/config.yaml": "probe:\n  fail-init: true\n"})
        rc, _, err = run_ntx("run", res)
        check(rc == 3, f"exit {rc}: {err}")
        check("plugin 'probe'" in err and "failed to initialise" in err, err)


if __name__ == "__main__":
    main([test_the_bundled_example_validates, test_broken_script_reports_every_error_with_position,
          test_bad_manifest_line_is_reported, test_wrong_plugin_version_and_capability,
          test_bad_arguments_and_missing_dirs_exit_2, test_plugin_init_failure_exits_3])
