"""ReadCache: identical upstream reads share one call, and answers are kept per caller until jobs move."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import orjson

from gateway.upstream.config import Credentials, credentials_key
from gateway.upstream.session import Call, JSONObject

JobKind = Literal["video", "training", "picture"]
IsTerminal = Callable[[JobKind, str], bool]
Send = Callable[[Call, Credentials], Awaitable[JSONObject]]
Outcome = Literal["hit", "coalesced", "revalidated", "miss", "bypass"]
OUTCOMES: tuple[Outcome, ...] = ("hit", "coalesced", "revalidated", "miss", "bypass")

# The fields a job's list item carries (DigitalHumanVideo, TrainingJobBasicInfo, and for pictures the
# show model itself), all of which its show answer carries too: two answers of one job that agree on
# every one of these they both hold say the same about it. State first. Signed links are left out, at
# any depth: the upstream may sign them anew in every answer without the job having changed.
SUMMARY_FIELDS: dict[JobKind, tuple[str, ...]] = {
    "video": (
        "state",
        "lastupdate_time",
        "job_type",
        "start_time",
        "end_time",
        "duration",
        "output_asset_config",
        "error_info",
        "create_time",
    ),
    "training": (
        "state",
        "last_update_time",
        "name",
        "asset_id",
        "create_time",
        "contact",
        "batch_name",
        "tags",
        "model_version",
        "matting_type",
        "model_resolution",
        "app_user_id",
        "is_flexus",
        "is_live_copy",
        "is_fast_flexus",
        "is_only_human_model",
        "optional_training_location",
        "is_background_replacement",
        "is_ondemand_resource",
    ),
    "picture": ("state", "start_time", "end_time", "error_info", "model_asset_id", "name", "style_id"),
}
# List filters and orders under which a job's state or update moves it into, out of or within a list.
_MOVING_FILTERS = frozenset({"state", "update_since", "update_until"})
_SORT_KEYS = frozenset({"sort_key", "sort_by"})
# List filters naming the jobs wanted: a job they name that the answer lacks is gone for this caller.
_NAMING_FILTERS = frozenset({"job_id", "job_ids"})
# A callback may be replayed by anyone holding its URL: what it drops, it drops at most once a second.
HINT_WINDOW = 1.0
# How often answers nobody can use any more are swept out: expired lists, and expired show answers
# that no list can prove current again.
SWEEP_EVERY = 5.0
# What keeping one answer costs beside its JSON: the entry and its place in the indexes, and each job's
# summary (about 530 bytes measured for a video list item).
ENTRY_OVERHEAD = 600
JOB_OVERHEAD = 600

_MISSING: Any = object()
Summary = tuple[Any, ...]


class ReadKey(NamedTuple):
    """One read as the cache knows it: who asks (a hash), where, and the query in a canonical order."""

    principal: str
    path: str
    query: tuple[tuple[str, str], ...]


@dataclass(eq=False)
class _Entry:
    key: ReadKey
    kind: JobKind
    job_id: str | None  # the job of a show answer; None for a list
    call: Call
    data: bytes  # the answer's JSON: each reader decodes its own copy, so none can change another's
    size: int
    fetched_at: float  # when the call that fetched it started
    fresh_at: float  # when it was last known current: that start, or a later agreeing list call's
    expires_at: float
    jobs: dict[str, Summary]  # each job the answer shows, by id
    named: tuple[str, ...] = ()  # the job ids a list's query names
    moving: bool = False  # a list whose members move with job states
    # For a show answer: the widest list that last agreed with it, called again when it is next stale.
    cover: _Cover | None = None


class _Cover(NamedTuple):
    key: ReadKey
    call: Call
    width: int  # how many jobs its answer showed


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
        self.keep_seconds = keep_seconds
        self.terminal_seconds = max(terminal_seconds, keep_seconds)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.is_terminal = is_terminal
        # Monotonic seconds; tests replace it to move time on without waiting.
        self.clock: Callable[[], float] = time.monotonic
        self.counts: dict[Outcome, int] = dict.fromkeys(OUTCOMES, 0)
        self.bytes = 0
        self._entries: OrderedDict[ReadKey, _Entry] = OrderedDict()  # least recently used first
        self._by_job: dict[tuple[str, str], set[ReadKey]] = {}
        self._lists: dict[tuple[str, str], set[ReadKey]] = {}  # by (principal, kind)
        self._moving: dict[str, set[ReadKey]] = {}  # moving lists by kind
        self._flights: dict[ReadKey, _Flight] = {}  # the call each new reader of a key joins
        self._running: set[_Flight] = set()  # every call out, those no new reader joins included
        # What moved while calls were out, oldest first, so that none of them keeps an answer from before.
        self._moved: OrderedDict[tuple[str, str], tuple[float, str | None]] = OrderedDict()
        self._lists_moved: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._kinds_moved: OrderedDict[str, float] = OrderedDict()
        self._hinted: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def keeps(self) -> bool:
        return self.keep_seconds > 0

    async def aclose(self) -> None:
        tasks = [flight.task for flight in self._running if flight.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.clear()

    def clear(self) -> None:
        self._entries.clear()
        self._by_job.clear()
        self._lists.clear()
        self._moving.clear()
        self.bytes = 0

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
        key = ReadKey(credentials_key(credentials), call.path, _canonical_query(call.query))
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

    async def _revalidate(self, entry: _Entry, credentials: Credentials) -> bool:
        """Call again the list that last agreed with a stale show answer, instead of the show call: its
        answer renews the show answer when the job has not moved, and drops it when it has. One list
        call so proves every show answer it covers, however many, and readers of one stale answer who
        come together wait for the same list call. Whether the answer is current now."""
        cover, now = entry.cover, self.clock()
        if cover is None or entry.fetched_at + self.terminal_seconds <= now:
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
        flight = _Flight(key, kind, job_id, job_id is None and _moves(call.query), fresh, self.clock())
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
            self._forget_moves()
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
        jobs = _jobs_of(kind, job_id, answer)
        if self._moved_during(flight, jobs):
            return
        existing = self._entries.get(flight.key)
        if existing is not None and existing.fresh_at > flight.started:
            return  # a later call's answer is kept already
        entry = _Entry(
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
            named=_named(call.query) if job_id is None else (),
            moving=flight.moving,
        )
        entry.expires_at = flight.started + self._keeping(entry)
        # A poll's answer refreshes what readers keep, and is compared with it all the same; kept on its
        # own it would serve no reader (its job set is the poller's).
        if entry.size <= self.max_bytes and (not flight.fresh or existing is not None):
            self._put(entry)
        self._compare(entry)
        if flight.started >= self._next_sweep:
            self._sweep(flight.started)

    def _keeping(self, entry: _Entry) -> float:
        if entry.job_id is not None and self.is_terminal is not None:
            summary = entry.jobs.get(entry.job_id)
            state = None if summary is None else summary[0]
            if isinstance(state, str) and state and self.is_terminal(entry.kind, state):
                return self.terminal_seconds
        return self.keep_seconds

    def _compare(self, entry: _Entry) -> None:
        """What a new answer says of every other kept answer showing its jobs: a show answer of the same
        caller that a list agrees with is current as of that list's call; any older answer that
        disagrees is stale, whoever it was for."""
        for job_id, summary in entry.jobs.items():
            for key in list(self._by_job.get((entry.kind, job_id), ())):
                other = self._entries.get(key)
                if other is None or other is entry:
                    continue
                theirs = other.jobs.get(job_id)
                if theirs is None:
                    continue
                if _agree(theirs, summary):
                    if other.key.principal == entry.key.principal:
                        if entry.job_id is None and other.job_id is not None:
                            self._renew(other, entry)
                        elif other.job_id is None and entry.job_id is not None:
                            # A show call that started before this list's call may land after it.
                            self._renew(entry, other)
                elif other.fresh_at <= entry.fresh_at:
                    self._drop(key)
        for job_id in entry.named:
            if job_id in entry.jobs:
                continue
            # Named and not listed: this caller has no such job (any more).
            for key in list(self._by_job.get((entry.kind, job_id), ())):
                other = self._entries.get(key)
                if other is not None and other.key.principal == entry.key.principal:
                    if other.fresh_at <= entry.fresh_at:
                        self._drop(key)

    def _renew(self, shown: _Entry, listed: _Entry) -> None:
        if shown.fresh_at < listed.fresh_at:
            shown.fresh_at = listed.fresh_at
            # Never past the longest keeping after its own call: its signed links must still work.
            shown.expires_at = min(
                shown.fetched_at + self.terminal_seconds, listed.fresh_at + self._keeping(shown)
            )
        self._cover(shown, listed)

    def _cover(self, shown: _Entry, listed: _Entry) -> None:
        if shown.cover is None or len(listed.jobs) >= shown.cover.width:
            shown.cover = _Cover(listed.key, listed.call, len(listed.jobs))

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_EVERY
        for key, entry in list(self._entries.items()):
            if entry.expires_at > now:
                continue
            if entry.job_id is None or entry.cover is None or entry.fetched_at + self.terminal_seconds <= now:
                self._drop(key)

    def _put(self, entry: _Entry) -> None:
        key = entry.key
        if key in self._entries:
            self._drop(key)
        self._entries[key] = entry
        self.bytes += entry.size
        for job_id in entry.jobs:
            self._by_job.setdefault((entry.kind, job_id), set()).add(key)
        if entry.job_id is None:
            self._lists.setdefault((key.principal, entry.kind), set()).add(key)
            if entry.moving:
                self._moving.setdefault(entry.kind, set()).add(key)
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: ReadKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.bytes -= entry.size
        for job_id in entry.jobs:
            _discard(self._by_job, (entry.kind, job_id), key)
        if entry.job_id is None:
            _discard(self._lists, (key.principal, entry.kind), key)
            _discard(self._moving, entry.kind, key)

    # What the gateway learns of jobs

    def job_changed(self, kind: JobKind, job_id: str, state: str) -> None:
        """The live state saw the job in `state` (a poll, on this replica or another): whatever shows it
        otherwise is dropped, and so is every list whose members move with states."""
        self._job_moved(kind, job_id, state)

    def job_hinted(self, kind: JobKind, job_id: str) -> None:
        """A callback says the job moved, to a state not known yet: whatever shows it is dropped, at
        most once per HINT_WINDOW however often the callback is replayed."""
        now = self.clock()
        ref = (kind, job_id)
        if self._hinted.get(ref, float("-inf")) > now - HINT_WINDOW:
            return
        self._hinted.pop(ref, None)
        self._hinted[ref] = now
        while self._hinted and next(iter(self._hinted.values())) <= now - HINT_WINDOW:
            self._hinted.popitem(last=False)
        self._job_moved(kind, job_id, None)

    def wrote(self, credentials: Credentials, kind: JobKind, job_id: str | None) -> None:
        """A write of this gateway's went out (whether or not it succeeded): a create drops the caller's
        lists of its kind; a write to a job drops whatever shows that job, for every caller, and the
        caller's lists of its kind, in which a deleted job leaves a gap."""
        if job_id is not None:
            self._job_moved(kind, job_id, None)
        principal = credentials_key(credentials)
        lists = (principal, kind)
        if self._running:
            self._lists_moved.pop(lists, None)
            self._lists_moved[lists] = self.clock()
        for key in list(self._lists.get(lists, ())):
            self._drop(key)
        self._detach(lambda f: f.job_id is None and f.kind == kind and f.key.principal == principal)

    def _job_moved(self, kind: JobKind, job_id: str, state: str | None) -> None:
        ref = (kind, job_id)
        if self._running:
            now = self.clock()
            self._moved.pop(ref, None)
            self._moved[ref] = (now, state)
            self._kinds_moved.pop(kind, None)
            self._kinds_moved[kind] = now
        for key in list(self._by_job.get(ref, ())):
            entry = self._entries.get(key)
            summary = None if entry is None else entry.jobs.get(job_id)
            if state is None or summary is None or summary[0] != state:
                self._drop(key)
        for key in list(self._moving.get(kind, ())):
            self._drop(key)
        # Calls out now may answer from before: new readers start their own.
        self._detach(lambda f: f.kind == kind and f.job_id in (None, job_id))

    def _moved_during(self, flight: _Flight, jobs: Mapping[str, Summary]) -> bool:
        """Whether something moved after `flight` started that its answer may not show."""
        if not (self._moved or self._lists_moved or self._kinds_moved):
            return False
        started, kind = flight.started, flight.kind
        shown = list(jobs.items())
        if flight.job_id is not None and flight.job_id not in jobs:
            shown.append((flight.job_id, ()))
        for job_id, summary in shown:
            moved = self._moved.get((kind, job_id))
            if moved is not None and moved[0] >= started:
                if moved[1] is None or not summary or summary[0] != moved[1]:
                    return True
        if flight.job_id is None:
            if self._lists_moved.get((flight.key.principal, kind), float("-inf")) >= started:
                return True
            if flight.moving and self._kinds_moved.get(kind, float("-inf")) >= started:
                return True
        return False

    def _detach(self, matches: Callable[[_Flight], bool]) -> None:
        for key in [key for key, flight in self._flights.items() if matches(flight)]:
            del self._flights[key]

    def _forget_moves(self) -> None:
        """Moves matter only to calls that were out when they happened."""
        oldest = min((flight.started for flight in self._running), default=float("inf"))
        while self._moved and next(iter(self._moved.values()))[0] < oldest:
            self._moved.popitem(last=False)
        for moves in (self._lists_moved, self._kinds_moved):
            while moves and next(iter(moves.values())) < oldest:
                moves.popitem(last=False)


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


