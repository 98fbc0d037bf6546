"""When each watched job is polled: the scheduling loop and the poll rounds it starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from gateway.live.clock import Clock
from gateway.live.events import JobRef
from gateway.live.lease_holder import LeaseHolder
from gateway.live.pollers import JobStatePoller, PollingHub, PollRound, RoundReport, TrackedJob, plan_round
from gateway.settings import Settings

logger = logging.getLogger("gateway.live")

# Callbacks can be replayed by anyone holding the URL: a job is looked at for them at most once per
# window. One arriving while a look is out, or within the window after it started, may have been missed
# by that look, so it earns one more look at the window's end, which serves every later one too.
CALLBACK_WINDOW = 1.0


class PollScheduler:
    """Runs the passes that renew leases and start the due polls, sleeping in between until the next
    poll or renewal is due or something wakes it. Due times are read from `clock`, which also sets the
    wake-up for the next one."""

    def __init__(
        self,
        *,
        jobs: Mapping[JobRef, TrackedJob],
        lease_holder: LeaseHolder,
        poller: JobStatePoller,
        hub: PollingHub,
        settings: Settings,
        sweep: Callable[[float], None],
        clock: Clock,
    ) -> None:
        self._jobs = jobs
        self.lease_holder = lease_holder
        self.poller = poller
        self.hub = hub
        self.settings = settings
        self.clock = clock
        self._sweep_more = sweep
        self._fast_until: dict[JobRef, float] = {}
        self._wake = asyncio.Event()
        self.rounds: set[asyncio.Task[None]] = set()  # poll rounds in flight
        self._next_sweep = 0.0
        self.stopping = False

    @property
    def interval(self) -> float:
        return self.settings.poll_interval

    def now(self) -> float:
        return self.clock.time()

    def wake(self) -> None:
        self._wake.set()

    def stop_soon(self) -> None:
        # Client libraries may turn a cancellation into an error or an empty answer, which the loop
        # would survive: the flag ends it whatever the cancellation becomes.
        self.stopping = True
        self._wake.set()

    def interval_of(self, ref: JobRef) -> float:
        if self._fast_until.get(ref, 0.0) > self.now():
            return min(self.settings.fast_poll_interval, self.interval)
        return self.interval

    def created(self, ref: JobRef) -> None:
        """A job just created is polled fast for a while."""
        now = self.now()
        self._fast_until[ref] = now + self.settings.fast_poll_seconds
        job = self._jobs.get(ref)
        if job is not None and job.failures == 0:
            job.next_poll_at = min(job.next_poll_at, now + self.settings.fast_poll_interval)
            self._wake.set()

    def look_again(self, job: TrackedJob) -> None:
        """A callback says the job moved: look at it within CALLBACK_WINDOW of the last look."""
        job.recheck = True
        # A look in flight schedules the owed one when it ends; a failing upstream keeps its backoff.
        if job.in_flight or job.failures:
            return
        due = max(self.now(), job.looked_at + CALLBACK_WINDOW)
        if due < job.next_poll_at:
            job.next_poll_at = due
            self._wake.set()

    async def run(self) -> None:
        while not self.stopping:
            try:
                delay = await self._pass()
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.stopping:
                    return
                logger.exception("job poll scheduling failed; trying again")
                delay = self.interval
            if delay <= 0:
                # Passes may never suspend (in-process leases): let everything else run between them.
                await asyncio.sleep(0)
                continue
            # Sleep until the next due poll or lease renewal, or until a watch, nudge or stop wakes us.
            timer = self.clock.call_later(delay, self._wake.set)
            try:
                await self._wake.wait()
            finally:
                timer.cancel()

    async def _pass(self) -> float:
        """One scheduling pass: give back leases, take or renew leases, start the due polls. Returns
        how long to sleep before the next pass, unless something wakes the scheduler sooner."""
        self._wake.clear()
        now = self.now()
        await self.lease_holder.release_owed()
        await self.lease_holder.renew(now, self.interval)
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
            self.rounds.add(task)
            task.add_done_callback(self.rounds.discard)
        wake_at = self.lease_holder.next_renew
        for job in self._jobs.values():
            if job.held and not job.in_flight and not job.terminal and job.poll_credentials() is not None:
                wake_at = min(wake_at, job.next_poll_at)
        return max(0.0, wake_at - self.now())

    async def _poll(self, plan: PollRound, started: float) -> None:
        try:
            await self.poller.run(plan, RoundReport(self.hub, started))
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
        self._sweep_more(now)
        for ref in [r for r, until in self._fast_until.items() if until <= now]:
            del self._fast_until[ref]
