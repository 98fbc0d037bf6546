"""Training job loaders: one show call per job per request, deduped, bounded, primed by list pages."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from gateway.loaders.base import JobData, RequestUpstream, SharedLoader, ShowLoader, settle


class TrainingBasicLoader(SharedLoader[str, JobData | None]):
    """A job's TrainingJobBasicInfo fields: from a list page when one had the job, else its show answer."""

    def __init__(self, detail: ShowLoader) -> None:
        super().__init__()
        self.detail = detail

    async def batch_load_fn(self, keys: list[str]) -> list[JobData | Exception | None]:  # type: ignore[override]
        # The show answer carries every basic field: a miss shares the detail loader's one call per job.
        results = await asyncio.gather(*(self.detail.load(job_id) for job_id in keys), return_exceptions=True)
        return settle(results)


class TrainingLoaders:
    """The training job loaders of one GraphQL request, for one caller."""

    def __init__(self, upstream: RequestUpstream) -> None:
        self.detail = ShowLoader(upstream, upstream.client.show_2d_model_training_job)
        self.basic = TrainingBasicLoader(self.detail)

    def prime_polled(self, job_id: str, data: JobData) -> None:
        """A poll's answer: training jobs are polled with their show call, so it answers every field."""
        self.detail.prime(job_id, data)

    def prime(self, jobs: Iterable[JobData]) -> None:
        """List items are TrainingJobBasicInfo: they answer basic fields, never detail-only ones."""
        for job in jobs:
            job_id = job.get("job_id")
            if isinstance(job_id, str) and job_id:
                self.basic.prime(job_id, job)
