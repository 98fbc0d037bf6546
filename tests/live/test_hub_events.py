"""A watch gets every state change of its job once, in order, and ends after a terminal state."""

from __future__ import annotations

import asyncio

import pytest

from gateway.live.events import JobRef
from gateway.live.watch import CallerLimitReached, JobGone, TooManySubscriptions, Watch
from gateway.upstream import Credentials
from tests.live import (
    ALICE,
    BOB,
    INTERVAL,
    HubOnClock,
    Subscriber,
    hub_settings,
    is_terminal,
    running_hub,
    until,
)
from tests.support.clock import ManualClock
from tests.support.servers import LoopbackServer

LIFECYCLES = {
    "video": ["WAITING", "PROCESSING", "SUCCEED"],
    "picture": ["WAITING", "PROCESSING", "SUCCEED"],
    "training": ["WAIT_FILE_UPLOAD", "AUTO_VERIFYING", "TRAINING", "JOB_SUCCESS"],
}


@pytest.mark.parametrize("kind", ["video", "training", "picture"])
async def test_watch_sees_each_state_once_in_order_then_ends(
    hub_on_clock: HubOnClock, clock: ManualClock, kind: str
) -> None:
    upstream, hub = hub_on_clock
    lifecycle = LIFECYCLES[kind]
    ref = await upstream.create(kind)  # type: ignore[arg-type]
    subscriber = Subscriber(hub, ref)
    await until(lambda: subscriber.states == lifecycle[:1], what="first load")
    for reached, state in enumerate(lifecycle[1:], start=2):
        await upstream.set_state(ref, state)
        # The next poll brings it.
        await clock.advance(INTERVAL)
        assert subscriber.states == lifecycle[:reached]
        # A few more polls see the same state: nothing more is delivered.
        await clock.advance(3 * INTERVAL)
        assert subscriber.states == lifecycle[:reached]

    assert await subscriber.finished() == lifecycle
    assert subscriber.error is None
    await until(lambda: hub.counts()["jobs"] == 0, what="job forgotten")


async def test_a_terminal_job_is_polled_no_more(hub_on_clock: HubOnClock, clock: ManualClock) -> None:
    upstream, hub = hub_on_clock
    ref = await upstream.create("video")
    watch = hub.watch(ref, ALICE)
    watch.seen("WAITING")
    await upstream.set_state(ref, "FAILED")
    await clock.advance(INTERVAL)
    assert [state async for state in watch] == ["FAILED"]
    await upstream.reset_calls()
    await clock.advance(5 * INTERVAL)

    assert await upstream.calls() == []
    assert hub.counts()["watchers"] == 1  # still subscribed: only its own exit unregisters it
    watch.close()
    assert hub.counts() == {"jobs": 0, "watchers": 0, "queued": 0, "tasks": 0, "leases": 0}


async def test_watcher_who_cannot_read_the_job_gets_job_gone_while_the_owner_keeps_watching(
    hub_on_clock: HubOnClock, clock: ManualClock
) -> None:
    upstream, hub = hub_on_clock
    ref = await upstream.create("training", "bob-token")
    owner = hub.watch(ref, BOB)
    intruder = hub.watch(ref, ALICE)
    owner.seen("WAIT_FILE_UPLOAD")
    intruder.seen("WAIT_FILE_UPLOAD")

    # Each newcomer's credentials are tried on a poll of their own: the owner's, then the intruder's.
    await clock.advance(2 * INTERVAL)
    with pytest.raises(JobGone):
        await asyncio.wait_for(anext(intruder), 2)
    intruder.close()
    await upstream.set_state(ref, "AUTO_VERIFYING")
    await clock.advance(INTERVAL)
    assert await asyncio.wait_for(anext(owner), 2) == "AUTO_VERIFYING"
    owner.close()


async def test_a_deleted_job_ends_its_watches_with_job_gone(
    hub_on_clock: HubOnClock, clock: ManualClock
) -> None:
    upstream, hub = hub_on_clock
    ref = await upstream.create("training")
    subscriber = Subscriber(hub, ref)
    await until(lambda: subscriber.states == ["WAIT_FILE_UPLOAD"], what="first load")
    response = await upstream.http.delete(
        f"/v1/demo-project/digital-human-training-manage/user/jobs/{ref.job_id}",
        headers={"X-Auth-Token": "alice-token"},
    )
    assert response.status_code in (200, 204), response.text

    await clock.advance(INTERVAL)
    await subscriber.finished()
    assert isinstance(subscriber.error, JobGone)
    assert hub.counts()["jobs"] == 0


