"""Jobs whose terminal state was published lately, so their replayed callbacks cost nothing."""

from __future__ import annotations

from gateway.live.events import JobRef

# Jobs whose terminal state was published are remembered for a while, so their callbacks, however
# often replayed, reach neither the bus nor the upstream. Bounded: a forgotten job is rarely watched
# still, and an unwatched job costs a callback nothing anyway.
FINISHED_SECONDS = 3600.0
FINISHED_CAPACITY = 20_000


class FinishedJobs:
    """Finished jobs, oldest first, each until FINISHED_SECONDS after it finished."""

    def __init__(self) -> None:
        self._until: dict[JobRef, float] = {}  # in the order they finished, so oldest first

    def finished(self, ref: JobRef, now: float) -> bool:
        until = self._until.get(ref)
        return until is not None and until > now

    def remember(self, ref: JobRef, now: float) -> None:
        finished = self._until
        finished.pop(ref, None)
        finished[ref] = now + FINISHED_SECONDS
        while len(finished) > FINISHED_CAPACITY or next(iter(finished.values())) <= now:
            del finished[next(iter(finished))]
