"""JobStateHub: one poller per watched job whatever its subscribers, events fanned out to every watch."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from gateway.live.bus import BusFeed, EventBus
from gateway.live.events import JobChange, JobKind, JobRef, Message, RefreshHint
from gateway.live.leases import Leases
from gateway.live.pollers import Caller, JobStatePoller, PollRound, RoundReport, TrackedJob, plan_round
from gateway.live.watch import CallerLimitReached, HubStopped, JobGone, TooManySubscriptions, Watch
from gateway.loaders.base import credentials_key
from gateway.settings import Settings
from gateway.upstream import Credentials, UpstreamClient

if TYPE_CHECKING:
    # gateway.context refers to the hub in turn; at run time the hub only passes contexts along.
    from gateway.context import RequestContext

__all__ = ["CallerLimitReached", "HubStopped", "JobGone", "JobStateHub", "TooManySubscriptions", "Watch"]

logger = logging.getLogger("gateway.live")

# A lease outlives a missed renewal or two, yet a dead holder's jobs move to another replica well
# within two poll intervals: ttl 1.5 intervals, renewed every quarter interval.
LEASE_TTL_INTERVALS = 1.5
RENEWALS_PER_INTERVAL = 4
# Event contexts (and the poll answers priming them) serve the subscribers of one event, who all
# ask within moments; a few intervals later they are stale.
CONTEXT_INTERVALS = 3
# Callbacks can be replayed by anyone holding the URL: a job is looked at for them at most once per
# window. One arriving while a look is out, or within the window after it started, may have been missed
# by that look, so it earns one more look at the window's end, which serves every later one too.
CALLBACK_WINDOW = 1.0
# Jobs whose terminal state was published are remembered for a while, so their callbacks, however
# often replayed, reach neither the bus nor the upstream. Bounded: a forgotten job is rarely watched
# still, and an unwatched job costs a callback nothing anyway.
FINISHED_SECONDS = 3600.0
FINISHED_CAPACITY = 20_000

ContextKey = tuple[JobRef, str, str]


class JobStateHub:
    """Watches jobs for subscribers: polls each watched job once (grouped into as few upstream calls
    as its kind allows), publishes each state change on the bus, and hands it to every local watch."""

    def __init__(
        self,
        *,
        client: UpstreamClient,
        settings: Settings,
        bus: EventBus,
        leases: Leases,
        context_for: Callable[[Credentials], RequestContext],
        is_terminal: Callable[[JobKind, str], bool],
    ) -> None:
        self.client = client
        self.settings = settings
        self.bus = bus
        self.leases = leases
        self.context_for = context_for
        self.is_terminal = is_terminal
        self.poller = JobStatePoller(client)
        self._jobs: dict[JobRef, TrackedJob] = {}
        self._watchers = 0
        self._held_by: dict[str, int] = {}  # by caller_of, a hash: no token is kept for the limit
        self._holder: dict[Watch, str] = {}
        self._unleased: set[JobRef] = set()  # new jobs whose lease nobody asked for yet
        self._releases: set[JobRef] = set()  # leases to give up (last watcher gone, or terminal)
        self._fast_until: dict[JobRef, float] = {}
        self._contexts: dict[ContextKey, tuple[float, RequestContext]] = {}
        self._first_loads: dict[str, tuple[float, RequestContext]] = {}
        self._primes: dict[tuple[JobRef, str, str], tuple[float, Mapping[str, Any]]] = {}
        self._finished: dict[JobRef, float] = {}  # in the order they finished, so oldest first
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()  # poll rounds in flight
        self._background: list[asyncio.Task[None]] = []  # scheduler and bus listener
        self._feed: BusFeed | None = None
        self._next_renew = 0.0
        self._next_sweep = 0.0
        self._stopping = False

    @property
    def interval(self) -> float:
        return self.settings.poll_interval

    # Lifecycle

    async def start(self) -> None:
        if self._background:
            return
        self._stopping = False
        feed = self.bus.messages()
        if isinstance(feed, BusFeed):
            self._feed = feed
            await feed.open()
        self._background = [
            asyncio.create_task(self._listen(feed), name="job-events-listener"),
            asyncio.create_task(self._schedule(), name="job-poll-scheduler"),
        ]

    async def stop(self, *, release_leases: bool = True) -> None:
        """Cancel and await every task of the hub; watches still open end with HubStopped. Leases are
        given back so another replica takes over at once (`release_leases=False` is how a crash looks
        to the other replicas: they wait for the leases to expire)."""
        tasks = [*self._background, *self._tasks]
        self._background = []
        # Client libraries may turn a cancellation into an error or an empty answer, which the loops
        # would survive: the flag ends them whatever the cancellation becomes.
        self._stopping = True
        self._wake.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._feed is not None:
            await self._feed.aclose()
            self._feed = None
        held = [job.ref for job in self._jobs.values() if job.held]
        refs = list(self._releases.union(held))
        self._releases.clear()
        for job in self._jobs.values():
            job.held = job.in_flight = False
            for watch in job.watchers:
                watch.stopped()
        if release_leases and refs:
            try:
                await self.leases.release(refs)
            except Exception as exc:
                logger.warning("could not release %d job leases (%s)", len(refs), type(exc).__name__)

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
            self._unleased.add(ref)
            self._releases.discard(ref)
            self._wake.set()
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
        per event and caller, so N such subscribers cost one upstream read (none when this replica's
        poll read the state with the same credentials). `state=None` is a subscriber's first load."""
        key = credentials_key(credentials)
        now = self.now()
        if state is None:
            return self._first_load_context(key, credentials, now)
        entry: ContextKey = (ref, key, state)
        cached = self._contexts.get(entry)
        if cached is not None and cached[0] > now:
            return cached[1]
        context = self.context_for(credentials)
        primed = self._primes.get((ref, key, state))
        if primed is not None and primed[0] > now:
            context.loaders.prime_polled(ref.kind, ref.job_id, primed[1])
        self._contexts[entry] = (now + CONTEXT_INTERVALS * self.interval, context)
        return context

    def _first_load_context(self, key: str, credentials: Credentials, now: float) -> RequestContext:
        """One context for every first load by this caller until the next delivered change: subscribers
        arriving together batch their first reads (100 videos per list call) however many jobs they
        follow. Any delivered change starts a new one, so a first load never shows a state older than
        what this replica has already delivered."""
        cached = self._first_loads.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        context = self.context_for(credentials)
        self._first_loads[key] = (now + self.interval, context)
        return context

    async def nudge(self, ref: JobRef) -> None:
        """A callback says the job moved: whichever replica polls it looks soon (see CALLBACK_WINDOW)."""
        if self.finished(ref):
            return
        # Kept answers showing the job go here at once, on the other replicas when the hint reaches them.
        self.client.reads.job_hinted(ref.kind, ref.job_id)
        await self.bus.publish(RefreshHint(ref))

    def finished(self, ref: JobRef) -> bool:
        """Whether the job's terminal state was published lately, by this replica or another."""
        until = self._finished.get(ref)
        return until is not None and until > self.now()

    def created(self, ref: JobRef) -> None:
        now = self.now()
        self._fast_until[ref] = now + self.settings.fast_poll_seconds
        job = self._jobs.get(ref)
        if job is not None and job.failures == 0:
            job.next_poll_at = min(job.next_poll_at, now + self.settings.fast_poll_interval)
            self._wake.set()

    def counts(self) -> dict[str, int]:
        """Live objects, for leak checks and metrics; every value is 0 when nothing is watched."""
        return {
            "jobs": len(self._jobs),
            "watchers": self._watchers,
            "queued": sum(w.queued for job in self._jobs.values() for w in job.watchers),
            "tasks": len(self._tasks),
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
            self._unleased.discard(job.ref)
            if job.held or not job.terminal:
                self._releases.add(job.ref)
            self._forget(job.ref)
            self._wake.set()

    def _forget(self, ref: JobRef) -> None:
        for entry in [entry for entry in self._contexts if entry[0] == ref]:
            del self._contexts[entry]
        for prime in [prime for prime in self._primes if prime[0] == ref]:
            del self._primes[prime]

    # Bus

    async def _listen(self, feed: Any) -> None:
        while not self._stopping:
            try:
                async for message in feed:
                    self._receive(message)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stopping:
                    return
                logger.exception("job event listener failed; listening again")
                await asyncio.sleep(self.interval)

    def _receive(self, message: Message) -> None:
        # Before any watcher hears of it, so that what its event resolves is read anew: kept answers that
        # show the job otherwise go, on every replica, whoever watches the job.
        ref = message.ref
        if isinstance(message, JobChange):
            self.client.reads.job_changed(ref.kind, ref.job_id, message.state)
            if self.is_terminal(ref.kind, message.state):
                self._remember_finished(ref)
        elif not self.finished(ref):
            self.client.reads.job_hinted(ref.kind, ref.job_id)
        job = self._jobs.get(message.ref)
        if job is None:
            return
        if isinstance(message, RefreshHint):
            if job.held and not job.terminal:
                self._look_again(job)
            return
        state = message.state
        job.latest = state
        if state == job.delivered or job.terminal:
            return
        job.delivered = state
        job.generation += 1
        self._first_loads.clear()
        for watch in list(job.watchers):
            watch.offer(state)
        if self.is_terminal(job.ref.kind, state):
            job.terminal = True
            self._releases.add(job.ref)
            self._wake.set()

    def _look_again(self, job: TrackedJob) -> None:
        job.recheck = True
        # A look in flight schedules the owed one when it ends; a failing upstream keeps its backoff.
        if job.in_flight or job.failures:
            return
        due = max(self.now(), job.looked_at + CALLBACK_WINDOW)
        if due < job.next_poll_at:
            job.next_poll_at = due
            self._wake.set()

    def _remember_finished(self, ref: JobRef) -> None:
        now = self.now()
        finished = self._finished
        finished.pop(ref, None)
        finished[ref] = now + FINISHED_SECONDS
        while len(finished) > FINISHED_CAPACITY or next(iter(finished.values())) <= now:
            del finished[next(iter(finished))]

    # Polling

    async def _schedule(self) -> None:
        while not self._stopping:
            try:
                delay = await self._pass()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self._stopping:
                    return
                logger.exception("job poll scheduling failed; trying again")
                delay = self.interval
            if delay <= 0:
                # Passes may never suspend (in-process leases): let everything else run between them.
                await asyncio.sleep(0)
                continue
            # Sleep until the next due poll or lease renewal, or until a watch, nudge or stop wakes us.
            timer = asyncio.get_running_loop().call_later(delay, self._wake.set)
            try:
                await self._wake.wait()
            finally:
                timer.cancel()

    async def _pass(self) -> float:
        """One scheduling pass: give back leases, take or renew leases, start the due polls. Returns
        how long to sleep before the next pass, unless something wakes the scheduler sooner."""
        self._wake.clear()
        now = self.now()
        if self._releases:
            refs = [ref for ref in self._releases if ref not in self._jobs or not _holds(self._jobs[ref])]
            self._releases.clear()
            for ref in refs:
                if ref in self._jobs:
                    self._jobs[ref].held = False
            if refs:
                await self.leases.release(refs)
        await self._renew(now)
        if now >= self._next_sweep:
            self._sweep(now)
        now = self.now()
        plan = plan_round(list(self._jobs.values()), now)
        if plan:
            for job in plan.jobs():
                job.in_flight = True
                job.looked_at = now
                job.recheck = False
            task = asyncio.create_task(self._poll(plan, now), name="job-poll-round")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        wake_at = self._next_renew
        for job in self._jobs.values():
            if job.held and not job.in_flight and not job.terminal and job.poll_credentials() is not None:
                wake_at = min(wake_at, job.next_poll_at)
        return max(0.0, wake_at - self.now())

    async def _renew(self, now: float) -> None:
        if now >= self._next_renew:
            refs = [job.ref for job in self._jobs.values() if _holds(job)]
            # A replica whose watchers may not read a job leaves it to one whose watchers may.
            self._releases.update(job.ref for job in self._jobs.values() if job.held and not _holds(job))
            self._next_renew = now + self.interval / RENEWALS_PER_INTERVAL
            self._unleased.clear()
        elif self._unleased:
            refs = [ref for ref in self._unleased if ref in self._jobs and _holds(self._jobs[ref])]
            self._unleased.clear()
        else:
            return
        if not refs:
            return
        try:
            held = await self.leases.acquire(refs, LEASE_TTL_INTERVALS * self.interval)
        except Exception as exc:
            # Keep polling what this replica held: better two pollers for a while than none.
            logger.warning("could not renew %d job leases (%s)", len(refs), type(exc).__name__)
            return
        now = self.now()
        for ref in refs:
            job = self._jobs.get(ref)
            if job is None:
                continue
            taken = ref in held
            if taken and not job.held:
                # A job taken over from a replica that died is long due (only the lease holder's polls
                # move next_poll_at), so it is polled at once; a job watched only now was just read by
                # its subscriber, and its first poll stays an interval away.
                job.failures = 0
            job.held = taken

    async def _poll(self, plan: PollRound, started: float) -> None:
        try:
            await self.poller.run(plan, RoundReport(self, started))
        except Exception:
            logger.exception("a job poll round failed")
        finally:
            for job in plan.jobs():
                job.in_flight = False
                if job.recheck and not job.failures:
                    job.next_poll_at = min(job.next_poll_at, job.looked_at + CALLBACK_WINDOW)
            self._wake.set()

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.interval
        for entry in [e for e, (expires, _) in self._contexts.items() if expires <= now]:
            del self._contexts[entry]
        for caller in [k for k, (expires, _) in self._first_loads.items() if expires <= now]:
            del self._first_loads[caller]
        for prime in [p for p, (expires, _) in self._primes.items() if expires <= now]:
            del self._primes[prime]
        for ref in [r for r, until in self._fast_until.items() if until <= now]:
            del self._fast_until[ref]

    def tracks(self, job: TrackedJob) -> bool:
        return self._jobs.get(job.ref) is job

    def remember_answer(self, ref: JobRef, key: str, state: str, data: Mapping[str, Any]) -> None:
        """A poll's answer, to prime the event contexts of subscribers with the same credentials."""
        self._primes[(ref, key, state)] = (self.now() + CONTEXT_INTERVALS * self.interval, data)

    def interval_of(self, ref: JobRef) -> float:
        if self._fast_until.get(ref, 0.0) > self.now():
            return min(self.settings.fast_poll_interval, self.interval)
        return self.interval

    def now(self) -> float:
        return asyncio.get_running_loop().time()


def _holds(job: TrackedJob) -> bool:
    """Whether this replica should hold the job's lease: it has credentials to poll it with, and a reason."""
    return not job.terminal and job.poll_credentials() is not None
