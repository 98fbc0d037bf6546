"""Turns on the event loop for one operation: a slice of time, then a wait for the loop's next turn."""

from __future__ import annotations

import asyncio
from time import perf_counter

# How long one operation may run in one turn of the event loop before it lets others run.
SLICE_SECONDS = 0.002


class Turns:
    """One operation's share of the event loop.

    The parts of an operation that become ready together (its upstream answers arrive together) would
    otherwise run back to back: thirty pages of a hundred rows held the loop for a quarter of a second,
    with no other request, health checks included, served meanwhile. Every part of one operation asks
    `open()` (or awaits `wait()`) before a piece of work: within one turn of the loop they share one
    slice of SLICE_SECONDS, and once it is spent they wait for the next turn, which brings a new one.
    A slice begun in an earlier turn is not spent by time the operation passed waiting elsewhere (on
    the upstream): a marker scheduled when a slice begins tells whether the loop has turned since."""

    __slots__ = ("_ends", "_fresh", "_spent", "_turned", "seconds")

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = SLICE_SECONDS if seconds is None else seconds
        self._ends = 0.0
        self._spent = False
        self._turned = True
        self._fresh = False

    def open(self) -> bool:
        """True when this operation may go on running now; False once its slice for this turn is spent."""
        if self._spent:
            return False
        if self._fresh:
            # Every slice lets at least one piece of work through, however short it is.
            self._fresh = False
            return True
        if perf_counter() < self._ends:
            return True
        if self._turned:
            self._begin()
            self._fresh = False
            return True
        self._spent = True
        # Runs at the start of the loop's next turn, before the parts that stopped resume.
        asyncio.get_running_loop().call_soon(self._begin)
        return False

    async def wait(self) -> None:
        """Return once this operation may run: at once while its slice lasts, else on a later turn."""
        # One turn of the loop at a time, not an event: the slice comes back at the start of the next turn.
        while not self.open():  # noqa: ASYNC110
            await asyncio.sleep(0)

    def _begin(self) -> None:
        self._spent = False
        self._fresh = True
        self._turned = False
        self._ends = perf_counter() + self.seconds
        asyncio.get_running_loop().call_soon(self._turn)

    def _turn(self) -> None:
        self._turned = True
