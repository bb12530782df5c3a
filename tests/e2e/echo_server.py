"""An echo server for the tests, on 127.0.0.1 only (a port the kernel chooses), in a thread of its own.

It needs nothing from harness.py, so a test outside tests/e2e (tests/consumer) can import it too.
"""
import asyncio
import ssl
import threading


class EchoServer:
    """Echoes back what it reads: each line (lines=True) or each chunk of up to 4096 bytes as it
    comes. Counts connections, lines (lines=True) and bytes echoed. Started by `with`, stopped at its end."""

    def __init__(self, lines=False, tls=None):
        """tls: (cert.pem, key.pem) to speak TLS (every connection must complete a handshake)."""
        self.by_line = lines
        self.tls = tls
        self.handshakes = 0
        self.connections = self.lines = self.bytes = 0
        self.loop = asyncio.new_event_loop()

    async def handle(self, reader, writer):
        self.connections += 1
        if self.tls and writer.get_extra_info("ssl_object") is not None:
            self.handshakes += 1
        try:
            while data := await (reader.readline() if self.by_line else reader.read(4096)):
                if self.by_line:
                    self.lines += 1
                self.bytes += len(data)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def __enter__(self):
        ready = threading.Event()

        async def start():
            ctx = None
            if self.tls:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(*self.tls)
            self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=ctx)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.thread = threading.Thread(target=lambda: (self.loop.run_until_complete(start()), self.loop.run_forever()))
        self.thread.start()
        if not ready.wait(10):
            raise AssertionError("the echo server did not start")
        return self

    def __exit__(self, *exc):
        async def stop():
            self.server.close()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
