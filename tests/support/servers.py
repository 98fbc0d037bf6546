"""Real uvicorn servers on loopback ports, run in background threads for tests.

Starting and stopping uvicorn costs about a quarter of a second (its shutdown waits out two 0.1 s
sleeps), more than most tests take. So `serve(app)` lends a server from a pool instead: each pooled
server hosts one app at a time, runs that app's lifespan in the server's own loop as uvicorn would,
and goes back to the pool once its connections are closed. A test that needs the port itself (a
fixed port, or a server that really stops) gets a server of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

import uvicorn
import websockets

# How long a returned server may take to see its connections closed before it is stopped instead.
RETURN_GRACE = 1.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackServer(Protocol):
    """What a test sees of a server: where it listens, and a way to take it down mid-test."""

    port: int
    url: str

    def stop(self) -> None: ...


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
        self.loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self._server.serve()

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

    def run(self, coroutine: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop and wait for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close_connections(self) -> bool:
        """Ask every open connection to close, as uvicorn's shutdown does; True once none is left."""
        state = self._server.server_state
        self.run(_shut_down(state.connections))
        deadline = time.monotonic() + RETURN_GRACE
        while state.connections or state.tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True


async def _shut_down(connections: set[Any]) -> None:
    """Shut the connections down in their own loop. A WebSocket whose client already began the closing
    handshake refuses a second close frame (uvicorn asks for one anyway): its transport just closes."""
    for connection in list(connections):
        try:
            connection.shutdown()
        except websockets.exceptions.InvalidState:
            connection.transport.close()


class Lifespan:
    """Drives an ASGI app's lifespan protocol, startup then shutdown, on the loop it is awaited in."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _main(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        await self.app(scope, self._inbox.get, self._outbox.put)

    async def _exchange(self, step: str) -> None:
        await self._inbox.put({"type": f"lifespan.{step}"})
        assert self._task is not None
        answer = asyncio.ensure_future(self._outbox.get())
        await asyncio.wait({answer, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not answer.done():
            answer.cancel()
            self._task.result()
            raise RuntimeError(f"the app ended its lifespan without answering {step}")
        message = answer.result()
        if message["type"] != f"lifespan.{step}.complete":
            raise RuntimeError(f"lifespan {step} failed: {message.get('message', '')}")

    async def startup(self) -> None:
        self._task = asyncio.create_task(self._main())
        await self._exchange("startup")

    async def shutdown(self) -> None:
        await self._exchange("shutdown")
        assert self._task is not None
        await self._task


class AppHost:
    """The app a pooled server serves: whichever app is lent it, with that app's lifespan state."""

    def __init__(self) -> None:
        self.lifespan: Lifespan | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        lifespan = self.lifespan
        if lifespan is None:
            raise RuntimeError("no app is being served")
        scope["state"] = lifespan.state.copy()
        await lifespan.app(scope, receive, send)

    async def install(self, app: Any) -> None:
        lifespan = Lifespan(app)
        await lifespan.startup()
        self.lifespan = lifespan

    async def uninstall(self) -> None:
        lifespan, self.lifespan = self.lifespan, None
        if lifespan is not None:
            await lifespan.shutdown()


class PooledServer:
    """A pooled server while it is lent to one app: its address, and stop() to take it down for good."""

    def __init__(self, server: ThreadedServer) -> None:
        self.server = server
        self.port = server.port
        self.url = server.url
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True
        self.server.stop()


class ServerPool:
    def __init__(self) -> None:
        self._idle: list[tuple[ThreadedServer, AppHost]] = []
        self._lock = threading.Lock()

    def _take(self) -> tuple[ThreadedServer, AppHost]:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        host = AppHost()
        return ThreadedServer(host).start(), host

    @contextlib.contextmanager
    def lend(self, app: Any) -> Iterator[PooledServer]:
        server, host = self._take()
        try:
            server.run(host.install(app))
        except BaseException:
            self._give_back(server, host, reusable=True)
            raise
        lent = PooledServer(server)
        try:
            yield lent
        finally:
            if not lent.stopped:
                closed = server.close_connections()
                server.run(host.uninstall())
                # Asked again: a connection may have opened while the app was shutting down.
                self._give_back(server, host, reusable=closed and server.close_connections())

    def _give_back(self, server: ThreadedServer, host: AppHost, reusable: bool) -> None:
        if reusable:
            with self._lock:
                self._idle.append((server, host))
        else:
            server.stop()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for server, _ in idle:
            server.stop()


POOL = ServerPool()


@contextlib.contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[LoopbackServer]:
    if port is None:
        with POOL.lend(app) as lent:
            yield lent
        return
    server = ThreadedServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()
