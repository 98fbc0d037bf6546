"""The gateway's Starlette application: health, readiness and the GraphQL routes."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute

from gateway.bearer_tokens import client_auth
from gateway.clientauth import ClientAuthMiddleware
from gateway.context import build_context
from gateway.drain import SHUTTING_DOWN, Drain, DrainGuard
from gateway.edge import inner_middleware, outer_middleware
from gateway.graphiql import STATIC_PATH, static_app
from gateway.graphql import GatewayGraphQL
from gateway.idempotency import IdempotencyStore, idempotency_store
from gateway.live.bus import EventBus, MemoryBus, RedisBus
from gateway.live.callback_bindings import callback_bindings
from gateway.live.callback_logs import hide_callback_tokens
from gateway.live.callback_route import callback_route
from gateway.live.clock import RUNNING_LOOP, Clock
from gateway.live.hub import JobStateHub
from gateway.live.leases import Leases, MemoryLeases, RedisLeases
from gateway.loaders.base import KindCache
from gateway.metrics import Metrics, metrics_endpoint
from gateway.persisted import persisted_documents
from gateway.ratelimit import RateLimitMiddleware, rate_limiter
from gateway.settings import Settings
from gateway.trusted import trusted_sources
from gateway.uploads import UploadGuard
from gateway.upstream import UpstreamClient, UpstreamConfig
from schema import schema_for
from schema.kinds import job_is_terminal

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

    from gateway.tracing import Tracing


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
        max_connections=settings.upstream_max_connections,
        read_cache_seconds=settings.read_cache_seconds,
        read_cache_terminal_seconds=settings.read_cache_terminal_seconds,
        read_cache_max_entries=settings.read_cache_max_entries,
        read_cache_max_bytes=settings.read_cache_max_bytes,
    )


def live_fan_out(settings: Settings) -> tuple[EventBus, Leases]:
    """In-process events and leases for one gateway; Redis pub/sub and leases when replicas share one."""
    if settings.redis_url is None:
        return MemoryBus(), MemoryLeases()
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    return RedisBus(settings.redis_url), RedisLeases(settings.redis_url, owner)


def live_hub(
    settings: Settings,
    upstream: UpstreamClient,
    kinds: KindCache,
    idempotency: IdempotencyStore,
    *,
    clock: Clock = RUNNING_LOOP,
) -> tuple[JobStateHub, EventBus, Leases]:
    bus, leases = live_fan_out(settings)
    hub = JobStateHub(
        client=upstream,
        settings=settings,
        bus=bus,
        leases=leases,
        context_for=lambda credentials: build_context(
            None, credentials, client=upstream, kinds=kinds, settings=settings, idempotency=idempotency
        ),
        is_terminal=job_is_terminal,
        clock=clock,
    )
    return hub, bus, leases


def app_tracing(settings: Settings, provider: TracerProvider | None) -> Tracing:
    """The app's tracing; OpenTelemetry is imported only here, once the app is known to trace."""
    from gateway.tracing import start_tracing

    return start_tracing(settings, provider)