def _discard(index: dict[Any, set[ReadKey]], at: Any, key: ReadKey) -> None:
    keys = index.get(at)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[at]


def _canonical_query(query: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    # The upstream reads a query by name: the order of its pairs, and of repeated job_ids, says nothing.
    return tuple(sorted(query))


def _moves(query: Iterable[tuple[str, str]]) -> bool:
    return any(
        name in _MOVING_FILTERS or (name in _SORT_KEYS and "update" in value.lower()) for name, value in query
    )


def _named(query: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    named: list[str] = []
    for name, value in query:
        if name in _NAMING_FILTERS:
            named.extend(part for part in value.split(",") if part)
    return tuple(named)


def _jobs_of(kind: JobKind, job_id: str | None, answer: Mapping[str, Any]) -> dict[str, Summary]:
    """Each job an answer shows, with its summary: the show answer's own job, or a list's items."""
    fields = SUMMARY_FIELDS[kind]
    if job_id is not None:
        return {job_id: _summary(fields, answer)} if _has_state(answer) else {}
    items = answer.get("jobs")
    jobs: dict[str, Summary] = {}
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("job_id"), str) and _has_state(item):
            jobs[item["job_id"]] = _summary(fields, item)
    return jobs


def _has_state(job: Mapping[str, Any]) -> bool:
    state = job.get("state")
    return isinstance(state, str) and bool(state)


def _summary(fields: tuple[str, ...], job: Mapping[str, Any]) -> Summary:
    # Made for every job of every list answer kept: plain loops, no per-field call.
    values = []
    for name in fields:
        value = job.get(name, _MISSING)
        if value.__class__ is dict or value.__class__ is list:
            # A hash, not the JSON itself: orjson's output holds at least 4 KiB however short it is.
            value = hash(orjson.dumps(_unsigned(value), option=orjson.OPT_SORT_KEYS))
        values.append(value)
    return tuple(values)


def _unsigned(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _unsigned(item) for name, item in value.items() if not name.endswith("_url")}
    if isinstance(value, list):
        return [_unsigned(item) for item in value]
    return value


def _agree(ours: Summary, theirs: Summary) -> bool:
    """Whether two summaries of one job say the same wherever both say something."""
    return all(a is _MISSING or b is _MISSING or a == b for a, b in zip(ours, theirs, strict=True))
