"""The echo template plugin, built from the installed SDK, runs for real: the installed ntx loads it and
drives 50 users against a line echo server on 127.0.0.1; the counts in report.json must match what the
server saw. Then the installed conformance kit checks the same .so, over the network too.

usage: run_echo_example.py PREFIX ECHO_BUILD_DIR RES_DIR WORK_DIR
"""
import json
import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "e2e"))
from echo_server import EchoServer  # noqa: E402 - the shared echo server of the e2e tests

PREFIX, ECHO_BUILD, RES_DIR, WORK = sys.argv[1:5]
NTX = os.path.join(PREFIX, "bin", "ntx")
KIT = os.path.join(PREFIX, "bin", "ntx-conformance")
PLUGIN = os.path.join(ECHO_BUILD, "ntx_echo.so")


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def res_dir_for(port, name):
    """A copy of the example res_dir whose echo-server.csv names `port`."""
    res = os.path.join(WORK, name)
    shutil.rmtree(res, ignore_errors=True)
    shutil.copytree(RES_DIR, res)
    with open(os.path.join(res, "echo-server.csv"), "w") as f:
        f.write(f"ip,port\n127.0.0.1,{port}\n")
    return res


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def action(scen, name):
    return next(a for a in scen["actions"] if a["name"] == name)


def main():
    rc, out, err = run(NTX, "plugins", "info", "echo", "--plugin-path", ECHO_BUILD)
    check(rc == 0 and "name:          echo" in out and "version:       1.0.0" in out, f"plugins info: {rc}\n{out}{err}")
    check("capabilities:  connect, send, close" in out, out)

    with EchoServer(lines=True) as server:
        out_dir = os.path.join(WORK, "echo-out")
        rc, out, err = run(NTX, "run", res_dir_for(server.port, "echo-res"), "--plugin-path", ECHO_BUILD,
                           "--out", out_dir, "--quiet")
        check(rc == 0, f"ntx run exit {rc}\n{out}{err}")
        with open(os.path.join(out_dir, "report.json")) as f:
            report = json.load(f)
        scen = report["scenarios"][0]
        check(scen["users"]["completed"] == 50 and scen["exits"]["error_out"] == 0, f"users {scen}")
        opened, say, bye = action(scen, "open"), action(scen, "say"), action(scen, "bye")
        check(opened["count"] == 50 and opened["ok"] == 50, f"open: {opened}")
        check(say["count"] == 150 and say["ok"] == 150 and say["errors"] == 0, f"say: {say}")
        check(bye["count"] == 50 and bye["ok"] == 50, f"bye: {bye}")
        # What the plugin reported is what crossed the wire, as the server and the host counted it.
        check(server.connections == 50 and server.lines == 150, f"server saw {server.connections} connections, {server.lines} lines")
        check(say["bytes_sent"] == server.bytes and say["bytes_received"] == server.bytes, f"say bytes {say} vs {server.bytes}")
        check(report["totals"]["sockets_opened"] == 50, f"totals {report['totals']}")
        check(report["totals"]["socket_bytes_sent"] == server.bytes, f"totals {report['totals']}")

        rc, out, err = run(KIT, PLUGIN, "--with", "connect.host=127.0.0.1", "--with", f"connect.port={server.port}",
                           "--with", "send.host=127.0.0.1", "--with", f"send.port={server.port}", "--with", "send.line=ping")
        check(rc == 0 and "CONFORMS" in out and "PASS  send: with your parameters" in out, f"conformance: {rc}\n{out}{err}")

    # Nothing listens there any more: every connect is a counted connect error, the run goes on.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    out_dir = os.path.join(WORK, "echo-out-refused")
    rc, out, err = run(NTX, "run", res_dir_for(dead, "echo-res-refused"), "--plugin-path", ECHO_BUILD, "--out", out_dir, "--quiet")
    check(rc == 0, f"refused run exit {rc}\n{out}{err}")
    with open(os.path.join(out_dir, "report.json")) as f:
        scen = json.load(f)["scenarios"][0]
    opened = action(scen, "open")
    check(opened["errors"] == 50 and opened["errors_by_kind"] == {"connect": 50}, f"open: {opened}")
    check(scen["exits"]["error_out"] == 50 and action(scen, "say")["count"] == 0, f"{scen}")
    print("echo example: ok")


if __name__ == "__main__":
    main()
