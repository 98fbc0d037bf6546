"""Subscription limits and upstream cost: caps per connection, gateway and caller; shared polling."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from gql.transport.exceptions import TransportQueryError

from schema.relay import encode_global_id
from tests.support.clock import ManualClock
from tests.support.servers import LoopbackServer
from tests.support.subscriptions import (
    ALICE,
    JOBS,
    TIMEOUT,
    VIDEO,
    WS_PROTOCOLS,
    LiveGateway,
    error_of,
    first_event,
    follow,
    live_gateway,
    subscribe,
    wait_for_idle,
)

# Limits


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_subscriptions_past_the_connections_limit_get_a_clear_error(
    emulator: LoopbackServer, protocol: str
) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_connection=2) as live:
        jobs = await live.client.create_videos(3)
        async with live.session(protocol) as session:
            running = [subscribe(session, VIDEO, jobId=job) for job in jobs[:2]]
            async with asyncio.timeout(TIMEOUT):
                for stream in running:
                    await anext(stream)
            error = await error_of(session, VIDEO, jobId=jobs[2])
            assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 2}
            assert "2 operations" in error["message"]
            # A finished subscription frees its place.
            await running[0].aclose()  # type: ignore[attr-defined]
            await live.client.set_state(jobs[2], "SUCCEED")
            async with asyncio.timeout(TIMEOUT):
                while True:
                    try:
                        events = await follow(subscribe(session, VIDEO, jobId=jobs[2]))
                        break
                    except TransportQueryError:
                        await asyncio.sleep(0.05)
            assert [e["videoJobStateChanged"]["state"] for e in events] == ["SUCCEED"]
            await running[1].aclose()  # type: ignore[attr-defined]


async def test_subscriptions_past_the_gateways_cap_are_rate_limited(emulator: LoopbackServer) -> None:
    async with live_gateway(emulator.url, max_subscriptions=1) as live:
        first, second = await live.client.create_videos(2)
        async with live.session() as one, live.session() as other:
            running = subscribe(one, VIDEO, jobId=first)
            async with asyncio.timeout(TIMEOUT):
                await anext(running)
            error = await error_of(other, VIDEO, jobId=second)
            await running.aclose()  # type: ignore[attr-defined]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert "at most 1 subscriptions" in error["message"]


@pytest.mark.parametrize("protocol", WS_PROTOCOLS)
async def test_one_caller_cannot_take_more_than_its_share_over_many_connections(
    emulator: LoopbackServer, protocol: str
) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_caller=2) as live:
        mine = await live.client.create_videos(3)
        [theirs] = await live.client.create_videos(1, "bob-token")
        async with (
            live.session(protocol) as one,
            live.session(protocol) as two,
            live.session(protocol, payload={**ALICE, "X-App-UserId": "another"}) as three,
            live.session(protocol, payload={"X-Auth-Token": "bob-token"}) as bob,
        ):
            running = [subscribe(one, VIDEO, jobId=mine[0]), subscribe(two, VIDEO, jobId=mine[1])]
            assert [await first_event(stream) for stream in running] == ["WAITING", "WAITING"]

            # A third connection with the same token (whatever app user it names) gets no third slot.
            error = await error_of(three, VIDEO, jobId=mine[2])
            assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 2, "scope": "caller"}
            assert "2 job subscriptions" in error["message"]
            assert "alice-token" not in str(error)
            # Another caller keeps subscribing, and the first caller's streams keep running.
            bobs = subscribe(bob, VIDEO, jobId=theirs)
            assert await first_event(bobs) == "WAITING"
            await live.client.set_state(mine[0], "SUCCEED")
            assert [e["videoJobStateChanged"]["state"] for e in await follow(running[0])] == ["SUCCEED"]

            # The finished subscription gave its slot back.
            await live.client.set_state(mine[2], "SUCCEED")
            async with asyncio.timeout(TIMEOUT):
                while True:
                    try:
                        events = await follow(subscribe(one, VIDEO, jobId=mine[2]))
                        break
                    except TransportQueryError as refused:
                        # The finished stream's unsubscribe may still be under way.
                        assert refused.errors and refused.errors[0]["extensions"]["code"] == "RATE_LIMITED"
                        await asyncio.sleep(0.05)
            assert [e["videoJobStateChanged"]["state"] for e in events] == ["SUCCEED"]
            await running[1].aclose()  # type: ignore[attr-defined]
            await bobs.aclose()  # type: ignore[attr-defined]
        assert await wait_for_idle(live) == {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


async def test_each_job_of_job_state_changed_counts_towards_the_callers_limit(
    emulator: LoopbackServer,
) -> None:
    async with live_gateway(emulator.url, max_subscriptions_per_caller=3) as live:
        jobs = await live.client.create_videos(4)
        ids = [encode_global_id("VideoJob", job_id) for job_id in jobs]
        async with live.session() as session:
            await live.client.reset_calls()
            error = await error_of(session, JOBS, ids=ids)
            assert error["extensions"] == {"code": "RATE_LIMITED", "limit": 3, "scope": "caller"}
            assert "these 4 jobs" in error["message"]
            # Refused as a whole, before any job was read or watched.
            assert await live.client.calls() == []
            assert live.counts()["watchers"] == 0
            stream = subscribe(session, JOBS, ids=ids[:3])
            async with asyncio.timeout(TIMEOUT):
                firsts = [await anext(stream) for _ in range(3)]
            assert sorted(f["jobStateChanged"]["jobId"] for f in firsts) == sorted(jobs[:3])
            await stream.aclose()  # type: ignore[attr-defined]


# Upstream traffic


# A power of two: ten of them add up exactly on the manual clock.
INTERVAL = 0.125


async def upstream_calls_while_watched(
    live: LiveGateway, clock: ManualClock, subscribers: int, connections: int
) -> list[int]:
    """Upstream calls over ten poll intervals while `subscribers` follow one job (spread over
    `connections` WebSockets), then over its last change until every subscriber has completed."""
    client = live.client
    job_id = await client.create_video()
    sessions = [live.session() for _ in range(connections)]
    async with contextlib.AsyncExitStack() as stack:
        opened = [await stack.enter_async_context(s) for s in sessions]
        streams = [subscribe(opened[i % connections], VIDEO, jobId=job_id) for i in range(subscribers)]
        async with asyncio.timeout(TIMEOUT):
            firsts = await asyncio.gather(*(anext(stream) for stream in streams))
        assert {f["videoJobStateChanged"]["state"] for f in firsts} == {"WAITING"}
        await client.reset_calls()
        await clock.advance(10 * INTERVAL)
        steady = len(await client.calls())
        await client.reset_calls()
        await client.set_state(job_id, "SUCCEED")
        await clock.advance(INTERVAL)
        rests = await asyncio.gather(*(follow(stream) for stream in streams))
        last = len(await client.calls())
    assert all([e["videoJobStateChanged"]["state"] for e in rest] == ["SUCCEED"] for rest in rests)
    return [steady, last]


async def test_two_hundred_subscribers_cost_the_upstream_what_one_does(
    emulator: LoopbackServer, clock: ManualClock
) -> None:
    async with live_gateway(
        emulator.url, clock=clock, poll_interval=INTERVAL, fast_poll_interval=INTERVAL
    ) as live:
        one = await upstream_calls_while_watched(live, clock, subscribers=1, connections=1)
        many = await upstream_calls_while_watched(live, clock, subscribers=200, connections=4)
        print(f"1 subscriber: {one}; 200 subscribers: {many}")
        # One list call per interval over the window, whatever the number of subscribers; the last
        # change is read once by the poll, not per subscriber.
        assert one[0] == 10
        assert many[0] == one[0], (one, many)
        assert many[1] == one[1] == 1, (one, many)
        assert await wait_for_idle(live) == {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


async def test_first_reads_of_many_jobs_batch_into_list_calls(emulator: LoopbackServer) -> None:
    # A long poll interval keeps polls out of the count: only the first reads reach the upstream.
    async with live_gateway(
        emulator.url, poll_interval=60.0, fast_poll_interval=60.0, max_subscriptions_per_connection=200
    ) as live:
        jobs = await live.client.create_videos(150)
        await live.client.reset_calls()
        ids = [encode_global_id("VideoJob", job_id) for job_id in jobs]
        async with live.session() as session:
            stream = subscribe(session, JOBS, ids=ids)
            async with asyncio.timeout(TIMEOUT):
                firsts = [await anext(stream) for _ in jobs]
            calls = await live.client.calls()
            await stream.aclose()  # type: ignore[attr-defined]
    assert sorted(f["jobStateChanged"]["jobId"] for f in firsts) == sorted(jobs)
    # 150 first reads share one context: two list calls (100 ids, then 50), not one call per job.
    assert [c["operation"] for c in calls] == ["ListDigitalHumanVideo", "ListDigitalHumanVideo"]
