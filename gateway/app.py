"""The gateway's Starlette application: health, readiness and the GraphQL routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from gateway.graphiql import STATIC_PATH, static_app
from gateway.graphql import GatewayGraphQL
from gateway.idempotency import idempotency_store
from gateway.loaders.base import KindCache
from gateway.settings import Settings
from gateway.uploads import UploadGuard
from gateway.upstream import UpstreamClient, UpstreamConfig


def upstream_config(settings: Settings) -> UpstreamConfig:
    if settings.endpoint is None:
        raise ValueError("the gateway needs an upstream endpoint; start the embedded emulator first")
    return UpstreamConfig(
        endpoint=settings.endpoint,
        project_id=settings.project_id,
        auth_mode=settings.auth_mode,
        ak=settings.ak,
        sk=settings.sk,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        total_timeout=settings.total_timeout,
        max_retries=settings.max_retries,
    )


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    upstream: UpstreamClient = request.app.state.upstream
    if await upstream.ping():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "unavailable", "reason": "the upstream does not answer"}, status_code=503)


def create_app(settings: Settings) -> Starlette:
    """Build the gateway for settings whose endpoint is known (real cloud or a running emulator)."""
    config = upstream_config(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with UpstreamClient(config) as upstream:
            app.state.upstream = upstream
            app.state.idempotency = idempotency_store(settings.redis_url)
            try:
                yield
            finally:
                await app.state.idempotency.aclose()

    from schema import schema

    graphql = GatewayGraphQL(schema, path="/graphql", multipart_uploads_enabled=True)
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Mount(STATIC_PATH, static_app(), name="graphiql-static"),
        ],
        middleware=[Middleware(UploadGuard, max_bytes=settings.upload_max_bytes, path="/graphql")],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.kinds = KindCache()
    return app
