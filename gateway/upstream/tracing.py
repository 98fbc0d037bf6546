"""Spans of upstream calls: one per MetaStudio operation, and a CLIENT span per HTTP attempt whose W3C
trace context goes out in the attempt's headers. Imported only when tracing is on."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import httpx
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

if TYPE_CHECKING:
    from gateway.upstream.session import Call

# W3C trace context only (traceparent, tracestate): a client's baggage stays out of MetaStudio's requests.
PROPAGATOR = TraceContextTextMapPropagator()
OPERATION = "metastudio.operation"
REQUEST_ID = "metastudio.request_id"


class UpstreamSpans:
    """What UpstreamSession calls around an operation and each of its attempts."""

    def __init__(self, tracer: Tracer) -> None:
        self._tracer = tracer

    def operation(self, call: Call) -> AbstractContextManager[Span]:
        """The span of one operation, current while it runs: its backoff waits, attempts and retry
        delays; an exception that ends it marks it ERROR."""
        return self._tracer.start_as_current_span(
            f"metastudio {call.operation}",
            kind=SpanKind.INTERNAL,
            attributes={OPERATION: call.operation, "http.request.method": call.method},
        )

    async def attempt(
        self,
        send: Callable[[httpx.Request], Awaitable[httpx.Response]],
        call: Call,
        request: httpx.Request,
        attempt: int,
    ) -> httpx.Response:
        """`send(request)` inside a CLIENT span named in its headers."""
        url = request.url
        attributes: dict[str, AttributeValue] = {
            "http.request.method": request.method,
            # The query string is left out: filters name what a caller looks for.
            "url.full": f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}",
            "server.address": url.host,
            "server.port": url.port or (443 if url.scheme == "https" else 80),
            OPERATION: call.operation,
        }
        if attempt > 1:
            attributes["http.request.resend_count"] = attempt - 1
        with self._tracer.start_as_current_span(
            request.method,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            # Added after signing, so outside SignedHeaders: proxies on the way may rewrite trace context,
            # which must not break the signature.
            PROPAGATOR.inject(request.headers)
            try:
                response = await send(request)
            except asyncio.CancelledError:
                # The total timeout ends an attempt in flight this way.
                span.set_attribute("error.type", "cancelled")
                span.set_status(Status(StatusCode.ERROR, "cancelled"))
                raise
            except Exception as exc:
                span.record_exception(exc)
                span.set_attribute("error.type", type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            request_id = response.headers.get("X-Request-Id")
            if request_id:
                span.set_attribute(REQUEST_ID, request_id)
            if response.status_code >= 400:
                span.set_attribute("error.type", str(response.status_code))
                span.set_status(Status(StatusCode.ERROR))
            return response
