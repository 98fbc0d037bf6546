"""What watching costs upstream: one poller per job, video jobs a hundred to a list call, own credentials."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

import pytest

from gateway.live.events import JobKind, JobRef
from gateway.live.schedule import CALLBACK_WINDOW
from gateway.live.watch import Watch
from tests.live import (
    ALICE,
    BOB,
    INTERVAL,
    PRINCIPALS,
    Emulator,
    HubOnClock,
    Subscriber,
    emulator_admin,
    hub_settings,
    load,
    running_hub,
    until,
)
from tests.support.clock import ManualClock
from tests.support.servers import LoopbackServer

LIST = "ListDigitalHumanVideo"


def _ids(call: dict[str, object]) -> list[str]:
    return parse_qs(str(call["query"])).get("job_ids", [])


async def _calls_over(
    upstream: Emulator, clock: ManualClock, intervals: int, operation: str | None = None
) -> int:
    """Upstream calls made while the hub's clock moves `intervals` poll intervals on."""
    await upstream.reset_calls()
    await clock.advance(intervals * INTERVAL)
    return len(await upstream.calls(operation))


async def test_two_hundred_watchers_of_a_job_cost_what_one_does(
    hub_on_clock: HubOnClock, clock: ManualClock
) -> None:
    upstream, hub = hub_on_clock
    ref = await upstream.create("video")
    first = Subscriber(hub, ref)
    await until(lambda: first.states == ["WAITING"], what="first load")
    await clock.advance(2 * INTERVAL)
    alone = await _calls_over(upstream, clock, 10)

    await upstream.reset_calls()
    others = [Subscriber(hub, ref) for _ in range(199)]
    await until(lambda: all(s.states == ["WAITING"] for s in others), what="199 first loads")
    # Their first loads share one context, so one upstream read between them (no poll falls due
    # while the clock stands still).
    assert len(await upstream.calls(LIST)) == 1
    await clock.advance(2 * INTERVAL)
    together = await _calls_over(upstream, clock, 10)

    print(f"1 watcher: {alone} calls in 10 intervals; 200 watchers: {together}")
    # One poll an interval, whatever the number of watchers.
    assert alone == 10
    assert together == alone
    await upstream.set_state(ref, "SUCCEED")
    await clock.advance(INTERVAL)
    for subscriber in [first, *others]:
        assert await subscriber.finished() == ["WAITING", "SUCCEED"]


async def test_three_hundred_video_jobs_cost_at_most_three_list_calls_an_interval(
    hub_on_clock: HubOnClock, clock: ManualClock
) -> None:
    upstream, hub = hub_on_clock
    refs = await upstream.create_many("video", 300)
    watches: list[Watch] = []
    # Watches start at scattered times; polls still fall into step.
    for group in range(6):
        for ref in refs[group * 50 : (group + 1) * 50]:
            watch = hub.watch(ref, ALICE)
            watch.seen("WAITING")
            watches.append(watch)
        await clock.advance(INTERVAL / 8 if group % 2 else INTERVAL / 4)
    await clock.advance(3 * INTERVAL)

    await upstream.reset_calls()
    await clock.advance(10 * INTERVAL)
    calls = await upstream.calls(LIST)

    assert len(calls) == 3 * 10, len(calls)
    assert all(len(_ids(call)) <= 100 for call in calls)
    polled = [job_id for call in calls for job_id in _ids(call)]
    assert {ref.job_id for ref in refs} <= set(polled)
    print(f"300 video jobs: {len(calls)} list calls in 10 intervals")

    moved = refs[::60]
    for ref in moved:
        await upstream.set_state(ref, "PROCESSING")
    await clock.advance(INTERVAL)
    for watch in watches:
        if watch.ref in moved:
            assert await asyncio.wait_for(anext(watch), 2) == "PROCESSING"
    assert hub.counts()["queued"] == 0
    for watch in watches:
        watch.close()
    assert hub.counts()["jobs"] == 0


