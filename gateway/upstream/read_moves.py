"""Job moves the read cache heard of while upstream calls were out, so no call keeps an answer from before."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from gateway.upstream.job_summaries import JobKind, Summary

# A callback may be replayed by anyone holding its URL: what it drops, it drops at most once a second.
HINT_WINDOW = 1.0


class Moves:
    """What moved, oldest first: jobs (with the state seen, if any), a caller's lists of a kind, and
    the kinds whose moving lists moved with them; and the callback hints taken lately."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[tuple[str, str], tuple[float, str | None]] = OrderedDict()
        self._lists: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._kinds: OrderedDict[str, float] = OrderedDict()
        self._hinted: OrderedDict[tuple[str, str], float] = OrderedDict()

    def job_moved(self, kind: JobKind, job_id: str, state: str | None, now: float) -> None:
        ref = (kind, job_id)
        self._jobs.pop(ref, None)
        self._jobs[ref] = (now, state)
        self._kinds.pop(kind, None)
        self._kinds[kind] = now

    def lists_moved(self, principal: str, kind: JobKind, now: float) -> None:
        lists = (principal, kind)
        self._lists.pop(lists, None)
        self._lists[lists] = now

    def since(
        self,
        started: float,
        kind: JobKind,
        job_id: str | None,
        principal: str,
        moving: bool,
        jobs: Mapping[str, Summary],
    ) -> bool:
        """Whether something moved after a call started that its answer (showing `jobs`) may not show."""
        if not (self._jobs or self._lists or self._kinds):
            return False
        shown = list(jobs.items())
        if job_id is not None and job_id not in jobs:
            shown.append((job_id, ()))
        for shown_id, summary in shown:
            moved = self._jobs.get((kind, shown_id))
            if moved is not None and moved[0] >= started:
                if moved[1] is None or not summary or summary[0] != moved[1]:
                    return True
        if job_id is None:
            if self._lists.get((principal, kind), float("-inf")) >= started:
                return True
            if moving and self._kinds.get(kind, float("-inf")) >= started:
                return True
        return False

    def forget_before(self, oldest: float) -> None:
        """Moves matter only to calls that were out when they happened."""
        while self._jobs and next(iter(self._jobs.values()))[0] < oldest:
            self._jobs.popitem(last=False)
        for moves in (self._lists, self._kinds):
            while moves and next(iter(moves.values())) < oldest:
                moves.popitem(last=False)

    def hint_taken(self, kind: JobKind, job_id: str, now: float) -> bool:
        """Whether a callback's hint about the job counts: none was taken within HINT_WINDOW."""
        ref = (kind, job_id)
        if self._hinted.get(ref, float("-inf")) > now - HINT_WINDOW:
            return False
        self._hinted.pop(ref, None)
        self._hinted[ref] = now
        while self._hinted and next(iter(self._hinted.values())) <= now - HINT_WINDOW:
            self._hinted.popitem(last=False)
        return True
