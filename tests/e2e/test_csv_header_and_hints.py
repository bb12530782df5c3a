"""A CSV manifest whose header row names the fields (no parser.fields), with quotes, a quoted newline,
a BOM and CRLF, leased by real users against the real ntx-target; and the hints `ntx validate` gives for
k6 / Locust / Artillery words."""
import tempfile

from harness import Target, action, check, free_port, main, run_script, scenario, validate_script

PORTS = [free_port() for _ in range(2)]

SCRIPT = """
resources:
  pairs:
    type: pair_pool
    config: {manifest: pairs.csv}
workflows:
  w: {steps: [{action: http.get, name: hit, with: {url: "http://{{resource.ip}}:{{resource.port}}/status/200?n={{resource.note}}"}}]}
load:
  scenarios: [{name: s, workflow: w, user-count: 4, user: {inherit: [pairs]}}]
"""

# A BOM, CRLF line ends and quoted fields; the header names ip, port and note.
MANIFEST = ("\ufeffip,port,note\r\n"
            f"127.0.0.1,{PORTS[0]},a\r\n"
            f"\"127.0.0.1\",\"{PORTS[1]}\",b\r\n")


def test_header_names_the_fields():
    with Target(PORTS[0], PORTS[0]) as t0, Target(PORTS[1], PORTS[1]) as t1, tempfile.TemporaryDirectory() as tmp:
        _, report = run_script(tmp, SCRIPT, "-q", files={"pairs.csv": MANIFEST.encode("utf-8")})
        s = scenario(report, "s")
        hits = [a for a in s["actions"]]
        check(sum(a["ok"] for a in hits) == 4, f"{hits}")
        check(t0.stats()["requests"] + t1.stats()["requests"] == 4 and t0.stats()["requests"] > 0
              and t1.stats()["requests"] > 0, "both items were leased")


def test_bad_header_and_quotes_are_located():
    err = validate_script(SCRIPT, files={"pairs.csv": "ip,ip,note\n127.0.0.1,1,x\n"})
    check("pairs.csv:1:1: error: the header row names the fields of resource 'pairs', but field 2 is 'ip' again" in err,
          err)
    err = validate_script(SCRIPT, files={"pairs.csv": 'ip,port,note\n127.0.0.1,1,"multi\nline",extra\n'})
    # Reported at the extra field, on the line after the quoted line break.
    check("pairs.csv:3:7: error: expected 3 fields (ip,port,note), found 4" in err, err)
    err = validate_script(SCRIPT, files={"pairs.csv": 'ip,port,note\n127.0.0.1,1,"never closed\n'})
    check("pairs.csv:2:13: error: unterminated quote" in err, err)
    err = validate_script(SCRIPT, files={"pairs.csv": "# only a comment\n"})
    check("has no rows, so no header names the fields" in err, err)
    # A quoted newline is one field: a valid manifest.
    validate_script(SCRIPT, files={"pairs.csv": 'ip,port,note\n127.0.0.1,1,"two\nlines"\n'}, expect_exit=0)


def test_foreign_words():
    script = """
actions:
  a: {call: http.get, url: "http://127.0.0.1:1/", with: {url: "http://127.0.0.1:1/"}}
workflows: {w: {steps: [{ref: a}]}}
load:
  scenarios:
    - {name: k6, workflow: w, vus: 10, iterations: 3}
    - {name: locust, workflow: w, users: 10, spawn_rate: 2}
    - {name: closed, workflow: w, user-count: 1, duration: 30s}
    - {name: artillery, workflow: w, arrivalRate: 5, rps: 3}
"""
    err = validate_script(script)
    for line, expected in [
        (3, "unknown key 'url' in an action (the URL is a parameter of the call: with: {url: ...})"),
        (7, "unknown key 'vus' in a scenario (k6's vus: ntx says user-count (closed model), or --users N"),
        (7, "unknown key 'iterations' in a scenario (k6's iterations"),
        (8, "unknown key 'users' in a scenario (Locust's users: ntx says user-count"),
        (8, "unknown key 'spawn_rate' in a scenario (ntx says spawn-rate"),
        (9, "'duration' belongs to the open model (with arrival-rate) (on a closed model, task-duration"),
        (10, "unknown key 'arrivalRate' in a scenario (ntx says arrival-rate"),
        (10, "unknown key 'rps' in a scenario (requests per second is an open model: arrival-rate"),
    ]:
        check(any(f"script.yaml:{line}:" in l for l in err.splitlines() if expected in l),
              f"line {line}: {expected}\n{err}")
    check("did you mean 'user'" not in err, err)


if __name__ == "__main__":
    main([test_header_names_the_fields, test_bad_header_and_quotes_are_located, test_foreign_words])
