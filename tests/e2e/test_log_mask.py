"""log.mask (config.yaml, default password/token/authorization/cookie): sensitive values never reach
the logs, whoever writes the line (here a templated `log` step)."""
import os
import tempfile

from harness import check, main, run_ntx

SCRIPT = """
workflows:
  login:
    steps:
      - {log: "login user=u{{env.user_id}} password=hunter2 Authorization: Bearer s3cr3t", level: warn}
      - {log: "api_key=k-123 session=abc", level: warn}
load:
  scenarios:
    - {name: s, workflow: login, user-count: 2}
"""


def run(config):
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "script.yaml"), "w") as f:
            f.write(SCRIPT)
        if config:
            with open(os.path.join(tmp, "config.yaml"), "w") as f:
                f.write(config)
        return run_ntx("run", tmp, "--quiet")


def test_default_mask():
    rc, out, err = run(None)
    check(rc == 0, f"exit {rc}: {err}")
    check(err.count("password=*** Authorization: ***") == 2, err)
    check("hunter2" not in err and "s3cr3t" not in err, err)
    check("user=u" in err and "api_key=k-123" in err, "other fields stay readable")


def test_configured_mask():
    rc, out, err = run("logging:\n  level: warn\n  mask: [api_key, session]\n")
    check(rc == 0, f"exit {rc}: {err}")
    check(err.count("api_key=*** session=***") == 2, err)
    check("password=hunter2" in err, "the list replaces the defaults")


if __name__ == "__main__":
    main([test_default_mask, test_configured_mask])