async def test_past_the_subscription_cap_a_watch_is_refused(emulator: LoopbackServer) -> None:
    settings = hub_settings(emulator.url, max_subscriptions=3)
    async with running_hub(settings) as hub:
        ref = JobRef("video", "some-job")
        watches = [hub.watch(ref, ALICE) for _ in range(3)]
        with pytest.raises(TooManySubscriptions, match="at most 3"):
            hub.watch(ref, ALICE)
        watches.pop().close()
        hub.watch(ref, BOB).close()
        for watch in watches:
            watch.close()


@pytest.mark.parametrize("auth_mode", ["token", "aksk"])
async def test_each_caller_holds_at_most_its_share_of_watches(
    emulator: LoopbackServer, auth_mode: str
) -> None:
    # Polls are far off: only the counting is under test.
    settings = hub_settings(
        emulator.url, auth_mode=auth_mode, poll_interval=60.0, max_subscriptions_per_caller=2
    )
    if auth_mode == "token":
        # One token is one caller, whatever app user it names.
        same = [Credentials(token="alice-token"), Credentials(token="alice-token", app_user_id="u2")]
        others = [Credentials(token="bob-token")]
    else:
        # Each app user is a caller; callers naming none are the service itself, one caller too.
        same = [Credentials(app_user_id="u1"), Credentials(app_user_id="u1")]
        others = [Credentials(app_user_id="u2"), Credentials(), Credentials()]
    async with running_hub(settings) as hub:
        refs = [JobRef("video", f"job-{n}") for n in range(3)]
        held = [hub.watch(refs[0], same[0]), hub.watch(refs[1], same[1])]
        with pytest.raises(CallerLimitReached, match="already hold 2 job subscriptions"):
            hub.watch(refs[2], same[0])
        # Many jobs at once are refused as a whole when they do not all fit.
        with pytest.raises(CallerLimitReached, match="these 3 jobs"):
            hub.check_room(others[0], 3)
        hub.check_room(others[0], 2)
        theirs = [hub.watch(refs[2], credentials) for credentials in others]
        held.pop().close()
        held.append(hub.watch(refs[2], same[1]))
        for watch in held + theirs:
            watch.close()
        assert hub.counts()["watchers"] == 0
        # Every slot came back: the caller may take its whole share again.
        again = [hub.watch(refs[0], same[0]), hub.watch(refs[1], same[0])]
        for watch in again:
            watch.close()


def _watch(capacity: int) -> Watch:
    return Watch(
        JobRef("training", "t-1"),
        ALICE,
        "alice",
        capacity=capacity,
        is_terminal=is_terminal,
        on_close=lambda watch: None,
    )


async def test_a_full_queue_coalesces_intermediate_states_but_keeps_the_terminal_one() -> None:
    watch = _watch(capacity=3)
    watch.seen("WAIT_FILE_UPLOAD")
    for state in ["AUTO_VERIFYING", "MANUAL_VERIFYING", "TRAINING", "WAIT_USER_CONFIRM", "JOB_SUCCESS"]:
        watch.offer(state)
    watch.offer("JOB_SUCCESS")
    watch.offer("TRAINING")  # nothing comes after the end

    assert [state async for state in watch] == ["AUTO_VERIFYING", "MANUAL_VERIFYING", "JOB_SUCCESS"]


async def test_a_watch_drops_states_its_first_load_already_showed() -> None:
    video = Watch(
        JobRef("video", "v-1"), ALICE, "alice", capacity=8, is_terminal=is_terminal, on_close=lambda w: None
    )
    # Polls that raced the subscriber's own load: WAITING is older than what it loaded.
    video.offer("WAITING")
    video.offer("PROCESSING")
    video.seen("PROCESSING")
    video.offer("WAITING")
    video.offer("PROCESSING")
    video.offer("SUCCEED")

    assert [state async for state in video] == ["SUCCEED"]
