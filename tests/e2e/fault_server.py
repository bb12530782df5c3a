"""A fault-injection server for the end-to-end tests: one asyncio loop on a thread of its own, listening
on kernel-chosen ports of 127.0.0.1, misbehaving in every way a load generator meets in the field.

    with FaultServer() as srv:
        srv.url("/slowloris-head")      # an HTTP/1.1 fault, chosen by the request's path
        srv.tls_garbage_port            # answers a TLS ClientHello with plain text
        srv.tls_silent_port             # accepts and never speaks (a TLS client waits in its handshake)
        srv.never_reads_port            # accepts and never reads (a tiny receive buffer: uploads stall)
        srv.h2_port("rst")              # h2c (prior knowledge) faults, one port per mode: H2_MODES
        srv.seen                        # path -> HTTP/1.1 requests received (read after stop())

HTTP/1.1 paths (a connection serves requests until a fault ends it):

    /ok                    200 "ok", kept alive
    /reset                 a head promising 100 bytes, 7 of them, then RST (SO_LINGER 0)
    /garbage               an SSH banner instead of HTTP
    /close-before          closed without a byte
    /close-partway         a head promising 100 bytes, 10 of them, then FIN
    /too-big               a 2 MiB body with its Content-Length
    /huge-length           Content-Length: 10 GiB, then bytes until the client goes
    /endless-chunked       chunks that never end
    /endless-close         a body delimited by the close, which never comes
    /big-headers           a 1 MiB response head (16,384 header lines)
    /bad-chunk-size        a chunk size that is not hex ("zz")
    /chunk-overflow        a chunk size of 2^72 - 1 (overflows any 64-bit counter)
    /slowloris-head        the status line, then one header byte every 100 ms, for ever
    /slowloris-body        a head promising 1000 bytes, then one byte every 100 ms
    /never                 reads the request, never answers (until the client closes)
    /loop/a, /loop/b       302 to each other
    /hop/<n>               302 to /hop/<n+1>: an endless chain of new URLs

Every writer loop ends when the client closes (drain raises); stop() aborts what is left. Nothing here
sends to an address but the client's own connection on 127.0.0.1.
"""
import asyncio
import socket
import struct
import threading

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(kind, flags, stream, payload=b""):
    """One HTTP/2 frame: 24-bit length, type, flags, stream id, payload."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


SETTINGS, SETTINGS_ACK = frame(4, 0, 0), frame(4, 1, 0)
STATUS_200 = b"\x88"  # HPACK: indexed :status 200


def hpack_literal(name, value):
    """An HPACK literal header field without indexing, new name (RFC 7541 6.2.2), no Huffman."""
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


# The h2c faults cheap to write frame by frame (tests/e2e/test_http2_faults.py has the rest):
#   rst             RST_STREAM (INTERNAL_ERROR) on the request's stream
#   goaway-mid      HEADERS 200, part of the body, GOAWAY naming the stream as the last, then FIN
#   settings-flood  20,000 SETTINGS frames, each asking for an ACK
H2_MODES = ("rst", "goaway-mid", "settings-flood")

MiB = 1 << 20


class FaultServer:
    def __init__(self):
        self.seen = {}
        self._writers = set()
        self._servers = []
        self._h2_ports = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fault-server", daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)

    # ---- the listeners ------------------------------------------------------------------------------
    async def _listen(self, handler, rcvbuf=None):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:  # set before listen: accepted sockets inherit it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind(("127.0.0.1", 0))

        async def tracked(reader, writer):
            self._writers.add(writer)
            try:
                await handler(reader, writer)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError):
                pass  # the client went away (what every fault here ends with), or stop()
            finally:
                self._writers.discard(writer)
                writer.transport.abort() if writer.transport.is_closing() else writer.close()

        server = await asyncio.start_server(tracked, sock=sock, backlog=256)
        self._servers.append(server)
        return sock.getsockname()[1]

    async def _start(self):
        self.http_port = await self._listen(self._http)
        self.tls_garbage_port = await self._listen(self._tls_garbage)
        self.tls_silent_port = await self._listen(self._until_eof)
        self.never_reads_port = await self._listen(self._never_reads, rcvbuf=4096)
        for mode in H2_MODES:
            self._h2_ports[mode] = await self._listen(lambda r, w, m=mode: self._h2(m, r, w))

    def url(self, path):
        return f"http://127.0.0.1:{self.http_port}{path}"

    def h2_port(self, mode):
        return self._h2_ports[mode]

    def stop(self):
        async def close_all():
            for s in self._servers:
                s.close()
            for w in list(self._writers):
                w.transport.abort()
            # The handlers still waiting (never-reads, a trickle between bytes) end here, not at exit.
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in pending:
                t.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- HTTP/1.1 -----------------------------------------------------------------------------------
    async def _http(self, reader, writer):
        while True:  # one request after another on a kept-alive connection, until a fault ends it
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ")[1].decode().split("?")[0]
            self.seen[path] = self.seen.get(path, 0) + 1
            if not await self._answer(path, reader, writer):
                return

    async def _answer(self, path, reader, writer):
        """Answers one request; True to keep the connection for the next."""
        w = writer.write
        if path == "/ok":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            return True
        if path.startswith("/loop/") or path.startswith("/hop/"):
            if path.startswith("/loop/"):
                to = "/loop/b" if path == "/loop/a" else "/loop/a"
            else:
                to = f"/hop/{int(path[5:] or 0) + 1}"
            w(f"HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n".encode())
            await writer.drain()
            return True
        if path == "/reset":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            await writer.drain()
            writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # with SO_LINGER 0: an RST, not a FIN
        elif path == "/garbage":
            w(b"SSH-2.0-OpenSSH_9.2\r\nthis is not HTTP at all\r\n\r\n")
        elif path == "/close-partway":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        elif path == "/too-big":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (2 * MiB) + b"x" * (2 * MiB))
        elif path == "/huge-length":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (10 << 30))
            await self._endless(writer, b"y" * 65536)
        elif path == "/endless-chunked":
            w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            await self._endless(writer, b"10000\r\n" + b"z" * 65536 + b"\r\n")
        elif path == "/endless-close":
            w(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            await self._endless(writer, b"e" * 65536)
        elif path == "/big-headers":
            lines = b"".join(b"X-Pad-%05d: %s\r\n" % (i, b"p" * 50) for i in range(16384))  # 1 MiB
            w(b"HTTP/1.1 200 OK\r\n" + lines + b"Content-Length: 2\r\n\r\nok")
        elif path == "/bad-chunk-size":
            w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
        elif path == "/chunk-overflow":
            w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello")
        elif path == "/slowloris-head":
            w(b"HTTP/1.1 200 OK\r\n")
            await self._trickle(reader, writer, b"X-Slow: " + b"s" * 10_000)
        elif path == "/slowloris-body":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            await self._trickle(reader, writer, b"b" * 1000)
        elif path == "/never":
            await self._until_eof(reader, writer)
        # /close-before and anything unknown: closed without (another) byte
        await writer.drain()
        return False

    @staticmethod
    async def _endless(writer, piece):
        while True:  # drain raises once the client has closed
            writer.write(piece)
            await writer.drain()

    @staticmethod
    async def _trickle(reader, writer, data):
        for i in range(len(data)):
            if reader.at_eof():
                return
            writer.write(data[i:i + 1])
            await writer.drain()
            await asyncio.sleep(0.1)

    @staticmethod
    async def _until_eof(reader, writer):
        while await reader.read(65536):
            pass

    # ---- TLS and raw TCP ----------------------------------------------------------------------------
    async def _tls_garbage(self, reader, writer):
        await reader.read(65536)  # the ClientHello
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 7\r\n\r\nnot tls")
        await writer.drain()
        await self._until_eof(reader, writer)

    async def _never_reads(self, reader, writer):
        writer.transport.pause_reading()  # the receive buffer (4 KiB) fills; the client's send stalls
        await asyncio.Event().wait()       # until stop() aborts the connection

    # ---- HTTP/2 (h2c) -------------------------------------------------------------------------------
    async def _h2(self, mode, reader, writer):
        writer.write(SETTINGS)
        if await reader.readexactly(len(PREFACE)) != PREFACE:
            return
        while True:  # frames until the request's HEADERS
            head = await reader.readexactly(9)
            await reader.readexactly(int.from_bytes(head[:3], "big"))
            if head[3] == 1:
                stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                break
        writer.write(SETTINGS_ACK)
        if mode == "rst":
            writer.write(frame(3, 0, stream, struct.pack(">I", 2)))
        elif mode == "goaway-mid":
            writer.write(frame(1, 4, stream, STATUS_200) + frame(0, 0, stream, b"partial ")
                         + frame(7, 0, 0, struct.pack(">II", stream, 0)))
            await writer.drain()
            writer.write_eof()  # FIN: the client must not wait for the rest of the body
        elif mode == "settings-flood":
            writer.write(SETTINGS * 20000)
        await writer.drain()
        await self._until_eof(reader, writer)
