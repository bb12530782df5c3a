"""HTTP/2 (h2c) against misbehaving servers written frame by frame: RST_STREAM, a GOAWAY that refuses
the stream, a GOAWAY mid-stream followed by a close, a SETTINGS flood, a header block over
max-header-bytes, an h2 server answering an HTTP/1.1 request and an HTTP/1.1 server answering an h2
one; a server that answers before reading a request's body, and one that never answers. All of it
with a connection per user and with connections shared by the users of a loop (max-streams). Each is a counted outcome of its kind, the run goes on (a healthy action after each completes)
and the report is written."""
import socket
import struct
import tempfile
import threading

from fault_server import SETTINGS, SETTINGS_ACK, STATUS_200, frame, hpack_literal
from harness import action, check, main, run_script, scenario

USERS = 3


class FrameReader:
    """Reads the client preface once, then frames; keeps what it read past a frame for the next call."""

    def __init__(self, conn):
        self.conn, self.buf, self.preface = conn, b"", True

    def need(self, n):
        while len(self.buf) < n:
            data = self.conn.recv(65536)
            if not data:
                return False
            self.buf += data
        return True

    def next_request(self):
        """Frames until a HEADERS frame; returns its stream id (None at EOF)."""
        if self.preface:
            if not self.need(24):
                return None
            self.buf, self.preface = self.buf[24:], False
        while True:
            if not self.need(9):
                return None
            length = int.from_bytes(self.buf[:3], "big")
            if not self.need(9 + length):
                return None
            kind, stream = self.buf[3], int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            self.buf = self.buf[9 + length:]
            if kind == 1:
                return stream


class H2BadServer:
    """Accepts connections on 127.0.0.1 and misbehaves as `mode` says, one thread per connection."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        try:
            with conn:
                if self.mode == "h2-to-h1":
                    conn.recv(65536)  # an HTTP/1.1 request
                    conn.sendall(SETTINGS + frame(7, 0, 0, struct.pack(">II", 0, 1)))
                    conn.recv(65536)
                    return
                if self.mode == "h1-to-h2":
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    conn.shutdown(socket.SHUT_WR)  # FIN after reading all the client sends, never a reset
                    conn.settimeout(10)
                    while conn.recv(65536):
                        pass
                    return
                conn.sendall(SETTINGS)
                reader = FrameReader(conn)
                stream = reader.next_request()
                if stream is None:
                    return
                conn.sendall(SETTINGS_ACK)
                if self.mode == "silent":
                    while reader.next_request() is not None:  # never answers
                        pass
                    return
                if self.mode in ("ok", "rst", "big-header", "early"):
                    # Each request of the connection (several users' streams when it is shared).
                    while stream is not None:
                        if self.mode == "ok":
                            conn.sendall(frame(1, 4, stream, STATUS_200) + frame(0, 1, stream, b"fine"))
                        elif self.mode == "rst":
                            conn.sendall(frame(3, 0, stream, struct.pack(">I", 2)))  # INTERNAL_ERROR
                        elif self.mode == "big-header":
                            conn.sendall(frame(1, 5, stream, STATUS_200 + hpack_literal(b"x-big", b"v" * 3000)))
                        else:  # early: answered at once, without reading its body (bigger than the window)
                            conn.sendall(frame(1, 5, stream, STATUS_200))
                        stream = reader.next_request()
                    return
                if self.mode == "goaway-refuse":
                    conn.sendall(frame(7, 0, 0, struct.pack(">II", 0, 0)))  # last stream 0: every stream refused
                elif self.mode == "goaway-mid":
                    conn.sendall(frame(1, 4, stream, STATUS_200) + frame(0, 0, stream, b"partial ")
                                 + frame(7, 0, 0, struct.pack(">II", stream, 0)))
                    # Close our side (FIN, not a reset: read what the client sends until it closes too).
                    conn.shutdown(socket.SHUT_WR)
                elif self.mode == "settings-flood":
                    conn.sendall(SETTINGS * 20000)
                conn.settimeout(10)
                while conn.recv(65536):  # until the client closes
                    pass
        except OSError:
            pass

    def close(self):
        self.sock.close()


MODES = ["rst", "goaway-refuse", "goaway-mid", "settings-flood", "big-header", "h2-to-h1", "h1-to-h2"]


def bad_h2_servers(max_streams):
    servers = {m: H2BadServer(m) for m in MODES + ["ok", "early", "silent"]}
    try:
        steps = "\n".join(f"      - ref: {m}" for m in MODES) + "\n      - ref: silent\n      - ref: ok\n      - ref: early\n      - ref: early-again"
        actions = "\n".join(
            f'  {m}: {{component: http, call: get, timeout: 5s, with: {{url: "http://127.0.0.1:{servers[m].port}/x", '
            f'http-version: "{"1.1" if m == "h2-to-h1" else "2"}"}}, save-as: r{i}}}'
            for i, m in enumerate(MODES))
        script = f"""components:
  - {{name: http, version: "0.2.3", entry: http}}
