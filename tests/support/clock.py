"""Clocks that move only when a test says, so that what falls due falls due exactly where the test puts
it, however loaded the machine is: ManualTime for the gateway's parts that read a `clock()` (the read
cache, the JWKS cache, the rate limiter), ManualClock for the live hub, whose schedule also sets timers."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from gateway.live.hub import JobStateHub

Settle = Callable[[], Awaitable[None]]

# Loop iterations a settle lets pass before it looks at what is still in flight: a wake-up reaches the
# scheduler and its pass starts the due polls within two or three, a published change reaches the
# watches and their readers within four.
SPINS = 10
# How long one settle may wait for the poll rounds in flight (real HTTP calls) before the test fails.
SETTLE_WITHIN = 10.0
# More timers than any test sets in one advance: one that keeps setting timers due at once never ends.
MAX_FIRINGS = 100_000


class ManualTime:
    """A monotonic `clock()` for the parts that only read the time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ManualTimer:
    """A wake-up set on a ManualClock: `when` it is due, and whether it is still to fire."""

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def __repr__(self) -> str:
        return f"ManualTimer(when={self.when}, cancelled={self.cancelled})"

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            self.callback()


class ManualClock:
    """gateway.live.clock.Clock whose `time()` stands still until `advance()` moves it.

    Timers run on the loop that set the first of them (a gateway's hub may live in a server thread's
    loop): `advance()` and `settle()` go there, whichever loop the test awaits them in. A timer fires
    only while the clock is advanced, even one already due (`advance(0)` fires those)."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, ManualTimer]] = []
        self._order = itertools.count()  # timers due at the same time fire in the order they were set
        self._settles: list[Settle] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def time(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], object]) -> ManualTimer:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError("a ManualClock's timers all run in one event loop")
        timer = ManualTimer(self._now + max(0.0, delay), callback)
        heapq.heappush(self._timers, (timer.when, next(self._order), timer))
        return timer

    @property
    def pending(self) -> list[float]:
        """When each timer still to fire is due, soonest first."""
        return sorted(when for when, _, timer in list(self._timers) if not timer.cancelled)

    def settle_with(self, settle: Settle) -> None:
        """Also await `settle()` (in the timers' loop) whenever the clock settles."""
        self._settles.append(settle)

    def attach(self, hub: JobStateHub) -> None:
        """Settle `hub` whenever the clock settles (see hub_settled)."""
        self.settle_with(lambda: hub_settled(hub))

    async def attach_served(self, app: Starlette) -> None:
        """Settle the hub of `app`, a gateway a server thread runs, whenever the clock settles; returns
        once that hub has set its first timer, so that moves of the clock reach the server's loop."""
        self.attach(app.state.live)
        await self.started()

    async def started(self, within: float = 5.0) -> None:
        """Return once a timer has been set, so that the loop timers run in is known (a hub's scheduler
        sets one on its first pass, right after the hub starts)."""
        deadline = time.monotonic() + within
        while self._loop is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing set a timer on the clock within {within} s")
            await asyncio.sleep(0.001)

    async def settle(self) -> None:
        """Let what the clock's last move (or the test) set off finish: a few loop iterations, then
        every hook given to settle_with, in the timers' loop."""
        await self._at_home(self._settle())

    async def advance(self, seconds: float) -> None:
        """Move time `seconds` forward. Settles first; then fires the timers due on the way in time
        order, `time()` reading each one's due time as it fires, and settles after each, so that timers
        set meanwhile fire too when due within the advance; then settles at the end time."""
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        await self._at_home(self._advance(seconds))

    async def _at_home(self, work: Coroutine[Any, Any, None]) -> None:
        home = self._loop
        if home is None or home is asyncio.get_running_loop():
            await work
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, home))

    async def _advance(self, seconds: float) -> None:
        end = self._now + seconds
        await self._settle()
        for _ in range(MAX_FIRINGS):
            timer = self._next_due(end)
            if timer is None:
                if self._now == end:
                    return
                self._now = end
            else:
                self._now = max(self._now, timer.when)
                timer.fire()
            await self._settle()
        raise AssertionError(f"timers kept falling due: {MAX_FIRINGS} fired in one advance")

    def _next_due(self, end: float) -> ManualTimer | None:
        timers = self._timers
        while timers and timers[0][2].cancelled:
            heapq.heappop(timers)
        if timers and timers[0][0] <= end:
            return heapq.heappop(timers)[2]
        return None

    async def _settle(self) -> None:
        await spin()
        for settle in self._settles:
            await settle()


async def spin(iterations: int = SPINS) -> None:
    """Let the event loop run `iterations` times: what is ready now, and what that makes ready."""
    for _ in range(iterations):
        await asyncio.sleep(0)


async def hub_settled(hub: JobStateHub, within: float = SETTLE_WITHIN) -> None:
    """Return once `hub` has done what it was woken for: its scheduler has made its pass, every poll
    round it started has ended (they call the upstream over HTTP), and what they published on an
    in-process bus has reached the watches and their readers. A Redis bus or leases move things this
    cannot see."""
    async with asyncio.timeout(within):
        while True:
            await spin()
            rounds = set(hub.scheduler.rounds)
            if not rounds:
                return
            await asyncio.wait(rounds)
