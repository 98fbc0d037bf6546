"""Polling watched jobs: which credentials read each job, how due jobs are grouped into upstream calls."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.live.bus import EventBus
from gateway.live.events import JobChange, JobRef
from gateway.live.kinds import LIVE_KINDS
from gateway.live.watch import Watch
from gateway.loaders.base import OLDEST_CREATE_SINCE, SHOW_CONCURRENCY
from gateway.loaders.video import IDS_PER_LIST_CALL
from gateway.upstream import Credentials, CredentialsError, UpstreamClient, UpstreamError, UpstreamHTTPError

logger = logging.getLogger("gateway.live")

# Failing polls wait twice as long each time (a rate limit counts twice), up to this many seconds.
MAX_BACKOFF = 30.0
# Statuses that say these credentials may not read the job (or it is gone): ask with others, or give up.
UNREADABLE_STATUSES = frozenset({401, 403, 404})


@dataclass
class Caller:
    """The credentials shared by some of a job's watchers (one credentials_key), and how many they are."""

    credentials: Credentials
    watchers: int = 0


@dataclass(eq=False)
class TrackedJob:
    """A job with local watchers: who may read it, what they were told, and when to poll it next."""

    ref: JobRef
    watchers: set[Watch] = field(default_factory=set)
    callers: dict[str, Caller] = field(default_factory=dict)
    unreadable: set[str] = field(default_factory=set)  # credentials keys the upstream refused
    verified: set[str] = field(default_factory=set)  # credentials keys a poll has read the job with
    delivered: str | None = None  # the last state given to local watchers (from the bus)
    latest: str | None = None  # the last state published or heard: a poll publishes only a change from it
    generation: int = 0  # how many changes were delivered
    held: bool = False  # this replica holds the job's lease, so it polls the job
    in_flight: bool = False
    terminal: bool = False
    next_poll_at: float = 0.0
    failures: int = 0
    poll_key: str | None = None
    looked_at: float = float("-inf")  # when the last poll of it started: callbacks are coalesced from there
    recheck: bool = False  # a callback came after that poll started, so it may have read the state before

    def poll_credentials(self) -> tuple[str, Credentials] | None:
        """Credentials of a watcher not yet refused: each newcomer's once (so a watcher who may not read
        the job learns so), then the ones that worked last time."""
        for key, caller in self.callers.items():
            if key not in self.verified and key not in self.unreadable:
                return key, caller.credentials
        last = self.poll_key
        if last is not None and last in self.callers and last not in self.unreadable:
            return last, self.callers[last].credentials
        for key, caller in self.callers.items():
            if key not in self.unreadable:
                return key, caller.credentials
        return None


@dataclass(frozen=True)
class VideoBatch:
    key: str
    credentials: Credentials
    jobs: list[TrackedJob]


@dataclass(frozen=True)
class ShowPoll:
    key: str
    credentials: Credentials
    job: TrackedJob


@dataclass
class PollRound:
    """The upstream calls of one scheduling pass."""

    videos: list[VideoBatch] = field(default_factory=list)
    shows: list[ShowPoll] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.videos or self.shows)

    def jobs(self) -> Iterator[TrackedJob]:
        for batch in self.videos:
            yield from batch.jobs
        for show in self.shows:
            yield show.job


def plan_round(jobs: Sequence[TrackedJob], now: float) -> PollRound:
    """Due jobs this replica polls. Video jobs share list calls per credentials; a call with room left
    also takes the jobs of those credentials due soonest, so the jobs fall into step and N jobs cost
    ceil(N / 100) calls per interval however their watches started."""
    plan = PollRound()
    due_videos: dict[str, list[TrackedJob]] = {}
    spare_videos: dict[str, list[TrackedJob]] = {}
    credentials: dict[str, Credentials] = {}
    for job in jobs:
        if not job.held or job.in_flight or job.terminal:
            continue
        chosen = job.poll_credentials()
        if chosen is None:
            continue
        key, creds = chosen
        is_due = job.next_poll_at <= now
        if LIVE_KINDS[job.ref.kind].show is None:
            credentials[key] = creds
            (due_videos if is_due else spare_videos).setdefault(key, []).append(job)
        elif is_due:
            plan.shows.append(ShowPoll(key, creds, job))
    for key, due in due_videos.items():
        room = -len(due) % IDS_PER_LIST_CALL
        spare = sorted(spare_videos.get(key, ()), key=lambda job: job.next_poll_at)[:room]
        batch = due + spare
        for at in range(0, len(batch), IDS_PER_LIST_CALL):
            plan.videos.append(VideoBatch(key, credentials[key], batch[at : at + IDS_PER_LIST_CALL]))
    return plan


class PollReport(Protocol):
    """Where a poll's outcome for each job goes."""

    async def observed(self, job: TrackedJob, key: str, data: Mapping[str, Any]) -> None: ...

    def unreadable(self, job: TrackedJob, key: str) -> None: ...

    def failed(self, job: TrackedJob, error: Exception) -> None: ...


class PollingHub(Protocol):
    """What a round's outcomes change in the hub that started it."""

    bus: EventBus

    @property
    def interval(self) -> float: ...

    def tracks(self, job: TrackedJob) -> bool: ...

    def interval_of(self, ref: JobRef) -> float: ...

    def remember_answer(self, ref: JobRef, key: str, state: str, data: Mapping[str, Any]) -> None: ...

    def now(self) -> float: ...


