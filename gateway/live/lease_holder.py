"""Which watched jobs this replica asks a lease for, renews, and gives back."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from gateway.live.events import JobRef
from gateway.live.leases import Leases
from gateway.live.pollers import TrackedJob

logger = logging.getLogger("gateway.live")

# A lease outlives a missed renewal or two, yet a dead holder's jobs move to another replica well
# within two poll intervals: ttl 1.5 intervals, renewed every quarter interval.
LEASE_TTL_INTERVALS = 1.5
RENEWALS_PER_INTERVAL = 4


def holds(job: TrackedJob) -> bool:
    """Whether this replica should hold the job's lease: it has credentials to poll it with, and a reason."""
    return not job.terminal and job.poll_credentials() is not None


class LeaseHolder:
    """Leases of the tracked jobs: asked for when a job is first watched, renewed every quarter
    interval, given back when its last watcher leaves or it ends; `job.held` says which are held."""

    def __init__(self, leases: Leases, jobs: Mapping[JobRef, TrackedJob]) -> None:
        self.leases = leases
        self._jobs = jobs
        self._unleased: set[JobRef] = set()  # new jobs whose lease nobody asked for yet
        self._releases: set[JobRef] = set()  # leases to give up (last watcher gone, or terminal)
        self.next_renew = 0.0

    def wanted(self, ref: JobRef) -> None:
        """A job newly tracked: its lease is asked for on the next pass."""
        self._unleased.add(ref)
        self._releases.discard(ref)

    def dropped(self, job: TrackedJob) -> None:
        """A job no longer tracked (its last watcher left)."""
        self._unleased.discard(job.ref)
        if job.held or not job.terminal:
            self._releases.add(job.ref)

    def give_back(self, ref: JobRef) -> None:
        self._releases.add(ref)

    def take_all(self) -> list[JobRef]:
        """Every lease held or owed back, for a stop: none is renewed or released after this."""
        held = [job.ref for job in self._jobs.values() if job.held]
        refs = list(self._releases.union(held))
        self._releases.clear()
        return refs

    async def release_all(self, refs: list[JobRef]) -> None:
        if not refs:
            return
        try:
            await self.leases.release(refs)
        except Exception as exc:
            logger.warning("could not release %d job leases (%s)", len(refs), type(exc).__name__)

    async def release_owed(self) -> None:
        """Give back the leases of jobs left or ended, unless a watcher came back for them."""
        if not self._releases:
            return
        jobs = self._jobs
        refs = [ref for ref in self._releases if ref not in jobs or not holds(jobs[ref])]
        self._releases.clear()
        for ref in refs:
            if ref in jobs:
                jobs[ref].held = False
        if refs:
            await self.leases.release(refs)

    async def renew(self, now: float, interval: float) -> None:
        """Renew every lease when due, else ask for those of newly watched jobs."""
        jobs = self._jobs
        if now >= self.next_renew:
            refs = [job.ref for job in jobs.values() if holds(job)]
            # A replica whose watchers may not read a job leaves it to one whose watchers may.
            self._releases.update(job.ref for job in jobs.values() if job.held and not holds(job))
            self.next_renew = now + interval / RENEWALS_PER_INTERVAL
            self._unleased.clear()
        elif self._unleased:
            refs = [ref for ref in self._unleased if ref in jobs and holds(jobs[ref])]
            self._unleased.clear()
        else:
            return
        if not refs:
            return
        try:
            held = await self.leases.acquire(refs, LEASE_TTL_INTERVALS * interval)
        except Exception as exc:
            # Keep polling what this replica held: better two pollers for a while than none.
            logger.warning("could not renew %d job leases (%s)", len(refs), type(exc).__name__)
            return
        for ref in refs:
            job = jobs.get(ref)
            if job is None:
                continue
            taken = ref in held
            if taken and not job.held:
                # A job taken over from a replica that died is long due (only the lease holder's polls
                # move next_poll_at), so it is polled at once; a job watched only now was just read by
                # its subscriber, and its first poll stays an interval away.
                job.failures = 0
            job.held = taken
