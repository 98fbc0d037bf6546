"""The gateway's HTTP edge: request ids, CORS, HTTP caching of GET queries and response compression."""

from __future__ import annotations

from starlette.middleware import Middleware

from gateway.edge.access_log import AccessLogMiddleware
from gateway.edge.caching import HttpCacheMiddleware
from gateway.edge.compression import Compression, CompressionMiddleware
from gateway.edge.cors import CorsMiddleware
from gateway.edge.request_id import RequestIdMiddleware
from gateway.settings import Settings


def outer_middleware(settings: Settings) -> list[Middleware]:
    """Outside the drain guard, so that its refusals too carry a request id, are logged and, for an allowed
    origin, carry the CORS headers a browser needs to read them."""
    return [
        Middleware(RequestIdMiddleware),
        Middleware(AccessLogMiddleware),
        Middleware(CorsMiddleware, allowed_origins=settings.allowed_origins),
    ]


def inner_middleware(settings: Settings, *, path: str) -> list[Middleware]:
    """Compression, then the HTTP cache inside it (the cache's ETags name the coding compression will
    apply, and a 304 costs no compression)."""
    compression = Compression(settings.compression, settings.compression_min_bytes)
    return [
        Middleware(CompressionMiddleware, compression=compression),
        Middleware(HttpCacheMiddleware, compression=compression, path=path),
    ]
