"""The /graphql endpoint: Strawberry over Starlette, with our context and an offline GraphiQL.

Queries and mutations come over HTTP; subscriptions over a WebSocket (graphql-transport-ws and the
legacy graphql-ws), Server-Sent Events (graphql-sse, both modes) or Apollo's multipart HTTP;
media types and status codes follow the GraphQL-over-HTTP spec (gateway/http_protocol.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionErrorMessage, StartMessage
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyInitMessage
from strawberry.types import ExecutionResult, SubscriptionExecutionResult

from gateway.clientauth import (
    CLOSE_BAD_REQUEST,
    ConnectionRefusal,
    authenticate_connection,
    close_at_expiry,
)
from gateway.context import (
    RequestContext,
    build_context,
    connection_credentials,
    credentials_from,
    params_headers,
)
from gateway.graphiql import GRAPHIQL_CSP, graphiql_html
from gateway.http_protocol import GraphQLOverHTTP, is_subscription
from gateway.metrics import rate_limited
from gateway.persisted import (
    PersistedQueryNotFound,
    refused_stream,
    resolve_payload,
    resolve_request,
    with_document_id,
)
from gateway.ratelimit import create_refusal, subscribe_refusal
from gateway.upstream import Credentials
from schema.errors import label_document_errors

PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
# The legacy protocol has no client pings: the server's keep-alives hold idle connections open through
# proxies that close quiet ones.
LEGACY_KEEP_ALIVE_SECONDS = 15.0


def subscription_limit_error(limit: int | None) -> GraphQLError:
    return GraphQLError(
        f"this connection already runs {limit} operations, the most one connection may; "
        "complete one or open another connection",
        extensions={"code": "RATE_LIMITED", "limit": limit},
    )


def _count_connection_refusal(context: RequestContext) -> None:
    if context.request is not None:
        rate_limited(context.request.app, "subscriptions_per_connection")


NOT_STREAMED = (
    "a subscription needs a stream: a WebSocket at this path (graphql-transport-ws or graphql-ws), "
    "Server-Sent Events (POST with Accept: text/event-stream) or multipart HTTP "
    "(Accept: multipart/mixed;subscriptionSpec=1.0)"
)


async def connection_refusal(
    context: RequestContext, payload: Mapping[str, object]
) -> ConnectionRefusal | None:
    """With client authentication on, the close a WebSocket's `connection_init` gets instead of an ack when
    its bearer token (in the payload, as GraphiQL and graphql-ws clients send headers, or else in the
    handshake) does not verify."""
    if context.request is None:
        return None
    return await authenticate_connection(context.request, params_headers(payload))


class TextWebSocket(ASGIWebSocketAdapter):
    """Sends every protocol message as a text frame, as both WebSocket protocols require (our JSON
    encoder returns bytes, which Strawberry would send as binary frames that clients refuse)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode("utf-8"))
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class TransportWSHandler(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """graphql-transport-ws, refusing an operation past the connection's limit with a coded error, and a
    connection whose bearer token does not verify (closed 4403, or 4400 for a client-sent X-App-UserId)."""

    expiry: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload", {})
        if not (self.connection_init_received or self.connection_timed_out) and isinstance(payload, dict):
            refused = await connection_refusal(self.context, payload)
            if refused is not None:
                await self.websocket.close(code=refused.code, reason=refused.reason)
                return
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.expiry is None and self.context.request is not None:
            self.expiry = close_at_expiry(self.context.request, self.websocket.close)

    async def shutdown(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        await super().shutdown()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and message["id"] not in self.operations
            and len(self.operations) >= limit
        ):
            error = subscription_limit_error(limit)
            _count_connection_refusal(self.context)
            await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
            return
        if self.connection_acknowledged and message["id"] not in self.operations:
            try:
                query = await resolve_payload(self.context, message["payload"])
            except GraphQLError as error:
                await self.send_message({"id": message["id"], "type": "error", "payload": [error.formatted]})
                return
            if query is not None:
                message["payload"]["query"] = query
            refused = await subscribe_refusal(self.context)
            if refused is not None:
                payload = [refused.formatted]
                await self.send_message({"id": message["id"], "type": "error", "payload": payload})
                return
        await super().handle_subscribe(message)


class LegacyWSHandler(BaseGraphQLWSHandler[RequestContext, None]):
    """The legacy graphql-ws protocol, refusing an operation past the connection's limit likewise, and a
    connection whose bearer token does not verify with a `connection_error`, then the same close."""

    expiry: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        payload = message.get("payload") or {}
        if isinstance(payload, dict):
            refused = await connection_refusal(self.context, payload)
            if refused is not None:
                code = "BAD_USER_INPUT" if refused.code == CLOSE_BAD_REQUEST else "UNAUTHENTICATED"
                error: dict[str, object] = {"message": refused.reason, "extensions": {"code": code}}
                await self.send_message(ConnectionErrorMessage(type="connection_error", payload=error))
                await self.websocket.close(code=refused.code, reason=refused.reason)
                return
        await super().handle_connection_init(message)
        # This protocol lets a client send `connection_init` again, with a fresh token.
        if self.expiry is not None:
            self.expiry.cancel()
        if self.connection_acknowledged and self.context.request is not None:
            self.expiry = close_at_expiry(self.context.request, self.websocket.close)

    async def cleanup(self) -> None:
        if self.expiry is not None:
            self.expiry.cancel()
        await super().cleanup()

    async def handle_start(self, message: StartMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and message["id"] not in self.tasks
            and len(self.tasks) >= limit
        ):
            error = subscription_limit_error(limit)
            _count_connection_refusal(self.context)
            await self.send_message({"type": "error", "id": message["id"], "payload": error.formatted})
            return
        if self.connection_acknowledged:
            try:
                query = await resolve_payload(self.context, message["payload"])
            except GraphQLError as error:
                await self.send_message({"type": "error", "id": message["id"], "payload": error.formatted})
                return
            if query is not None:
                message["payload"]["query"] = query
            refused = await subscribe_refusal(self.context)
            if refused is not None:
                await self.send_message({"type": "error", "id": message["id"], "payload": refused.formatted})
                return
        await super().handle_start(message)


class GatewayGraphQL(GraphQLOverHTTP):
    """Strawberry's ASGI view, building each request's context from the app's shared state."""

    websocket_adapter_class = TextWebSocket
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    def __init__(
        self, schema: BaseSchema, *, path: str = "/graphql", graphiql: bool = True, **options: Any
    ) -> None:
        options.setdefault("subscription_protocols", PROTOCOLS)
        options.setdefault("keep_alive", True)
        options.setdefault("keep_alive_interval", LEGACY_KEEP_ALIVE_SECONDS)
        super().__init__(schema, **options)
        self.path = path
        self.graphiql = graphiql

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        settings = request.app.state.settings
        context = self._context(request, credentials_from(request, settings))
        if isinstance(request, WebSocket):
            # Built once per connection, before `connection_init` brings the client's credentials; every
            # operation on the connection then runs with a context of its own (StreamedOperations).
            context.per_operation = lambda connection: self._context(
                request, connection_credentials(connection.connection_params, request, settings)
            )
        return context

    def _context(self, connection: Request | WebSocket, credentials: Credentials) -> RequestContext:
        state = connection.app.state
        return build_context(
            connection,
            credentials,
            client=state.upstream,
            kinds=state.kinds,
            settings=state.settings,
            idempotency=state.idempotency,
            live=state.live,
        )

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
            request_data = await resolve_request(request, request_data, context)
        except GraphQLError as error:
            if isinstance(error, PersistedQueryNotFound):
                # Apollo's Kotlin and iOS clients read a miss only from a 2xx answer, as Apollo Server sends.
                sub_response.status_code = 200
            return ExecutionResult(data=None, errors=[error])
        # Strawberry would run a subscription sent as a plain request like a query, whose field then
        # resolves to a stream no JSON response can hold.
        if is_subscription(request_data, request.app.state.settings):
            return ExecutionResult(
                data=None, errors=[GraphQLError(NOT_STREAMED, extensions={"code": "BAD_USER_INPUT"})]
            )
        refused = await create_refusal(request, request_data, sub_response)
        if refused is not None:
            return refused
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: RequestContext,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        # Streamed operations (SSE, multipart) skip `execute_single`: their persisted document is found
        # here, and a refusal is streamed as the client asked.
        if isinstance(request_data, GraphQLRequestData) and request_data.protocol != "http":
            try:
                request_data = await resolve_request(request, request_data, context)
            except GraphQLError as error:
                return refused_stream(error)
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        # Strawberry drops a request's `documentId`; the body is read again only when it holds the word.
        if not isinstance(data, GraphQLRequestData):
            return data
        if request.method == "GET":
            fields: Mapping[str, object] = request.query_params
        elif "json" in (request.content_type or "") and b"documentId" in (body := await request.get_body()):
            fields = self.parse_json(body)
        else:
            return data
        try:
            return with_document_id(data, fields)
        except GraphQLError as error:
            raise HTTPException(400, error.message) from error

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A GET naming a persisted document has no `query` either, and may accept anything.
        # With GraphiQL off, a browser's GET is answered as any GET without a query.
        params = request.query_params
        return (
            self.graphiql
            and super().should_render_graphql_ide(request)
            and "extensions" not in params
            and "documentId" not in params
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_html(self.path), headers={"Content-Security-Policy": GRAPHIQL_CSP})

    async def process_result(
        self, request: Request | WebSocket, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # Syntax errors end the operation before any schema extension sees its result.
        if result.errors:
            label_document_errors(result.errors)
        return await super().process_result(request, result)  # type: ignore[arg-type]

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        decoded = super().parse_json(data)
        if isinstance(decoded, dict):
            return decoded
        if isinstance(decoded, list) and decoded and all(isinstance(item, dict) for item in decoded):
            return decoded
        raise HTTPException(
            400, f"the request body must be a JSON object with a `query`, not {_json_kind(decoded)}"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # A request the GraphQL layer could not even read still gets a GraphQL-shaped answer.
        response = await self.respond(Request(scope=scope, receive=receive))
        await response(scope, receive, send)


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an empty array" if not value else "an array of non-objects"
    return {str: "a string", bool: "a boolean", int: "a number", float: "a number"}.get(type(value), "that")
