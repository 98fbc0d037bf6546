"""One operation's turns on the event loop: a slice per turn, shared by all its parts."""

from __future__ import annotations

import asyncio
import time

from gateway.turns import Turns


async def test_work_within_a_slice_goes_on_and_stops_once_it_is_spent() -> None:
    turns = Turns(seconds=0.01)
    assert turns.open()
    assert turns.open()
    busy_until = time.perf_counter() + 0.011
    while time.perf_counter() < busy_until:  # the operation's own work, in this turn of the loop
        pass
    assert not turns.open()
    assert not turns.open()
    await asyncio.sleep(0)  # the next turn brings a new slice
    assert turns.open()


async def test_time_spent_waiting_elsewhere_does_not_spend_a_slice() -> None:
    turns = Turns(seconds=0.005)
    assert turns.open()
    await asyncio.sleep(0.02)  # awaiting the upstream, say: other work ran meanwhile
    assert turns.open()


async def test_parts_of_one_operation_share_one_slice_per_turn() -> None:
    turns = Turns(seconds=0.0)
    pieces_per_turn: list[int] = [0]

    async def part() -> None:
        for _ in range(3):
            await turns.wait()
            pieces_per_turn[-1] += 1

    async def clock() -> None:
        while True:
            await asyncio.sleep(0)
            pieces_per_turn.append(0)

    ticking = asyncio.ensure_future(clock())
    await asyncio.gather(part(), part(), part())
    ticking.cancel()
    # A slice of nothing lets one piece of work through per turn, whichever part it belongs to.
    assert sum(pieces_per_turn) == 9
    assert max(pieces_per_turn) == 1


async def test_a_spent_slice_lets_other_tasks_run_before_the_next_piece() -> None:
    turns = Turns(seconds=0.0)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        for _ in range(50):
            ticks += 1
            await asyncio.sleep(0)

    async def work() -> int:
        done = 0
        for _ in range(20):
            await turns.wait()
            done += 1
            turns.open()  # the piece of work is done: this spends the slice for this turn
        return done

    ticking = asyncio.ensure_future(ticker())
    assert await work() == 20
    assert ticks >= 19
    await ticking
