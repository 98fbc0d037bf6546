"""The clock the live hub keeps its schedule by: when polls, lease renewals and callback looks are due."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    """A wake-up asked of a clock; cancelling one that already fired does nothing."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic seconds, and callbacks run once a given number of them have passed. An asyncio event
    loop is one (its `time` and `call_later`)."""

    def time(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer: ...


class RunningLoop:
    """The clock of whichever event loop is running when it is read: the hub's default, so that a hub
    may be built before its loop runs and always keeps time by the loop it runs in."""

    def time(self) -> float:
        return asyncio.get_running_loop().time()

    def call_later(self, delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback)


RUNNING_LOOP = RunningLoop()
