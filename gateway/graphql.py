"""The /graphql endpoint: Strawberry over Starlette, with our context and an offline GraphiQL."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from gateway.context import RequestContext, build_context, credentials_from
from gateway.graphiql import GRAPHIQL_CSP, graphiql_html
from schema.errors import label_document_errors


class GatewayGraphQL(GraphQL[RequestContext, None]):
    """Strawberry's ASGI view, building each request's context from the app's shared state."""

    def __init__(self, schema: BaseSchema, *, path: str = "/graphql", **options: Any) -> None:
        super().__init__(schema, **options)
        self.path = path

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        state = request.app.state
        return build_context(
            request,
            credentials_from(request, state.settings),
            client=state.upstream,
            kinds=state.kinds,
            settings=state.settings,
            idempotency=state.idempotency,
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
