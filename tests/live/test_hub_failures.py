"""A failing upstream never ends a watch: polls back off, and the change arrives once it recovers."""

from __future__ import annotations

import asyncio

from tests.live import (
    ALICE,
    INTERVAL,
    Subscriber,
    emulator_admin,
    hub_settings,
    running_hub,
    until,
)
from tests.support.servers import LoopbackServer

LIST = "ListDigitalHumanVideo"


async def test_an_upstream_outage_keeps_the_watch_and_delivers_the_change_after_recovery(
    emulator: LoopbackServer,
) -> None:
    async with emulator_admin(emulator.url) as upstream, running_hub(hub_settings(emulator.url)) as hub:
        ref = await upstream.create("video")
        subscriber = Subscriber(hub, ref)
        await until(lambda: subscriber.states == ["WAITING"], what="first load")
        await asyncio.sleep(2 * INTERVAL)

        await upstream.fault(path="digital-human-videos$", status=503, times=None)
        await upstream.reset_calls()
        await upstream.set_state(ref, "PROCESSING")
        await asyncio.sleep(16 * INTERVAL)
        during = await upstream.calls(LIST)
        await upstream.clear_faults()

        # Sixteen intervals at the plain rate would be sixteen calls; backing off, far fewer.
        print(f"503 outage: {len(during)} list calls in 16 intervals")
        assert 2 <= len(during) <= 6, len(during)
        assert {call["status"] for call in during} == {503}
        assert subscriber.states == ["WAITING"]
        assert not subscriber.task.done()

        await until(lambda: subscriber.states == ["WAITING", "PROCESSING"], within=5, what="recovery")
        # Recovered, the poller is back at its normal pace.
        await upstream.set_state(ref, "SUCCEED")
        took = await until(lambda: len(subscriber.states) == 3, within=2, what="next change")
        assert took < 4 * INTERVAL
        assert await subscriber.finished() == ["WAITING", "PROCESSING", "SUCCEED"]
        assert subscriber.error is None


async def test_rate_limited_polls_back_off_harder(emulator: LoopbackServer) -> None:
    async with emulator_admin(emulator.url) as upstream, running_hub(hub_settings(emulator.url)) as hub:
        ref = await upstream.create("picture")
        watch = hub.watch(ref, ALICE)
        watch.seen("WAITING")
        await asyncio.sleep(2 * INTERVAL)

        await upstream.fault(path="picture-modelings/", status=429, times=None, retry_after="1")
        await upstream.reset_calls()
        await asyncio.sleep(16 * INTERVAL)
        during = await upstream.calls("ShowPictureModelingJob")
        await upstream.clear_faults()
        await upstream.set_state(ref, "SUCCEED")

        print(f"429: {len(during)} show calls in 16 intervals")
        assert 1 <= len(during) <= 3, len(during)
        assert {call["status"] for call in during} == {429}
        assert await asyncio.wait_for(anext(watch), 5) == "SUCCEED"
        watch.close()


async def test_a_slow_subscriber_skips_intermediate_states_but_gets_the_terminal_one(
    emulator: LoopbackServer,
) -> None:
    settings = hub_settings(emulator.url, subscriber_queue_size=2)
    async with emulator_admin(emulator.url) as upstream, running_hub(settings) as hub:
        ref = await upstream.create("training")
        pacer = Subscriber(hub, ref)
        await until(lambda: pacer.states == ["WAIT_FILE_UPLOAD"], what="first load")
        slow = hub.watch(ref, ALICE)
        slow.seen("WAIT_FILE_UPLOAD")
        lifecycle = ["AUTO_VERIFYING", "MANUAL_VERIFYING", "TRAINING", "WAIT_USER_CONFIRM", "JOB_SUCCESS"]
        for reached, state in enumerate(lifecycle, start=2):
            await upstream.set_state(ref, state)
            await until(lambda n=reached: len(pacer.states) == n, what=state)  # type: ignore[misc]
            assert hub.counts()["queued"] <= 2

        assert await pacer.finished() == ["WAIT_FILE_UPLOAD", *lifecycle]
        assert [state async for state in slow] == ["AUTO_VERIFYING", "JOB_SUCCESS"]
        slow.close()
