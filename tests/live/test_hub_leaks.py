"""Watching and leaving a thousand times leaves no job, watcher, queue or task behind."""

from __future__ import annotations

import asyncio

from gateway.live.hub import JobStateHub
from tests.live import (
    ALICE,
    BOB,
    INTERVAL,
    HubOnClock,
    Subscriber,
    emulator_admin,
    hub_settings,
    running_hub,
    until,
)
from tests.support.clock import ManualClock, spin
from tests.support.servers import LoopbackServer

NOTHING = {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


async def _poll_started(hub: JobStateHub, clock: ManualClock) -> asyncio.Task[None]:
    """Start moving the clock a poll interval on, and return as soon as the scheduler has started the
    poll falling due (its round is looked for after every loop iteration). The advance, returned, ends
    once the hub has settled after that poll."""
    advancing = asyncio.create_task(clock.advance(INTERVAL))
    while not hub.scheduler.rounds:
        assert not advancing.done(), "no poll fell due"
        await asyncio.sleep(0)
    return advancing


async def test_a_thousand_watch_cycles_leave_nothing_behind(
    hub_on_clock: HubOnClock, clock: ManualClock
) -> None:
    upstream, hub = hub_on_clock
    refs = await upstream.create_many("video", 5) + await upstream.create_many("training", 5)
    await clock.advance(INTERVAL)
    tasks_before = len(asyncio.all_tasks())

    polled = 0
    for cycle in range(1000):
        ref = refs[cycle % len(refs)]
        advancing: asyncio.Task[None] | None = None
        async with hub.watch(ref, ALICE if cycle % 3 else BOB) as watch:
            watch.seen("WAITING" if ref.kind == "video" else "WAIT_FILE_UPLOAD")
            # Now and then a poll runs while the job is watched, or the watch leaves once it started.
            if cycle % 100 == 0:
                await upstream.reset_calls()
                await clock.advance(INTERVAL)
                polled += len(await upstream.calls())
            elif cycle % 100 == 50:
                advancing = await _poll_started(hub, clock)
        if advancing is not None:
            await advancing
    assert polled == 10
    # Subscriptions cancelled in the middle of their first load, or while waiting for events.
    cut_short = [Subscriber(hub, refs[i % len(refs)], ALICE) for i in range(50)]
    await asyncio.sleep(0)
    waiting = [Subscriber(hub, ref) for ref in refs]
    await until(lambda: all(len(s.states) == 1 for s in waiting), what="first loads")
    await clock.advance(2 * INTERVAL)
    for subscriber in cut_short + waiting:
        await subscriber.cancel()

    await until(lambda: hub.counts() == NOTHING, what=f"nothing left, found {hub.counts()}")
    await until(lambda: len(asyncio.all_tasks()) == tasks_before, what="no extra task")
    # Nothing is polled any more.
    await upstream.reset_calls()
    await clock.advance(3 * INTERVAL)
    assert await upstream.calls() == []


async def test_stopping_the_hub_ends_open_watches_and_leaves_no_task(
    emulator: LoopbackServer, clock: ManualClock
) -> None:
    tasks_before = len(asyncio.all_tasks())
    async with emulator_admin(emulator.url) as upstream:
        async with running_hub(hub_settings(emulator.url), clock=clock, stop=False) as hub:
            ref = await upstream.create("video")
            subscriber = Subscriber(hub, ref)
            await until(lambda: subscriber.states == ["WAITING"], what="first load")
            await clock.advance(2 * INTERVAL)
            # Stopped while a poll's upstream call is out (the emulator holds it for half a second).
            latency = {"seconds": 0.5, "path": "digital-human-videos$", "method": "GET"}
            assert (await upstream.http.put("/_emulator/latency", json=latency)).status_code == 200
            advancing = await _poll_started(hub, clock)
            await spin()
            await hub.stop()
            await advancing
            await upstream.http.delete("/_emulator/latency")
            await subscriber.finished()

        assert type(subscriber.error).__name__ == "HubStopped"
        assert hub.counts() == NOTHING
        assert len(asyncio.all_tasks()) == tasks_before
