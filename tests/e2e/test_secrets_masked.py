"""Secrets are masked everywhere (issue 23, defect 7) by the one rule set of log.mask (default password,
token, authorization, cookie): a scheme word and its credentials (`authorization=Bearer S3CRET`,
`Proxy-Authorization=Basic ...`), JSON members (`"token": "..."`), url query parameters
(`?password=...`) and cookies (`cookie session=...`, `Cookie: a=1; b=2`), in the log, persist files,
report.json / report.html (first errors), the workbook snapshot and the change stream. The values come
back from a real plugin (hostile_plugin.cpp's well-behaved `fields` call) as result fields."""
import glob
import os
import tempfile

from harness import check, main, run_ntx, write_res_dir
from hostile import build_hostile, hostile_component

SECRETS = ["S3CRET", "dXNlcjpwYXNz", "tok-9f8e", "hunter2", "abc123", "cook1e2"]


def script(so):
    return f"""components:
{hostile_component(so)}workflows:
  w:
    steps:
      - {{log: "authorization=Bearer S3CRET Proxy-Authorization=Basic dXNlcjpwYXNz", level: warn}}
      - {{ref: echo}}
      - {{ref: keep}}
actions:
  echo:
    component: hostile
    call: fields
    with:
      url: "http://127.0.0.1:1/login?user=u&password=hunter2"
      body: '{{"token": "tok-9f8e", "name": "visible"}}'
      headers.set-cookie: "session=abc123"
      note: "cookie session=abc123; other=1"
    save-as: {{var: e, persist: {{dir: p, filename: "{{{{env.user_id}}}}.json"}}}}
  keep:
    component: hostile
    call: fields
    with:
      body: "Cookie: a=cook1e2; b=cook1e2"
    save-as: {{var: reg, scope: workbook}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: 2}}
"""


def test_secrets_never_reach_any_output():
    so = build_hostile()
    with tempfile.TemporaryDirectory() as tmp:
        res, out = write_res_dir(tmp, script(so)), os.path.join(tmp, "out")
        rc, stdout, stderr = run_ntx("run", res, "--out", out, "--quiet", "--workbook-stream", "--workbook-retain", "all")
        check(rc == 0, f"exit {rc}: {stderr[-2000:]}")
        outputs = {"stderr": stderr, "stdout": stdout}
        for path in glob.glob(os.path.join(out, "**", "*"), recursive=True):
            if os.path.isfile(path):
                with open(path, errors="replace") as f:
                    outputs[os.path.relpath(path, out)] = f.read()
        for name in ("p/1.json", "workbook.jsonl", "workbook-stream.jsonl", "report.json", "report.html"):
            check(name in outputs, f"{name} was not written: {sorted(outputs)}")
        for name, text in outputs.items():
            for secret in SECRETS:
                check(secret not in text, f"{secret} in {name}: ...{text[max(0, text.find(secret) - 200):text.find(secret) + 50]}")
        check("authorization=***" in stderr, f"the log keeps the name: {stderr[-1500:]}")
        check("visible" in outputs["p/1.json"] and "user=u" in outputs["p/1.json"], "what is not secret stays readable")


if __name__ == "__main__":
    main([test_secrets_never_reach_any_output])
