"""Random think times and random(): think {uniform | normal | exponential} and random() draw from each
user's own generator, seeded from --seed and the user id, so a run with the same seed draws the same
values whatever the thread count (nginx's access log shows them), another seed draws others, and
report.json records the seed. A uniform think never ends before its minimum."""
import tempfile

from harness import check, main, run_script, scenario
from nginx_server import Nginx

USERS = 12


def script(n):
    url = f"http://127.0.0.1:{n.http_port}/static/hello.txt"
    return f"""
components:
  - {{name: http, version: "0.2.0", entry: http}}
workflows:
  drawn:
    steps:
      - think: {{uniform: [50ms, 90ms]}}
      - {{action: http.get, name: first, with: {{url: "{url}?u={{{{env.user_id}}}}&a={{{{random()}}}}"}}}}
      - think: {{normal: {{mean: 5ms, stddev: 2ms}}}}
      - think: {{exponential: {{mean: 3ms}}}}
      - {{action: http.get, name: second, with: {{url: "{url}?u={{{{env.user_id}}}}&b={{{{random()}}}}"}}}}
load:
  scenarios:
    - {{name: drawn, workflow: drawn, user-count: {USERS}}}
"""


def draws(n):
    return sorted(r["args"] for r in n.requests() if r["uri"] == "/static/hello.txt")


def run(seed, threads):
    with Nginx() as n, tempfile.TemporaryDirectory() as tmp:
        _, report = run_script(tmp, script(n), "--seed", str(seed), "--threads", str(threads))
        return draws(n), report


def test_a_seed_repeats_the_draws():
    one, report = run(42, 1)
    check(report["seed"] == 42, report["seed"])
    check(len(one) == 2 * USERS and len(set(one)) == 2 * USERS, one)  # every draw differs
    two, _ = run(42, 2)
    check(one == two, f"same seed, other thread count: {one} != {two}")
    other, _ = run(43, 1)
    check(set(other).isdisjoint(one), f"another seed drew the same values: {set(other) & set(one)}")
    td = scenario(report, "drawn")["task_duration_ms"]
    check(td["min"] >= 50, td)
    # With seed 42 the twelve uniform draws over 50..90 ms are fixed: they are not all alike.
    check(td["max"] - td["min"] > 5, td)


def test_without_a_seed_one_is_recorded():
    with Nginx() as n, tempfile.TemporaryDirectory() as tmp:
        _, report = run_script(tmp, script(n))
        check(isinstance(report["seed"], int), report["seed"])


if __name__ == "__main__":
    main([test_a_seed_repeats_the_draws, test_without_a_seed_one_is_recorded])
