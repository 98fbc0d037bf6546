"""Idempotency keys: one create per caller and key, in-process and shared through a real Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest

from gateway.context import build_context
from gateway.idempotency import Claim, IdempotencyStore, MemoryIdempotencyStore, RedisIdempotencyStore
from gateway.loaders.base import KindCache
from gateway.settings import Settings
from gateway.upstream import (
    Credentials,
    UpstreamClient,
    UpstreamConfig,
    UpstreamHTTPError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from schema.mutations import IdempotencyKeyReused, OutcomeUnknown, create_once
from schema.resolvers import GatewayInfo
from tests.support.gateway import gateway_client
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[IdempotencyStore]:
    made: IdempotencyStore = (
        MemoryIdempotencyStore() if request.param == "memory" else RedisIdempotencyStore(REDIS_URL)
    )
    yield made
    await made.aclose()


class Creates:
    """Counts creates, and answers each with a new job id after a moment upstream."""

    def __init__(self, fail_with: BaseException | None = None, delay: float = 0.0) -> None:
        self.count = 0
        self.fail_with = fail_with
        self.delay = delay

    async def __call__(self) -> dict[str, Any]:
        self.count += 1
        await asyncio.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        return {"job_id": f"job-{self.count}-{uuid.uuid4().hex[:6]}"}


def info_for(store: IdempotencyStore, token: str = "alice-token") -> GatewayInfo:
    settings = Settings(endpoint="http://127.0.0.1:9", project_id="p", total_timeout=2.0, read_timeout=1.0)
    client = UpstreamClient(UpstreamConfig(endpoint="http://127.0.0.1:9", project_id="p"))
    context = build_context(
        None, Credentials(token=token), client=client, kinds=KindCache(), settings=settings, idempotency=store
    )
    return cast(GatewayInfo, SimpleNamespace(context=context))


async def once(info: GatewayInfo, key: str | None, body: object, create: Creates) -> dict[str, Any]:
    return await create_once(
        info, operation="CreateThing", idempotency_key=key, fingerprint=body, create=create
    )


async def test_the_same_key_returns_the_first_result_and_creates_once(store: IdempotencyStore) -> None:
    info, create, key = info_for(store), Creates(), uuid.uuid4().hex
    first = await once(info, key, {"name": "a"}, create)
    again = await once(info, key, {"name": "a"}, create)
    assert again == first
    assert create.count == 1


async def test_without_a_key_every_call_creates(store: IdempotencyStore) -> None:
    info, create = info_for(store), Creates()
    await once(info, None, {"name": "a"}, create)
    await once(info, None, {"name": "a"}, create)
    assert create.count == 2


async def test_the_same_key_with_another_input_is_refused(store: IdempotencyStore) -> None:
    info, create, key = info_for(store), Creates(), uuid.uuid4().hex
    await once(info, key, {"name": "a"}, create)
    with pytest.raises(IdempotencyKeyReused):
        await once(info, key, {"name": "b"}, create)
    assert create.count == 1


async def test_keys_belong_to_their_caller(store: IdempotencyStore) -> None:
    create, key = Creates(), uuid.uuid4().hex
    alice = await once(info_for(store, "alice-token"), key, {"name": "a"}, create)
    bob = await once(info_for(store, "bob-token"), key, {"name": "a"}, create)
    assert alice != bob
    assert create.count == 2


async def test_concurrent_requests_with_one_key_create_exactly_once(store: IdempotencyStore) -> None:
    info, create, key = info_for(store), Creates(delay=0.2), uuid.uuid4().hex
    results = await asyncio.gather(*(once(info, key, {"name": "a"}, create) for _ in range(8)))
    assert create.count == 1
    assert all(result == results[0] for result in results)


async def test_a_timed_out_create_is_never_repeated_by_a_retry(store: IdempotencyStore) -> None:
    info, key = info_for(store), uuid.uuid4().hex
    timing_out = Creates(fail_with=UpstreamTimeout("no answer", operation="CreateThing"))
    with pytest.raises(UpstreamTimeout):
        await once(info, key, {"name": "a"}, timing_out)
    working = Creates()
    with pytest.raises(OutcomeUnknown) as raised:
        await once(info, key, {"name": "a"}, working)
    assert working.count == 0
    assert raised.value.extensions == {"code": "UPSTREAM_TIMEOUT"}


async def test_a_refused_create_frees_its_key_for_a_corrected_retry(store: IdempotencyStore) -> None:
    info, key = info_for(store), uuid.uuid4().hex
    refused = Creates(fail_with=UpstreamHTTPError(400, "MSS.00000003", "bad speed"))
    with pytest.raises(UpstreamHTTPError):
        await once(info, key, {"name": "a"}, refused)
    working = Creates()
    await once(info, key, {"name": "a"}, working)
    assert working.count == 1


async def test_a_create_that_never_connected_frees_its_key(store: IdempotencyStore) -> None:
    info, key = info_for(store), uuid.uuid4().hex
    failure = UpstreamUnavailable("ConnectError: refused", operation="CreateThing")
    failure.request_sent = False
    with pytest.raises(UpstreamUnavailable):
        await once(info, key, {"name": "a"}, Creates(fail_with=failure))
    working = Creates()
    await once(info, key, {"name": "a"}, working)
    assert working.count == 1


async def test_a_dropped_connection_after_sending_leaves_the_outcome_unknown(store: IdempotencyStore) -> None:
    info, key = info_for(store), uuid.uuid4().hex
    dropped = UpstreamUnavailable("RemoteProtocolError: closed", operation="CreateThing")
    with pytest.raises(UpstreamUnavailable):
        await once(info, key, {"name": "a"}, Creates(fail_with=dropped))
    with pytest.raises(OutcomeUnknown):
        await once(info, key, {"name": "a"}, Creates())


async def test_replicas_sharing_redis_share_their_keys() -> None:
    replica_a, replica_b = RedisIdempotencyStore(REDIS_URL), RedisIdempotencyStore(REDIS_URL)
    try:
        key, create = uuid.uuid4().hex, Creates(delay=0.2)
        results = await asyncio.gather(
            once(info_for(replica_a), key, {"name": "a"}, create),
            once(info_for(replica_b), key, {"name": "a"}, create),
        )
        assert create.count == 1
        assert results[0] == results[1]
    finally:
        await replica_a.aclose()
        await replica_b.aclose()


async def test_a_key_is_remembered_for_24_hours_in_redis() -> None:
    from redis.asyncio import Redis

    store = RedisIdempotencyStore(REDIS_URL)
    redis = Redis.from_url(REDIS_URL)
    try:
        key = uuid.uuid4().hex
        assert await store.claim(key, "fp", ttl=60) is None
        await store.settle(key, Claim("fp", "done", {"job_id": "j"}), ttl=24 * 3600)
        remaining = await redis.ttl(RedisIdempotencyStore.PREFIX + key)
        assert 24 * 3600 - 5 <= remaining <= 24 * 3600
        assert await store.claim(key, "fp", ttl=60) == Claim("fp", "done", {"job_id": "j"})
    finally:
        await store.aclose()
        await redis.aclose()


async def test_a_memory_key_lapses_after_its_time() -> None:
    store = MemoryIdempotencyStore()
    assert await store.claim("k", "fp", ttl=0.05) is None
    assert await store.claim("k", "fp", ttl=0.05) == Claim("fp", "pending")
    await asyncio.sleep(0.06)
    assert await store.claim("k", "fp", ttl=0.05) is None


CREATE_TRAINING = """
mutation ($input: CreateTrainingJobInput!) {
  createTrainingJob(input: $input) { job { jobId } userErrors { code field } }
}
"""


@pytest.mark.parametrize("redis_url", [None, REDIS_URL], ids=["memory", "redis"])
async def test_a_create_that_times_out_is_reported_and_its_keyed_retry_creates_nothing(
    emulator: LoopbackServer, redis_url: str | None
) -> None:
    async with gateway_client(
        emulator.url, read_timeout=0.3, total_timeout=1.0, max_retries=2, redis_url=redis_url
    ) as gateway:
        await gateway.emulator.post(
            "/_emulator/faults",
            json={"method": "POST", "path": "user/jobs$", "delay": 1.0, "status": 200, "times": 1},
        )
        variables = {"input": {"name": "Anna", "idempotencyKey": uuid.uuid4().hex}}

        first = await gateway.query(CREATE_TRAINING, variables)
        retry = await gateway.query(CREATE_TRAINING, variables)
        await asyncio.sleep(1.0)  # the emulator logs the abandoned call once its delay is over

        posts = [c for c in await gateway.calls() if c["method"] == "POST"]
    assert [e["extensions"]["code"] for e in first["errors"]] == ["UPSTREAM_TIMEOUT"]
    assert [e["extensions"]["code"] for e in retry["errors"]] == ["UPSTREAM_TIMEOUT"]
    assert "unknown" in retry["errors"][0]["message"]
    assert len(posts) == 1
