"""Bad servers: a refused connection, a reset in the middle of a response, garbage, a close before the
response and a close partway through the body, a server that never answers, a body over the limit
and a TLS server that hangs in the handshake. Each is a counted outcome of its own kind, the run goes
on (a healthy scenario in the same run completes), and the suite runs this under AddressSanitizer too
(no leak, no crash)."""
import socket
import struct
import tempfile
import threading

from harness import action, check, free_port, main, run_script, scenario

USERS = 8


class LoopbackServer:
    """Listens on a kernel-chosen port of 127.0.0.1 and hands each accepted connection to
    on_connection (in its accept thread) until stop()."""

    def __init__(self, reuse_address=False):
        self.sock = socket.socket()
        if reuse_address:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()

    def start(self):
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.on_connection(conn)

    def on_connection(self, conn):
        raise NotImplementedError

    def stop(self):
        self.stopping.set()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class BadServer(LoopbackServer):
    """A misbehaving HTTP server on 127.0.0.1: what it does depends on the request's path."""

    def __init__(self):
        super().__init__(reuse_address=True)
        self.lock = threading.Lock()
        self.seen = {}  # path -> requests received
        self.held = []  # connections kept open without an answer
        self.start()

    def on_connection(self, conn):
        threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(4096)
            except OSError:
                conn.close()
                return
            if not chunk:
                conn.close()
                return
            data += chunk
        path = data.split(b" ")[1].decode()
        path = path.split("?")[0]
        with self.lock:
            self.seen[path] = self.seen.get(path, 0) + 1
        if path == "/ok":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        elif path == "/reset":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
        elif path == "/garbage":
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\nthis is not HTTP at all\r\n\r\n")
        elif path == "/close-before":
            pass  # close without a byte
        elif path == "/close-partway":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        elif path == "/too-big":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000)
        elif path == "/never":
            with self.lock:
                self.held.append(conn)
            return
        conn.close()

    def stop(self):
        super().stop()
        with self.lock:
            for c in self.held:
                c.close()
            self.held.clear()


class SilentTlsServer(LoopbackServer):
    """Accepts TCP and never speaks: a TLS client waits in its handshake until the connect deadline."""

    def __init__(self):
        super().__init__()
        self.conns = []
        self.start()

    def on_connection(self, conn):
        self.conns.append(conn)

    def stop(self):
        super().stop()
        for c in self.conns:
            c.close()


def test_each_fault_is_counted_as_its_own_kind_and_the_run_goes_on():
    dead = free_port()  # nothing listens there
    with BadServer() as bad, SilentTlsServer() as silent, tempfile.TemporaryDirectory() as tmp:
        base = f"http://127.0.0.1:{bad.port}"
        cases = {
            "healthy": f"{base}/ok",
            "refused": f"http://127.0.0.1:{dead}/ok",
            "reset": f"{base}/reset",
            "garbage": f"{base}/garbage",
            "close-before": f"{base}/close-before",
            "close-partway": f"{base}/close-partway",
            "never": f"{base}/never",
            "too-big": f"{base}/too-big",
            "tls-silent": f"https://127.0.0.1:{silent.port}/",
        }
        actions = "\n".join(
            f'  {name}: {{component: http, call: get, timeout: {"400ms" if name == "never" else "5s"}, '
            f'with: {{url: "{url}"}}}}' for name, url in cases.items())
        workflows = "\n".join(f"  w-{name}: {{steps: [{{ref: {name}}}]}}" for name in cases)
        scenarios = "\n".join(f"    - {{name: {name}, workflow: w-{name}, user-count: {USERS}, spawn-rate: 200/s}}"
                              for name in cases)
        script = f"""components:
  - {{name: http, version: "0.2.2", entry: http}}
workflows:
{workflows}
actions:
{actions}
load:
  scenarios:
{scenarios}
"""
        _, r = run_script(tmp, script, "--quiet",
                          files={"resource/config.yaml": "http:\n  max-body-bytes: 1000\n  connect-timeout-ms: 300\n"})
        n = USERS
        expected = {
            "refused": {"connect": n},
            "reset": {"io": n},
            "garbage": {"protocol": n},
            "close-before": {"closed": n},
            "close-partway": {"closed": n},
            "too-big": {"limit": n},
        }
        for name, kinds in expected.items():
            a = action(scenario(r, name), name)
            check(a["count"] == n and a["errors"] == n and a["ok"] == 0 and a["timeouts"] == 0,
                  f"{name}: {a}")
            check(a["errors_by_kind"] == kinds, f"{name}: {a['errors_by_kind']}")
            check(scenario(r, name)["exits"]["error_out"] == n, f"{name} exits {scenario(r, name)['exits']}")
        # A server that never answers: the action's own timeout, counted as a timeout.
        a = action(scenario(r, "never"), "never")
        check(a["count"] == n and a["timeouts"] == n and a["errors"] == 0 and a["ok"] == 0, f"never: {a}")
        check(scenario(r, "never")["exits"]["timeout_out"] == n, f"never exits {scenario(r, 'never')['exits']}")
        # A TLS server that never speaks: the connect deadline (which covers the handshake) ends it.
        a = action(scenario(r, "tls-silent"), "tls-silent")
        check(a["count"] == n and a["timeouts"] == n and a["errors"] == 0, f"tls-silent: {a}")
        # ... and the healthy scenario of the same run completed in full.
        a = action(scenario(r, "healthy"), "healthy")
        check(a["ok"] == n and a["count"] == n and a["status_classes"] == {"2xx": n}, f"healthy: {a}")
        # Every request reached the server exactly once (no hidden retry on a fresh connection).
        for path in ("/ok", "/reset", "/garbage", "/close-before", "/close-partway", "/never", "/too-big"):
            check(bad.seen.get(path) == n, f"server saw {bad.seen.get(path)} requests for {path}")
        t = r["totals"]
        check(t["actions"] == len(cases) * n == t["ok"] + t["errors"] + t["timeouts"] + t["cancelled"], f"totals {t}")


if __name__ == "__main__":
    main([test_each_fault_is_counted_as_its_own_kind_and_the_run_goes_on])
