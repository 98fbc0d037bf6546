"""The connection guard: uvicorn's httptools protocol with head and body clocks and a connection ceiling."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gateway.drain import PROBE_PATHS, REFUSAL

if TYPE_CHECKING:
    from uvicorn._types import ASGI3Application

# The server's logger: these lines are about serving connections, wherever the code lives.
logger = logging.getLogger("gateway.server")

# A connection over the ceiling gets this long to show a probe request (/healthz, /readyz) before its 503:
# health checks keep answering under a flood, and a flood's sockets are let go within a second.
OVERFLOW_HEAD_SECONDS = 1.0
# The largest request head (request line and headers) accepted; nginx's default buffers hold 32 KiB.
MAX_HEAD_BYTES = 64 * 1024


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
