"""The manual clock the live tests move the hub's time with: timers fire in order, each at its own time,
and an advance returns only once what they set off has finished."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from gateway.live.clock import RUNNING_LOOP, Clock
from tests.support.clock import ManualClock


def test_an_event_loop_and_the_manual_clock_are_both_clocks() -> None:
    # Checked by mypy: each of them is what the hub takes as its clock.
    loop = asyncio.new_event_loop()
    try:
        clocks: list[Clock] = [RUNNING_LOOP, loop, ManualClock()]
        assert all(callable(clock.time) and callable(clock.call_later) for clock in clocks)
    finally:
        loop.close()


async def test_the_running_loops_clock_is_the_loops_own() -> None:
    loop = asyncio.get_running_loop()
    assert abs(RUNNING_LOOP.time() - loop.time()) < 1.0
    fired = asyncio.Event()
    timer = RUNNING_LOOP.call_later(0.01, fired.set)
    assert isinstance(timer, asyncio.TimerHandle)
    await asyncio.wait_for(fired.wait(), 1.0)


async def test_time_stands_still_until_advanced(clock: ManualClock) -> None:
    start = clock.time()
    await asyncio.sleep(0.02)
    assert clock.time() == start
    await clock.advance(2.5)
    assert clock.time() == start + 2.5
    await clock.advance(0)
    assert clock.time() == start + 2.5
    with pytest.raises(ValueError, match="forward"):
        await clock.advance(-1)


async def test_timers_fire_in_due_order_each_at_its_own_time(clock: ManualClock) -> None:
    start = clock.time()
    fired: list[tuple[str, float]] = []

    def note(name: str) -> None:
        fired.append((name, clock.time() - start))

    clock.call_later(3.0, lambda: note("c"))
    clock.call_later(1.0, lambda: note("a"))
    clock.call_later(2.0, lambda: note("b1"))
    clock.call_later(2.0, lambda: note("b2"))
    await clock.advance(2.0)
    assert fired == [("a", 1.0), ("b1", 2.0), ("b2", 2.0)]
    assert clock.pending == [start + 3.0]
    await clock.advance(5.0)
    assert fired[-1] == ("c", 3.0)
    assert clock.time() == start + 7.0
    assert clock.pending == []


async def test_cancelled_timers_never_fire_and_fired_ones_ignore_a_cancel(clock: ManualClock) -> None:
    fired: list[str] = []
    kept = clock.call_later(1.0, lambda: fired.append("kept"))
    clock.call_later(0.5, lambda: fired.append("cancelled")).cancel()
    await clock.advance(1.0)
    kept.cancel()
    await clock.advance(1.0)
    assert fired == ["kept"]


async def test_timers_set_while_advancing_fire_within_the_same_advance(clock: ManualClock) -> None:
    start = clock.time()
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(clock.time() - start)
        clock.call_later(0.25, tick)

    clock.call_later(0.25, tick)
    await clock.advance(1.0)
    assert ticks == [0.25, 0.5, 0.75, 1.0]
    assert clock.pending == [start + 1.25]


async def test_a_timer_already_due_fires_only_when_the_clock_is_advanced(clock: ManualClock) -> None:
    fired: list[float] = []
    clock.call_later(-1.0, lambda: fired.append(clock.time()))
    clock.call_later(0.0, lambda: fired.append(clock.time()))
    await asyncio.sleep(0.01)
    assert fired == []
    await clock.advance(0)
    assert fired == [clock.time(), clock.time()]


async def test_an_advance_returns_once_what_each_timer_set_off_has_finished(clock: ManualClock) -> None:
    """The settle hooks wait for the work timers start (here, tasks taking real time, as a poll round's
    HTTP calls do), and the next timer fires only after it: what that work does is seen at its time."""
    start = clock.time()
    work: set[asyncio.Task[None]] = set()
    done: list[tuple[str, float]] = []

    async def slow(name: str, at: float) -> None:
        await asyncio.sleep(0.02)
        done.append((name, at - start))
        if name == "first":
            # Work that sets a timer of its own, as a poll round's end wakes the scheduler.
            clock.call_later(0.5, lambda: begin("follow-up"))

    def begin(name: str) -> None:
        work.add(asyncio.create_task(slow(name, clock.time())))

    async def finished() -> None:
        while work:
            await asyncio.wait(set(work))
            work.difference_update([task for task in work if task.done()])

    clock.settle_with(finished)
    clock.call_later(1.0, lambda: begin("first"))
    clock.call_later(1.25, lambda: begin("second"))
    await clock.advance(2.0)
    assert done == [("first", 1.0), ("second", 1.25), ("follow-up", 1.5)]
    assert not work


@pytest.fixture
def other_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread of its own, as a served gateway's is."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="other-loop", daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


async def test_timers_fire_in_the_loop_that_set_them_whoever_advances(
    clock: ManualClock, other_loop: asyncio.AbstractEventLoop
) -> None:
    fired: list[tuple[str, float]] = []

    async def arm() -> None:
        clock.call_later(1.0, lambda: fired.append((threading.current_thread().name, clock.time())))

    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(arm(), other_loop))
    await clock.started()
    await clock.advance(1.0)
    assert fired == [("other-loop", clock.time())]
    with pytest.raises(RuntimeError, match="one event loop"):
        clock.call_later(1.0, lambda: None)