class RoundReport:
    """Applies one poll round's outcomes: publish changes, give up on refused credentials, back off."""

    def __init__(self, hub: PollingHub, started: float) -> None:
        self.hub = hub
        self.started = started

    async def observed(self, job: TrackedJob, key: str, data: Mapping[str, Any]) -> None:
        hub = self.hub
        if not hub.tracks(job):  # the last watcher left while the call was out
            return
        state = str(data["state"])
        job.failures = 0
        job.poll_key = key
        job.verified.add(key)
        job.next_poll_at = self.started + hub.interval_of(job.ref)
        hub.remember_answer(job.ref, key, state, data)
        if state == job.latest:
            return
        try:
            await hub.bus.publish(JobChange(job.ref, state))
        except Exception as exc:
            # Unpublished, the change is found again by the next poll.
            logger.warning("could not publish a job state change (%s)", type(exc).__name__)
            job.next_poll_at = self.started + hub.interval
            return
        job.latest = state

    def unreadable(self, job: TrackedJob, key: str) -> None:
        if not self.hub.tracks(job):
            return
        job.unreadable.add(key)
        job.verified.discard(key)
        for watch in list(job.watchers):
            if watch.key == key:
                watch.gone()
        # Another watcher's credentials may still read it: ask with them at once.
        job.next_poll_at = self.hub.now()

    def failed(self, job: TrackedJob, error: Exception) -> None:
        if not self.hub.tracks(job):
            return
        rate_limited = isinstance(error, UpstreamHTTPError) and error.status == 429
        job.failures += 2 if rate_limited else 1
        delay = min(MAX_BACKOFF, self.hub.interval_of(job.ref) * 2**job.failures)
        job.next_poll_at = self.hub.now() + delay
        logger.info(
            "polling %s job %s failed (%s); next try in %.1f s",
            job.ref.kind,
            job.ref.job_id,
            type(error).__name__,
            delay,
        )


class JobStatePoller:
    """Makes a round's upstream calls: a list call per video batch, a show call per other job."""

    def __init__(self, client: UpstreamClient, concurrency: int = SHOW_CONCURRENCY) -> None:
        self.client = client
        self.concurrency = concurrency

    async def run(self, plan: PollRound, report: PollReport) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def bounded(call: Callable[[], Awaitable[None]]) -> None:
            # The coroutine is made only once its turn comes: a round cancelled early leaves none unawaited.
            async with gate:
                await call()

        calls = [functools.partial(self._videos, batch, report) for batch in plan.videos]
        calls += [functools.partial(self._show, show, report) for show in plan.shows]
        results = await asyncio.gather(*(bounded(call) for call in calls), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _videos(self, batch: VideoBatch, report: PollReport) -> None:
        # A comma would split one id into two upstream, so no job can have one.
        asked = [job for job in batch.jobs if job.ref.job_id and "," not in job.ref.job_id]
        for job in batch.jobs:
            if job not in asked:
                report.unreadable(job, batch.key)
        if not asked:
            return
        try:
            answer = await self.client.list_digital_human_videos(
                batch.credentials,
                job_ids=[job.ref.job_id for job in asked],
                limit=len(asked),
                offset=0,
                create_since=OLDEST_CREATE_SINCE,
                # A poll reads the upstream itself; its answer renews or drops what is kept.
                fresh=True,
            )
        except Exception as exc:
            for job in asked:
                _refused(job, batch.key, exc, report)
            return
        found: dict[str, Mapping[str, Any]] = {}
        listed = answer.get("jobs")
        for item in listed if isinstance(listed, list) else ():
            if isinstance(item, dict) and isinstance(item.get("job_id"), str):
                found[item["job_id"]] = item
        for job in asked:
            data = found.get(job.ref.job_id)
            if data is None:
                report.unreadable(job, batch.key)
            else:
                await _observed(job, batch.key, data, report)

    async def _show(self, poll: ShowPoll, report: PollReport) -> None:
        job = poll.job
        shows = LIVE_KINDS[job.ref.kind].show
        assert shows is not None  # plan_round makes show polls of such kinds only
        show = shows(self.client)
        if not job.ref.job_id:
            report.unreadable(job, poll.key)
            return
        try:
            data = await show(poll.credentials, job.ref.job_id, fresh=True)
        except Exception as exc:
            _refused(job, poll.key, exc, report)
            return
        await _observed(job, poll.key, data, report)


async def _observed(job: TrackedJob, key: str, data: Mapping[str, Any], report: PollReport) -> None:
    if isinstance(data.get("state"), str) and data["state"]:
        await report.observed(job, key, data)
    else:
        report.failed(job, UpstreamError("the answer has no state", operation="poll"))


def _refused(job: TrackedJob, key: str, error: Exception, report: PollReport) -> None:
    if isinstance(error, CredentialsError) or (
        isinstance(error, UpstreamHTTPError) and error.status in UNREADABLE_STATUSES
    ):
        report.unreadable(job, key)
        return
    if not isinstance(error, UpstreamError):
        logger.error("polling %s job %s failed unexpectedly", job.ref.kind, job.ref.job_id, exc_info=error)
    report.failed(job, error)
