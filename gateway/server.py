"""How `serve` runs uvicorn: the guarded protocol, checked against this uvicorn, and a drain on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import signal
import socket
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, cast

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from gateway.connection_guard import ConnectionLimits, GuardedHttpToolsProtocol, protocol_for
from gateway.drain import Drain
from gateway.open_files import connections_that_fit, raise_open_file_limit
from gateway.settings import Settings

if TYPE_CHECKING:
    pass

logger = logging.getLogger("gateway.server")

# The protocol subclass (gateway/connection_guard.py) overrides uvicorn's HTTP protocol at its parser
# callbacks and reads the request cycle's state; the server subclass below replaces its signal handling.
# Those are uvicorn internals, checked against these releases only: another one refuses to start until
# gateway/server.py (with the guard) is checked against it (tests/test_server.py exercises every hook).
SUPPORTED_UVICORN = ("0.54.",)
_PROTOCOL_METHODS = (
    "connection_made",
    "connection_lost",
    "data_received",
    "on_message_begin",
    "on_headers_complete",
    "on_body",
    "on_message_complete",
    "handle_websocket_upgrade",
)
_PROTOCOL_ATTRIBUTES = ("app", "loop", "connections", "transport", "flow", "cycle", "parser")
_CYCLE_ATTRIBUTES = (
    "response_started",
    "response_complete",
    "disconnected",
    "keep_alive",
    "message_event",
    "waiting_for_100_continue",
)
_SERVER_METHODS = ("capture_signals", "handle_exit", "on_tick", "shutdown", "run")
_SERVER_ATTRIBUTES = ("should_exit", "force_exit", "started", "server_state", "config")


class UnsupportedServer(RuntimeError):
    """uvicorn is not a release the connection guards were checked against, or its internals moved."""


def check_uvicorn(version: str = uvicorn.__version__) -> None:
    """Refuse to serve on a uvicorn whose internals the guards have not been checked against."""
    if not version.startswith(SUPPORTED_UVICORN):
        raise UnsupportedServer(
            f"uvicorn {version} is installed, but the gateway's connection timeouts and drain were checked "
            f"against uvicorn {', '.join(v + 'x' for v in SUPPORTED_UVICORN)} only; install a supported "
            "release (constraints.txt), or check gateway/server.py against this one and add it there"
        )
    missing = [name for name in _PROTOCOL_METHODS if not callable(getattr(HttpToolsProtocol, name, None))]
    missing += [name for name in _SERVER_METHODS if not callable(getattr(uvicorn.Server, name, None))]
    if missing:
        raise UnsupportedServer(f"uvicorn {version} lacks {', '.join(missing)}; see gateway/server.py")


def check_instances(config: uvicorn.Config, protocol: type[HttpToolsProtocol]) -> None:
    """The attributes the guards read, on a real protocol, request cycle and server of this uvicorn."""
    loop = asyncio.new_event_loop()
    try:
        probe = protocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    finally:
        loop.close()
    try:
        parameters = inspect.signature(RequestResponseCycle.__init__).parameters.keys() - {"self"}
        cycle = RequestResponseCycle(**cast(dict[str, Any], dict.fromkeys(parameters)))
    except TypeError as exc:
        raise UnsupportedServer(f"uvicorn's request cycle changed ({exc}); see gateway/server.py") from None
    server = uvicorn.Server(config)
    missing = [f"protocol.{name}" for name in _PROTOCOL_ATTRIBUTES if not hasattr(probe, name)]
    missing += [f"cycle.{name}" for name in _CYCLE_ATTRIBUTES if not hasattr(cycle, name)]
    missing += [f"server.{name}" for name in _SERVER_ATTRIBUTES if not hasattr(server, name)]
    if missing:
        raise UnsupportedServer(f"uvicorn no longer has {', '.join(missing)}; see gateway/server.py")


class GatewayServer(uvicorn.Server):
    """uvicorn's server, draining on SIGTERM or SIGINT instead of stopping: readiness turns 503 at once,
    then `Drain.run` (WebSockets 1001, live job state stopped and its leases given back, in-flight requests
    finished) within `drain_seconds`, then uvicorn's own shutdown. The process then exits 0: uvicorn would
    re-raise the signal, which kills the process with it. A second signal stops waiting."""

    def __init__(self, config: uvicorn.Config, *, drain: Drain, drain_seconds: float) -> None:
        super().__init__(config)
        self.drain = drain
        self.drain_seconds = drain_seconds
        self._signalled = False
        self._drain_task: asyncio.Task[None] | None = None
        self._deadline: float | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._signalled:
            self.should_exit = self.force_exit = True
            return
        self._signalled = True
        # Set here, in the signal handler, so that /readyz answers 503 from the very next request.
        self.drain.draining = True

    async def on_tick(self, counter: int) -> bool:
        if self._signalled and self._drain_task is None:
            self._deadline = asyncio.get_running_loop().time() + self.drain_seconds
            self._drain_task = asyncio.create_task(self.drain.run(self._deadline), name="gateway-drain")
        if self._drain_task is not None and self._drain_task.done() and not self.should_exit:
            self.should_exit = True
            if not self._drain_task.cancelled() and self._drain_task.exception() is not None:
                logger.error("the drain failed", exc_info=self._drain_task.exception())
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._drain_task is not None and not self._drain_task.done():
            self._drain_task.cancel()
            await asyncio.gather(self._drain_task, return_exceptions=True)
        if self._deadline is not None:
            if self.drain.in_flight:
                for connection in list(self.server_state.connections):
                    if isinstance(connection, GuardedHttpToolsProtocol):
                        connection.cut_off()
            # What is left of the drain time bounds uvicorn's wait for the last tasks, which it then cancels.
            remaining = self._deadline - asyncio.get_running_loop().time()
            self.config.timeout_graceful_shutdown = max(1, math.ceil(remaining))
        await super().shutdown(sockets)


def build_server(app: ASGIApp, settings: Settings, drain: Drain) -> GatewayServer:
    """The server `metastudio-gateway serve` runs, configured from the settings."""
    check_uvicorn()
    fd_limit = raise_open_file_limit()
    limits = ConnectionLimits(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=connections_that_fit(settings.max_connections, fd_limit),
    )
    protocol = protocol_for(limits)
    # uvloop and httptools by name (here, through the protocol subclass), so a missing one fails the start
    # instead of silently falling back to the slower asyncio loop and h11 parser; no per-message deflate:
    # compressing every small subscription event costs CPU and a zlib context (tens of KB) per WebSocket.
    # uvicorn's lines go through the gateway's log handler (gateway/logs.py), and its access log is off: the
    # gateway's own access line has the request id, and no query string (it can carry variables).
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        lifespan="on",
        loop="uvloop",
        http=protocol,
        ws_per_message_deflate=False,
        timeout_keep_alive=settings.keep_alive_timeout,
        timeout_graceful_shutdown=max(1, math.ceil(settings.drain_seconds)),
    )
    config.load()
    check_instances(config, protocol)
    logger.info(
        "at most %d connections (open-file limit %d); request head %s s, body gaps %s s, keep-alive %s s, "
        "drain %s s",
        limits.max_connections,
        fd_limit,
        limits.header_timeout,
        limits.body_timeout,
        settings.keep_alive_timeout,
        settings.drain_seconds,
    )
    return GatewayServer(config, drain=drain, drain_seconds=settings.drain_seconds)
