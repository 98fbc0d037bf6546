"""One id per request, the client's well-formed X-Request-Id or a new one, on every response and in the
GraphQL context alike."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.headers import header, without

# The scope key the GraphQL context reads the id from, so that its logs name the id the client saw.
SCOPE_KEY = "gateway.request_id"
HEADER = b"x-request-id"

# Anything else (long, spaced, or with characters that could forge log fields) is replaced, not echoed.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# The messages that open a response: an HTTP answer, a WebSocket's acceptance, or its HTTP refusal.
_OPENINGS = frozenset({"http.response.start", "websocket.accept", "websocket.http.response.start"})


def request_id(raw_headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-Id when it is a short plain token, else a new one."""
    sent = header(raw_headers, HEADER)
    if sent is not None:
        text = sent.decode("latin-1")
        if _WELL_FORMED.fullmatch(text):
            return text
    return uuid.uuid4().hex


def scope_request_id(scope: Scope) -> str | None:
    """The id RequestIdMiddleware gave this request, if it ran."""
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, str) else None


class RequestIdMiddleware:
    """Pure ASGI middleware, the outermost: picks the request's id, keeps it in the scope, and sets it as
    the X-Request-Id of whatever answers (the app's response, the drain's refusal, a CORS preflight, a
    WebSocket handshake)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        value = request_id(scope["headers"])
        scope[SCOPE_KEY] = value
        encoded = value.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] in _OPENINGS:
                headers = [*without(message.get("headers", ()), HEADER), (HEADER, encoded)]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)
