"""HTTP caching of GraphQL answers: GET queries get a strong ETag per caller and representation and a 304
when the client already holds it; every other GraphQL answer is no-store."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.compression import Compression
from gateway.edge.headers import RawHeaders, header, is_json, with_vary, without

# Stored by the browser (never by a shared cache: the answer is one caller's), and revalidated on each use,
# so a client sees a change at once yet downloads an unchanged answer only once.
REVALIDATE = b"private, no-cache"
NO_STORE = b"no-store"
# Everything besides the URL that a GET query's answer depends on: the media type negotiated from Accept,
# the coding from Accept-Encoding, and the caller. CORS adds Origin.
VARY = ("Accept", "Accept-Encoding", "Authorization", "X-Auth-Token", "X-App-UserId")
_CALLER_HEADERS = (b"authorization", b"x-auth-token", b"x-app-userid")
# Representation metadata a 304 leaves out: the client keeps the body and these from its stored copy.
_BODY_HEADERS = (b"content-type", b"content-length", b"content-encoding")


def etag(scope: Scope, headers: Iterable[tuple[bytes, bytes]], coding: str | None, body: bytes) -> bytes:
    """A strong entity tag: the SHA-256 of the body and of what else makes this representation, its media
    type, its coding and the caller's credential headers. Two callers never share a tag, even for equal
    bodies, and the tag is the same on every replica and after restarts."""
    digest = hashlib.sha256()
    parts = [
        header(headers, b"content-type") or b"",
        (coding or "identity").encode("latin-1"),
        *(header(scope["headers"], name) or b"" for name in _CALLER_HEADERS),
    ]
    for part in parts:
        # Length-prefixed, so that no two different lists of parts hash alike.
        digest.update(len(part).to_bytes(4, "big") + part)
    digest.update(body)
    return b'"' + base64.urlsafe_b64encode(digest.digest()[:18]) + b'"'


def if_none_match(raw: Iterable[tuple[bytes, bytes]], tag: bytes) -> bool:
    """Whether the request's If-None-Match names `tag` (weak comparison, as RFC 9110 has for it) or is *."""
    for key, value in raw:
        if key.lower() != b"if-none-match":
            continue
        for item in value.split(b","):
            sent = item.strip()
            if sent == b"*" or sent.removeprefix(b"W/") == tag:
                return True
    return False


def is_clean_answer(body: bytes) -> bool:
    """A GraphQL answer with data and no errors: the only kind worth keeping. A partial one (a missing job
    is null plus an error) may differ on the next try."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(answer, dict) and "data" in answer and not answer.get("errors")


def _with_cache_control(headers: Iterable[tuple[bytes, bytes]], value: bytes) -> RawHeaders:
    return [*without(headers, b"cache-control"), (b"cache-control", value)]


class HttpCacheMiddleware:
    """Pure ASGI middleware for the GraphQL path (and the paths under it), inside compression.

    - GET: a 200 JSON answer without errors is held whole, gets `Cache-Control: private, no-cache`, an
      ETag (`etag`, with the coding the compression will use) and `Vary: VARY`, and becomes a bodiless
      304 when If-None-Match names that tag. Other JSON answers to a GET get no-store; other media types
      (GraphiQL's page, event streams) pass unbuffered and untouched.
    - Any other method: every answer without a Cache-Control of its own gets no-store, and none is held.
    """

    def __init__(self, app: ASGIApp, *, compression: Compression, path: str = "/graphql") -> None:
        self.app = app
        self.compression = compression
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if not (path == self.path or path.startswith(self.path + "/")) or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
        elif scope["method"] == "GET":
            await self._get(scope, receive, send)
        else:
            await self.app(scope, receive, _not_stored(send))

    async def _get(self, scope: Scope, receive: Receive, send: Send) -> None:
        held: Message | None = None
        parts: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal held
            kind = message["type"]
            if kind == "http.response.start":
                headers = message.get("headers", ())
                if is_json(headers) and header(headers, b"cache-control") is None:
                    if message["status"] == 200:
                        held = message
                        return
                    message = {**message, "headers": _with_cache_control(headers, NO_STORE)}
            elif kind == "http.response.body" and held is not None:
                parts.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                start, held = held, None
                await self._answer(scope, send, start, b"".join(parts))
                return
            await send(message)

        await self.app(scope, receive, hold)

    async def _answer(self, scope: Scope, send: Send, start: Message, body: bytes) -> None:
        headers = start.get("headers", ())
        if not is_clean_answer(body):
            await send({**start, "headers": _with_cache_control(headers, NO_STORE)})
            await send({"type": "http.response.body", "body": body})
            return
        coding = self.compression.applies(scope, 200, headers, len(body))
        tag = etag(scope, headers, coding, body)
        headers = with_vary(_with_cache_control(without(headers, b"etag"), REVALIDATE), *VARY)
        headers.append((b"etag", tag))
        if if_none_match(scope["headers"], tag):
            await send(
                {"type": "http.response.start", "status": 304, "headers": without(headers, *_BODY_HEADERS)}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _not_stored(send: Send) -> Send:
    async def send_not_stored(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", ())
            if header(headers, b"cache-control") is None:
                message = {**message, "headers": [*headers, (b"cache-control", NO_STORE)]}
        await send(message)

    return send_not_stored