async def test_training_and_picture_jobs_are_shown_one_call_each_an_interval(
    hub_on_clock: HubOnClock, clock: ManualClock
) -> None:
    upstream, hub = hub_on_clock
    refs = await upstream.create_many("training", 5) + await upstream.create_many("picture", 5)
    watches = [hub.watch(ref, ALICE) for ref in refs]
    await clock.advance(2 * INTERVAL)

    await upstream.reset_calls()
    await clock.advance(10 * INTERVAL)
    calls = await upstream.calls()

    for ref in refs:
        shown = [call for call in calls if call["path"].endswith("/" + ref.job_id)]
        assert len(shown) == 10, (ref, len(shown))
    assert {call["operation"] for call in calls} == {"Show2dModelTrainingJob", "ShowPictureModelingJob"}
    for watch in watches:
        watch.close()


async def test_each_callers_jobs_are_polled_with_that_callers_own_credentials(
    hub_on_clock: HubOnClock, clock: ManualClock
) -> None:
    upstream, hub = hub_on_clock
    jobs: dict[JobRef, str] = {}
    for token in ("alice-token", "bob-token"):
        for kind in ("video", "video", "training", "picture"):
            jobs[await upstream.create(kind, token)] = token
    watches = [hub.watch(ref, ALICE if token == "alice-token" else BOB) for ref, token in jobs.items()]
    for watch in watches:
        watch.seen("WAITING" if watch.ref.kind != "training" else "WAIT_FILE_UPLOAD")
    await clock.advance(3 * INTERVAL)
    for ref in jobs:
        await upstream.set_state(ref, "PROCESSING" if ref.kind != "training" else "AUTO_VERIFYING")
    await clock.advance(INTERVAL)
    for watch in watches:
        assert await asyncio.wait_for(anext(watch), 2) in ("PROCESSING", "AUTO_VERIFYING")

    calls = await upstream.calls()
    for ref, token in jobs.items():
        polls = [c for c in calls if ref.job_id in _ids(c) or c["path"].endswith("/" + ref.job_id)]
        assert polls, ref
        assert {call["principal"] for call in polls} == {PRINCIPALS[token]}
        assert all(call["status"] == 200 for call in polls)
    # Both callers' two video jobs share a list call each time, never one call for both callers.
    assert all(len({jobs[JobRef("video", i)] for i in _ids(c)}) == 1 for c in calls if _ids(c))
    for watch in watches:
        watch.close()


async def test_subscribers_with_the_same_credentials_share_one_context_per_event(
    emulator: LoopbackServer,
) -> None:
    # Polled only when nudged, so that no poll of the job falls in the window the calls are counted in.
    settings = hub_settings(emulator.url, poll_interval=600.0, fast_poll_interval=600.0)
    async with emulator_admin(emulator.url) as upstream, running_hub(settings) as hub:
        ref = await upstream.create("video")
        one, two = Subscriber(hub, ref), Subscriber(hub, ref)
        await until(lambda: one.states == two.states == ["WAITING"], what="first loads")
        await upstream.set_state(ref, "PROCESSING")
        await hub.nudge(ref)
        await until(lambda: one.states == two.states == ["WAITING", "PROCESSING"], what="event")
        await upstream.reset_calls()

        first = hub.event_context(ref, ALICE, "PROCESSING")
        assert hub.event_context(ref, ALICE, "PROCESSING") is first
        assert hub.event_context(ref, BOB, "PROCESSING") is not first
        assert hub.event_context(ref, ALICE, "SUCCEED") is not first
        # The poll that saw PROCESSING primed the context: summary fields cost no call at all.
        second = hub.event_context(ref, ALICE, "PROCESSING")
        summaries = await asyncio.gather(load(first, ref), load(second, ref))
        assert [s["state"] for s in summaries] == ["PROCESSING", "PROCESSING"]
        assert await upstream.calls() == []
        # Details need the show call: one for both subscribers.
        shown = await asyncio.gather(
            first.loaders.video.detail(ref.job_id),
            hub.event_context(ref, ALICE, "PROCESSING").loaders.video.detail(ref.job_id),
        )
        assert all(answer is not None for answer in shown)
        assert [call["operation"] for call in await upstream.calls()] == ["Show2DDigitalHumanVideo"]
        await one.cancel()
        await two.cancel()


