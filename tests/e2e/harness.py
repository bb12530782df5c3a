"""Shared pieces of the end-to-end tests: the real ntx binary and the real target server, on 127.0.0.1 only."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

NTX = os.environ["NTX_BIN"]
TARGET = os.environ["NTX_TARGET"]
SOURCE = os.environ["NTX_SOURCE_DIR"]
BUILD = os.environ["NTX_BUILD_DIR"]
TEST_PLUGINS = os.environ["NTX_TEST_PLUGIN_DIR"]


# The C99 probe plugin (tests/plugins/probe_plugin.c) as a script's only component: a script's head.
PROBE_COMPONENT = f"""components:
  - name: probe
    version: "1.0.0"
    entry: {TEST_PLUGINS}/ntx_probe.so
"""


def free_port():
    """A port nothing listens on right now (so concurrent test runs do not collide)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what, timeout=30.0):
    """Polls a real condition (a file, a counter) with a deadline; fails loudly if it never holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def stop_process(proc, sig=signal.SIGTERM, timeout=20):
    """Sends `sig` to `proc` if it still runs and waits up to `timeout` s for it to end, then kills it."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Target:
    """ntx-target on a port range of 127.0.0.1, started for one test and stopped after it."""

    def __init__(self, first, last, threads=1, args=()):
        self.first, self.last = first, last
        self.dir = tempfile.mkdtemp(prefix="ntx-target-")
        ready = os.path.join(self.dir, "ready")
        self.proc = subprocess.Popen(
            [TARGET, "--listen", "127.0.0.1", "--ports", f"{first}-{last}", "--threads", str(threads),
             "--ready-file", ready, "--max-seconds", "600", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: os.path.exists(ready) or self.proc.poll() is not None, "ntx-target to listen")
        if self.proc.poll() is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise AssertionError(f"ntx-target failed to start: {self.proc.stderr.read()}")

    def stats(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.first}/_stats", timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        stop_process(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_ntx(*args, timeout=240):
    """Runs the ntx command; returns (exit code, stdout, stderr)."""
    p = subprocess.run([NTX, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def read_report(out_dir):
    with open(os.path.join(out_dir, "report.json")) as f:
        return json.load(f)


def write_res_dir(root, script, files=None):
    """A res_dir `root`/res: script.yaml holds `script`; `files` maps more paths in it (config.yaml,
    resource/config.yaml, ...) to their text (str) or bytes. Returns the res_dir's path."""
    res = os.path.join(root, "res")
    os.makedirs(res, exist_ok=True)
    for rel, data in {"script.yaml": script, **(files or {})}.items():
        path = os.path.join(res, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
    return res


class Run:
    """One `ntx run` of run_script: its exit code, its output, and where its res_dir and out dir are."""

    def __init__(self, rc, stdout, stderr, res, out):
        self.rc, self.stdout, self.stderr, self.res, self.out = rc, stdout, stderr, res, out


def run_script(tmp, script, *args, files=None, expect_exit=0, timeout=240):
    """Writes a res_dir under `tmp` (write_res_dir), runs `ntx run <res> --out <tmp>/out *args`,
    checks its exit code is `expect_exit` and returns (Run, report.json's content)."""
    res, out = write_res_dir(tmp, script, files), os.path.join(tmp, "out")
    rc, stdout, stderr = run_ntx("run", res, "--out", out, *args, timeout=timeout)
    check(rc == expect_exit, f"ntx run exited {rc}, not {expect_exit}: {stderr[-3000:]}")
    return Run(rc, stdout, stderr, res, out), read_report(out)


def validate_script(script, files=None, expect_exit=2):
    """`ntx validate` on a res_dir holding `script` (and `files`, as in write_res_dir); checks its
    exit code is `expect_exit` and returns its stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        rc, _, stderr = run_ntx("validate", write_res_dir(tmp, script, files))
    check(rc == expect_exit, f"validate exited {rc}, not {expect_exit}: {stderr}")
    return stderr


def scenario(report, name):
    for s in report["scenarios"]:
        if s["name"] == name:
            return s
    raise AssertionError(f"no scenario {name} in report")


def action(scen, name):
    for a in scen["actions"]:
        if a["name"] == name:
            return a
    raise AssertionError(f"no action {name} in scenario {scen['name']}")


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def main(tests):
    """Runs the given test functions; prints one line each and a closing count."""
    failed = 0
    for t in tests:
        try:
            t()
            print(f"PASS {t.__name__}")
        except Exception as e:  # noqa: BLE001 - report every failure, keep going
            failed += 1
            print(f"FAIL {t.__name__}: {e}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
