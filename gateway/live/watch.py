"""One subscriber's view of a job: the states it has not seen yet, in order, in a bounded queue."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from types import TracebackType

from gateway.live.events import JobKind, JobRef
from gateway.live.kinds import LIVE_KINDS
from gateway.upstream import Credentials

IsTerminal = Callable[[JobKind, str], bool]

# Video and picture jobs only ever move forward through these states before a terminal one, so a
# state older than one already seen is a stale report (a poll that raced the subscriber's own load).
# Training jobs can go back (a rejected upload waits for a new one), so they have no such order.
_PROGRESS = {"WAITING": 0, "PROCESSING": 1}
_TERMINAL_PROGRESS = 2


class JobGone(Exception):
    """No credentials of this subscriber can read the job any more (deleted, or never theirs)."""

    def __init__(self, ref: JobRef) -> None:
        self.ref = ref
        super().__init__(f"{ref.kind} job {ref.job_id} cannot be read with these credentials")


class TooManySubscriptions(Exception):
    """The gateway already watches as many jobs for subscribers as it is configured to."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the gateway serves at most {limit} job subscriptions at once; try again later")


class CallerLimitReached(Exception):
    """These credentials already hold as many job subscriptions as one caller may, over all connections."""

    def __init__(self, limit: int, asked: int = 1) -> None:
        self.limit = limit
        if asked == 1:
            message = (
                f"your credentials already hold {limit} job subscriptions, the most one caller may hold "
                "at once over all its connections; complete one before starting another"
            )
        else:
            message = (
                f"following these {asked} jobs would take your credentials past {limit} job subscriptions, "
                "the most one caller may hold at once over all its connections; follow fewer jobs or "
                "complete other subscriptions first"
            )
        super().__init__(message)


class HubStopped(Exception):
    """The gateway is shutting down: no more job events will come."""

    def __init__(self) -> None:
        super().__init__("the gateway is shutting down; subscribe again")


def progress(kind: JobKind, state: str, is_terminal: IsTerminal) -> int | None:
    """How far along a job in `state` is, where the kind's states have a fixed order."""
    if not LIVE_KINDS[kind].ordered_states:
        return None
    if is_terminal(kind, state):
        return _TERMINAL_PROGRESS
    return _PROGRESS.get(state)


class Watch:
    """Registered with its hub on construction, so no change made during the subscriber's first load
    is missed; use it as an async context manager, whose exit unregisters it."""

    def __init__(
        self,
        ref: JobRef,
        credentials: Credentials,
        key: str,
        *,
        capacity: int,
        is_terminal: IsTerminal,
        on_close: Callable[[Watch], None],
    ) -> None:
        self.ref = ref
        self.credentials = credentials
        self.key = key
        self._capacity = max(1, capacity)
        self._is_terminal = is_terminal
        self._on_close: Callable[[Watch], None] | None = on_close
        self._queue: deque[str] = deque()
        self._last: str | None = None  # the newest state delivered, queued or seen: the dedupe base
        self._terminal_queued = False
        self._finished = False
        self._gone = False
        self._stopped = False
        self._wakeup = asyncio.Event()

    def __repr__(self) -> str:
        return f"Watch({self.ref!r}, queued={len(self._queue)})"

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._on_close is None

    def seen(self, state: str) -> None:
        """The subscriber already delivered `state` (its first load): queued reports of it, or of any
        state before it, are dropped, and later ones only when they differ from it."""
        self._last = state
        if self._terminal(state):
            self._queue.clear()
            self._terminal_queued = self._finished = True
            return
        queued = list(self._queue)
        if state in queued:
            queued = queued[len(queued) - queued[::-1].index(state) :]
        reached = self._progress(state)
        if reached is not None:
            queued = [s for s in queued if (p := self._progress(s)) is None or p > reached]
        self._queue = deque(queued)
        self._terminal_queued = any(self._terminal(s) for s in queued)

    def offer(self, state: str) -> None:
        """A new state from the job's poller: queued unless this subscriber already has it. A full
        queue gives up its newest intermediate state for it; a terminal state is never given up."""
        if self.closed or self._terminal_queued or self._finished or state == self._last:
            return
        if self._last is not None:
            before, now = self._progress(self._last), self._progress(state)
            if before is not None and now is not None and now < before:
                return
        self._last = state
        while len(self._queue) >= self._capacity:
            self._queue.pop()
        if not self._queue or self._queue[-1] != state:
            self._queue.append(state)
        self._terminal_queued = self._terminal(state)
        self._wakeup.set()

    def gone(self) -> None:
        self._gone = True
        self._wakeup.set()

    def stopped(self) -> None:
        self._stopped = True
        self._wakeup.set()

    def close(self) -> None:
        """Unregister from the hub (idempotent); the last watch of a job ends its polling."""
        on_close, self._on_close = self._on_close, None
        self._queue.clear()
        self._wakeup.set()
        if on_close is not None:
            on_close(self)

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> str:
        while True:
            if self._queue:
                state = self._queue.popleft()
                if self._terminal(state):
                    self._finished = True
                return state
            if self._finished or self.closed:
                raise StopAsyncIteration
            if self._gone:
                raise JobGone(self.ref)
            if self._stopped:
                raise HubStopped()
            self._wakeup.clear()
            await self._wakeup.wait()

    def _terminal(self, state: str) -> bool:
        return self._is_terminal(self.ref.kind, state)

    def _progress(self, state: str) -> int | None:
        return progress(self.ref.kind, state, self._is_terminal)
