"""A failing upstream never ends a watch: polls back off, and the change arrives once it recovers."""

from __future__ import annotations

import asyncio

from tests.live import (
    ALICE,
    INTERVAL,
    HubOnClock,
    Subscriber,
    emulator_admin,
    hub_settings,
    running_hub,
    until,
)
from tests.support.clock import ManualClock
from tests.support.servers import LoopbackServer

LIST = "ListDigitalHumanVideo"


async def test_an_upstream_outage_keeps_the_watch_and_delivers_the_change_after_recovery(
    hub_on_clock: HubOnClock, clock: ManualClock
) -> None:
    upstream, hub = hub_on_clock
    ref = await upstream.create("video")
    subscriber = Subscriber(hub, ref)
    await until(lambda: subscriber.states == ["WAITING"], what="first load")
    await clock.advance(2 * INTERVAL)

    await upstream.fault(path="digital-human-videos$", status=503, times=None)
    await upstream.reset_calls()
    await upstream.set_state(ref, "PROCESSING")
    await clock.advance(16 * INTERVAL)
    during = await upstream.calls(LIST)
    await upstream.clear_faults()

    # Sixteen intervals at the plain rate would be sixteen calls; backing off (each failure doubles
    # the wait: 2, 4, 8, 16 intervals), four: 1, 3, 7 and 15 intervals in.
    print(f"503 outage: {len(during)} list calls in 16 intervals")
    assert len(during) == 4, len(during)
    assert {call["status"] for call in during} == {503}
    assert subscriber.states == ["WAITING"]
    assert not subscriber.task.done()

    # The next try, 31 intervals in, finds the upstream recovered.
    await clock.advance(14 * INTERVAL)
    assert subscriber.states == ["WAITING"]
    await clock.advance(INTERVAL)
    assert subscriber.states == ["WAITING", "PROCESSING"]
    # Recovered, the poller is back at its normal pace.
    await upstream.set_state(ref, "SUCCEED")
    await clock.advance(INTERVAL)
    assert subscriber.states == ["WAITING", "PROCESSING", "SUCCEED"]
    assert await subscriber.finished() == ["WAITING", "PROCESSING", "SUCCEED"]
    assert subscriber.error is None


async def test_rate_limited_polls_back_off_harder(hub_on_clock: HubOnClock, clock: ManualClock) -> None:
    upstream, hub = hub_on_clock
    ref = await upstream.create("picture")
    watch = hub.watch(ref, ALICE)
    watch.seen("WAITING")
    await clock.advance(2 * INTERVAL)

    await upstream.fault(path="picture-modelings/", status=429, times=None, retry_after="1")
    await upstream.reset_calls()
    await clock.advance(16 * INTERVAL)
    during = await upstream.calls("ShowPictureModelingJob")
    await upstream.clear_faults()
    await upstream.set_state(ref, "SUCCEED")

    # A 429 counts as two failures: the waits are 4 and 16 intervals, so two calls, 1 and 5
    # intervals in (a 503 outage makes four, see above).
    print(f"429: {len(during)} show calls in 16 intervals")
    assert len(during) == 2, len(during)
    assert {call["status"] for call in during} == {429}
    # The next try, 21 intervals in, reads the change.
    await clock.advance(5 * INTERVAL)
    assert await asyncio.wait_for(anext(watch), 5) == "SUCCEED"
    watch.close()


async def test_a_slow_subscriber_skips_intermediate_states_but_gets_the_terminal_one(
    emulator: LoopbackServer, clock: ManualClock
) -> None:
    settings = hub_settings(emulator.url, subscriber_queue_size=2)
    async with emulator_admin(emulator.url) as upstream, running_hub(settings, clock=clock) as hub:
        ref = await upstream.create("training")
        pacer = Subscriber(hub, ref)
        await until(lambda: pacer.states == ["WAIT_FILE_UPLOAD"], what="first load")
        slow = hub.watch(ref, ALICE)
        slow.seen("WAIT_FILE_UPLOAD")
        lifecycle = ["AUTO_VERIFYING", "MANUAL_VERIFYING", "TRAINING", "WAIT_USER_CONFIRM", "JOB_SUCCESS"]
        for reached, state in enumerate(lifecycle, start=2):
            await upstream.set_state(ref, state)
            await clock.advance(INTERVAL)
            assert len(pacer.states) == reached, (state, pacer.states)
            assert hub.counts()["queued"] <= 2

        assert await pacer.finished() == ["WAIT_FILE_UPLOAD", *lifecycle]
        assert [state async for state in slow] == ["AUTO_VERIFYING", "JOB_SUCCESS"]
        slow.close()
