"""Brotli and gzip for JSON answers above a size, chosen by the client's Accept-Encoding; streams pass
untouched."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import brotli
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.headers import RawHeaders, header, is_json, with_vary, without

# The codings the gateway can produce, in the order it prefers them when a client likes several equally.
CODINGS = ("br", "gzip")
# Past brotli 5 and gzip 6 a 100-job page shrinks by under 1 % until brotli 11, which saves 11 % more for
# some 40 times the CPU (bench/RESULTS.md, "Compression and revalidation").
BROTLI_QUALITY = 5
GZIP_LEVEL = 6

# A response whose status says it has no body, or a part of one, is never encoded.
_NO_ENCODING_STATUSES = frozenset({204, 206, 304})
_ALIASES = {"x-gzip": "gzip"}


def negotiate(accept_encoding: str | None, offered: Iterable[str]) -> str | None:
    """The coding to answer in: the offered one the client gives the highest q-value (the first offered
    on a tie), or None for identity (no header, nothing acceptable, or identity explicitly preferred)."""
    if not accept_encoding:
        return None
    qualities: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        name = _ALIASES.get(coding.strip().lower(), coding.strip().lower())
        if name and name not in qualities:
            qualities[name] = _quality(params)
    wildcard = qualities.get("*", 0.0)
    best: str | None = None
    best_quality = 0.0
    for coding in offered:
        quality = qualities.get(coding, wildcard)
        if quality > best_quality:
            best, best_quality = coding, quality
    if best is not None and "identity" in qualities and qualities["identity"] > best_quality:
        return None
    return best


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


def compress(coding: str, body: bytes) -> bytes:
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY, mode=brotli.MODE_TEXT))
    # wbits 31: the gzip wrapper, with a zero mtime, so that the same body always encodes to the same bytes.
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return compressor.compress(body) + compressor.flush()


@dataclass(frozen=True)
class Compression:
    """What the gateway compresses: `codings` it offers (in its order of preference; empty turns
    compression off) for JSON bodies of at least `min_bytes`."""

    codings: tuple[str, ...] = CODINGS
    min_bytes: int = 1024

    def __post_init__(self) -> None:
        unknown = set(self.codings) - set(CODINGS)
        if unknown:
            raise ValueError(f"unknown content codings {sorted(unknown)}; the gateway offers {CODINGS}")

    def coding_for(self, scope: Scope) -> str | None:
        """The coding a compressible answer to this request gets, once it reaches `min_bytes`."""
        if scope["method"] == "HEAD":
            return None
        sent = header(scope["headers"], b"accept-encoding")
        return negotiate(sent.decode("latin-1") if sent is not None else None, self.codings)

    def compressible(self, status: int, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """Whether an answer with this status and these headers is one the gateway may compress: JSON,
        not already encoded, not asking to be left alone. Event streams and multipart streams are not
        JSON, and pass as they are sent."""
        if not self.codings or status < 200 or status in _NO_ENCODING_STATUSES or not is_json(headers):
            return False
        if header(headers, b"content-encoding") is not None:
            return False
        control = (header(headers, b"cache-control") or b"").lower()
        return b"no-transform" not in control

    def applies(
        self, scope: Scope, status: int, headers: Iterable[tuple[bytes, bytes]], size: int
    ) -> str | None:
        """The coding a whole body of `size` bytes is sent in, or None: the one decision the HTTP cache
        names in its ETags and the middleware carries out."""
        if size < self.min_bytes or not self.compressible(status, headers):
            return None
        return self.coding_for(scope)


def encoded_headers(headers: Iterable[tuple[bytes, bytes]], coding: str, length: int) -> RawHeaders:
    """A response's headers once its body is `length` bytes in `coding`. An ETag stays as it is: the only
    JSON answers with one are the HTTP cache's, whose tags already name the coding
    (`Compression.applies`)."""
    kept = without(headers, b"content-length", b"accept-ranges")
    kept += [
        (b"content-encoding", coding.encode("latin-1")),
        (b"content-length", str(length).encode("latin-1")),
    ]
    return kept


class CompressionMiddleware:
    """Pure ASGI middleware. A JSON answer (which the gateway always makes whole before sending) is held to
    its end, then sent as it is below `min_bytes` and in the negotiated coding from there; every JSON
    answer names Accept-Encoding in Vary. Anything else (event streams, multipart streams, HTML, files)
    and WebSockets pass through as they are sent, never held."""

    def __init__(self, app: ASGIApp, *, compression: Compression) -> None:
        self.app = app
        self.compression = compression

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.compression.codings:
            await self.app(scope, receive, send)
            return
        coding = self.compression.coding_for(scope)
        compression = self.compression
        held: Message | None = None
        parts: list[bytes] = []

        async def send_compressed(message: Message) -> None:
            nonlocal held
            kind = message["type"]
            if kind == "http.response.start":
                headers = message.get("headers", ())
                if compression.compressible(message["status"], headers):
                    message = {**message, "headers": with_vary(headers, "Accept-Encoding")}
                    if coding is not None:
                        held = message
                        return
            elif kind == "http.response.body" and held is not None:
                parts.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                start, held = held, None
                body = b"".join(parts)
                if len(body) >= compression.min_bytes:
                    assert coding is not None
                    body = compress(coding, body)
                    start = {**start, "headers": encoded_headers(start["headers"], coding, len(body))}
                await send(start)
                message = {"type": "http.response.body", "body": body}
            await send(message)

        await self.app(scope, receive, send_compressed)
