"""How `serve` runs uvicorn: head, body and idle timeouts, a connection ceiling, and a drain on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import resource
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar, cast

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from gateway.drain import PROBE_PATHS, REFUSAL, Drain
from gateway.settings import Settings

if TYPE_CHECKING:
    from uvicorn._types import ASGI3Application

logger = logging.getLogger("gateway.server")

# The protocol subclass below overrides uvicorn's HTTP protocol at its parser callbacks and reads the
# request cycle's state; the server subclass replaces its signal handling. Those are uvicorn internals,
# checked against these releases only: another one refuses to start until gateway/server.py is checked
# against it (tests/test_server.py exercises every hook).
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

# A connection over the ceiling gets this long to show a probe request (/healthz, /readyz) before its 503:
# health checks keep answering under a flood, and a flood's sockets are let go within a second.
OVERFLOW_HEAD_SECONDS = 1.0
# The largest request head (request line and headers) accepted; nginx's default buffers hold 32 KiB.
MAX_HEAD_BYTES = 64 * 1024
# File descriptors kept free of client connections: upstream and Redis sockets, the embedded emulator,
# connections over the ceiling waiting for their 503, log files.
FD_RESERVE_SHARE = 4
FD_RESERVE_MIN = 64
# Where the soft open-file limit goes when the hard limit is unlimited.
FD_TARGET_WHEN_UNLIMITED = 1 << 20


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


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int


def _json(status: str, reason: str) -> bytes:
    return b'{"status":"' + status.encode() + b'","reason":"' + reason.encode() + b'"}'


def _headers(body: bytes, *extra: tuple[bytes, bytes]) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
        (b"connection", b"close"),
    ]


def _raw(status: bytes, body: bytes, *extra: tuple[bytes, bytes]) -> bytes:
    """A whole response, written straight to the transport where no app is running."""
    head = b"".join(name + b": " + value + b"\r\n" for name, value in _headers(body, *extra))
    return b"HTTP/1.1 " + status + b"\r\n" + head + b"\r\n" + body


_RETRY_SOON = (b"retry-after", b"1")
_TOO_MANY_BODY = _json("unavailable", "too many connections")
_TOO_MANY_HEADERS = _headers(_TOO_MANY_BODY, _RETRY_SOON)
_TOO_MANY = _raw(b"503 Service Unavailable", _TOO_MANY_BODY, _RETRY_SOON)
_SHUTTING_DOWN = _raw(b"503 Service Unavailable", REFUSAL, _RETRY_SOON)
_HEAD_TIMEOUT = _raw(b"408 Request Timeout", _json("timeout", "the request head did not arrive in time"))
_BODY_TIMEOUT = _raw(b"408 Request Timeout", _json("timeout", "the request body stopped arriving"))
_HEAD_TOO_LARGE = _raw(b"431 Request Header Fields Too Large", _json("too large", "request head too big"))

_IDLE, _HEAD, _BODY = 0, 1, 2


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a clock on each request: the head (request line and headers) must
    arrive within `header_timeout` of the connection or of its first byte, and the body must keep
    arriving, with no gap longer than `body_timeout`. Keep-alive idling is uvicorn's own timer. A
    connection past `max_connections` may only ask for a probe path and is otherwise answered 503.
    Nothing is timed once a WebSocket upgrade has happened, nor while the app holds the body back."""

    limits: ClassVar[ConnectionLimits]

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._phase = _IDLE
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._head_begun = False
        self._head_began_here = False
        self._head_bytes = 0
        self._overflow = False

    # asyncio protocol

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        wait = self.limits.header_timeout
        if len(self.connections) > self.limits.max_connections:
            self._overflow = True
            self.app = cast("ASGI3Application", _OverflowApp(cast(ASGIApp, self.app)))
            wait = min(wait, OVERFLOW_HEAD_SECONDS)
        self._phase = _HEAD
        self._deadline = self.loop.time() + wait
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._phase == _IDLE:
            return
        if self._phase == _HEAD and self._head_begun:
            if self._head_began_here:
                # The read a head began in may also hold the previous request's body: not counted.
                self._head_began_here = False
            else:
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self._close_with(_HEAD_TOO_LARGE)
                    return
        self._arm()

    # httptools parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True
        self._head_began_here = True
        self._head_bytes = 0
        if self._phase != _HEAD:  # a later request on a kept-alive connection: its clock starts now
            self._phase = _HEAD
            self._deadline = self.loop.time() + self.limits.header_timeout

    def on_headers_complete(self) -> None:
        self._head_begun = False
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is before:
            # An upgrade (no request cycle): the WebSocket protocol takes the connection over.
            self._phase = _IDLE
        else:
            self._phase = _BODY
            self._deadline = self.loop.time() + self.limits.body_timeout

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        if self._phase == _BODY:
            self._deadline = self.loop.time() + self.limits.body_timeout

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self._phase == _BODY:
            self._phase = _IDLE

    def handle_websocket_upgrade(self) -> None:
        if self._overflow:
            self._close_with(_TOO_MANY)
            return
        self._disarm()
        super().handle_websocket_upgrade()

    # The clock: one timer per connection, moved only when a deadline comes sooner than the armed one.

    def _arm(self) -> None:
        if self._timer is not None:
            if self._timer_at <= self._deadline:
                return
            self._timer.cancel()
        self._timer_at = self._deadline
        self._timer = self.loop.call_at(self._deadline, self._expire)

    def _disarm(self) -> None:
        self._phase = _IDLE
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self._phase == _IDLE or self.transport.is_closing():
            return
        now = self.loop.time()
        if now < self._deadline:
            self._arm()
            return
        cycle = self.cycle
        waiting_on_us = self.flow.read_paused or (
            cycle is not None
            and not cycle.response_complete
            and (self._phase == _HEAD or cycle.waiting_for_100_continue)
        )
        if waiting_on_us:
            # The app holds the body back (reading paused, 100-continue not sent yet), or the client sends
            # its next request while this response is still going: not the client's delay.
            limits = self.limits
            self._deadline = now + (limits.body_timeout if self._phase == _BODY else limits.header_timeout)
            self._arm()
            return
        if self._phase == _BODY:
            logger.debug("closing %s: no request body for %s s", _peer(self), self.limits.body_timeout)
            cycle.disconnected = True  # the app's reads end, and anything it still sends goes nowhere
            cycle.message_event.set()
            self._close_with(b"" if cycle.response_started else _BODY_TIMEOUT)
        elif self._overflow:
            self._close_with(_TOO_MANY)
        else:
            logger.debug("closing %s: no request head within %s s", _peer(self), self.limits.header_timeout)
            # A connection that never sent a byte (a pre-opened or abandoned one) is closed without a word.
            self._close_with(_HEAD_TIMEOUT if self._head_begun else b"")

    def cut_off(self) -> None:
        """The drain time is over: a request still in flight gets 503 if none of its response went out yet,
        and its connection closes. The app sees a client that left: its reads end, its writes go nowhere."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete or self.transport.is_closing():
            return
        cycle.disconnected = True
        cycle.message_event.set()
        self._close_with(b"" if cycle.response_started else _SHUTTING_DOWN)

    def _close_with(self, response: bytes) -> None:
        self._disarm()
        if response and not self.transport.is_closing():
            self.transport.write(response)
        self.transport.close()


def _peer(protocol: HttpToolsProtocol) -> str:
    client = protocol.client
    return f"{client[0]}:{client[1]}" if client else "a client"


class _OverflowApp:
    """The app as a connection past the ceiling sees it: probe paths answered (then the connection closes),
    anything else 503."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] in PROBE_PATHS:

            async def closing(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
                await send(message)

            await self.app(scope, receive, closing)
            return
        await send({"type": "http.response.start", "status": 503, "headers": _TOO_MANY_HEADERS})
        await send({"type": "http.response.body", "body": _TOO_MANY_BODY})


def protocol_for(limits: ConnectionLimits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to these limits."""
    return cast(
        type[GuardedHttpToolsProtocol],
        type("GatewayHttpProtocol", (GuardedHttpToolsProtocol,), {"limits": limits}),
    )


def raise_open_file_limit() -> int:
    """Lift the soft open-file limit to the hard one (a connection holds a descriptor); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = FD_TARGET_WHEN_UNLIMITED if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            logger.warning("could not raise the open-file limit from %d to %d (%s)", soft, target, exc)
    return FD_TARGET_WHEN_UNLIMITED if soft == resource.RLIM_INFINITY else soft


def connections_that_fit(wanted: int, fd_limit: int) -> int:
    """The connection ceiling the open-file limit allows, keeping a reserve for everything else."""
    fit = max(1, fd_limit - max(FD_RESERVE_MIN, fd_limit // FD_RESERVE_SHARE))
    if wanted > fit:
        logger.warning(
            "GATEWAY_MAX_CONNECTIONS=%d does not fit under the open-file limit of %d; serving at most %d "
            "connections (raise `ulimit -n` to serve more)",
            wanted,
            fd_limit,
            fit,
        )
        return fit
    return wanted


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
