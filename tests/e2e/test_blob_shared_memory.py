"""Big bodies are shared (issue 23, defect 9): a 20 MB file_blob POSTed by 16 users is sent from the
one buffer the blob was read into (NTX_PARAM_SHARED, ABI 1.5), not copied per user by the host's
rendering, the http plugin or the socket's send queue. The peak RSS of the run (GNU time's maximum
resident set size of `ntx run` with NTX_SUPERVISE=0, so the run is that one process) stays under
3x the blob above the peak of the same run with a 1 KB blob; before, it was 16 copies and more.
The server is real: it reads every byte of every body and counts them."""
import http.server
import os
import subprocess
import tempfile
import threading

from harness import NTX, check, main, read_report, write_res_dir, action, scenario

USERS = 16
BIG = 20 * 1024 * 1024


class Sink(http.server.ThreadingHTTPServer):
    """Reads each POST body to its end (counted), answers 200."""

    daemon_threads = True
    request_queue_size = 64  # every user connects at once

    def __init__(self):
        self.bytes = 0
        self.posts = 0
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                left = int(self.headers["Content-Length"])
                got = 0
                while left:
                    chunk = self.rfile.read(min(left, 1 << 20))
                    if not chunk:
                        break
                    got += len(chunk)
                    left -= len(chunk)
                with server.lock:
                    server.bytes += got
                    server.posts += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


def peak_rss_kib(tmp, port, size, config=None):
    payload = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    script = f"""components:
  - {{name: http, version: "0.2.2", entry: http}}
resources:
  payload: {{type: file_blob, config: {{file: ./payload.bin}}}}
workflows:
  w:
    steps:
      - ref: up
      - {{think: 50ms}}
      - ref: up
actions:
  up: {{component: http, call: post, timeout: 60s, with: {{url: "http://127.0.0.1:{port}/up", body: "{{{{blob.payload}}}}"}}}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: {USERS}}}
"""
    files = {"payload.bin": payload, **({"config.yaml": config} if config else {})}
    res = write_res_dir(os.path.join(tmp, str(size)), script, files)
    out = os.path.join(tmp, f"out-{size}")
    env = dict(os.environ, NTX_SUPERVISE="0")
    p = subprocess.run(["/usr/bin/time", "-f", "maxrss_kib=%M", NTX, "run", res, "--out", out, "--quiet"],
                       env=env, capture_output=True, text=True, timeout=240)
    check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-2000:]}")
    line = [l for l in p.stderr.splitlines() if l.startswith("maxrss_kib=")]
    check(line, f"no maxrss line: {p.stderr[-1000:]}")
    a = action(scenario(read_report(out), "s"), "up")
    check(a["ok"] == 2 * USERS and a["bytes_sent"] >= 2 * USERS * size, f"up: {a}")
    return int(line[-1].split("=")[1])


def test_sixteen_users_share_one_blob():
    with Sink() as sink, tempfile.TemporaryDirectory() as tmp:
        base = peak_rss_kib(tmp, sink.port, 1024)
        before = sink.bytes
        big = peak_rss_kib(tmp, sink.port, BIG)
        check(sink.bytes - before == 2 * USERS * BIG, f"the server read {sink.bytes - before} bytes")
        grown = (big - base) * 1024
        print(f"peak RSS: {base} KiB with a 1 KB blob, {big} KiB with a 20 MiB blob: +{grown / BIG:.2f}x the blob "
              f"for {USERS} users")
        check(grown < 3 * BIG, f"peak RSS grew {grown / BIG:.2f}x the blob ({base} -> {big} KiB): copies per user")


def test_a_shared_body_keeps_the_send_rate():
    """The shared view goes through the same send path as copied bytes, the rate windows included:
    under send-rate 256KiB/s a socket may send 256 KiB per one-second window, so each user's first
    POST of a 256 KiB blob spends its first window and the second waits for the next one (the run
    takes at least ~1 s instead of ~0.1 s), and every byte arrives."""
    import time
    with Sink() as sink, tempfile.TemporaryDirectory() as tmp:
        size = 256 * 1024
        started = time.monotonic()
        peak_rss_kib(tmp, sink.port, size, config="network:\n  send-rate: 256KiB/s\n")
        took = time.monotonic() - started
        check(sink.bytes == 2 * USERS * size, f"the server read {sink.bytes} bytes")
        check(took >= 0.9, f"the rate was not applied: {took:.3f} s")


if __name__ == "__main__":
    main([test_sixteen_users_share_one_blob, test_a_shared_body_keeps_the_send_rate])