async def test_a_created_job_is_polled_fast_for_a_while(emulator: LoopbackServer, clock: ManualClock) -> None:
    fast = 0.0625
    settings = hub_settings(emulator.url, poll_interval=2.0, fast_poll_interval=fast, fast_poll_seconds=5)
    async with emulator_admin(emulator.url) as upstream, running_hub(settings, clock=clock) as hub:
        ref = await upstream.create("picture")
        hub.created(ref)
        subscriber = Subscriber(hub, ref)
        await until(lambda: subscriber.states == ["WAITING"], what="first load")
        await clock.advance(2 * fast)
        await upstream.set_state(ref, "PROCESSING")

        # The next fast poll brings the change, long before a plain interval would have passed.
        await clock.advance(fast)
        assert subscriber.states == ["WAITING", "PROCESSING"]
        await subscriber.cancel()


async def test_a_nudge_polls_the_job_at_once(emulator: LoopbackServer, clock: ManualClock) -> None:
    settings = hub_settings(emulator.url, poll_interval=5.0)
    async with emulator_admin(emulator.url) as upstream, running_hub(settings, clock=clock) as hub:
        ref = await upstream.create("training")
        subscriber = Subscriber(hub, ref)
        await until(lambda: subscriber.states == ["WAIT_FILE_UPLOAD"], what="first load")
        await until(lambda: hub.counts()["tasks"] == 0, what="first poll")
        await upstream.set_state(ref, "AUTO_VERIFYING")
        await hub.nudge(ref)

        # Not a moment of the hub's time passes: the nudge alone brings the change.
        await clock.advance(0)
        assert subscriber.states == ["WAIT_FILE_UPLOAD", "AUTO_VERIFYING"]
        await subscriber.cancel()


async def test_nudges_while_a_look_is_out_cost_one_more_look_at_most(
    emulator: LoopbackServer, clock: ManualClock
) -> None:
    settings = hub_settings(emulator.url, poll_interval=30.0, fast_poll_interval=30.0)
    async with emulator_admin(emulator.url) as upstream, running_hub(settings, clock=clock) as hub:
        ref = await upstream.create("picture")
        subscriber = Subscriber(hub, ref)
        await until(lambda: subscriber.states == ["WAITING"], what="first load")
        latency = {"seconds": 0.5, "path": ref.job_id, "method": "GET"}
        assert (await upstream.http.put("/_emulator/latency", json=latency)).status_code == 200
        await upstream.reset_calls()

        await hub.nudge(ref)
        await until(lambda: hub.counts()["tasks"] == 1, what="a slow look")
        for _ in range(50):
            await hub.nudge(ref)
        await until(lambda: hub.counts()["tasks"] == 0, what="the look's end")
        await upstream.http.delete("/_emulator/latency")
        # The look that was out may have read the job before what the nudges announced: one more look
        # is owed, at the end of the window, for all fifty of them.
        await clock.advance(CALLBACK_WINDOW - INTERVAL)
        assert len(await upstream.calls()) == 1
        await clock.advance(INTERVAL)
        assert len(await upstream.calls()) == 2
        await clock.advance(CALLBACK_WINDOW)
        assert len(await upstream.calls()) == 2

        await upstream.set_state(ref, "PROCESSING")
        await hub.nudge(ref)
        await clock.advance(0)
        assert subscriber.states == ["WAITING", "PROCESSING"]
        assert len(await upstream.calls()) == 3
        await subscriber.cancel()


@pytest.mark.parametrize(("kind", "moved"), [("training", "TRAINING"), ("picture", "PROCESSING")])
async def test_a_shown_kinds_poll_answers_its_event_context_without_a_call(
    emulator: LoopbackServer, kind: JobKind, moved: str
) -> None:
    # Polled only when nudged, so that no poll of the job falls in the window the calls are counted in.
    settings = hub_settings(emulator.url, poll_interval=600.0, fast_poll_interval=600.0)
    async with emulator_admin(emulator.url) as upstream, running_hub(settings) as hub:
        ref = await upstream.create(kind)
        subscriber = Subscriber(hub, ref)
        await until(lambda: len(subscriber.states) == 1, what="first load")
        await upstream.set_state(ref, moved)
        await hub.nudge(ref)
        await until(lambda: subscriber.states[-1:] == [moved], what="event")
        await upstream.reset_calls()

        # The poll read the job with its show call, which answers every field: the event costs nothing.
        context = hub.event_context(ref, ALICE, moved)
        assert (await load(context, ref))["state"] == moved
        assert await upstream.calls() == []
        await subscriber.cancel()
