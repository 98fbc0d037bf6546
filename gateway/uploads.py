"""Guards GraphQL request bodies: a CSRF preflight for form posts and a size cap enforced while reading."""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The form-encoded parts, boundaries and the `operations`/`map` fields of a GraphQL multipart request come
# on top of the file itself; 64 KiB covers them (Starlette caps each non-file field at 1 MiB anyway, but a
# legitimate single-file request carries a few hundred bytes of them).
MULTIPART_OVERHEAD = 64 * 1024

PREFLIGHT_HEADERS = ("Apollo-Require-Preflight", "X-Apollo-Operation-Name")

# The content types an HTML form or a "simple" fetch can send without a CORS preflight. A POST without any
# Content-Type is simple too.
_SIMPLE_CONTENT_TYPES = frozenset(
    {"multipart/form-data", "application/x-www-form-urlencoded", "text/plain", ""}
)

_MIB = 1024 * 1024


class BodyTooLarge(Exception):
    """Raised from `receive` once a request body has passed the limit, so the app's read fails."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body passed the limit of {limit} bytes")
        self.limit = limit


class UploadGuard:
    """Pure ASGI middleware for the GraphQL path; it streams bodies through and never buffers them.

    - CSRF: a POST whose content type a browser form can send (multipart/form-data,
      application/x-www-form-urlencoded, text/plain, or none) must carry a non-empty
      `Apollo-Require-Preflight` or `X-Apollo-Operation-Name` header, which forces a CORS preflight
      (Apollo Server's rule); otherwise 400. GET and application/json POSTs pass.
    - Size: the body may hold at most `max_bytes + MULTIPART_OVERHEAD` bytes. A larger Content-Length is
      refused with 413 before any byte is read; a chunked body (or one longer than it claims) is counted as
      it streams and the app's next read fails at the limit, and the client gets 413.

    `path` limits the guard to one path (other requests pass untouched); None guards every request.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, path: str | None = "/graphql") -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.app = app
        self.max_bytes = max_bytes
        self.limit = max_bytes + MULTIPART_OVERHEAD
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.path is not None and scope["path"] != self.path):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope["headers"])
        if (
            scope["method"] == "POST"
            and _media_type(headers.get("content-type", "")) in _SIMPLE_CONTENT_TYPES
        ):
            if not any(headers.get(name.lower(), "").strip() for name in PREFLIGHT_HEADERS):
                await _refuse(send, 400, self._preflight_message(headers.get("content-type", "")))
                return
        declared = _content_length(headers.get("content-length"))
        if declared is not None and declared > self.limit:
            await _refuse(send, 413, self._too_large_message())
            return
        await self._pass_counted(scope, receive, send)

    async def _pass_counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        overflowed = False
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received, overflowed
            if overflowed:
                raise BodyTooLarge(self.limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    overflowed = True
                    raise BodyTooLarge(self.limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal response_started
            # An app that catches the failed read and answers for itself is overruled: the client learns
            # that its body was too large, not some parse error.
            if overflowed and not response_started:
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except Exception:
            # Whatever the app made of the failed read, the cause is the body's size.
            if not overflowed or response_started:
                raise
        if overflowed and not response_started:
            await _refuse(send, 413, self._too_large_message())

    def _preflight_message(self, content_type: str) -> str:
        kind = _media_type(content_type) or "no content type"
        return (
            f"This POST has {kind}, which a browser form can send, so it must carry a non-empty "
            f"Apollo-Require-Preflight or X-Apollo-Operation-Name header "
            f"(e.g. Apollo-Require-Preflight: true) to force a CORS preflight."
        )

    def _too_large_message(self) -> str:
        return (
            f"The request body is larger than the upload limit of {_size_text(self.max_bytes)} "
            f"({self.max_bytes} bytes) plus {MULTIPART_OVERHEAD // 1024} KiB for the multipart form "
            f"({self.limit} bytes in all)."
        )


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    # Repeated headers keep their first value; none of the ones read here may legitimately repeat.
    headers: dict[str, str] = {}
    for name, value in raw:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _content_length(value: str | None) -> int | None:
    # The HTTP server refuses malformed lengths before we run; an odd one is simply counted while streaming.
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _size_text(size: int) -> str:
    if size >= _MIB:
        return f"{size // _MIB} MiB" if size % _MIB == 0 else f"{size / _MIB:.1f} MiB"
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size / 1024:.2f} KiB"


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The body was not read (or not all of it): the connection cannot carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
