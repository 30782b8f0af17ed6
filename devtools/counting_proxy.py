"""A TCP proxy on 127.0.0.1 that counts the bytes the app sends to the browser, as they travel
(after websocket compression), apart for the websocket and for plain HTTP: what the browser
bench reports as bytes on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import Iterator

from devtools.app_server import free_port

WEBSOCKET_PATH = b"/_stcore/stream"


@dataclasses.dataclass
class Counts:
    websocket: int = 0
    http: int = 0


class CountingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.counts = Counts()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def snapshot(self) -> Counts:
        with self._lock:
            return dataclasses.replace(self.counts)

    def _add(self, websocket: bool, size: int) -> None:
        with self._lock:
            if websocket:
                self.counts.websocket += size
            else:
                self.counts.http += size

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: list[bool] | None) -> None:
        try:
            while chunk := await reader.read(65536):
                if count is not None:
                    self._add(count[0], len(chunk))
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        first = await client_reader.read(65536)
        websocket = [WEBSOCKET_PATH in first.split(b"\r\n", 1)[0]]
        upstream_writer.write(first)
        await asyncio.gather(
            self._pipe(client_reader, upstream_writer, None),
            self._pipe(upstream_reader, client_writer, websocket),
        )

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    def start(self) -> CountingProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@contextlib.contextmanager
def counting_proxy(upstream_port: int) -> Iterator[CountingProxy]:
    proxy = CountingProxy(upstream_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
