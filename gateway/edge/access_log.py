"""The access log: a line per HTTP request, and per WebSocket one when it opens and one when it closes."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import logs
from gateway.edge.request_id import scope_request_id
from gateway.live.callback_tokens import CALLBACK_PATH

logger = logging.getLogger("gateway.access")


def logged_path(path: str) -> str:
    """The path as logged: never the query string (it can carry variables), nor a callback's token (its
    job's secret)."""
    if path.startswith(CALLBACK_PATH):
        return CALLBACK_PATH + "<token>"
    return logs.bounded_text(path)


class AccessLogMiddleware:
    """Pure ASGI middleware, just inside RequestIdMiddleware: holds the request's log fields while it runs
    (so every line logged for it, upstream calls included, names its id) and writes its access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        fields, token = logs.begin_request(scope_request_id(scope) or uuid.uuid4().hex)
        started = time.perf_counter()
        status: int | None = None

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        except Exception:
            # Starlette's outermost middleware answers it with a 500.
            status = status or 500
            raise
        finally:
            if logger.isEnabledFor(logging.INFO):
                _log_http(scope, fields, status, time.perf_counter() - started)
            logs.end(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        fields, token = logs.begin_request(scope_request_id(scope) or uuid.uuid4().hex, websocket=True)
        started = time.perf_counter()
        path = logged_path(scope["path"])
        status: int | None = None
        close_code: int | None = None
        accepted = False

        async def send_watched(message: Message) -> None:
            nonlocal status, close_code, accepted
            kind = message["type"]
            if kind == "websocket.accept":
                accepted = True
                opened = {"method": "WEBSOCKET", "path": path, "status": 101}
                logger.info("WEBSOCKET %s open", path, extra=opened)
            elif kind == "websocket.close" and close_code is None:
                close_code = message.get("code", 1000)
            elif kind == "websocket.http.response.start":
                status = message["status"]
            await send(message)

        async def receive_watched() -> Message:
            nonlocal close_code
            message = await receive()
            if message["type"] == "websocket.disconnect" and close_code is None:
                close_code = message.get("code", 1005)
            return message

        try:
            await self.app(scope, receive_watched, send_watched)
        finally:
            if status is None and not accepted and close_code is not None:
                status = 403  # the server's answer to a close before the handshake was accepted
            milliseconds = round((time.perf_counter() - started) * 1000, 1)
            extra: dict[str, object] = {
                "method": "WEBSOCKET",
                "path": path,
                "duration_ms": milliseconds,
                "operations": fields.operations,
                "upstream_calls": fields.upstream_calls,
            }
            if status is not None:
                extra["status"] = status
                logger.info("WEBSOCKET %s refused %d", path, status, extra=extra)
            else:
                extra["close_code"] = close_code
                logger.info(
                    "WEBSOCKET %s closed %s after %.1f ms, %d operations, %d upstream calls",
                    path,
                    close_code if close_code is not None else "-",
                    milliseconds,
                    fields.operations,
                    fields.upstream_calls,
                    extra=extra,
                )
            logs.end(token)


def _log_http(scope: Scope, fields: logs.RequestFields, status: int | None, seconds: float) -> None:
    method, path = scope["method"], logged_path(scope["path"])
    milliseconds = round(seconds * 1000, 1)
    message = f"{method} {path} {status if status is not None else '-'} {milliseconds} ms"
    if fields.operation_name is not None or fields.operation_type is not None:
        message += f", {fields.operation_type or 'operation'} {fields.operation_name or '-'}"
    if fields.caller is not None:
        message += f", caller {fields.caller}"
    if fields.upstream_calls:
        message += f", {fields.upstream_calls} upstream calls"
    extra: dict[str, object] = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": milliseconds,
        "upstream_calls": fields.upstream_calls,
    }
    if fields.upstream_request_ids:
        message += f" ({' '.join(fields.upstream_request_ids)})"
        extra["upstream_request_ids"] = fields.upstream_request_ids
    logger.info(message, extra=extra)
