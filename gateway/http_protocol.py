"""GraphQL over HTTP by the spec: media types and status codes; graphql-sse's single connection mode."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException, StarletteRequestAdapter
from graphql import OperationType
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, GraphQLRequestProtocol
from strawberry.http.streaming import HTTPStreamTransport, MultipartSubscriptionTransport, SSETransport
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, MULTIPART_SUBSCRIPTION_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType as StrawberryOperationType

from gateway.context import RequestContext
from gateway.negotiation import (
    EVENT_STREAM,
    GRAPHQL_RESPONSE_JSON,
    JSON,
    MediaRange,
    accepts_text,
    json_type,
    parse_accept,
    quality,
    stream_protocol,
)
from gateway.reservations import TOKEN_HEADER, TOKEN_PARAM, Reservation, Reservations
from gateway.settings import Settings
from schema.limits import operation_type_of

# Methods /graphql answers: GET and POST for operations; PUT and DELETE for graphql-sse reservations.
ALLOWED_METHODS = "GET, POST, PUT, DELETE"
# Reservations one process holds at once (each claimed one is an open connection).
MAX_RESERVATIONS = 10_000


class RequestRefused(HTTPException):
    """A request error with headers of its own (`Allow` on a 405) and, past a limit, its own code."""

    def __init__(
        self,
        status_code: int,
        reason: str,
        headers: Mapping[str, str] | None = None,
        code: str = "BAD_USER_INPUT",
    ) -> None:
        super().__init__(status_code, reason)
        self.headers = dict(headers or {})
        self.code = code


class EventStreamTransport(SSETransport):
    """Server-Sent Events with LF line endings: the SSE grammar allows CRLF too, but some clients' parsers
    (urql's among them) split events on LF alone."""

    def encode_event(self, event: str, data: str | None = None) -> str:
        if data and ("\r" in data or "\n" in data):
            raise ValueError("SSE event data must not contain newlines")
        return f"event: {event}\ndata: {data or ''}\n\n"

    def encode_comment(self, comment: str) -> str:
        return f": {comment}\n\n"


def is_subscription(data: GraphQLRequestData, settings: Settings | None = None) -> bool:
    # The word is in every subscription document; parsing only those keeps queries at one parse. The
    # parse keeps to the operation limits (a long document is not parsed whole here before it is
    # refused) and is the one the execution reads from the cache.
    if not data.query or "subscription" not in data.query:
        return False
    return operation_type_of(data.query, data.operation_name, settings) == OperationType.SUBSCRIPTION


def negotiated_protocol(
    ranges: list[MediaRange], data: GraphQLRequestData, settings: Settings | None = None
) -> GraphQLRequestProtocol:
    """How a request is answered: a stream for a subscription when the client names one, one JSON body
    for queries and mutations, and a stream for those only when the client takes no JSON at all (as
    graphql-sse's distinct connections do). Raises 406 when nothing the client accepts fits."""
    stream = stream_protocol(ranges)
    if data.query is None:
        # A persisted operation named by its id alone: its type is known only once it is looked up.
        # Apollo asks for multipart subscriptions only for subscriptions; an event stream is taken when
        # the client prefers it to JSON.
        if stream == "multipart-subscription" or (
            stream == "sse" and quality(ranges, EVENT_STREAM) > quality(ranges, JSON)
        ):
            return stream
        return "http"
    if is_subscription(data, settings):
        return stream or "http"
    if json_type(ranges) is not None:
        return "http"
    if stream == "sse":
        return "sse"
    raise HTTPException(
        406,
        f"this endpoint answers queries and mutations as {GRAPHQL_RESPONSE_JSON} or {JSON}, "
        "and any operation as text/event-stream; the Accept header takes none of them",
    )


def is_request_error(body: Mapping[str, object]) -> bool:
    """A GraphQL request error: the operation never ran (its document, variables or a limit refused it),
    so there is no data and no error names a field's path."""
    errors = body.get("errors")
    return (
        body.get("data") is None
        and isinstance(errors, list)
        and bool(errors)
        and all(isinstance(error, dict) and "path" not in error for error in errors)
    )


def request_error(
    message: str,
    status: int,
    accept: str | None,
    headers: Mapping[str, str] | None = None,
    code: str = "BAD_USER_INPUT",
) -> Response:
    """A request the GraphQL layer refused before any operation ran, as a GraphQL response in the media
    type the client asked for (JSON when it asked for none we write)."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    media_type = json_type(parse_accept(accept)) or JSON
    sent = dict(headers or {})
    if status == 405:
        sent.setdefault("Allow", ALLOWED_METHODS)
    return Response(
        orjson.dumps(body), status_code=status, media_type=f"{media_type}; charset=utf-8", headers=sent
    )


class GraphQLOverHTTP(GraphQL[RequestContext, None]):
    """Strawberry's ASGI view answering by the GraphQL-over-HTTP spec, and serving graphql-sse's single
    connection mode beside its distinct connections."""

    stream_transport_classes_by_protocol: Mapping[str, type[HTTPStreamTransport]] = {
        MULTIPART_SUBSCRIPTION_PROTOCOL: MultipartSubscriptionTransport,
        GRAPHQL_SSE_PROTOCOL: EventStreamTransport,
    }
    # Declared again here so that subclasses may assign a subclass of it (mypy checks them against the
    # generic base's narrower declaration otherwise).
    websocket_adapter_class = ASGIWebSocketAdapter

    def __init__(self, schema: BaseSchema, *, settings: Settings | None = None, **options: Any) -> None:
        super().__init__(schema, **options)
        self.reservations = Reservations(MAX_RESERVATIONS)
        # The operation limits a request's document is parsed within before it is known to stream.
        self.settings = settings

    async def respond(self, request: Request) -> Response:
        """The answer to one HTTP request; a request error is a GraphQL response too, never plain text."""
        try:
            response = await self._single_connection(request)
            if response is None:
                response = await self.run(request)
        except HTTPException as exc:
            accept = request.headers.get("accept")
            if isinstance(exc, RequestRefused):
                response = request_error(exc.reason, exc.status_code, accept, exc.headers, exc.code)
            else:
                response = request_error(exc.reason, exc.status_code, accept)
        finally:
            # A multipart request's files wait in temporary files (on disk past 1 MiB); they go with the
            # request once it is answered, not when the collector finds them.
            await request.close()
        return response

    def _get_stream_transport_from_headers(self, headers: Mapping[str, str]) -> HTTPStreamTransport | None:
        # Strawberry streams whenever a stream type appears anywhere in Accept, even at q=0.1 and for a
        # query; `parse_http_body` decides by the operation and the client's preferences instead.
        return None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            if not isinstance(item.operation_name, str | None):
                raise HTTPException(
                    400, "The GraphQL operation's `operationName` must be a string or null, if provided."
                )
        if isinstance(data, GraphQLRequestData):
            data.protocol = negotiated_protocol(
                parse_accept(request.headers.get("accept")), data, self.settings
            )
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as exc:
            refused = exc.__cause__
            if (
                request_adapter.method == "GET"
                and isinstance(refused, InvalidOperationTypeError)
                and refused.operation_type == StrawberryOperationType.MUTATION
            ):
                raise RequestRefused(
                    405, "a mutation is not run over GET: send it with POST", {"Allow": "POST"}
                ) from exc
            raise

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = json_type(parse_accept(request.headers.get("accept"))) or JSON
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        media_type = sub_response.media_type or JSON
        status = sub_response.status_code or 200
        if media_type == GRAPHQL_RESPONSE_JSON and isinstance(response_data, dict):
            if is_request_error(response_data):
                # The new media type lets a status say what happened: no data means the request failed.
                response_data = {key: value for key, value in response_data.items() if key != "data"}  # type: ignore[assignment]
                status = sub_response.status_code or 400
        response = Response(
            self.encode_json(response_data), status_code=status, media_type=f"{media_type}; charset=utf-8"
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        return response

    async def _single_connection(self, request: Request) -> Response | None:
        """graphql-sse's single connection mode, or None for a request outside it: a PUT reserves a stream
        and answers its token; a GET or POST accepting `text/event-stream` with the token opens it; other
        GETs and POSTs with the token run an operation whose results go down that stream (202); a DELETE
        with the token and `?operationId=` stops one."""
        method = request.method
        token = request.headers.get(TOKEN_HEADER) or request.query_params.get(TOKEN_PARAM)
        if method == "PUT":
            if not accepts_text(parse_accept(request.headers.get("accept"))):
                raise HTTPException(406, "a reservation's token is text/plain; the Accept header refuses it")
            reservation = self.reservations.reserve()
            if reservation is None:
                raise RequestRefused(
                    503,
                    "this replica holds as many event stream reservations as it may; retry later",
                    {"Retry-After": "1"},
                    "RATE_LIMITED",
                )
            return PlainTextResponse(reservation.token, status_code=201)
        if method not in ("GET", "POST", "DELETE"):
            raise HTTPException(405, f"/graphql answers {ALLOWED_METHODS}, not {method}")
        if method == "DELETE" and not token:
            raise HTTPException(404, "DELETE stops an operation of an event stream: send the stream's token")
        if not token:
            return None
        reservation = self.reservations.get(token)
        if reservation is None:
            raise HTTPException(404, "no event stream is reserved under this token; reserve one with PUT")
        if method == "DELETE":
            operation_id = request.query_params.get("operationId")
            if not operation_id:
                raise HTTPException(400, "DELETE needs the operation to stop as ?operationId=")
            await reservation.stop(operation_id)
            return Response(status_code=200)
        if any(r.names(EVENT_STREAM) and r.q > 0 for r in parse_accept(request.headers.get("accept"))):
            if reservation.claimed:
                raise HTTPException(409, "this reservation's event stream is already open")
            return self.reservations.stream(reservation)
        return await self._run_on_stream(request, reservation)

    async def _run_on_stream(self, request: Request, reservation: Reservation) -> Response:
        adapter = StarletteRequestAdapter(request)
        data = await self.parse_http_body(adapter)
        if not isinstance(data, GraphQLRequestData):
            raise HTTPException(400, "an event stream takes one operation per request, not a batch")
        operation_id = (data.extensions or {}).get("operationId")
        if not isinstance(operation_id, str) or not operation_id:
            raise HTTPException(400, "an operation for an event stream needs `extensions.operationId`")
        if reservation.has(operation_id):
            raise HTTPException(409, f"operation {operation_id!r} already runs on this event stream")
        limit = self.max_subscriptions_per_connection
        if limit is not None and len(reservation.operations) >= limit:
            raise RequestRefused(
                429,
                f"this event stream already runs {limit} operations, the most one stream may; "
                "complete one or reserve another stream",
                {"Retry-After": "1"},
                "RATE_LIMITED",
            )
        data.protocol = "sse"
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        result = await self.execute_operation(request, adapter, data, context, None, sub_response)
        if not isinstance(result, AsyncGenerator):
            raise HTTPException(400, "an event stream takes one operation per request")
        # Strawberry's streams are async generators, which its protocol type does not say.
        reservation.start(operation_id, self._payloads(request, result))
        return Response(status_code=202)

    async def _payloads(
        self, request: Request, result: AsyncGenerator[Any, None]
    ) -> AsyncGenerator[Mapping[str, object], None]:
        pending: list[Any] = []
        try:
            async for value in result:
                payload, pending = await self._process_stream_result(request, value, pending)
                yield payload
        finally:
            await result.aclose()


__all__ = ["GraphQLOverHTTP", "RequestRefused", "is_subscription", "request_error"]
