"""Relay pages over the upstream's offset lists: anchored on the create time, so that jobs created or
deleted between two pages neither repeat nor hide an item; backward pages read the list the other way.

The upstream lists take `offset`/`limit`, a sort order both ways, and inclusive create-time bounds
(`create_since`: create time >= it, `create_until`: create time <= it, RFC 3339 to the second, the
granularity the list shows). A page after a job asks for the jobs created at or after (ascending) or at
or before (descending) that job's create time, then skips what comes before that job in the answer:
jobs created earlier in that same second (ties) and the job itself. An offset would instead move with
every job created or deleted ahead of it.
"""

from __future__ import annotations

import asyncio
import binascii
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from gateway.upstream import QueryValue
from schema.direct import MaybeAwaitable
from schema.errors import BadUserInput
from schema.relay import from_base64, to_base64
from schema.times import parse_time, upstream_time

T = TypeVar("T")

MAX_PAGE = 100
# The one default page size of every list: the upstream's own default `limit`.
DEFAULT_PAGE = 10
# A page whose anchor job sits behind many jobs created in its same second (or whose anchor was
# deleted) reads on in further calls of the same query; past this many calls it shows what it has.
MAX_CALLS_PER_PAGE = 5
_CURSOR_VERSION = 2

Job = Mapping[str, Any]
# One upstream list call: (query, offset, limit) -> (jobs in the order asked, how many match in all).
Fetch = Callable[[dict[str, QueryValue], int, int], Awaitable[tuple[list[Job], int]]]


class Lazy(Generic[T]):
    """A value known now, or computed once on first demand (an upstream call only when a field needs it)."""

    def __init__(self, value: T | None = None, compute: Callable[[], Awaitable[T]] | None = None) -> None:
        self._value = value
        self._compute = compute
        self._task: asyncio.Future[T] | None = None

    def get(self) -> MaybeAwaitable[T]:
        if self._compute is None:
            return self._value  # type: ignore[return-value]
        if self._task is None:
            self._task = asyncio.ensure_future(self._compute())
        return self._task

    async def value(self) -> T:
        got = self.get()
        return await got if isinstance(got, Awaitable) else got


@dataclass(frozen=True)
class ListOrder:
    """One list in one order: which cursors belong to it, and whether its pages anchor on the create time."""

    kind: str
    sort_key: str
    descending: bool
    # The upstream can filter on the create time only: other orders page by offset.
    anchored: bool

    @property
    def tag(self) -> str:
        return f"{self.sort_key}:{'desc' if self.descending else 'asc'}"


@dataclass(frozen=True)
class Cursor:
    # An offset cursor: the job's position in the list (older cursors, and lists that cannot anchor).
    offset: int | None = None
    # An anchored cursor: the job's create time and id, and how many jobs of that same create time the
    # walk that made it had passed, itself included (how far to read past the bound to find it again).
    time: datetime | None = None
    job_id: str = ""
    ties: int = 1
    walked_descending: bool = False


@dataclass(frozen=True)
class PageRequest:
    size: int
    backward: bool
    cursor: Cursor | None


@dataclass
class Page:
    jobs: list[Job]  # in list order
    cursors: list[str]
    has_next: Lazy[bool]
    has_previous: Lazy[bool]
    total: Lazy[int]


def empty_page() -> Page:
    return Page([], [], Lazy(False), Lazy(False), Lazy(0))


def _encode(order: ListOrder, cursor: Cursor) -> str:
    if cursor.offset is not None:
        fields: list[Any] = [_CURSOR_VERSION, order.kind, order.tag, "o", cursor.offset]
    else:
        time = None if cursor.time is None else cursor.time.isoformat()
        walk = "d" if cursor.walked_descending else "a"
        fields = [_CURSOR_VERSION, order.kind, order.tag, "k", time, cursor.job_id, cursor.ties, walk]
    return to_base64(json.dumps(fields, separators=(",", ":")))


class _AnchoredCursors:
    """Anchored cursors of one list order and walk, as `_encode` writes them, made for a page at a time:
    every row of a page has one. Where a job id is plain text, the JSON is written at once (json.dumps
    would write it the same), and each create time is written once per page."""

    def __init__(self, order: ListOrder, descending: bool) -> None:
        self.order = order
        self.descending = descending
        self.walk = "d" if descending else "a"
        self.prefix = (
            f'[{_CURSOR_VERSION},"{order.kind}","{order.tag}","k",'
            if _PLAIN.fullmatch(order.kind) and _PLAIN.fullmatch(order.tag)
            else None
        )
        self.times: dict[datetime | None, str] = {}

    def cursor(self, time: datetime | None, job_id: str, ties: int) -> str:
        if self.prefix is None or not _PLAIN.fullmatch(job_id):
            cursor = Cursor(time=time, job_id=job_id, ties=ties, walked_descending=self.descending)
            return _encode(self.order, cursor)
        quoted = self.times.get(time)
        if quoted is None:
            quoted = self.times[time] = "null" if time is None else f'"{time.isoformat()}"'
        return to_base64(f'{self.prefix}{quoted},"{job_id}",{ties},"{self.walk}"]')


