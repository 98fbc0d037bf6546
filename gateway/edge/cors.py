"""CORS for the browser origins in GATEWAY_ALLOWED_ORIGINS; every other origin gets no CORS header."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.http.websocket_origin import normalize_allowed_origins, normalize_origin

from gateway.edge.headers import header, with_vary, without

# What the gateway's browser clients send: credentials, Apollo's CSRF and client-awareness headers,
# graphql-sse's reservation token, request ids and W3C trace context (OpenTelemetry's propagators), and
# the conditional header of clients that revalidate by hand. The CORS-safelisted ones (Accept,
# Accept-Language, Content-Language) are listed too: some browsers preflight them once their values grow.
ALLOWED_HEADERS = (
    "Accept",
    "Accept-Language",
    "Content-Language",
    "Content-Type",
    "Authorization",
    "X-Auth-Token",
    "X-App-UserId",
    "Apollo-Require-Preflight",
    "X-Apollo-Operation-Name",
    "apollographql-client-name",
    "apollographql-client-version",
    "X-GraphQL-Event-Stream-Token",
    "X-Request-Id",
    "traceparent",
    "tracestate",
    "baggage",
    "If-None-Match",
)
# PUT and DELETE are graphql-sse's stream reservations (single connection mode).
ALLOWED_METHODS = ("GET", "POST", "PUT", "DELETE")
EXPOSED_HEADERS = ("X-Request-Id", "ETag", "Retry-After")
# Chrome caps a preflight's lifetime at 2 h and Firefox at 24 h; 10 min bounds how long a browser keeps
# acting on a list that has since changed.
MAX_AGE_SECONDS = 600

_PREFLIGHT_VARY = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
_ALLOWED_HEADER_NAMES = frozenset(name.lower() for name in ALLOWED_HEADERS)
# CORS headers the app behind might set on its own are dropped: this middleware alone decides them.
_CORS_ANSWER_HEADERS = (
    b"access-control-allow-origin",
    b"access-control-allow-credentials",
    b"access-control-expose-headers",
)


class CorsMiddleware:
    """Pure ASGI middleware, outside everything but the request id.

    A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed origin, for an
    allowed method and headers, is answered here with 200 and the policy; any other preflight gets 400
    with no CORS header and a line saying what was refused. Other requests go on; the answer to one from
    an allowed origin names that origin and exposes EXPOSED_HEADERS. Credentials are never allowed: the
    gateway reads its callers' credentials from headers, never from cookies.

    `allowed_origins` may hold "*", which allows every origin (answered with "*").
    """

    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.origins = normalize_allowed_origins(tuple(allowed_origins))
        self.any_origin = "*" in self.origins
        self._simple = [
            (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode("latin-1")),
        ]
        self._preflight = [
            (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode("latin-1")),
            (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode("latin-1")),
            (b"access-control-max-age", str(MAX_AGE_SECONDS).encode("latin-1")),
        ]

    def allowed(self, origin: str) -> bool:
        if self.any_origin:
            return True
        normalized = normalize_origin(origin)
        return normalized is not None and normalized in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.origins:
            await self.app(scope, receive, send)
            return
        raw = scope["headers"]
        sent_origin = header(raw, b"origin")
        origin = sent_origin.decode("latin-1") if sent_origin is not None else None
        method = header(raw, b"access-control-request-method")
        if origin is not None and scope["method"] == "OPTIONS" and method is not None:
            await self._answer_preflight(send, origin, method, raw)
            return
        allowed = origin is not None and self.allowed(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The answer's CORS headers depend on Origin whether or not this one sent an allowed one.
                headers = with_vary(without(message.get("headers", ()), *_CORS_ANSWER_HEADERS), "Origin")
                if allowed and origin is not None:
                    headers += [(b"access-control-allow-origin", self._allow_origin(origin)), *self._simple]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _allow_origin(self, origin: str) -> bytes:
        return b"*" if self.any_origin else origin.encode("latin-1")

    async def _answer_preflight(
        self, send: Send, origin: str, method: bytes, raw: Iterable[tuple[bytes, bytes]]
    ) -> None:
        refused = self._refusal(
            origin, method.decode("latin-1").strip(), header(raw, b"access-control-request-headers")
        )
        headers = with_vary([], *_PREFLIGHT_VARY)
        if refused is None:
            body = b""
            status = 200
            headers += [(b"access-control-allow-origin", self._allow_origin(origin)), *self._preflight]
            if header(raw, b"access-control-request-private-network") is not None:
                # Chrome's Private Network Access: a page on a public origin the operator listed may reach
                # a gateway on a private address.
                headers.append((b"access-control-allow-private-network", b"true"))
        else:
            body = refused.encode("utf-8")
            status = 400
            # The text names the origin it was sent: never to be sniffed into markup.
            headers += [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"x-content-type-options", b"nosniff"),
            ]
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _refusal(self, origin: str, method: str, requested: bytes | None) -> str | None:
        if not self.allowed(origin):
            return f"CORS: origin {origin!r} is not in GATEWAY_ALLOWED_ORIGINS"
        if method not in ALLOWED_METHODS:
            return f"CORS: method {method!r} is not allowed (allowed: {', '.join(ALLOWED_METHODS)})"
        names = (requested or b"").decode("latin-1").split(",")
        extra = [
            name.strip()
            for name in names
            if name.strip() and name.strip().lower() not in _ALLOWED_HEADER_NAMES
        ]
        if extra:
            return f"CORS: headers {', '.join(extra)} are not allowed (allowed: {', '.join(ALLOWED_HEADERS)})"
        return None
