"""HTTP/2 (h2c) against misbehaving servers written frame by frame: RST_STREAM, a GOAWAY that refuses
the stream, a GOAWAY mid-stream followed by a close, a SETTINGS flood, a header block over
max-header-bytes, an h2 server answering an HTTP/1.1 request and an HTTP/1.1 server answering an h2
one. Each is a counted outcome of its kind, the run goes on (a healthy action after each completes)
and the report is written."""
import socket
import struct
import tempfile
import threading

from harness import action, check, main, run_script, scenario

USERS = 3
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


SETTINGS, SETTINGS_ACK = frame(4, 0, 0), frame(4, 1, 0)
STATUS_200 = b"\x88"  # HPACK: indexed :status 200


def read_request(conn):
    """Reads the client preface and frames until a HEADERS frame; returns its stream id (None at EOF)."""
    buf = b""
    while True:
        while len(buf) < 24 + 9 if buf.startswith(PREFACE[:len(buf)]) and len(buf) < 24 else len(buf) < 9:
            data = conn.recv(65536)
            if not data:
                return None
            buf += data
        if buf.startswith(PREFACE):
            buf = buf[24:]
            continue
        length = int.from_bytes(buf[:3], "big")
        while len(buf) < 9 + length:
            data = conn.recv(65536)
            if not data:
                return None
            buf += data
        kind, stream = buf[3], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
        buf = buf[9 + length:]
        if kind == 1:
            return stream


def hpack_literal(name, value):
    def integer(n, prefix_bits, first=0):
        limit = (1 << prefix_bits) - 1
        if n < limit:
            return bytes([first | n])
        out, n = [first | limit], n - limit
        while n >= 128:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        return bytes(out + [n])
    return b"\x00" + integer(len(name), 7) + name + integer(len(value), 7) + value


class H2BadServer:
    """Accepts connections on 127.0.0.1 and misbehaves as `mode` says, one thread per connection."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
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
                    return
                conn.sendall(SETTINGS)
                stream = read_request(conn)
                if stream is None:
                    return
                conn.sendall(SETTINGS_ACK)
                if self.mode == "ok":
                    conn.sendall(frame(1, 4, stream, STATUS_200) + frame(0, 1, stream, b"fine"))
                elif self.mode == "rst":
                    conn.sendall(frame(3, 0, stream, struct.pack(">I", 2)))  # INTERNAL_ERROR
                elif self.mode == "goaway-refuse":
                    conn.sendall(frame(7, 0, 0, struct.pack(">II", 0, 0)))  # last stream 0: ours refused
                elif self.mode == "goaway-mid":
                    conn.sendall(frame(1, 4, stream, STATUS_200) + frame(0, 0, stream, b"partial ")
                                 + frame(7, 0, 0, struct.pack(">II", stream, 0)))
                    return  # and close: the stream never ends
                elif self.mode == "settings-flood":
                    conn.sendall(SETTINGS * 20000)
                elif self.mode == "big-header":
                    conn.sendall(frame(1, 5, stream, STATUS_200 + hpack_literal(b"x-big", b"v" * 3000)))
                conn.recv(65536)  # until the client closes
        except OSError:
            pass

    def close(self):
        self.sock.close()


MODES = ["rst", "goaway-refuse", "goaway-mid", "settings-flood", "big-header", "h2-to-h1", "h1-to-h2"]


def test_bad_h2_servers_are_counted_by_kind():
    servers = {m: H2BadServer(m) for m in MODES + ["ok"]}
    try:
        steps = "\n".join(f"      - ref: {m}" for m in MODES) + "\n      - ref: ok"
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
actions:
{actions}
  ok: {{component: http, call: get, timeout: 5s, with: {{url: "http://127.0.0.1:{servers['ok'].port}/x", http-version: "2"}}, save-as: fine}}
load:
  scenarios:
    - {{name: s, workflow: w, user-count: {USERS}}}
"""
        with tempfile.TemporaryDirectory() as tmp:
            run, r = run_script(tmp, script, files={"resource/config.yaml": "http:\n  max-header-bytes: 1024\n",
                                                    "config.yaml": "log:\n  level: warn\n"})
            s = scenario(r, "s")
            expected = {"rst": "protocol", "goaway-refuse": "closed", "goaway-mid": "closed",
                        "settings-flood": "protocol", "big-header": "limit", "h2-to-h1": "protocol",
                        "h1-to-h2": "protocol"}
            for m, kind in expected.items():
                a = action(s, m)
                check(a.get("errors_by_kind") == {kind: USERS} and a["count"] == USERS, f"{m}: {a}")
            check(action(s, "ok")["ok"] == USERS, f"ok {action(s, 'ok')}")
    finally:
        for srv in servers.values():
            srv.close()


if __name__ == "__main__":
    main([test_bad_h2_servers_are_counted_by_kind])