# Text json.dumps writes as it is, between quotes (job ids are UUIDs or hex digits).
_PLAIN = re.compile(r"[A-Za-z0-9_.:+-]*")


def decode_cursor(value: str, order: ListOrder, argument: str) -> Cursor:
    """The cursor `value` of this list in this order; BAD_USER_INPUT names `argument` for anything else."""
    refused = BadUserInput(f"{argument}: {value!r} is not a cursor of this list in this order")
    try:
        text = from_base64(value)
    except (binascii.Error, UnicodeError, ValueError):
        raise refused from None
    if not text.startswith("["):
        # Offset cursors of earlier versions ("VideoJob:5") still read, as offsets into the list.
        kind, _, position = text.partition(":")
        if kind != order.kind or not position.isdigit():
            raise refused
        return Cursor(offset=int(position))
    try:
        fields = json.loads(text)
    except ValueError:
        raise refused from None
    if not isinstance(fields, list) or fields[:3] != [_CURSOR_VERSION, order.kind, order.tag]:
        raise refused
    match fields[3:]:
        case ["o", int(offset)] if offset >= 0 and not isinstance(offset, bool):
            return Cursor(offset=offset)
        case ["k", str() | None as time, str(job_id), int(ties), "a" | "d" as walk] if job_id and ties >= 1:
            parsed = None if time is None else parse_time(time)
            if time is not None and parsed is None:
                raise refused
            return Cursor(time=parsed, job_id=job_id, ties=ties, walked_descending=walk == "d")
    raise refused


def page_request(
    order: ListOrder, first: int | None, after: str | None, last: int | None, before: str | None
) -> PageRequest:
    """What page the arguments ask for; BAD_USER_INPUT names a bad size, cursor or mix of them."""
    if first is not None and last is not None:
        raise BadUserInput("first and last cannot be given together: page forward or backward")
    if after is not None and before is not None:
        raise BadUserInput("after and before cannot be given together: page forward or backward")
    backward = last is not None or before is not None
    if backward and (first is not None or after is not None):
        raise BadUserInput("page backward with last and before, forward with first and after")
    given = last if backward else first
    size = DEFAULT_PAGE if given is None else given
    if not 1 <= size <= MAX_PAGE:
        raise BadUserInput(f"{'last' if backward else 'first'} must be between 1 and {MAX_PAGE}, got {size}")
    raw, argument = (before, "before") if backward else (after, "after")
    cursor = None if raw is None else decode_cursor(raw, order, argument)
    return PageRequest(size=size, backward=backward, cursor=cursor)


async def paginate(
    order: ListOrder, request: PageRequest, query: dict[str, QueryValue], fetch: Fetch, time_field: str
) -> Page:
    """The page `request` asks for, from a list `fetch` reads with the filter's `query`."""
    if order.anchored and (request.cursor is None or request.cursor.offset is None):
        return await _anchored(order, request, query, fetch, time_field)
    return await _by_offset(order, request, query, fetch, time_field)


def _walk_query(query: dict[str, QueryValue], order: ListOrder, descending: bool) -> dict[str, QueryValue]:
    if descending == order.descending:
        return dict(query)
    return {**query, "sort_key": order.sort_key, "sort_dir": "desc" if descending else "asc"}


def _total_of(query: dict[str, QueryValue], fetch: Fetch) -> Lazy[int]:
    async def count() -> int:
        _, total = await fetch(dict(query), 0, 1)
        return total

    return Lazy(compute=count)


async def _by_offset(
    order: ListOrder, request: PageRequest, query: dict[str, QueryValue], fetch: Fetch, time_field: str
) -> Page:
    size, cursor = request.size, request.cursor
    if not request.backward:
        start = 0 if cursor is None or cursor.offset is None else cursor.offset + 1
        jobs, total = await fetch(dict(query), start, size)
        offsets = list(range(start, start + len(jobs)))
        has_next, has_previous = start + len(jobs) < total, start > 0
    elif cursor is None:
        # The last jobs of the list are the first ones in the other order.
        reversed_jobs, total = await fetch(_walk_query(query, order, not order.descending), 0, size)
        jobs = reversed_jobs[::-1]
        offsets = list(range(total - len(jobs), total))
        has_next, has_previous = False, len(jobs) < total
    else:
        end = cursor.offset or 0
        start = max(0, end - size)
        if end == start:
            return Page([], [], Lazy(True), Lazy(False), _total_of(query, fetch))
        jobs, total = await fetch(dict(query), start, end - start)
        offsets = list(range(start, start + len(jobs)))
        has_next, has_previous = end < total, start > 0
    if order.anchored:
        # An older offset cursor of an anchored list: the jobs it reaches get anchored cursors.
        cursors = _anchored_cursors(order, jobs, jobs, time_field, order.descending)
    else:
        cursors = [_encode(order, Cursor(offset=offset)) for offset in offsets]
    return Page(jobs, cursors, Lazy(has_next), Lazy(has_previous), Lazy(total))


def _time_of(job: Job, time_field: str) -> datetime | None:
    return parse_time(job.get(time_field))


