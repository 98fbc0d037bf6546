"""OpenTelemetry tracing: a SERVER span per GraphQL operation, continued from the client's W3C trace
context, over the spans of its upstream calls; exported with OTLP over HTTP.

Imported only when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT set, or a provider handed to create_app):
otherwise the gateway loads nothing of OpenTelemetry, runs the schema without this extension and
sends upstream calls unwrapped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextvars import Token
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLError, OperationDefinitionNode, get_operation_ast
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket
from strawberry.extensions import SchemaExtension

from gateway import __version__
from gateway.metrics import worst_outcome
from gateway.settings import Settings
from gateway.upstream.tracing import PROPAGATOR, UpstreamSpans

logger = logging.getLogger("gateway.tracing")

INSTRUMENTATION = "metastudio-gateway"
# Outcomes that are the gateway's or MetaStudio's failure, not the caller's: the span is an ERROR.
FAILED_OUTCOMES = frozenset({"upstream_error", "internal"})


class Tracing:
    """The app's tracer, for its operation spans and its upstream client; leaving it (the app's
    shutdown) exports the spans still queued when the app built the provider itself."""

    def __init__(self, provider: TracerProvider, *, shutdown: Callable[[], object] | None = None) -> None:
        self.tracer = provider.get_tracer(INSTRUMENTATION, __version__)
        self.upstream = UpstreamSpans(self.tracer)
        self._shutdown = shutdown

    def start_operation(self, connection: HTTPConnection | None) -> Span:
        """An operation's span, a child of the trace context the request (or WebSocket handshake) sent;
        named once its operation is known."""
        parent = PROPAGATOR.extract(connection.headers) if connection is not None else None
        span = self.tracer.start_span("GraphQL Operation", context=parent, kind=SpanKind.SERVER)
        if connection is not None:
            transport = "websocket" if isinstance(connection, WebSocket) else "http"
            span.set_attribute("gateway.transport", transport)
        return span

    async def __aenter__(self) -> Tracing:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._shutdown is not None:
            # Flushing waits on the exporter's thread and the collector, up to its timeout.
            await asyncio.to_thread(self._shutdown)


def start_tracing(settings: Settings, provider: TracerProvider | None) -> Tracing:
    """Tracing through `provider` (owned by whoever passed it), else through an OTLP exporter to the
    endpoint of the environment."""
    if provider is not None:
        return Tracing(provider)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_RESOURCE_ATTRIBUTES adds to these; the sampler and the batch processor read OTEL_TRACES_SAMPLER
    # and OTEL_BSP_*, and the exporter its endpoint, headers, timeout, compression and certificates.
    resource = Resource.create({SERVICE_NAME: settings.service_name, SERVICE_VERSION: __version__})
    sdk_provider = SDKTracerProvider(resource=resource)
    sdk_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    logger.info(
        "tracing: spans of service %s go with OTLP over HTTP to %s",
        settings.service_name,
        _origin(settings.otlp_endpoint),
    )
    return Tracing(sdk_provider, shutdown=sdk_provider.shutdown)


def _origin(url: str | None) -> str:
    # Scheme, host and port only: a path or query could carry a key.
    parts = urlsplit(url or "")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def tracing_of(request_context: object) -> Tracing | None:
    request = getattr(request_context, "request", None)
    if request is None:
        return None
    tracing: Tracing | None = getattr(request.app.state, "tracing", None)
    return tracing


class OperationSpans(SchemaExtension):
    """A span per GraphQL operation, current while it runs, so that the spans of its upstream calls
    (made by its resolvers and its dataloaders' batches) are its children.

    A query or mutation's span lasts the operation; a streamed operation's (a subscription's) ends at
    its first result: a subscription lives for minutes, and its later events come from the live hub's
    polls, whose upstream calls are traces of their own. Never recorded: the document and its
    variables. Outermost of the schema's extensions, so that errors have their codes when it ends."""

    _span: Span | None = None
    _token: Token[Context] | None = None

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        tracing = tracing_of(context)
        if tracing is None:
            yield
            return
        self._streamed: list[GraphQLError] | None = None
        self._span = tracing.start_operation(context.request)
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        try:
            yield
        finally:
            self._end()

    def on_stream_result(self, result: object) -> Iterator[None]:
        if self._span is not None:
            self._streamed = list(getattr(result, "errors", None) or ())
            self._end()
        yield

    def _end(self) -> None:
        span, token = self._span, self._token
        if span is None:
            return
        self._span = self._token = None
        if token is not None:
            otel_context.detach(token)
        if span.is_recording():
            self._describe(span)
        span.end()

    def _describe(self, span: Span) -> None:
        execution = self.execution_context
        operation = _operation(execution)
        if operation is not None:
            kind = operation.operation.value
            name = operation.name.value if operation.name is not None else None
            span.update_name(f"{kind} {name}" if name else kind)
            span.set_attribute("graphql.operation.type", kind)
            if name:
                span.set_attribute("graphql.operation.name", name)
        request_id = getattr(execution.context, "request_id", None)
        if isinstance(request_id, str):
            span.set_attribute("gateway.request_id", request_id)
        # What the client gets: the streamed result, else the result, else the refusal before execution.
        if self._streamed is not None:
            errors = self._streamed
        elif execution.result is not None:
            errors = list(execution.result.errors or ())
        else:
            errors = list(execution.pre_execution_errors or ())
        outcome = worst_outcome(errors)
        span.set_attribute("gateway.outcome", outcome)
        span.set_attribute("gateway.graphql.errors", len(errors))
        codes = sorted({str(code) for e in errors if (code := (e.extensions or {}).get("code"))})
        if codes:
            span.set_attribute("gateway.graphql.error_codes", codes)
        if outcome in FAILED_OUTCOMES:
            span.set_status(Status(StatusCode.ERROR, outcome))


def _operation(execution: Any) -> OperationDefinitionNode | None:
    document = execution.graphql_document
    if document is None:
        return None
    # The name from the document, never the request's own `operationName`, which may be any text.
    return get_operation_ast(document, execution.operation_name)
