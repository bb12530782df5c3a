"""Action params checked by their plugin at planning (ABI 1.2 validate_action): a typo'd key, a url
without its scheme, a word that is no number, an FTP mode misspelt... are `file:line:col: error:`
lines of `ntx validate` and `ntx run`, every one at once, exit code 2, before anything runs; values
known only at run time (templates) still validate."""
import tempfile

from harness import check, main, run_ntx, validate_script, write_res_dir

COMPONENTS = """components:
  - {name: web, version: "0.2.0", entry: http}
  - {name: files, version: "0.1.0", entry: ftp}
"""

BAD = COMPONENTS + """workflows:
  w:
    steps:
      - ref: get-cfg
      - ref: head-it
      - ref: list-pub
      - ref: fetch
actions:
  get-cfg:
    component: web
    call: get
    with:
      url: "127.0.0.1:80/cfg"
      heders:
        Accept: text/plain
      max-redirects: lots
  head-it:
    component: web
    call: head
    with:
      body: "x"
  list-pub:
    component: files
    call: list
    with:
      url: "ftp://127.0.0.1:2121/pub/"
      mode: pasive
  fetch:
    component: files
    call: download
    with:
      url: "ftp://127.0.0.1:2121/pub/"
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
"""


def at(script, needle, nth=1, skip=0):
    """`script.yaml:line:col` of the nth place `needle` stands in `script` (`skip` characters into it)."""
    seen = 0
    for n, line in enumerate(script.splitlines(), 1):
        col = line.find(needle)
        if col >= 0:
            seen += 1
            if seen == nth:
                return f"script.yaml:{n}:{col + skip + 1}"
    raise AssertionError(f"{needle!r} not in the script")


EXPECTED = [
    (at(BAD, '"127.0.0.1:80/cfg"'),
     "action 'get-cfg': invalid url \"127.0.0.1:80/cfg\": expected http://host[:port]/path "
     "(did you mean 'http://127.0.0.1:80/cfg'?)"),
    (at(BAD, "text/plain"), "action 'get-cfg': http get has no parameter 'heders.Accept' "
                            "(did you mean 'headers.Accept'?)"),
    (at(BAD, "lots"), "action 'get-cfg': max-redirects must be an integer in 0..100"),
    (at(BAD, '"x"'), "action 'head-it': a head request has no body"),
    (at(BAD, "call: head", skip=len("call: ")), "action 'head-it': missing parameter 'url'"),
    (at(BAD, "pasive"), "action 'list-pub': mode must be \"passive\" or \"active\" (did you mean 'passive'?)"),
    (at(BAD, '"ftp://127.0.0.1:2121/pub/"', 2),
     "action 'fetch': download url must name a file, not a directory"),
]


def check_every_problem(stderr):
    lines = [line for line in stderr.splitlines() if ": error: " in line]
    for where, message in EXPECTED:
        want = f"/{where}: error: {message}"  # after the res_dir's path
        check(any(line.endswith(want) for line in lines), f"missing {want}\n{stderr}")
    check(len(lines) == len(EXPECTED), f"{len(lines)} errors, not {len(EXPECTED)}:\n{stderr}")


def test_validate_reports_every_bad_param_where_it_is_written():
    check_every_problem(validate_script(BAD))


def test_run_refuses_the_same_script_before_anything_runs():
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, BAD)
        rc, _, stderr = run_ntx("run", res, "--out", f"{tmp}/out")
    check(rc == 2, f"run exited {rc}: {stderr}")
    check_every_problem(stderr)


def test_values_known_only_at_run_time_still_validate():
    good = COMPONENTS + """workflows:
  w:
    steps:
      - ref: get-cfg
      - ref: fetch
actions:
  get-cfg:
    component: web
    call: get
    save-as: cfg
    with:
      url: "http://127.0.0.1:8080/u/{{env.user_id}}"
      headers:
        Authorization: "Bearer {{env.task_id}}"
      max-redirects: "{{env.user_id}}"
      keep-alive: "{{ env.user_id > 3 }}"
  fetch:
    component: files
    call: download
    with:
      url: "{{cfg.body}}"
      mode: "{{cfg.status}}"
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
"""
    validate_script(good, expect_exit=0)


if __name__ == "__main__":
    main([test_validate_reports_every_bad_param_where_it_is_written,
          test_run_refuses_the_same_script_before_anything_runs,
          test_values_known_only_at_run_time_still_validate])
