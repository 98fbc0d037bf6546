"""JobStateHub: one poller per watched job whatever its subscribers, events fanned out to every watch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gateway.live.bus import BusFeed, EventBus, listen
from gateway.live.clock import RUNNING_LOOP, Clock
from gateway.live.event_contexts import EventContexts
from gateway.live.events import JobChange, JobKind, JobRef, Message, RefreshHint
from gateway.live.finished import FinishedJobs
from gateway.live.lease_holder import LeaseHolder
from gateway.live.leases import Leases
from gateway.live.pollers import Caller, JobStatePoller, TrackedJob
from gateway.live.schedule import PollScheduler
from gateway.live.watch import CallerLimitReached, HubStopped, JobGone, TooManySubscriptions, Watch
from gateway.loaders.base import credentials_key
from gateway.settings import Settings
from gateway.upstream import Credentials, UpstreamClient

if TYPE_CHECKING:
    # gateway.context refers to the hub in turn; at run time the hub only passes contexts along.
    from gateway.context import RequestContext

__all__ = ["CallerLimitReached", "HubStopped", "JobGone", "JobStateHub", "TooManySubscriptions", "Watch"]


class JobStateHub:
    """Watches jobs for subscribers: polls each watched job once (grouped into as few upstream calls
    as its kind allows), publishes each state change on the bus, and hands it to every local watch.

    Polling is the scheduler's (gateway.live.schedule), leases the lease holder's, and the contexts
    events resolve in are EventContexts', built by `context_for`; the hub only tells it what the polls
    read and which changes were delivered. The hub and its scheduler read the time and set their
    wake-ups by `clock`, the running event loop's unless another is given."""

    def __init__(
        self,
        *,
        client: UpstreamClient,
        settings: Settings,
        bus: EventBus,
        leases: Leases,
        context_for: Callable[[Credentials], RequestContext],
        is_terminal: Callable[[JobKind, str], bool],
        clock: Clock = RUNNING_LOOP,
    ) -> None:
        self.client = client
        self.settings = settings
        self.bus = bus
        self.leases = leases
        self.is_terminal = is_terminal
        self.poller = JobStatePoller(client)
        self.contexts = EventContexts(context_for, settings)
        self._jobs: dict[JobRef, TrackedJob] = {}
        self.lease_holder = LeaseHolder(leases, self._jobs)
        self.scheduler = PollScheduler(
            jobs=self._jobs,
            lease_holder=self.lease_holder,
            poller=self.poller,
            hub=self,
            settings=settings,
            sweep=self.contexts.sweep,
            clock=clock,
        )
        self._watchers = 0
        self._held_by: dict[str, int] = {}  # by caller_of, a hash: no token is kept for the limit
        self._holder: dict[Watch, str] = {}
        self._finished = FinishedJobs()
        self._background: list[asyncio.Task[None]] = []  # scheduler and bus listener
        self._feed: BusFeed | None = None
        self._stopping = False

    @property
    def interval(self) -> float:
        return self.settings.poll_interval

    # Lifecycle

    async def start(self) -> None:
        if self._background:
            return
        self._stopping = self.scheduler.stopping = False
        feed = self.bus.messages()
        if isinstance(feed, BusFeed):
            self._feed = feed
            await feed.open()
        self._background = [
            asyncio.create_task(
                listen(feed, self._receive, stopping=lambda: self._stopping, pause=self.interval),
                name="job-events-listener",
            ),
            asyncio.create_task(self.scheduler.run(), name="job-poll-scheduler"),
        ]

    async def stop(self, *, release_leases: bool = True) -> None:
        """Cancel and await every task of the hub; watches still open end with HubStopped. Leases are
        given back so another replica takes over at once (`release_leases=False` is how a crash looks
        to the other replicas: they wait for the leases to expire)."""
        tasks = [*self._background, *self.scheduler.rounds]
        self._background = []
        # Client libraries may turn a cancellation into an error or an empty answer, which the loops
        # would survive: the flags end them whatever the cancellation becomes.
        self._stopping = True
        self.scheduler.stop_soon()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.scheduler.rounds.clear()
        if self._feed is not None:
            await self._feed.aclose()
            self._feed = None
        refs = self.lease_holder.take_all()
        for job in self._jobs.values():
            job.held = job.in_flight = False
            for watch in job.watchers:
                watch.stopped()
        if release_leases:
            await self.lease_holder.release_all(refs)

    # What subscriptions and mutations call

    def watch(self, ref: JobRef, credentials: Credentials) -> Watch:
        if self._watchers >= self.settings.max_subscriptions:
            raise TooManySubscriptions(self.settings.max_subscriptions)
        holder = self.caller_of(credentials)
        held = self._held_by.get(holder, 0)
        if held >= self.settings.max_subscriptions_per_caller:
            raise CallerLimitReached(self.settings.max_subscriptions_per_caller)
        key = credentials_key(credentials)
        watch = Watch(
            ref,
            credentials,
            key,
            capacity=self.settings.subscriber_queue_size,
            is_terminal=self.is_terminal,
            on_close=self._unwatch,
        )
        job = self._jobs.get(ref)
        if job is None:
            job = self._jobs[ref] = TrackedJob(ref, next_poll_at=self.now() + self.interval_of(ref))
            self.lease_holder.wanted(ref)
            self.scheduler.wake()
        job.watchers.add(watch)
        caller = job.callers.setdefault(key, Caller(credentials))
        caller.watchers += 1
        # A newcomer gets its own chance to read the job, whatever the upstream said to others before.
        job.unreadable.discard(key)
        self._watchers += 1
        self._held_by[holder] = held + 1
        self._holder[watch] = holder
        return watch

    def check_room(self, credentials: Credentials, jobs: int) -> None:
        """Refuse at once, before any of them is watched, jobs that would take the caller past its limit."""
        limit = self.settings.max_subscriptions_per_caller
        if self._held_by.get(self.caller_of(credentials), 0) + jobs > limit:
            raise CallerLimitReached(limit, jobs)

    def caller_of(self, credentials: Credentials) -> str:
        """Who holds a subscription, for the per-caller limit, hashed like every cache key: the token in
        token mode (whatever X-App-UserId comes with it, which the caller picks freely), the app user in
        aksk mode, where callers sending none are all the service itself."""
        if self.settings.auth_mode == "token":
            return credentials_key(Credentials(token=credentials.token))
        return credentials_key(Credentials(app_user_id=credentials.app_user_id))

    def event_context(self, ref: JobRef, credentials: Credentials, state: str | None) -> RequestContext:
        """The context in which subscribers with these credentials resolve this job in this state: one
        per event and caller (see EventContexts). `state=None` is a subscriber's first load."""
        return self.contexts.context(ref, credentials, state, self.now())

    async def nudge(self, ref: JobRef) -> None:
        """A callback says the job moved: whichever replica polls it looks soon (see CALLBACK_WINDOW)."""
        if self.finished(ref):
            return
        # Kept answers showing the job go here at once, on the other replicas when the hint reaches them.
        self.client.reads.job_hinted(ref.kind, ref.job_id)
        await self.bus.publish(RefreshHint(ref))

    def finished(self, ref: JobRef) -> bool:
        """Whether the job's terminal state was published lately, by this replica or another."""
        return self._finished.finished(ref, self.now())

    def created(self, ref: JobRef) -> None:
        self.scheduler.created(ref)

    def counts(self) -> dict[str, int]:
        """Live objects, for leak checks and metrics; every value is 0 when nothing is watched."""
        return {
            "jobs": len(self._jobs),
            "watchers": self._watchers,
            "queued": sum(w.queued for job in self._jobs.values() for w in job.watchers),
            "tasks": len(self.scheduler.rounds),
            "leases": sum(1 for job in self._jobs.values() if job.held),
        }

    # Watchers

    def _unwatch(self, watch: Watch) -> None:
        holder = self._holder.pop(watch, None)
        if holder is not None:
            left = self._held_by[holder] - 1
            if left:
                self._held_by[holder] = left
            else:
                del self._held_by[holder]
        job = self._jobs.get(watch.ref)
        if job is None or watch not in job.watchers:
            return
        job.watchers.discard(watch)
        self._watchers -= 1
        caller = job.callers.get(watch.key)
        if caller is not None:
            caller.watchers -= 1
            if caller.watchers <= 0:
                del job.callers[watch.key]
                job.unreadable.discard(watch.key)
                job.verified.discard(watch.key)
        if not job.watchers:
            del self._jobs[job.ref]
            self.lease_holder.dropped(job)
            self.contexts.forget(job.ref)
            self.scheduler.wake()

    # Bus

    def _receive(self, message: Message) -> None:
        # Before any watcher hears of it, so that what its event resolves is read anew: kept answers that
        # show the job otherwise go, on every replica, whoever watches the job.
        ref = message.ref
        if isinstance(message, JobChange):
            self.client.reads.job_changed(ref.kind, ref.job_id, message.state)
            if self.is_terminal(ref.kind, message.state):
                self._finished.remember(ref, self.now())
        elif not self.finished(ref):
            self.client.reads.job_hinted(ref.kind, ref.job_id)
        job = self._jobs.get(message.ref)
        if job is None:
            return
        if isinstance(message, RefreshHint):
            if job.held and not job.terminal:
                self.scheduler.look_again(job)
            return
        state = message.state
        job.latest = state
        if state == job.delivered or job.terminal:
            return
        job.delivered = state
        job.generation += 1
        self.contexts.delivered()
        for watch in list(job.watchers):
            watch.offer(state)
        if self.is_terminal(job.ref.kind, state):
            job.terminal = True
            self.lease_holder.give_back(job.ref)
            self.scheduler.wake()

    # What a poll round reports back (gateway.live.pollers.PollingHub)

    def tracks(self, job: TrackedJob) -> bool:
        return self._jobs.get(job.ref) is job

    def remember_answer(self, ref: JobRef, key: str, state: str, data: Mapping[str, Any]) -> None:
        """A poll's answer, to prime the event contexts of subscribers with the same credentials."""
        self.contexts.polled(ref, key, state, data, self.now())

    def interval_of(self, ref: JobRef) -> float:
        return self.scheduler.interval_of(ref)

    def now(self) -> float:
        return self.scheduler.now()
