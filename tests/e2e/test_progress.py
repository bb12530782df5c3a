"""The live progress line: when stdout is not a terminal, one plain line per scenario about once a
second (elapsed/planned time, online users, actions and actions/s, errors, p99 so far), and a last
line at the end whose counts match the report; --quiet prints none."""
import os
import pty
import re
import select
import subprocess
import tempfile
import time

from harness import NTX, PROBE_COMPONENT, check, main, run_ntx, run_script, write_res_dir

SCRIPT = f"""
{PROBE_COMPONENT}workflows:
  naps: {{steps: [{{ref: nap}}]}}
  oops: {{steps: [{{think: 50ms}}, {{ref: oops}}]}}
actions:
  nap: {{component: probe, call: sleep, with: {{ms: "50"}}}}
  oops: {{component: probe, call: fail}}
load:
  scenarios:
    - {{name: napping, workflow: naps, user-count: 4, task-duration: 3500ms, max-duration: 3500ms}}
    - {{name: failing, workflow: oops, user-count: 2, task-duration: 3500ms, max-duration: 3500ms}}
"""

LINE = re.compile(r"^progress \[(\d+\.\d)s/3\.5s\] (\w+): (\d+) online, (\d+) actions \((\d+\.\d)/s\), (\d+) errors, "
                  r"p99 (\d+\.\d\d)ms( \(end\))?$")


def test_plain_progress_lines_when_stdout_is_not_a_terminal():
    with tempfile.TemporaryDirectory() as tmp:
        run, r = run_script(tmp, SCRIPT)  # stdout is a pipe
        stdout = run.stdout
        lines = [l for l in stdout.splitlines() if l.startswith("progress ")]
        check(all(LINE.match(l) for l in lines), "\n".join(l for l in lines if not LINE.match(l)))
        check("\x1b[" not in stdout and "\r" not in stdout, "no terminal control codes in a pipe")
        parsed = [LINE.match(l).groups() for l in lines]
        live = [p for p in parsed if p[7] is None]
        end = {p[1]: p for p in parsed if p[7] is not None}
        # 3.5 s at one line per second per scenario: the 1, 2 and 3 s lines of each (a loaded machine
        # may run late, never early).
        for name in ("napping", "failing"):
            times = [float(p[0]) for p in live if p[1] == name]
            check(len(times) >= 2 and times == sorted(times) and times[0] >= 1.0, f"{name}: {times}")
            # The k-th line is printed once the clock passed k seconds (never before), one per second.
            check(all(t >= k + 1 for k, t in enumerate(times)) and len(set(times)) == len(times),
                  f"{name}: about once a second: {times}")
        first_napping = next(p for p in live if p[1] == "napping")
        check(first_napping[2] == "4", f"4 users online at 1 s: {first_napping}")
        check(int(first_napping[3]) >= 8 and float(first_napping[4]) >= 8, f"50 ms naps: {first_napping}")
        check(float(first_napping[6]) >= 50, f"p99 of a 50 ms nap: {first_napping}")
        for s in r["scenarios"]:
            e = end[s["name"]]
            count = sum(a["count"] for a in s["actions"])
            errors = sum(a["errors"] + a["timeouts"] for a in s["actions"])
            check(int(e[3]) == count and int(e[5]) == errors, f"end line {e} vs report {count}/{errors}")
        check(int(end["failing"][5]) > 0 and int(end["napping"][5]) == 0, end)


def test_a_terminal_gets_one_line_per_scenario_redrawn_in_place():
    """stdout a terminal (a pseudo-terminal here): the lines are redrawn in place about once a second
    (cursor up over the lines drawn, each line cleared and rewritten), never scrolled."""
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, SCRIPT)
        leader, follower = pty.openpty()
        p = subprocess.Popen([NTX, "run", res], stdin=subprocess.DEVNULL, stdout=follower, stderr=subprocess.PIPE)
        os.close(follower)
        chunks = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # read until the run closes its end of the terminal
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                if p.poll() is not None:
                    break
                continue
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        rc = p.wait(timeout=60)
        text = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")  # the terminal's ONLCR
        check(rc == 0, f"exit {rc}: {p.stderr.read().decode()}")
        check("progress " not in text, "a terminal gets the redrawn form, not the plain lines")
        # Every redraw after the first moves up over the two lines it drew before.
        redraws = text.count("\x1b[2A")
        check(redraws >= 2, f"redrawn about once a second for 3.5 s: {redraws} redraws in {text[:800]!r}")
        drawn = re.findall(r"\r\x1b\[2K\[(\d+\.\d)s/3\.5s\] (\w+): ", text)
        names = [n for _, n in drawn]
        check(names.count("napping") == names.count("failing") == redraws + 1, f"{redraws} redraws of two lines: {drawn}")
        check(any(line.endswith("(end)") for line in text.splitlines()), "the last drawing is the end line")
        check("total:" in text, "the end summary follows the progress lines")


def test_quiet_prints_no_progress():
    with tempfile.TemporaryDirectory() as tmp:
        rc, stdout, stderr = run_ntx("run", write_res_dir(tmp, SCRIPT.replace("3500ms", "1500ms")), "--quiet")
        check(rc == 0, f"exit {rc}: {stderr}")
        check(stdout == "", f"--quiet: {stdout!r}")


if __name__ == "__main__":
    main([test_a_terminal_gets_one_line_per_scenario_redrawn_in_place,
          test_plain_progress_lines_when_stdout_is_not_a_terminal, test_quiet_prints_no_progress])