async def healthz(request: Request) -> JSONResponse:
    """Alive unless upstream calls have been unable to get a connection for longer than a pool under
    load ever waits: a state a restart cures and waiting does not."""
    upstream: UpstreamClient = request.app.state.upstream
    limit = request.app.state.settings.pool_wedge_seconds
    starved = upstream.pool_starved_for()
    if starved > limit:
        reason = f"no upstream call has got a connection for {starved:.0f} s (limit {limit:g} s)"
        return JSONResponse({"status": "wedged", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    drain: Drain = request.app.state.drain
    if drain.draining:
        return JSONResponse({"status": "unavailable", "reason": SHUTTING_DOWN}, status_code=503)
    upstream: UpstreamClient = request.app.state.upstream
    reason = await upstream.unready_reason()
    if reason is None:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


def create_app(
    settings: Settings,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    tracer_provider: TracerProvider | None = None,
    live_clock: Clock = RUNNING_LOOP,
) -> Starlette:
    """Build the gateway for settings whose endpoint is known (real cloud or a running emulator).

    `upstream_transport` replaces the network under the upstream client (bench/cpu.py replays recorded
    answers through it to time the gateway's own work). `tracer_provider` traces the app through it
    (tests pass one with an in-memory exporter; its owner shuts it down); without one, the app traces
    only when the settings name an OTLP endpoint. `live_clock` is the clock the live hub keeps its poll
    schedule by (tests move one by hand); by default the running event loop's."""
    config = upstream_config(settings)
    traced = tracer_provider is not None or settings.otlp_endpoint is not None
    drain = Drain()
    # Each app its own registry: tests run several apps in one process, and each replica reports its own.
    metrics = Metrics()
    verifier = client_auth(settings)
    # The access log and httpx write request URLs, and a callback's URL holds its job's secret.
    hide_callback_tokens()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.tracing = tracing = app_tracing(settings, tracer_provider) if traced else None
        # Spans still queued are exported once everything else has stopped.
        async with (
            tracing or contextlib.nullcontext(),
            UpstreamClient(config, transport=upstream_transport, is_terminal=job_is_terminal) as upstream,
        ):
            app.state.upstream = upstream
            upstream.observe(metrics.upstream_request)
            if tracing is not None:
                upstream.trace(tracing.upstream)
            metrics.upstream = upstream
            app.state.idempotency = idempotency_store(settings.redis_url)
            app.state.rate_limiter = rate_limiter(settings.redis_url)
            app.state.callback_bindings = callback_bindings(settings.redis_url)
            app.state.persisted = persisted_documents(
                settings.redis_url,
                settings.persisted_queries_max,
                trusted_sources(settings.trusted_documents),
            )
            hub, bus, leases = live_hub(
                settings, upstream, app.state.kinds, app.state.idempotency, clock=live_clock
            )
            app.state.live = hub
            metrics.hub = hub
            # A drain stops the hub early: SSE and multipart streams end, and its leases go at once.
            drain.add_stop(hub.stop)
            # Then graphql-sse's reserved streams end, once the hub has ended their subscriptions.
            drain.add_stop(graphql.reservations.close)
            try:
                await hub.start()
                try:
                    yield
                finally:
                    drain.remove_stop(hub.stop)
                    drain.remove_stop(graphql.reservations.close)
                    await hub.stop()
                    await graphql.reservations.close()
                    await bus.aclose()
                    await leases.aclose()
            finally:
                await app.state.idempotency.aclose()
                await app.state.rate_limiter.aclose()
                await app.state.callback_bindings.aclose()
                await app.state.persisted.aclose()
                if verifier is not None:
                    await verifier.aclose()

    graphql = GatewayGraphQL(
        schema_for(settings.execution, traced),
        path="/graphql",
        multipart_uploads_enabled=True,
        graphiql=settings.graphiql,
        settings=settings,
        allowed_origins=settings.allowed_origins,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
    )
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            # Every method reaches the view, which answers one it does not take with a GraphQL error.
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            callback_route(),
            *([Mount(STATIC_PATH, static_app(), name="graphiql-static")] if settings.graphiql else []),
        ],
        middleware=[
            *outer_middleware(settings),
            Middleware(DrainGuard, drain=drain),
            # Before the rate limits, which then count the caller its bearer token names.
            *(
                [Middleware(ClientAuthMiddleware, verifier=verifier, settings=settings, path="/graphql")]
                if verifier is not None
                else []
            ),
            Middleware(RateLimitMiddleware, settings=settings, path="/graphql"),
            *inner_middleware(settings, path="/graphql"),
            Middleware(UploadGuard, max_bytes=settings.upload_max_bytes, path="/graphql"),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.kinds = KindCache()
    app.state.drain = drain
    app.state.metrics = metrics
    app.state.client_auth = verifier
    return app
