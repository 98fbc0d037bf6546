"""A caller of a shared load that is cancelled leaves the load to the others waiting for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateway.context import RequestContext, build_context
from gateway.idempotency import MemoryIdempotencyStore
from gateway.loaders.base import KindCache
from gateway.settings import Settings
from gateway.upstream import Credentials, UpstreamClient, UpstreamConfig
from tests.support.gateway import PROJECT, TRAINING_BODY, V1, VIDEO_BODY
from tests.support.http import loopback
from tests.support.servers import LoopbackServer

TOKEN = "alice-token"


@pytest.fixture
async def context(emulator: LoopbackServer) -> AsyncIterator[RequestContext]:
    settings = Settings(endpoint=emulator.url, project_id=PROJECT, auth_mode="token", max_retries=0)
    async with UpstreamClient(UpstreamConfig(emulator.url, PROJECT, max_retries=0)) as client:
        yield build_context(
            None,
            Credentials(token=TOKEN),
            client=client,
            kinds=KindCache(),
            settings=settings,
            idempotency=MemoryIdempotencyStore(),
        )


async def created(emulator: LoopbackServer, path: str, body: object) -> str:
    async with loopback(emulator.url) as http:
        response = await http.post(f"{V1}{path}", json=body, headers={"X-Auth-Token": TOKEN})
        await http.put("/_emulator/latency", json={"seconds": 0.2})
    job_id: str = response.json()["job_id"]
    return job_id


async def one_cancelled_one_served(load: Callable[[], Awaitable[object]]) -> object:
    cancelled = asyncio.ensure_future(load())
    served = asyncio.ensure_future(load())
    await asyncio.sleep(0.05)  # both wait for the same upstream answer
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    answer = await served
    # And the key's cached load still answers later callers.
    assert await load() == answer
    return answer


async def test_a_cancelled_caller_leaves_a_video_summary_to_the_others(
    emulator: LoopbackServer, context: RequestContext
) -> None:
    job_id = await created(emulator, "/2d-digital-human-videos", VIDEO_BODY)
    answer = await one_cancelled_one_served(lambda: context.loaders.video.summary(job_id))
    assert isinstance(answer, dict) and answer["job_id"] == job_id


async def test_a_cancelled_caller_leaves_a_video_detail_to_the_others(
    emulator: LoopbackServer, context: RequestContext
) -> None:
    job_id = await created(emulator, "/2d-digital-human-videos", VIDEO_BODY)
    answer = await one_cancelled_one_served(lambda: context.loaders.video.detail(job_id))
    assert isinstance(answer, dict) and answer["job_id"] == job_id


async def test_a_cancelled_caller_leaves_a_training_job_to_the_others(
    emulator: LoopbackServer, context: RequestContext
) -> None:
    job_id = await created(emulator, "/digital-human-training-manage/user/jobs", TRAINING_BODY)
    answer = await one_cancelled_one_served(lambda: context.loaders.training.basic.load(job_id))
    assert isinstance(answer, dict) and answer["job_id"] == job_id


async def test_a_cancelled_caller_leaves_a_training_lookup_queued_ahead_to_the_others(
    emulator: LoopbackServer, context: RequestContext
) -> None:
    job_id = await created(emulator, "/digital-human-training-manage/user/jobs", TRAINING_BODY)
    answer = await one_cancelled_one_served(lambda: context.loaders.training.basic.shared(job_id))
    assert isinstance(answer, dict) and answer["job_id"] == job_id


async def test_lookups_queued_together_are_each_left_to_the_others_when_one_waiter_is_cancelled(
    emulator: LoopbackServer, context: RequestContext
) -> None:
    job_ids = [await created(emulator, "/2d-digital-human-videos", VIDEO_BODY) for _ in range(3)]

    async def in_turn(loads: list[Awaitable[object]]) -> list[object]:
        return [await load for load in loads]

    # As `nodes` looks jobs up: every load queued at the call, each awaited in turn later.
    answers = await one_cancelled_one_served(
        lambda: in_turn([context.loaders.video.summary(job_id) for job_id in job_ids])
    )
    assert isinstance(answers, list)
    assert [a["job_id"] for a in answers if isinstance(a, dict)] == job_ids
