"""Kept read answers: least recently used first, indexed by job, renewed or dropped as answers compare."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from gateway.upstream.job_summaries import JobKind, Summary, agree
from gateway.upstream.session import Call

IsTerminal = Callable[[JobKind, str], bool]

# How often answers nobody can use any more are swept out: expired lists, and expired show answers
# that no list can prove current again.
SWEEP_EVERY = 5.0
# What keeping one answer costs beside its JSON: the entry and its place in the indexes, and each job's
# summary (about 530 bytes measured for a video list item).
ENTRY_OVERHEAD = 600
JOB_OVERHEAD = 600


class ReadKey(NamedTuple):
    """One read as the cache knows it: who asks (a hash), where, and the query in a canonical order."""

    principal: str
    path: str
    query: tuple[tuple[str, str], ...]


@dataclass(eq=False)
class Entry:
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
    cover: Cover | None = None


class Cover(NamedTuple):
    key: ReadKey
    call: Call
    width: int  # how many jobs its answer showed


class KeptReads:
    """Answers kept for their callers `keep_seconds`, a terminal job's show answer `terminal_seconds`,
    within `max_entries` and `max_bytes`; a list answer that agrees with a kept show answer of the same
    caller renews it, one that disagrees drops it."""

    def __init__(
        self,
        *,
        keep_seconds: float,
        terminal_seconds: float,
        max_entries: int,
        max_bytes: int,
        is_terminal: IsTerminal | None,
    ) -> None:
        self.keep_seconds = keep_seconds
        self.terminal_seconds = max(terminal_seconds, keep_seconds)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.is_terminal = is_terminal
        self.bytes = 0
        self.entries: OrderedDict[ReadKey, Entry] = OrderedDict()  # least recently used first
        self._by_job: dict[tuple[str, str], set[ReadKey]] = {}
        self._lists: dict[tuple[str, str], set[ReadKey]] = {}  # by (principal, kind)
        self._moving: dict[str, set[ReadKey]] = {}  # moving lists by kind
        self._next_sweep = 0.0

    def clear(self) -> None:
        self.entries.clear()
        self._by_job.clear()
        self._lists.clear()
        self._moving.clear()
        self.bytes = 0

    def keeping(self, entry: Entry) -> float:
        if entry.job_id is not None and self.is_terminal is not None:
            summary = entry.jobs.get(entry.job_id)
            state = None if summary is None else summary[0]
            if isinstance(state, str) and state and self.is_terminal(entry.kind, state):
                return self.terminal_seconds
        return self.keep_seconds

    def add(self, entry: Entry, *, keep: bool) -> None:
        """A new answer: kept when `keep` and small enough, and compared with the others either way."""
        if keep and entry.size <= self.max_bytes:
            self._put(entry)
        self._compare(entry)
        if entry.fetched_at >= self._next_sweep:
            self._sweep(entry.fetched_at)

    def _compare(self, entry: Entry) -> None:
        """What a new answer says of every other kept answer showing its jobs: a show answer of the same
        caller that a list agrees with is current as of that list's call; any older answer that
        disagrees is stale, whoever it was for."""
        for job_id, summary in entry.jobs.items():
            for key in list(self._by_job.get((entry.kind, job_id), ())):
                other = self.entries.get(key)
                if other is None or other is entry:
                    continue
                theirs = other.jobs.get(job_id)
                if theirs is None:
                    continue
                if agree(theirs, summary):
                    if other.key.principal == entry.key.principal:
                        if entry.job_id is None and other.job_id is not None:
                            self._renew(other, entry)
                        elif other.job_id is None and entry.job_id is not None:
                            # A show call that started before this list's call may land after it.
                            self._renew(entry, other)
                elif other.fresh_at <= entry.fresh_at:
                    self.drop(key)
        for job_id in entry.named:
            if job_id in entry.jobs:
                continue
            # Named and not listed: this caller has no such job (any more).
            for key in list(self._by_job.get((entry.kind, job_id), ())):
                other = self.entries.get(key)
                if other is not None and other.key.principal == entry.key.principal:
                    if other.fresh_at <= entry.fresh_at:
                        self.drop(key)

    def _renew(self, shown: Entry, listed: Entry) -> None:
        if shown.fresh_at < listed.fresh_at:
            shown.fresh_at = listed.fresh_at
            # Never past the longest keeping after its own call: its signed links must still work.
            shown.expires_at = min(
                shown.fetched_at + self.terminal_seconds, listed.fresh_at + self.keeping(shown)
            )
        if shown.cover is None or len(listed.jobs) >= shown.cover.width:
            shown.cover = Cover(listed.key, listed.call, len(listed.jobs))

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_EVERY
        for key, entry in list(self.entries.items()):
            if entry.expires_at > now:
                continue
            if entry.job_id is None or entry.cover is None or entry.fetched_at + self.terminal_seconds <= now:
                self.drop(key)

    def _put(self, entry: Entry) -> None:
        key = entry.key
        if key in self.entries:
            self.drop(key)
        self.entries[key] = entry
        self.bytes += entry.size
        for job_id in entry.jobs:
            self._by_job.setdefault((entry.kind, job_id), set()).add(key)
        if entry.job_id is None:
            self._lists.setdefault((key.principal, entry.kind), set()).add(key)
            if entry.moving:
                self._moving.setdefault(entry.kind, set()).add(key)
        while len(self.entries) > self.max_entries or self.bytes > self.max_bytes:
            self.drop(next(iter(self.entries)))

    def drop(self, key: ReadKey) -> None:
        entry = self.entries.pop(key, None)
        if entry is None:
            return
        self.bytes -= entry.size
        for job_id in entry.jobs:
            _discard(self._by_job, (entry.kind, job_id), key)
        if entry.job_id is None:
            _discard(self._lists, (key.principal, entry.kind), key)
            _discard(self._moving, entry.kind, key)

    def drop_job(self, kind: JobKind, job_id: str, state: str | None) -> None:
        """Drop what shows the job other than in `state` (anything, when None), and the lists of its
        kind whose members move with states."""
        for key in list(self._by_job.get((kind, job_id), ())):
            entry = self.entries.get(key)
            summary = None if entry is None else entry.jobs.get(job_id)
            if state is None or summary is None or summary[0] != state:
                self.drop(key)
        for key in list(self._moving.get(kind, ())):
            self.drop(key)

    def drop_lists(self, principal: str, kind: JobKind) -> None:
        for key in list(self._lists.get((principal, kind), ())):
            self.drop(key)


def _discard(index: dict[Any, set[ReadKey]], at: Any, key: ReadKey) -> None:
    keys = index.get(at)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[at]
