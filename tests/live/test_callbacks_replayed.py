"""Replayed callbacks: a burst of them costs the upstream a bounded number of looks, and no event."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.live.callbacks import (
    CREATE_VIDEO,
    FOLLOW_VIDEO,
    PROMPT,
    VIDEO_INPUT,
    Follower,
    Upstream,
    assert_gateway_callback,
    mutate,
)
from tests.support.clock import ManualClock

# Replayed callbacks

REPLAYS = 400
REPLAY_CONCURRENCY = 32
# The hub looks at a job at most once per this many seconds however many callbacks name it.
LOOK_WINDOW = 1.0


async def replay(gateway: httpx.AsyncClient, token: str, job_id: str, times: int = REPLAYS) -> float:
    """POST one valid callback `times` times, many at once; how long the burst took."""
    body = {"job_id": job_id, "state": "SUCCEED", "job_type": "DIGITAL_HUMAN_2D"}
    gate = asyncio.Semaphore(REPLAY_CONCURRENCY)

    async def one() -> int:
        async with gate:
            return (await gateway.post(f"/callbacks/{token}", json=body)).status_code

    started = time.monotonic()
    statuses = await asyncio.gather(*(one() for _ in range(times)))
    assert set(statuses) == {204}
    return time.monotonic() - started


async def test_a_replayed_callback_costs_the_upstream_a_bounded_number_of_looks(
    upstream: Upstream, gateway: httpx.AsyncClient, clock: ManualClock
) -> None:
    job_id = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    token = assert_gateway_callback(upstream.callback_url(job_id), gateway)
    async with Follower(gateway, FOLLOW_VIDEO, job_id) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await upstream.forget_calls()
        # The burst spans a window and a half of the hub's time: a quarter of it every half window.
        took = 0.0
        for _ in range(4):
            took += await replay(gateway, token, job_id, times=REPLAYS // 4)
            await clock.advance(LOOK_WINDOW / 2)
        # Long enough for the one look a burst may leave owing at the end of its last window.
        await clock.advance(2 * LOOK_WINDOW)
        looks = len(await upstream.calls())
        print(f"{REPLAYS} replayed callbacks in {took:.2f} s: {looks} upstream calls")
        # One look for each window the burst began (its first callback's, then the one after), and the
        # look the callbacks of the last window still owe at its end; polls are 30 s apart, so none of
        # these calls is a poll.
        assert looks == 3, looks
        assert follower.events.empty()


async def _delivered(upstream: Upstream) -> None:
    """Wait for the gateway to have answered the emulator's callback."""
    deadline = time.monotonic() + PROMPT
    while not any(sent["status"] is not None for sent in await upstream.callbacks()):
        assert time.monotonic() < deadline, "the emulator's callback did not reach the gateway"
        await asyncio.sleep(0.01)


async def test_a_change_signalled_right_after_a_burst_still_reaches_the_subscriber(
    upstream: Upstream, gateway: httpx.AsyncClient, clock: ManualClock
) -> None:
    job_id = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    token = assert_gateway_callback(upstream.callback_url(job_id), gateway)
    async with Follower(gateway, FOLLOW_VIDEO, job_id) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await replay(gateway, token, job_id)
        # The job ends while the burst's looks are still being coalesced: the emulator's own callback
        # lands inside a window, and must still bring the change.
        await upstream.finish(job_id)
        await _delivered(upstream)
        await clock.advance(LOOK_WINDOW)
        event = await follower.next()
        assert event is not None and event[0] == "SUCCEED"
        assert await follower.next() is None
    [sent] = await upstream.callbacks()
    assert (sent["job_id"], sent["state"], sent["status"]) == (job_id, "SUCCEED", 204)


async def test_a_callback_for_a_job_whose_end_was_published_costs_nothing(
    upstream: Upstream, gateway: httpx.AsyncClient, clock: ManualClock
) -> None:
    job_id = await mutate(gateway, CREATE_VIDEO, "createVideoJob", VIDEO_INPUT)
    token = assert_gateway_callback(upstream.callback_url(job_id), gateway)
    async with Follower(gateway, FOLLOW_VIDEO, job_id) as follower:
        assert (await follower.next())[0] == "WAITING"  # type: ignore[index]
        await upstream.finish(job_id)
        assert (await follower.next())[0] == "SUCCEED"  # type: ignore[index]
        assert await follower.next() is None
    await upstream.forget_calls()
    took = await replay(gateway, token, job_id, times=100)
    await clock.advance(2 * LOOK_WINDOW)
    print(f"100 replays of a finished job's callback in {took:.2f} s: {len(await upstream.calls())} calls")
    assert await upstream.calls() == []
    # The callback is still accepted, and the job still reads as finished.
    async with Follower(gateway, FOLLOW_VIDEO, job_id) as again:
        assert (await again.next())[0] == "SUCCEED"  # type: ignore[index]
        assert await again.next() is None
