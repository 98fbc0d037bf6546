"""Watching and leaving a thousand times leaves no job, watcher, queue or task behind."""

from __future__ import annotations

import asyncio

from tests.live import (
    ALICE,
    BOB,
    INTERVAL,
    Subscriber,
    emulator_admin,
    hub_settings,
    running_hub,
    until,
)
from tests.support.servers import LoopbackServer

NOTHING = {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


async def test_a_thousand_watch_cycles_leave_nothing_behind(emulator: LoopbackServer) -> None:
    async with emulator_admin(emulator.url) as upstream, running_hub(hub_settings(emulator.url)) as hub:
        refs = await upstream.create_many("video", 5) + await upstream.create_many("training", 5)
        await asyncio.sleep(INTERVAL)
        tasks_before = len(asyncio.all_tasks())

        for cycle in range(1000):
            ref = refs[cycle % len(refs)]
            async with hub.watch(ref, ALICE if cycle % 3 else BOB) as watch:
                watch.seen("WAITING" if ref.kind == "video" else "WAIT_FILE_UPLOAD")
                # Now and then a poll runs (or is cut short) while the job is watched.
                await asyncio.sleep(INTERVAL / 4 if cycle % 100 == 0 else 0)
        # Subscriptions cancelled in the middle of their first load, or while waiting for events.
        cut_short = [Subscriber(hub, refs[i % len(refs)], ALICE) for i in range(50)]
        await asyncio.sleep(0)
        waiting = [Subscriber(hub, ref) for ref in refs]
        await until(lambda: all(len(s.states) == 1 for s in waiting), what="first loads")
        await asyncio.sleep(2 * INTERVAL)
        for subscriber in cut_short + waiting:
            await subscriber.cancel()

        await until(lambda: hub.counts() == NOTHING, what=f"nothing left, found {hub.counts()}")
        await until(lambda: len(asyncio.all_tasks()) == tasks_before, what="no extra task")
        # Nothing is polled any more.
        await upstream.reset_calls()
        await asyncio.sleep(3 * INTERVAL)
        assert await upstream.calls() == []


async def test_stopping_the_hub_ends_open_watches_and_leaves_no_task(emulator: LoopbackServer) -> None:
    tasks_before = len(asyncio.all_tasks())
    async with emulator_admin(emulator.url) as upstream:
        async with running_hub(hub_settings(emulator.url), stop=False) as hub:
            ref = await upstream.create("video")
            subscriber = Subscriber(hub, ref)
            await until(lambda: subscriber.states == ["WAITING"], what="first load")
            await asyncio.sleep(2 * INTERVAL)
            await hub.stop()
            await subscriber.finished()

        assert type(subscriber.error).__name__ == "HubStopped"
        assert hub.counts() == NOTHING
        assert len(asyncio.all_tasks()) == tasks_before