workflows:
  w:
    steps:
{steps}
    on-error: [{{goto: next}}]
    on-timeout: [{{goto: next}}]
actions:
{actions}
  ok: {{component: http, call: get, timeout: 5s, with: {{url: "http://127.0.0.1:{servers['ok'].port}/x", http-version: "2"}}, save-as: fine}}
  silent: {{component: http, call: get, timeout: 300ms, with: {{url: "http://127.0.0.1:{servers['silent'].port}/x", http-version: "2"}}}}
  early: {{component: http, call: post, timeout: 5s, with: {{url: "http://127.0.0.1:{servers['early'].port}/up", http-version: "2", body: "{{{{blob.big}}}}"}}}}
  early-again: {{component: http, call: get, timeout: 5s, with: {{url: "http://127.0.0.1:{servers['early'].port}/x", http-version: "2"}}}}
resources:
  big:
    type: file_blob
    config: {{file: ./big.bin}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: {USERS}}}
"""
        with tempfile.TemporaryDirectory() as tmp:
            component = f"http:\n  max-header-bytes: 1024\n  max-streams: {max_streams}\n"
            run, r = run_script(tmp, script, files={"resource/config.yaml": component,
                                                    "config.yaml": "threads: 1\nlog:\n  level: warn\n", "big.bin": b"x" * 300_000})
            s = scenario(r, "s")
            expected = {"rst": "protocol", "goaway-refuse": "closed", "goaway-mid": "closed",
                        "settings-flood": "protocol", "big-header": "limit", "h2-to-h1": "protocol",
                        "h1-to-h2": "protocol"}
            for m, kind in expected.items():
                a = action(s, m)
                check(a.get("errors_by_kind") == {kind: USERS} and a["count"] == USERS, f"{m}: {a}")
            # A server that never answers: each action times out (its stream cancelled), the users go on.
            check(action(s, "silent")["timeouts"] == USERS, f"silent {action(s, 'silent')}")
            check(action(s, "ok")["ok"] == USERS, f"ok {action(s, 'ok')}")
            # A response before the whole body was sent: the stream is cancelled, the connection serves on.
            for name in ("early", "early-again"):
                check(action(s, name)["ok"] == USERS, f"{name} {action(s, name)}")
            # A connection per user, or one shared by all (max-streams above the user count; one loop).
            want = USERS if max_streams == 1 else 1
            check(servers["early"].connections == want, f"{servers['early'].connections} connections, not {want}")
    finally:
        for srv in servers.values():
            srv.close()


def test_bad_h2_servers_are_counted_by_kind():
    bad_h2_servers(1)


def test_the_same_through_shared_connections():
    bad_h2_servers(4)


if __name__ == "__main__":
    main([test_bad_h2_servers_are_counted_by_kind, test_the_same_through_shared_connections])
