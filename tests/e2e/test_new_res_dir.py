"""`ntx new NAME` writes a starter res_dir that validates and runs green against the real ntx-target as
written (pointed at a free port with -e BASE_URL, shortened with --duration); it never overwrites."""
import os
import tempfile

from harness import Target, action, check, free_port, main, read_report, run_ntx, scenario

PORT = free_port()


def test_new_runs_green():
    with Target(PORT, PORT) as target, tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "my-test")
        rc, stdout, err = run_ntx("new", res)
        check(rc == 0 and "wrote" in stdout, err)
        check(sorted(os.listdir(res)) == ["config.yaml", "script.yaml"], f"{os.listdir(res)}")
        rc, stdout, err = run_ntx("validate", res)
        check(rc == 0, err)
        out = os.path.join(tmp, "out")
        rc, _, err = run_ntx("run", res, "--out", out, "-q", "-e", f"BASE_URL=http://127.0.0.1:{PORT}",
                             "--users", "3", "--duration", "1s")
        check(rc == 0, f"the starter runs green: {rc} {err}")
        report = read_report(out)
        s = scenario(report, "browse")
        login, asset = action(s, "login"), action(s, "asset")
        check(login["count"] > 3 and login["ok"] == login["count"], f"{login}")
        check(asset["ok"] == asset["count"] == login["count"], f"{asset}")
        check(target.stats()["requests"] == login["count"] * 2, "every request reached the server")
        check(report["thresholds_passed"] and len(report["thresholds"]) == 2, f"{report['thresholds']}")


def test_new_never_overwrites():
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "keep.txt"), "w") as f:
            f.write("mine")
        rc, _, err = run_ntx("new", tmp)
        check(rc == 2 and "already exists and is not an empty folder" in err, err)
        check(os.listdir(tmp) == ["keep.txt"], "nothing written")
        rc, _, err = run_ntx("new")
        check(rc == 2 and "expected `new NAME`" in err, err)


if __name__ == "__main__":
    main([test_new_runs_green, test_new_never_overwrites])
