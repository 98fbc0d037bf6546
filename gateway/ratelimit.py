"""Per-caller rate limits (GCRA token buckets): in this process, or in Redis so replicas share one."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import orjson
from graphql import GraphQLError, OperationType
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from gateway.context import RequestContext, connection_credentials, credentials_from
from gateway.loaders.base import credentials_key
from gateway.logs import note_caller
from gateway.metrics import rate_limited
from gateway.settings import Settings
from schema.limits import operation_type_of

logger = logging.getLogger("gateway.ratelimit")

# Seconds to wait for Redis before a request goes through unlimited: a limiter must never be an outage.
REDIS_TIMEOUT = 0.5
FAIL_OPEN_LOG_SECONDS = 60.0
KEY_PREFIX = "metastudio-gateway:rate"

# GCRA in Redis: one stored number per caller (the "theoretical arrival time", in microseconds of Redis's
# own clock, so replicas with skewed clocks still agree). Answers 0 when the request is allowed, else
# the microseconds until it would be.
GCRA_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed_at = tat - (burst - 1) * interval
if now < allowed_at then return allowed_at - now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return 0
"""


@dataclass(frozen=True)
class Limit:
    """One token bucket: `per_second` tokens refill it, and it holds at most `burst`."""

    name: str
    per_second: float
    burst: int

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second


class Limiter(Protocol):
    async def acquire(self, limit: Limit, caller: str) -> float:
        """Take a token from the caller's bucket: 0 when taken, else the seconds until one is there."""

    async def aclose(self) -> None: ...


