"""Callback bindings: which job each callback nonce stands for, in process or in Redis."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Protocol, cast

import orjson
from starlette.requests import HTTPConnection

from gateway.expiring import make_room
from gateway.live.events import JOB_KINDS, JobKind, JobRef
from gateway.upstream import JSONObject

if TYPE_CHECKING:
    from gateway.context import RequestContext

logger = logging.getLogger("gateway.callbacks")

# Upstream keeps a job's callback for as long as the job runs; a day covers every job we know of.
BINDING_SECONDS = 24 * 3600


class CallbackBindings(Protocol):
    """Which job each callback nonce stands for, for BINDING_SECONDS after the job's create."""

    async def bind(self, nonce: str, ref: JobRef) -> None: ...

    async def job_of(self, nonce: str) -> JobRef | None: ...

    async def aclose(self) -> None: ...


class MemoryCallbackBindings:
    """One process's bindings; enough for a single replica, and the default."""

    def __init__(self, capacity: int = 100_000, ttl: float = BINDING_SECONDS) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._jobs: dict[str, tuple[float, JobRef]] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    async def bind(self, nonce: str, ref: JobRef) -> None:
        now = time.monotonic()
        if len(self._jobs) >= self.capacity:
            # Should live bindings fill it, the oldest go: their jobs are still polled.
            make_room(self._jobs, now, self.capacity)
        self._jobs[nonce] = (now + self.ttl, ref)

    async def job_of(self, nonce: str) -> JobRef | None:
        held = self._jobs.get(nonce)
        if held is None:
            return None
        if held[0] <= time.monotonic():
            del self._jobs[nonce]
            return None
        return held[1]

    async def aclose(self) -> None:
        self._jobs.clear()


class RedisCallbackBindings:
    """Bindings every replica reads through one Redis, so a callback may land on any of them."""

    PREFIX = "metastudio-gateway:callback:"

    def __init__(self, url: str, ttl: float = BINDING_SECONDS) -> None:
        from redis.asyncio import Redis

        self.ttl = ttl
        self._redis: Redis = Redis.from_url(url)

    async def bind(self, nonce: str, ref: JobRef) -> None:
        value = orjson.dumps({"kind": ref.kind, "job_id": ref.job_id})
        await self._redis.set(self.PREFIX + nonce, value, px=int(self.ttl * 1000))

    async def job_of(self, nonce: str) -> JobRef | None:
        held = await self._redis.get(self.PREFIX + nonce)
        if held is None:
            return None
        data = orjson.loads(held)
        kind, job_id = data.get("kind"), data.get("job_id")
        if kind not in JOB_KINDS or not isinstance(job_id, str):
            return None
        return JobRef(cast(JobKind, kind), job_id)

    async def aclose(self) -> None:
        await self._redis.aclose()


def callback_bindings(redis_url: str | None) -> CallbackBindings:
    return RedisCallbackBindings(redis_url) if redis_url else MemoryCallbackBindings()


def bindings_of(connection: HTTPConnection) -> CallbackBindings:
    bindings: CallbackBindings = connection.app.state.callback_bindings
    return bindings


async def job_created(context: RequestContext, kind: JobKind, answer: JSONObject, nonce: str | None) -> None:
    """Right after an upstream create: tie the callback sent with it (if any) to the new job, and have
    the job polled closely for a while."""
    job_id = answer.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        return
    ref = JobRef(kind, job_id)
    if nonce is not None and context.request is not None:
        try:
            await bindings_of(context.request).bind(nonce, ref)
        except Exception as exc:
            # The job exists whatever happens here; without the binding it is simply polled.
            logger.warning("could not bind the callback of %s job %s: %s", kind, job_id, type(exc).__name__)
    if context.live is not None:
        context.live.created(ref)
