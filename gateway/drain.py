"""Graceful shutdown: readiness flips, new work is refused, WebSockets close 1001, requests in flight end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("gateway.drain")

# Liveness and readiness keep answering while the gateway drains: the orchestrator must see /readyz turn
# 503, and /healthz stay 200 so that it does not kill the process before the drain ends.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})
SHUTTING_DOWN = "shutting down"
GOING_AWAY = 1001

REFUSAL = b'{"status":"unavailable","reason":"shutting down"}'
_REFUSAL_HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(REFUSAL)).encode()),
    (b"retry-after", b"1"),
    (b"connection", b"close"),
]

Stop = Callable[[], Awaitable[None]]


class Drain:
    """What the gateway does between SIGTERM and exit. `draining` flips at the signal (readiness answers
    503 from then on); `run` closes WebSockets with 1001, stops what registered with `add_stop` (the live
    job hub, which ends SSE and multipart streams and gives back its poll leases), then waits for the
    HTTP requests in flight, all within a deadline."""

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._sockets: set[_Socket] = set()
        self._stops: list[Stop] = []

    def add_stop(self, stop: Stop) -> None:
        self._stops.append(stop)

    def remove_stop(self, stop: Stop) -> None:
        if stop in self._stops:
            self._stops.remove(stop)

    async def run(self, deadline: float) -> None:
        """Drain until nothing is in flight or the loop's clock reaches `deadline`; never raises."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.draining = True
        sockets = list(self._sockets)
        logger.info(
            "shutting down: %d HTTP requests in flight, closing %d WebSockets", self.in_flight, len(sockets)
        )
        if sockets:
            await _within(asyncio.gather(*(socket.go_away() for socket in sockets)), deadline, "WebSockets")
        for stop in list(self._stops):
            await _within(stop(), deadline, "live job state")
        if self.in_flight:
            self._idle.clear()
            await _within(self._idle.wait(), deadline, "in-flight requests")
        if self.in_flight:
            logger.warning("drain time ran out with %d HTTP requests in flight", self.in_flight)
        else:
            logger.info("drained in %.2f s", loop.time() - started)

    def request_ended(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0 and self.draining:
            self._idle.set()

    def track(self, socket: _Socket) -> None:
        self._sockets.add(socket)

    def untrack(self, socket: _Socket) -> None:
        self._sockets.discard(socket)


async def _within(work: Awaitable[Any], deadline: float, what: str) -> None:
    remaining = deadline - asyncio.get_running_loop().time()
    try:
        await asyncio.wait_for(work, max(0.0, remaining))
    except TimeoutError:
        logger.warning("drain time ran out while stopping %s", what)
    except Exception as exc:
        logger.warning("stopping %s failed while draining (%s)", what, type(exc).__name__)


class _Socket:
    """One WebSocket's send channel: the drain closes it with 1001, after which the app's own messages
    (late events, its close) go nowhere instead of failing in the server."""

    def __init__(self, send: Send, drain: Drain) -> None:
        self._send = send
        self._drain = drain
        self.accepted = False
        self.closed = False

    async def send(self, message: Message) -> None:
        if self.closed:
            return
        kind = message["type"]
        if kind == "websocket.close":
            self.closed = True
        await self._send(message)
        if kind == "websocket.accept":
            self.accepted = True
            if self._drain.draining:
                # Accepted while the drain was already closing the others.
                await self.go_away()

    async def go_away(self) -> None:
        if self.closed or not self.accepted:
            return  # a socket not yet accepted is closed by `send` when the app accepts it
        self.closed = True
        try:
            await self._send({"type": "websocket.close", "code": GOING_AWAY, "reason": "going away"})
        except Exception as exc:  # the client left first
            logger.debug("a WebSocket was gone before its close (%s)", type(exc).__name__)


class DrainGuard:
    """Pure ASGI middleware, the outermost: counts HTTP requests in flight, tracks WebSockets, and once the
    drain has begun answers new requests (other than the probes) with 503 and new WebSockets with a
    refusal."""

    def __init__(self, app: ASGIApp, *, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        drain = self.drain
        if kind == "http":
            if drain.draining and scope["path"] not in PROBE_PATHS:
                await send({"type": "http.response.start", "status": 503, "headers": _REFUSAL_HEADERS})
                await send({"type": "http.response.body", "body": REFUSAL})
                return
            drain.in_flight += 1
            try:
                await self.app(scope, receive, send)
            except ClientDisconnect:
                # The client left (or the server cut it off for a stalled body) while the app read the
                # body: nobody to answer, and no error worth a traceback per slow client.
                logger.debug("a client left before its request body ended")
            except asyncio.CancelledError:
                if not drain.draining:
                    raise
                # The server cancels what outlasts the drain time, after answering it 503 and closing its
                # connection; the task ends here, instead of with a traceback per request.
                logger.debug("a request was cut off at the end of the drain time")
            finally:
                drain.request_ended()
        elif kind == "websocket":
            if drain.draining:
                await _refuse_websocket(scope, send)
                return
            socket = _Socket(send, drain)
            drain.track(socket)
            try:
                await self.app(scope, receive, socket.send)
            finally:
                drain.untrack(socket)
        else:
            await self.app(scope, receive, send)


async def _refuse_websocket(scope: Scope, send: Send) -> None:
    if "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": 503, "headers": _REFUSAL_HEADERS})
        await send({"type": "websocket.http.response.body", "body": REFUSAL})
    else:
        await send({"type": "websocket.close", "code": GOING_AWAY})