class MemoryLimiter:
    """One process's buckets; a full bucket is the same as no bucket, so idle callers are forgotten."""

    def __init__(self, capacity: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.clock = clock
        self._tats: dict[tuple[str, str], float] = {}

    def __len__(self) -> int:
        return len(self._tats)

    async def acquire(self, limit: Limit, caller: str) -> float:
        now = self.clock()
        key = (limit.name, caller)
        tat = max(self._tats.get(key, now), now)
        allowed_at = tat - (limit.burst - 1) * limit.interval
        if now < allowed_at:
            return allowed_at - now
        if key not in self._tats and len(self._tats) >= self.capacity:
            self._evict(now)
        self._tats[key] = tat + limit.interval
        return 0.0

    async def aclose(self) -> None:
        self._tats.clear()

    def _evict(self, now: float) -> None:
        for key in [k for k, tat in self._tats.items() if tat <= now]:
            del self._tats[key]
        # Still full of busy callers: forgetting the oldest lets one of them burst again, which beats
        # growing without bound.
        while len(self._tats) >= self.capacity:
            del self._tats[next(iter(self._tats))]


class RedisLimiter:
    """Buckets in Redis, so N replicas enforce one limit; when Redis cannot answer, requests go through."""

    def __init__(self, url: str, prefix: str = KEY_PREFIX) -> None:
        # Imported only with Redis: redis-py loads OpenTelemetry's SDK whenever it is installed.
        from redis.asyncio import Redis
        from redis.exceptions import RedisError

        self._failures: tuple[type[Exception], ...] = (RedisError, OSError)
        self._redis: Redis = Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        self._script = self._redis.register_script(GCRA_SCRIPT)
        self.prefix = prefix
        self._last_warning = -math.inf

    async def acquire(self, limit: Limit, caller: str) -> float:
        interval = max(1, round(limit.interval * 1_000_000))
        try:
            wait = await self._script(
                keys=[f"{self.prefix}:{limit.name}:{caller}"], args=[interval, limit.burst]
            )
        # A limiter must never be an outage: any Redis failure lets the request through.
        except self._failures as error:
            self._warn(error)
            return 0.0
        return int(wait) / 1_000_000

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _warn(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= FAIL_OPEN_LOG_SECONDS:
            self._last_warning = now
            logger.warning("rate limits are not enforced: Redis cannot be reached (%s)", error)


def rate_limiter(redis_url: str | None) -> Limiter:
    return MemoryLimiter() if redis_url is None else RedisLimiter(redis_url)


def request_limit(settings: Settings) -> Limit | None:
    if settings.rate_limit_per_second == 0:
        return None
    return Limit("requests", settings.rate_limit_per_second, settings.rate_limit_burst)


def create_limit(settings: Settings) -> Limit | None:
    if settings.create_rate_limit_per_second == 0:
        return None
    return Limit("creates", settings.create_rate_limit_per_second, settings.create_rate_limit_burst)


def retry_after(wait: float) -> int:
    """Whole seconds, at least 1: what `Retry-After` can say."""
    return max(1, math.ceil(wait))


def rate_limited_error(limit: Limit, wait: float) -> GraphQLError:
    seconds = retry_after(wait)
    return GraphQLError(
        f"too many requests: this caller may send {limit.per_second:g} {limit.name} per second "
        f"(bursts of {limit.burst}); retry in {seconds} s",
        extensions={
            "code": "RATE_LIMITED",
            "limit": {"name": limit.name, "perSecond": limit.per_second, "burst": limit.burst},
            "retryAfter": seconds,
        },
    )


def caller_of(connection: HTTPConnection, settings: Settings) -> str:
    """The caller as the idempotency keys know it: a hash of its credentials (in aksk mode its
    X-App-UserId, or the service itself when it sends none; with GATEWAY_CLIENT_AUTH=jwt the end user
    its verified token names)."""
    return credentials_key(credentials_from(connection, settings))


class RateLimitMiddleware:
    """Refuses a GraphQL request over its caller's limit with 429, before its body is read or parsed;
    every other path (health, readiness, metrics) passes untouched."""

    def __init__(self, app: ASGIApp, *, settings: Settings, path: str) -> None:
        self.app = app
        self.settings = settings
        self.path = path
        self.limit = request_limit(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limit is None or scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        # A browser's preflight carries no credentials and costs nothing upstream.
        if scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        limiter: Limiter = connection.app.state.rate_limiter
        caller = caller_of(connection, self.settings)
        note_caller(caller)
        wait = await limiter.acquire(self.limit, caller)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        rate_limited(connection.app, "request_rate")
        body = orjson.dumps({"errors": [rate_limited_error(self.limit, wait).formatted]})
        accept = connection.headers.get("accept") or ""
        media_type = (
            "application/graphql-response+json" if "graphql-response+json" in accept else "application/json"
        )
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", f"{media_type}; charset=utf-8".encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after(wait)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def is_mutation(data: GraphQLRequestData, settings: Settings | None = None) -> bool:
    # The word is in every mutation document; parsing only those keeps queries at one parse, within the
    # operation limits and shared with the execution through the parse cache.
    if not data.query or "mutation" not in data.query:
        return False
    return operation_type_of(data.query, data.operation_name, settings) == OperationType.MUTATION


async def create_refusal(
    connection: HTTPConnection, data: GraphQLRequestData, sub_response: Response
) -> ExecutionResult | None:
    """A mutation past its caller's stricter create limit: refused with 429 before it runs."""
    settings: Settings = connection.app.state.settings
    limit = create_limit(settings)
    if limit is None or not is_mutation(data, settings):
        return None
    limiter: Limiter = connection.app.state.rate_limiter
    wait = await limiter.acquire(limit, caller_of(connection, settings))
    if wait <= 0:
        return None
    rate_limited(connection.app, "request_rate")
    sub_response.status_code = 429
    sub_response.headers["Retry-After"] = str(retry_after(wait))
    return ExecutionResult(data=None, errors=[rate_limited_error(limit, wait)])


async def subscribe_refusal(context: RequestContext) -> GraphQLError | None:
    """A WebSocket subscribe past its caller's request limit (the caller named by `connection_init`)."""
    connection = context.request
    limit = request_limit(context.settings)
    if connection is None or limit is None:
        return None
    credentials = connection_credentials(context.connection_params, connection, context.settings)
    limiter: Limiter = connection.app.state.rate_limiter
    wait = await limiter.acquire(limit, credentials_key(credentials))
    if wait <= 0:
        return None
    rate_limited(connection.app, "request_rate")
    return rate_limited_error(limit, wait)