def _anchored_cursors(
    order: ListOrder, page: Sequence[Job], walked: Sequence[Job], time_field: str, descending: bool
) -> list[str]:
    """Cursors for the jobs of `page`, counting ties over everything `walked` (the walk's answer from
    its bound on, in walk order, which `page` is a slice of)."""
    seen: dict[datetime | None, int] = {}
    # By job: its create time and how many of that time the walk had passed, itself included.
    counted: dict[int, tuple[datetime | None, int]] = {}
    # Jobs of one page often share their create time's text (a batch made in one second).
    parsed: dict[str, datetime | None] = {}
    for job in walked:
        raw = job.get(time_field)
        if type(raw) is str:
            time = parsed[raw] if raw in parsed else parsed.setdefault(raw, parse_time(raw))
        else:
            time = parse_time(raw)
        seen[time] = seen.get(time, 0) + 1
        counted[id(job)] = (time, seen[time])
    made = _AnchoredCursors(order, descending)
    cursors = []
    for job in page:
        time, ties = counted.get(id(job)) or (_time_of(job, time_field), 1)
        cursors.append(made.cursor(time, str(job.get("job_id") or ""), ties))
    return cursors


def _bounded(query: dict[str, QueryValue], anchor: datetime, descending: bool) -> dict[str, QueryValue]:
    """The walk's query narrowed to the jobs created at or past the anchor's second, in walk order."""
    if descending:
        # Bounds are whole seconds: round a finer anchor up so that its own second stays in.
        until = anchor.replace(microsecond=0) + (timedelta(seconds=1) if anchor.microsecond else timedelta())
        current = parse_time(query.get("create_until"))
        if current is None or until < current:
            return {**query, "create_until": upstream_time(until)}
        return dict(query)
    since = anchor.replace(microsecond=0)
    current = parse_time(query.get("create_since"))
    if current is None or since > current:
        return {**query, "create_since": upstream_time(since)}
    return dict(query)


def _start_after(
    jobs: Sequence[Job], cursor: Cursor, time_field: str, descending: bool, complete: bool
) -> int | None:
    """Index in the walk's answer of the first job past the cursor's job; None until the answer
    reaches far enough to tell. A job no longer there is stood in for by its count of ties."""
    anchor = cursor.time
    ties_start: int | None = None
    for index, job in enumerate(jobs):
        time = _time_of(job, time_field)
        if anchor is not None and time is not None and (time > anchor if descending else time < anchor):
            continue  # inside the bound's rounding, before the anchor
        if anchor is None or time == anchor:
            if ties_start is None:
                ties_start = index
            if job.get("job_id") == cursor.job_id:
                return index + 1
            continue
        return _without_anchor(ties_start, index, cursor, descending)
    if complete:
        return _without_anchor(ties_start, len(jobs), cursor, descending)
    return None


def _without_anchor(ties_start: int | None, ties_end: int, cursor: Cursor, descending: bool) -> int:
    if ties_start is None:
        return ties_end
    # Counted the same way, the ties before the vanished job were its count less itself; counted the
    # other way there is no telling, and the ties show again.
    passed = cursor.ties - 1 if cursor.walked_descending == descending else 0
    return min(ties_start + passed, ties_end)


async def _anchored(
    order: ListOrder, request: PageRequest, query: dict[str, QueryValue], fetch: Fetch, time_field: str
) -> Page:
    size, cursor = request.size, request.cursor
    descending = order.descending != request.backward
    walk = _walk_query(query, order, descending)
    if cursor is None:
        walked, count = await fetch(walk, 0, size)
        page = walked[:size]
        beyond = count - len(page) > 0
        anchor_side: Lazy[bool] = Lazy(False)
        total: Lazy[int] = Lazy(count)
    else:
        if cursor.time is not None:
            walk = _bounded(walk, cursor.time, descending)
        same_way = cursor.walked_descending == descending
        limit = min(MAX_PAGE, size + (cursor.ties if same_way else 0))
        walked, offset, calls = [], 0, 0
        start: int | None = None
        while True:
            chunk, count = await fetch(walk, offset, limit)
            calls += 1
            walked += chunk
            offset += len(chunk)
            complete = len(chunk) < limit or offset >= count
            start = _start_after(walked, cursor, time_field, descending, complete)
            if complete or calls >= MAX_CALLS_PER_PAGE or (start is not None and len(walked) - start >= size):
                break
            limit = min(MAX_PAGE, size)
        if start is None:
            start = _start_after(walked, cursor, time_field, descending, True) or 0
        page = walked[start : start + size]
        beyond = count - start - len(page) > 0
        total = _total_of(query, fetch)
        if start > 0:
            anchor_side = Lazy(True)
        else:
            # Nothing of the anchor's second came back: whether jobs lie on its side is whether the
            # bound left any out.
            async def left_out() -> bool:
                return await total.value() > count

            anchor_side = Lazy(compute=left_out)
    cursors = _anchored_cursors(order, page, walked, time_field, descending)
    if request.backward:
        return Page(page[::-1], cursors[::-1], anchor_side, Lazy(beyond), total)
    return Page(page, cursors, Lazy(beyond), anchor_side, total)
