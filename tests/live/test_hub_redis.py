"""Replicas sharing Redis: events reach every replica, one replica polls a job, another takes over."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from gateway.live.bus import RedisBus
from gateway.live.events import JobChange, JobRef, Message, RefreshHint
from gateway.live.hub import HubStopped, JobStateHub
from gateway.live.leases import RedisLeases
from tests.live import Emulator, Subscriber, emulator_admin, hub_settings, running_hub, until
from tests.support.redis import REDIS_URL
from tests.support.servers import LoopbackServer

REDIS = REDIS_URL
INTERVAL = 0.2
LIST = "ListDigitalHumanVideo"


@pytest.fixture
def namespace() -> str:
    """A channel and lease prefix of this test's own, so tests never hear each other."""
    return f"metastudio-gateway-test:{uuid.uuid4().hex}"


@contextlib.asynccontextmanager
async def replica(
    emulator: LoopbackServer, namespace: str, name: str, interval: float = INTERVAL
) -> AsyncIterator[JobStateHub]:
    bus = RedisBus(REDIS, channel=f"{namespace}:events")
    leases = RedisLeases(REDIS, owner=f"{name}-{uuid.uuid4().hex}", prefix=f"{namespace}:lease:")
    settings = hub_settings(emulator.url, poll_interval=interval)
    try:
        async with running_hub(settings, bus=bus, leases=leases) as hub:
            yield hub
    finally:
        await bus.aclose()
        await leases.aclose()


async def test_every_feed_of_every_replica_hears_each_message(namespace: str) -> None:
    one, two = RedisBus(REDIS, channel=namespace), RedisBus(REDIS, channel=namespace)
    feeds = [one.messages(), one.messages(), two.messages()]
    for feed in feeds:
        await feed.open()
    sent: list[Message] = [
        JobChange(JobRef("video", "v-1"), "PROCESSING"),
        RefreshHint(JobRef("picture", "p-1")),
    ]
    for message in sent:
        await one.publish(message)

    for feed in feeds:
        assert [await asyncio.wait_for(anext(feed), 2) for _ in sent] == sent
    await one.aclose()
    await two.aclose()


async def test_a_lease_has_one_owner_until_released_or_expired(namespace: str) -> None:
    first = RedisLeases(REDIS, owner="first", prefix=namespace)
    second = RedisLeases(REDIS, owner="second", prefix=namespace)
    refs = [JobRef("video", "v-1"), JobRef("training", "v-1")]
    try:
        assert await first.acquire(refs[:1], ttl=0.3) == {refs[0]}
        assert await second.acquire(refs, ttl=0.3) == {refs[1]}
        assert await first.acquire(refs, ttl=0.3) == {refs[0]}  # renewed, and still not the other one
        await first.release(refs)  # gives back its own lease only
        assert await second.acquire(refs, ttl=0.3) == set(refs)
        await asyncio.sleep(0.4)  # the second owner stops renewing: its leases expire
        assert await first.acquire(refs, ttl=5) == set(refs)
        await second.release(refs)  # too late: no longer its leases to give back
        assert await second.acquire(refs, ttl=5) == set()
    finally:
        await first.release(refs)
        await first.aclose()
        await second.aclose()


async def _leases(*hubs: JobStateHub) -> list[int]:
    return [hub.counts()["leases"] for hub in hubs]


async def _list_calls_over(upstream: Emulator, intervals: int) -> tuple[int, float]:
    await upstream.reset_calls()
    started = time.monotonic()
    await asyncio.sleep(intervals * INTERVAL)
    return len(await upstream.calls(LIST)), (time.monotonic() - started) / INTERVAL


async def test_one_replica_polls_a_job_and_both_deliver_its_changes(
    emulator: LoopbackServer, namespace: str
) -> None:
    async with (
        emulator_admin(emulator.url) as upstream,
        replica(emulator, namespace, "a") as a,
        replica(emulator, namespace, "b") as b,
    ):
        ref = await upstream.create("video")
        on_a, on_b = Subscriber(a, ref), Subscriber(b, ref)
        await until(lambda: on_a.states == on_b.states == ["WAITING"], what="first loads")
        await asyncio.sleep(2 * INTERVAL)

        assert sorted(await _leases(a, b)) == [0, 1]
        calls, intervals = await _list_calls_over(upstream, 10)
        assert calls <= intervals + 1, (calls, intervals)

        await upstream.set_state(ref, "PROCESSING")
        await until(lambda: on_a.states == on_b.states == ["WAITING", "PROCESSING"], what="event on both")
        await upstream.set_state(ref, "SUCCEED")
        assert await on_a.finished() == await on_b.finished() == ["WAITING", "PROCESSING", "SUCCEED"]
        await until(lambda: a.counts()["jobs"] == b.counts()["jobs"] == 0, what="both forget the job")


async def test_a_nudge_on_any_replica_makes_the_polling_one_look_now(
    emulator: LoopbackServer, namespace: str
) -> None:
    async with (
        emulator_admin(emulator.url) as upstream,
        replica(emulator, namespace, "a", interval=5.0) as a,
        replica(emulator, namespace, "b", interval=5.0) as b,
    ):
        ref = await upstream.create("picture")
        on_a, on_b = Subscriber(a, ref), Subscriber(b, ref)
        await until(lambda: on_a.states == on_b.states == ["WAITING"], what="first loads")
        await until(lambda: sorted([a.counts()["leases"], b.counts()["leases"]]) == [0, 1], what="lease")
        await until(lambda: a.counts()["tasks"] == b.counts()["tasks"] == 0, what="first polls")
        idle = b if b.counts()["leases"] == 0 else a

        await upstream.set_state(ref, "PROCESSING")
        await idle.nudge(ref)
        took = await until(
            lambda: on_a.states == on_b.states == ["WAITING", "PROCESSING"], within=2, what="event"
        )
        assert took < 1.0
        await on_a.cancel()
        await on_b.cancel()


async def test_when_the_polling_replica_dies_another_takes_over_within_two_intervals(
    emulator: LoopbackServer, namespace: str
) -> None:
    async with (
        emulator_admin(emulator.url) as upstream,
        replica(emulator, namespace, "a") as a,
        replica(emulator, namespace, "b") as b,
    ):
        ref = await upstream.create("video")
        on_a, on_b = Subscriber(a, ref), Subscriber(b, ref)
        await until(lambda: on_a.states == on_b.states == ["WAITING"], what="first loads")
        await until(lambda: sorted([a.counts()["leases"], b.counts()["leases"]]) == [0, 1], what="lease")
        await upstream.set_state(ref, "PROCESSING")
        await until(lambda: on_a.states == on_b.states == ["WAITING", "PROCESSING"], what="event on both")
        (holder, holder_sub), (_, survivor_sub) = sorted(
            [(a, on_a), (b, on_b)], key=lambda pair: -pair[0].counts()["leases"]
        )

        # A crash: the holder's tasks end, and its lease stays in Redis until it expires.
        await holder.stop(release_leases=False)
        crashed = time.monotonic()
        await holder_sub.finished()
        assert isinstance(holder_sub.error, HubStopped)
        # The change happens while nobody polls; the survivor must still see it.
        await upstream.set_state(ref, "SUCCEED")

        assert await survivor_sub.finished() == ["WAITING", "PROCESSING", "SUCCEED"]
        took = time.monotonic() - crashed
        print(f"takeover: next change {took:.2f} s ({took / INTERVAL:.1f} intervals) after the crash")
        assert took < 2 * INTERVAL + 0.1
        assert survivor_sub.error is None
