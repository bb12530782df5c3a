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
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
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
