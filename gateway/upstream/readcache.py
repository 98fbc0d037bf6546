"""ReadCache: identical upstream reads share one call, and answers are kept per caller until jobs move."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from gateway.upstream.config import Credentials, credentials_key
from gateway.upstream.job_summaries import JobKind, canonical_query, jobs_of, moves_with_jobs, named_jobs
from gateway.upstream.read_moves import Moves
from gateway.upstream.read_store import ENTRY_OVERHEAD, JOB_OVERHEAD, Entry, IsTerminal, KeptReads, ReadKey
from gateway.upstream.session import Call, JSONObject

__all__ = ["OUTCOMES", "IsTerminal", "JobKind", "Outcome", "ReadCache", "ReadKey"]

Send = Callable[[Call, Credentials], Awaitable[JSONObject]]
Outcome = Literal["hit", "coalesced", "revalidated", "miss", "bypass"]
OUTCOMES: tuple[Outcome, ...] = ("hit", "coalesced", "revalidated", "miss", "bypass")


@dataclass(eq=False)
class _Flight:
    key: ReadKey
    kind: JobKind
    job_id: str | None
    moving: bool
    fresh: bool
    started: float
    task: asyncio.Task[tuple[JSONObject, bytes]] | None = field(default=None, repr=False)
    readers: int = 0  # readers awaiting the call now; when the last one is cancelled, so is the call


class ReadCache:
    """Upstream GETs for one client: identical reads of one caller in flight share one call (its error
    too, never kept); answers are kept for that caller `keep_seconds`, a terminal job's show answer
    `terminal_seconds`; a list answer that agrees with a kept show answer of the same caller renews it,
    one that disagrees drops it; whatever the live state learns of a job drops what it makes stale."""

    def __init__(
        self,
        send: Send,
        *,
        keep_seconds: float = 0.0,
        terminal_seconds: float = 0.0,
        max_entries: int = 10_000,
        max_bytes: int = 64 * 1024 * 1024,
        is_terminal: IsTerminal | None = None,
    ) -> None:
        self.send = send
        self.kept = KeptReads(
            keep_seconds=keep_seconds,
            terminal_seconds=terminal_seconds,
            max_entries=max_entries,
            max_bytes=max_bytes,
            is_terminal=is_terminal,
        )
        self._entries = self.kept.entries  # read on every hit: one attribute look-up, not two
        # Monotonic seconds; tests replace it to move time on without waiting.
        self.clock: Callable[[], float] = time.monotonic
        self.counts: dict[Outcome, int] = dict.fromkeys(OUTCOMES, 0)
        self._flights: dict[ReadKey, _Flight] = {}  # the call each new reader of a key joins
        self._running: set[_Flight] = set()  # every call out, those no new reader joins included
        # What moved while calls were out, so that none of them keeps an answer from before.
        self.moves = Moves()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def keeps(self) -> bool:
        return self.kept.keep_seconds > 0

    async def aclose(self) -> None:
        tasks = [flight.task for flight in self._running if flight.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.clear()

    def clear(self) -> None:
        self.kept.clear()

    # Reads

    async def read(
        self,
        call: Call,
        credentials: Credentials,
        kind: JobKind,
        job_id: str | None = None,
        *,
        fresh: bool = False,
    ) -> JSONObject:
        """The answer to `call` for `credentials`: kept, shared with a call in flight, or fetched.
        `job_id` names the job of a show call. `fresh` (the live state's polls) neither takes a kept
        answer nor joins an earlier call; its answer renews, drops or replaces what is kept."""
        key = ReadKey(credentials_key(credentials), call.path, canonical_query(call.query))
        if fresh:
            self.counts["bypass"] += 1
            return await self._own(self._start(key, call, credentials, kind, job_id, fresh=True))
        found = self._found(key, "hit")
        if found is not None:
            return await found
        stale = self._entries.get(key)
        if stale is not None and job_id is not None and await self._revalidate(stale, credentials):
            found = self._found(key, "revalidated")
            if found is not None:
                return await found
        elif stale is not None and job_id is not None:
            # Another reader may have started the show call while this one waited for the list.
            found = self._found(key, "hit")
            if found is not None:
                return await found
        self.counts["miss"] += 1
        return await self._own(self._start(key, call, credentials, kind, job_id))

    def _found(self, key: ReadKey, outcome: Outcome) -> Awaitable[JSONObject] | None:
        """The kept answer, or the call in flight, for `key`; None when there is neither."""
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at > self.clock():
            self._entries.move_to_end(key)
            self.counts[outcome] += 1
            return _ready(_copy(entry.data))
        flight = self._flights.get(key)
        if flight is not None:
            self.counts["coalesced"] += 1
            return self._shared(flight)
        return None

    async def _revalidate(self, entry: Entry, credentials: Credentials) -> bool:
        """Call again the list that last agreed with a stale show answer, instead of the show call: its
        answer renews the show answer when the job has not moved, and drops it when it has. One list
        call so proves every show answer it covers, however many, and readers of one stale answer who
        come together wait for the same list call. Whether the answer is current now."""
        cover, now = entry.cover, self.clock()
        if cover is None or entry.fetched_at + self.kept.terminal_seconds <= now:
            return False
        flight = self._flights.get(cover.key)
        listed = self._entries.get(cover.key)
        if flight is None and (listed is None or listed.expires_at <= now):
            flight = self._start(cover.key, cover.call, credentials, entry.kind, None)
        if flight is not None:
            with contextlib.suppress(Exception):
                await self._wait(flight)
        kept = self._entries.get(entry.key)
        if kept is not None and kept.expires_at > self.clock():
            return True
        # A current list that did not renew it says the job moved, or says nothing of it: no cover.
        if entry.cover is cover:
            entry.cover = None
        return False

    def _start(
        self,
        key: ReadKey,
        call: Call,
        credentials: Credentials,
        kind: JobKind,
        job_id: str | None,
        *,
        fresh: bool = False,
    ) -> _Flight:
        flight = _Flight(
            key, kind, job_id, job_id is None and moves_with_jobs(call.query), fresh, self.clock()
        )
        # A task of its own, so that no reader's cancellation reaches the call the others wait for.
        flight.task = asyncio.ensure_future(self._fetch(flight, call, credentials))
        flight.task.add_done_callback(_retrieve)
        self._flights[key] = flight
        self._running.add(flight)
        return flight

    async def _fetch(self, flight: _Flight, call: Call, credentials: Credentials) -> tuple[JSONObject, bytes]:
        try:
            answer = await self.send(call, credentials)
            # The JSON text serves what is kept and the readers who joined; a lone reader keeping
            # nothing takes the answer itself (the page's 30 KB encoded for nothing otherwise).
            data = orjson.dumps(answer) if self.keeps or flight.readers > 1 else b""
            if self.keeps:
                self._keep(flight, call, answer, data)
            return answer, data
        finally:
            # In the same step as keeping the answer: a reader finds it kept, or the call still out.
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]
            self._running.discard(flight)
            self.moves.forget_before(min((f.started for f in self._running), default=float("inf")))
            # Its readers hold the task already. A failure keeps this frame, and the frame the flight:
            # the flight holding the task too would make a cycle of the three.
            flight.task = None

    async def _own(self, flight: _Flight) -> JSONObject:
        """The answer for the reader that started the call: the decoded object itself, which no one else
        holds (the kept copy is its JSON)."""
        answer, _ = await self._wait(flight)
        return answer

    async def _shared(self, flight: _Flight) -> JSONObject:
        _, data = await self._wait(flight)
        return _copy(data)

    async def _wait(self, flight: _Flight) -> tuple[JSONObject, bytes]:
        """The call's outcome for one reader. A reader's cancellation never reaches a call others still
        wait for; the last reader's does, so that a request given up (a client gone, a timeout, the
        siblings of a failed non-null field) leaves no upstream call behind holding a pooled connection."""
        task = _task(flight)
        flight.readers += 1
        try:
            return await asyncio.shield(task)
        finally:
            flight.readers -= 1
            if flight.readers == 0 and not task.done():
                # No later reader joins a call on its way out: it starts its own.
                if self._flights.get(flight.key) is flight:
                    del self._flights[flight.key]
                task.cancel()

    # Keeping

    def _keep(self, flight: _Flight, call: Call, answer: Mapping[str, Any], data: bytes) -> None:
        kind, job_id = flight.kind, flight.job_id
        jobs = jobs_of(kind, job_id, answer)
        if self.moves.since(flight.started, kind, job_id, flight.key.principal, flight.moving, jobs):
            return
        existing = self._entries.get(flight.key)
        if existing is not None and existing.fresh_at > flight.started:
            return  # a later call's answer is kept already
        entry = Entry(
            key=flight.key,
            kind=kind,
            job_id=job_id,
            call=call,
            # A copy of just its length: the buffer orjson wrote it in may be much longer.
            data=bytes(memoryview(data)),
            size=len(data) + ENTRY_OVERHEAD + JOB_OVERHEAD * len(jobs),
            fetched_at=flight.started,
            fresh_at=flight.started,
            expires_at=flight.started,
            jobs=jobs,
            named=named_jobs(call.query) if job_id is None else (),
            moving=flight.moving,
        )
        entry.expires_at = flight.started + self.kept.keeping(entry)
        # A poll's answer refreshes what readers keep, and is compared with it all the same; kept on its
        # own it would serve no reader (its job set is the poller's).
        self.kept.add(entry, keep=not flight.fresh or existing is not None)

    # What the gateway learns of jobs

    def job_changed(self, kind: JobKind, job_id: str, state: str) -> None:
        """The live state saw the job in `state` (a poll, on this replica or another): whatever shows it
        otherwise is dropped, and so is every list whose members move with states."""
        self._job_moved(kind, job_id, state)

    def job_hinted(self, kind: JobKind, job_id: str) -> None:
        """A callback says the job moved, to a state not known yet: whatever shows it is dropped, at
        most once per HINT_WINDOW however often the callback is replayed."""
        if self.moves.hint_taken(kind, job_id, self.clock()):
            self._job_moved(kind, job_id, None)

    def wrote(self, credentials: Credentials, kind: JobKind, job_id: str | None) -> None:
        """A write of this gateway's went out (whether or not it succeeded): a create drops the caller's
        lists of its kind; a write to a job drops whatever shows that job, for every caller, and the
        caller's lists of its kind, in which a deleted job leaves a gap."""
        if job_id is not None:
            self._job_moved(kind, job_id, None)
        principal = credentials_key(credentials)
        if self._running:
            self.moves.lists_moved(principal, kind, self.clock())
        self.kept.drop_lists(principal, kind)
        self._detach(lambda f: f.job_id is None and f.kind == kind and f.key.principal == principal)

    def _job_moved(self, kind: JobKind, job_id: str, state: str | None) -> None:
        if self._running:
            self.moves.job_moved(kind, job_id, state, self.clock())
        self.kept.drop_job(kind, job_id, state)
        # Calls out now may answer from before: new readers start their own.
        self._detach(lambda f: f.kind == kind and f.job_id in (None, job_id))

    def _detach(self, matches: Callable[[_Flight], bool]) -> None:
        for key in [key for key, flight in self._flights.items() if matches(flight)]:
            del self._flights[key]

    # Last in the class: a name `bytes` in its scope would hide the type in the annotations above.
    @property
    def bytes(self) -> int:
        """What the kept answers cost, in bytes."""
        return self.kept.bytes


def _task(flight: _Flight) -> asyncio.Task[tuple[JSONObject, bytes]]:
    assert flight.task is not None
    return flight.task


def _retrieve(task: asyncio.Future[Any]) -> None:
    # Readers get the failure; when every one of them was cancelled first, asyncio must not report it.
    if not task.cancelled():
        task.exception()


async def _ready(answer: JSONObject) -> JSONObject:
    return answer


def _copy(data: bytes) -> JSONObject:
    answer: JSONObject = orjson.loads(data)
    return answer
