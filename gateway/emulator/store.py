"""In-memory job store, one shelf per principal so callers never see each other's jobs."""

from __future__ import annotations

from collections.abc import Iterator

from gateway.emulator.jobs import Job


class JobStore:
    def __init__(self) -> None:
        self._shelves: dict[str, dict[str, Job]] = {}

    def add(self, job: Job) -> None:
        self._shelves.setdefault(job.owner, {})[job.job_id] = job

    def get(self, owner: str, job_id: str) -> Job | None:
        return self._shelves.get(owner, {}).get(job_id)

    def remove(self, job: Job) -> None:
        self._shelves.get(job.owner, {}).pop(job.job_id, None)

    def jobs_of(self, owner: str) -> list[Job]:
        return list(self._shelves.get(owner, {}).values())

    def find(self, job_id: str) -> list[Job]:
        """Every principal's job with this id (seeded example jobs share ids across principals)."""
        return [shelf[job_id] for shelf in self._shelves.values() if job_id in shelf]

    def __iter__(self) -> Iterator[Job]:
        for shelf in list(self._shelves.values()):
            yield from list(shelf.values())
