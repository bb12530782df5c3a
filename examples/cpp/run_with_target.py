#!/usr/bin/env python3
"""Runs one ntx example against the bundled target server on 127.0.0.1.

usage: run_with_target.py NTX_TARGET [--res-dir DIR] -- COMMAND ARGS...

Starts ntx-target on a free loopback port, waits until it listens (its --ready-file), runs COMMAND
with NTX_EXAMPLE_TARGET=127.0.0.1:PORT in its environment and @TARGET@ in its arguments replaced by
that address. With --res-dir, DIR is copied to a temporary folder with @TARGET@ replaced in its
files, and @RES_DIR@ in the arguments names the copy. Exits with COMMAND's exit code; the server
is stopped in every case, and lives at most 300 s (--max-seconds) even if this script is killed.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    args = sys.argv[1:]
    if "--" not in args or not args:
        sys.exit(__doc__)
    split = args.index("--")
    opts, command = args[:split], args[split + 1:]
    target_bin, res_template = opts[0], None
    if len(opts) == 3 and opts[1] == "--res-dir":
        res_template = opts[2]
    work = tempfile.mkdtemp(prefix="ntx-example-")
    ready = os.path.join(work, "ready")
    port = free_port()
    address = f"127.0.0.1:{port}"
    server = subprocess.Popen([target_bin, "--listen", "127.0.0.1", "--ports", str(port), "--threads", "1",
                               "--ready-file", ready, "--max-seconds", "300"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(ready):
            if server.poll() is not None:
                sys.exit(f"ntx-target did not start: {server.stderr.read()}")
            if time.monotonic() > deadline:
                sys.exit("ntx-target did not listen within 30 s")
            time.sleep(0.02)
        res_dir = ""
        if res_template:
            res_dir = os.path.join(work, "res_dir")
            shutil.copytree(res_template, res_dir)
            for root, _, files in os.walk(res_dir):
                for name in files:
                    path = os.path.join(root, name)
                    with open(path) as f:
                        text = f.read()
                    with open(path, "w") as f:
                        f.write(text.replace("@TARGET@", address))
        command = [a.replace("@TARGET@", address).replace("@RES_DIR@", res_dir) for a in command]
        env = dict(os.environ, NTX_EXAMPLE_TARGET=address)
        print("+", " ".join(command), flush=True)
        rc = subprocess.run(command, env=env, timeout=240).returncode
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
