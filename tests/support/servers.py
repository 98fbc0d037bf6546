"""Real uvicorn servers on loopback ports, run in background threads for tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """One ASGI app served by uvicorn on 127.0.0.1 from its own thread and event loop."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", loop="asyncio"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def start(self) -> ThreadedServer:
        self._thread.start()
        for _ in range(500):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} failed to start")
            threading.Event().wait(0.01)
        raise RuntimeError(f"server on port {self.port} did not start in 5 s")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@contextlib.contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[ThreadedServer]:
    server = ThreadedServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()
