"""Client authentication at the edge: requests and WebSocket connections let in or refused by bearer JWT."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

import orjson
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.bearer_tokens import ClientIdentity, TokenVerifier, Unauthenticated
from gateway.edge.headers import header
from gateway.jwks import KEYS_UNAVAILABLE, KeysUnavailable
from gateway.metrics import UnauthenticatedReason, metrics_of
from gateway.settings import Settings

logger = logging.getLogger("gateway.clientauth")

# Where the verified caller is kept, for the HTTP request or the WebSocket connection alike.
SCOPE_KEY = "gateway.client_identity"

# WebSocket close codes: graphql-ws servers close 4403 when they refuse a connection_init, and
# graphql-ws clients retry it (re-reading their connectionParams, so a refreshed token goes along);
# 4400 (a request that cannot succeed as sent) they do not; 1013 asks them to try again later.
CLOSE_UNAUTHENTICATED = 4403
CLOSE_BAD_REQUEST = 4400
CLOSE_TRY_AGAIN_LATER = 1013


def user_header_refused(claim: str) -> str:
    return f"X-App-UserId is not accepted: the end user comes from the bearer token's {claim} claim"


def identity_of(scope: Scope) -> ClientIdentity | None:
    """The caller verified for this request or WebSocket connection, if any."""
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, ClientIdentity) else None


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _count(connection: HTTPConnection, reason: UnauthenticatedReason) -> None:
    metrics_of(connection.app).unauthenticated(reason)


class ClientAuthMiddleware:
    """Pure ASGI middleware for the GraphQL path, before the rate limits so that they count the verified
    caller. A request needs a valid bearer JWT, and must not name its own X-App-UserId (400); refusals
    cost no upstream call. CORS preflights pass, and so does a browser's GET of GraphiQL's page (its
    queries then need the token). WebSockets are checked at connection_init instead (gateway/graphql.py)."""

    def __init__(self, app: ASGIApp, *, verifier: TokenVerifier, settings: Settings, path: str) -> None:
        self.app = app
        self.verifier = verifier
        self.settings = settings
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        raw = scope["headers"]
        if (header(raw, b"x-app-userid") or b"").strip():
            message = user_header_refused(self.settings.jwt_user_claim)
            await _refuse(scope, send, 400, message, {"code": "BAD_USER_INPUT"})
            return
        if self.settings.graphiql and _asks_for_graphiql(scope):
            await self.app(scope, receive, send)
            return
        authorization = header(raw, b"authorization")
        try:
            identity = await self.verifier.verify(bearer_token((authorization or b"").decode("latin-1")))
        except Unauthenticated as refused:
            _count(HTTPConnection(scope), refused.reason)
            challenge = [(b"www-authenticate", _challenge(refused))]
            coded = {"code": "UNAUTHENTICATED", "reason": refused.reason}
            await _refuse(scope, send, 401, refused.message, coded, challenge)
            return
        except KeysUnavailable as unavailable:
            retry = [(b"retry-after", str(unavailable.retry_after).encode())]
            unavailable_code = {"code": "UPSTREAM_UNAVAILABLE", "retryable": True, "dependency": "jwks"}
            await _refuse(scope, send, 503, KEYS_UNAVAILABLE, unavailable_code, retry)
            return
        scope[SCOPE_KEY] = identity
        await self.app(scope, receive, send)


def _asks_for_graphiql(scope: Scope) -> bool:
    """A browser's GET of the page: no operation in the query string, and HTML accepted."""
    if scope["method"] != "GET":
        return False
    params = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    accept = (header(scope["headers"], b"accept") or b"").decode("latin-1")
    return "text/html" in accept and not {"query", "extensions", "documentId"} & params.keys()


def _challenge(refused: Unauthenticated) -> bytes:
    if refused.reason == "missing":
        return b"Bearer"
    description = refused.message.replace('"', "'").replace("\\", "/")
    return f'Bearer error="invalid_token", error_description="{description}"'.encode("ascii", "replace")


async def _refuse(
    scope: Scope,
    send: Send,
    status: int,
    message: str,
    extensions: Mapping[str, object],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
    accept = (header(scope["headers"], b"accept") or b"").decode("latin-1")
    media_type = (
        "application/graphql-response+json" if "graphql-response+json" in accept else "application/json"
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", f"{media_type}; charset=utf-8".encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


@dataclass(frozen=True)
class ConnectionRefusal:
    """How a WebSocket is closed when its connection_init is refused."""

    code: int
    reason: str


async def authenticate_connection(
    connection: HTTPConnection, sent: Mapping[str, str]
) -> ConnectionRefusal | None:
    """Verifies a WebSocket caller at connection_init and keeps its identity in the connection's scope.

    `sent` holds the credential headers of the connection_init payload by lowercase name; those it lacks
    come from the handshake. None when the caller is accepted, or when no client authentication is on."""
    verifier: TokenVerifier | None = getattr(connection.app.state, "client_auth", None)
    if verifier is None:
        return None
    user_header = sent.get("x-app-userid") or connection.headers.get("x-app-userid") or ""
    if user_header.strip():
        return ConnectionRefusal(CLOSE_BAD_REQUEST, _close_reason(user_header_refused(verifier.user_claim)))
    authorization = (
        sent["authorization"] if "authorization" in sent else connection.headers.get("authorization")
    )
    try:
        identity = await verifier.verify(bearer_token(authorization))
    except Unauthenticated as refused:
        _count(connection, refused.reason)
        return ConnectionRefusal(CLOSE_UNAUTHENTICATED, _close_reason(refused.message))
    except KeysUnavailable:
        return ConnectionRefusal(CLOSE_TRY_AGAIN_LATER, _close_reason(KEYS_UNAVAILABLE))
    connection.scope[SCOPE_KEY] = identity
    return None


def close_at_expiry(
    connection: HTTPConnection, close: Callable[[int, str], Awaitable[None]]
) -> asyncio.Task[None] | None:
    """Closes a verified WebSocket (4403) once its token would no longer be accepted: at its expiry, plus
    the leeway. The caller cancels the task when the connection ends first."""
    verifier: TokenVerifier | None = getattr(connection.app.state, "client_auth", None)
    identity = identity_of(connection.scope)
    if verifier is None or identity is None:
        return None
    delay = identity.expires_at + verifier.leeway - time.time()

    async def expire() -> None:
        await asyncio.sleep(max(0.0, delay))
        try:
            await close(CLOSE_UNAUTHENTICATED, "the token has expired")
        except Exception as exc:  # the connection ended on its own meanwhile
            logger.debug("a WebSocket was gone before its token expired (%s)", type(exc).__name__)

    return asyncio.create_task(expire())


def _close_reason(message: str) -> str:
    # A close frame's reason holds at most 123 bytes.
    return message.encode("utf-8")[:123].decode("utf-8", "ignore")
