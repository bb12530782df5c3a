"""The live progress line: when stdout is not a terminal, a run line (bar, percentage of the plan,
ETA, health) and one plain line per scenario about once a second (elapsed/planned time, online
users, actions and actions/s, errors, p99 so far), and a last set at the end whose counts match the
report; no colour in a pipe; --quiet prints none. In a real terminal (tmux): redrawn in place, with
colour (none with NO_COLOR), a bar that reaches 100% and never runs past the plan; --live table."""
import os
import pty
import re
import select
import shutil
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

RUN = re.compile(r"^progress run \[([#.]{20})\] +(\d+)% (\d+\.\d)s/3\.5s, (eta (\d+\.\d)s|finishing|done), health (\d+)$")
LINE = re.compile(r"^progress \[(\d+\.\d)s/3\.5s\] (\w+): (\d+) online, (\d+) actions \((\d+\.\d)/s\), (\d+) errors, "
                  r"p99 (\d+\.\d\d)ms( \(end\))?$")


def test_plain_progress_lines_when_stdout_is_not_a_terminal():
    with tempfile.TemporaryDirectory() as tmp:
        run, r = run_script(tmp, SCRIPT)  # stdout is a pipe
        stdout = run.stdout
        runs = [RUN.match(l) for l in stdout.splitlines() if l.startswith("progress run ")]
        check(len(runs) >= 3 and all(runs), "\n".join(l for l in stdout.splitlines() if l.startswith("progress run ")))
        for m in runs:
            bar, percent, shown = m.group(1), int(m.group(2)), float(m.group(3))
            check(shown <= 3.5 and percent <= 100, f"clamped at the plan: {m.group(0)}")
            check(bar.count("#") == percent * 20 // 100, f"the bar is the percentage: {m.group(0)}")
            if m.group(5):  # eta = planned - elapsed
                check(abs(float(m.group(5)) - (3.5 - shown)) < 0.15, f"eta {m.group(0)}")
        check(runs[-1].group(2) == "100" and runs[-1].group(4) == "done", runs[-1].group(0))
        # failing fails every action (a third of them): the health score says so (100 - 40 for errors).
        check(int(runs[-1].group(6)) <= 70, f"health of a run with failures: {runs[-1].group(0)}")
        lines = [l for l in stdout.splitlines() if l.startswith("progress ") and not l.startswith("progress run ")]
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
        env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        env["TERM"] = "xterm"
        p = subprocess.Popen([NTX, "run", res], stdin=subprocess.DEVNULL, stdout=follower, stderr=subprocess.PIPE, env=env)
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
        check("\x1b[31m" in text and "\x1b[33m" in text, "colour on a terminal: red errors, a yellow health score")
        check("progress " not in text, "a terminal gets the redrawn form, not the plain lines")
        # Every redraw after the first moves up over the three lines it drew before (run line + 2 scenarios).
        redraws = text.count("\x1b[3A")
        check(redraws >= 2, f"redrawn about once a second for 3.5 s: {redraws} redraws in {text[:800]!r}")
        drawn = re.findall(r"\r\x1b\[2K\[(\d+\.\d)s/3\.5s\] (\w+): ", text)
        names = [n for _, n in drawn]
        check(names.count("napping") == names.count("failing") == redraws + 1, f"{redraws} redraws of two lines: {drawn}")
        check(any(line.endswith("(end)") for line in text.splitlines()), "the last drawing is the end line")
        check(re.search(r"total(\x1b\[0m)?: \d+ actions", text), "the end summary follows the progress lines")


def test_quiet_prints_no_progress():
    with tempfile.TemporaryDirectory() as tmp:
        rc, stdout, stderr = run_ntx("run", write_res_dir(tmp, SCRIPT.replace("3500ms", "1500ms")), "--quiet")
        check(rc == 0, f"exit {rc}: {stderr}")
        check(stdout == "", f"--quiet: {stdout!r}")


class Tmux:
    """A tmux server of its own (its own socket), running one command in a 120-column pane."""

    count = 0

    def __init__(self, tmp, command, env=""):
        Tmux.count += 1  # a server of its own each time: a socket just killed may still be going away
        self.sock = os.path.join(tmp, f"tmux-{Tmux.count}.sock")
        self.base = ["tmux", "-S", self.sock, "-f", "/dev/null"]
        shell = f"{env} {command}; echo ntx-exit=$?; exec sleep 120"
        subprocess.run(self.base + ["new-session", "-d", "-x", "120", "-y", "50", shell], check=True, timeout=30)

    def screen(self):
        return subprocess.run(self.base + ["capture-pane", "-p", "-e", "-J", "-S", "-100"], capture_output=True,
                              text=True, timeout=30).stdout

    def wait_for(self, pattern, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = self.screen()
            if re.search(pattern, text):
                return text
            time.sleep(0.05)  # polling the pane for a condition, bounded by the deadline
        raise AssertionError(f"{pattern!r} not on screen: {self.screen()}")

    def close(self):
        subprocess.run(self.base + ["kill-server"], capture_output=True, timeout=30)


def test_a_real_terminal_shows_bar_eta_health_and_colour():
    check(shutil.which("tmux") is not None, "tmux is installed (scripts/install-deps.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        res = write_res_dir(tmp, SCRIPT)
        t = Tmux(tmp, f"{NTX} run {res}", env="TERM=xterm-256color")
        try:
            live = t.wait_for(r"\d+% [0-9.]+s/3\.5s, eta")
            end = t.wait_for(r"ntx-exit=\d+")
        finally:
            t.close()
        plain = re.sub(r"\x1b\[[0-9;]*m", "", end)
        m = re.search(r"run \[([█░]{20})\] +(\d+)% ([0-9.]+)s/3\.5s, eta ([0-9.]+)s", re.sub(r"\x1b\[[0-9;]*m", "", live))
        check(m is not None and 0 < int(m.group(2)) < 100, f"a bar mid-run: {live}")
        check(m.group(1).count("█") == int(m.group(2)) * 20 // 100, f"bar and percentage agree: {m.group(0)}")
        check("ntx-exit=0" in plain, plain)
        check(re.search(r"run \[█{20}\] 100% 3\.5s/3\.5s, done, health \d+", plain), f"the end: {plain}")
        check(not re.search(r"\[(3\.[6-9]|[4-9]\.\d)s/3\.5s\]", plain), f"never past the plan: {plain}")
        check("\x1b[32m" in end or "\x1b[31m" in end, f"colour on the terminal: {end!r}")
        # The summary fits 100 columns of the 120 the pane has.
        summary = plain[plain.index("ntx 0."):]
        check(max(len(l.rstrip()) for l in summary.splitlines()) <= 100, summary)
        check(plain.count("progress") == 0, "redrawn, not appended")

        t = Tmux(tmp, f"{NTX} run {res} --live table", env="TERM=xterm-256color NO_COLOR=1")
        try:
            end = t.wait_for(r"ntx-exit=\d+")
        finally:
            t.close()
        check("\x1b[3" not in end and "\x1b[1m" not in end, f"NO_COLOR: no colour {end!r}")
        check(re.search(r"scenario/action +count +per s +errors +p50 ms +p99 ms", end), end)
        check(re.search(r"napping/nap +\d+ +[0-9.]+ +0 +[0-9.]+ +[0-9.]+", end), f"a row per action: {end}")
        check(re.search(r"failing/oops +\d+ +[0-9.]+ +[1-9]\d* +- +- \(end\)", end), f"failed-only row: {end}")


if __name__ == "__main__":
    main([test_a_real_terminal_shows_bar_eta_health_and_colour, test_a_terminal_gets_one_line_per_scenario_redrawn_in_place,
          test_plain_progress_lines_when_stdout_is_not_a_terminal, test_quiet_prints_no_progress])
