"""The emulator's front door: request ids, injected latency and faults, the call log, 500s as MSS."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.emulator.access import PRINCIPAL_SCOPE_KEY
from gateway.emulator.admin import ADMIN_PREFIX
from gateway.emulator.emulator import Emulator
from gateway.emulator.errors import INTERNAL_ERROR, code_for_status, error_response
from gateway.emulator.faults import Fault

logger = logging.getLogger("gateway.emulator")


class ConnectionDropped(Exception):
    """Raised when a fault asks to drop a connection the server gives us no handle on."""


class EmulatorMiddleware:
    def __init__(self, app: ASGIApp, emulator: Emulator, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.emulator = emulator
        self.routes = routes

    def _operation(self, scope: Scope) -> str | None:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL and isinstance(route, Route):
                return route.name
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        answered: dict[str, int] = {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("X-Request-Id", request_id)
                answered["status"] = message["status"]
            await send(message)

        method, path = scope["method"], scope["path"]
        if path.startswith(ADMIN_PREFIX):
            await self._guarded(scope, receive, send_with_id, answered)
            return
        try:
            delay = self.emulator.faults.delay_for(method, path)
            if delay:
                await asyncio.sleep(delay)
            fault = self.emulator.faults.take(method, path)
            if fault is None:
                await self._guarded(scope, receive, send_with_id, answered)
            else:
                await self._inject(fault, scope, receive, send_with_id)
        finally:
            self.emulator.calls.record(
                method=method,
                path=path,
                query=scope.get("query_string", b"").decode("latin-1"),
                status=answered.get("status"),
                request_id=request_id,
                principal=scope.get(PRINCIPAL_SCOPE_KEY),
                operation=self._operation(scope),
                traceparent=_header(scope, b"traceparent"),
            )
            logger.info("%s %s -> %s (%s)", method, path, answered.get("status"), request_id)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, answered: dict[str, int]) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception:
            logger.exception("emulator route failed on %s %s", scope["method"], scope["path"])
            if "status" not in answered:
                await error_response(500, INTERNAL_ERROR, "Internal Error")(scope, receive, send)

    async def _inject(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            await _drop_connection(receive)
            return
        response = error_response(
            fault.status,
            fault.error_code or code_for_status(fault.status),
            f"Injected fault: HTTP {fault.status}",
        )
        if fault.retry_after is not None:
            response.headers["Retry-After"] = fault.retry_after
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _drop_connection(receive: Receive) -> None:
    """Closes the client's connection without an answer, as a crashed upstream node would."""
    # Starlette wraps `send` but hands uvicorn's `receive` through; its cycle owns the transport.
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionDropped("fault dropped the connection")
    transport.close()
    # Tell uvicorn the client is gone, so it does not write a 500 on the closing socket.
    cycle.disconnected = True  # type: ignore[union-attr]
    await asyncio.sleep(0)
