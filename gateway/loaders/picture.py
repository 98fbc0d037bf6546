"""Picture modeling job loaders: one show call per job per request, deduped, primed by list pages."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.loaders.base import JobData, RequestUpstream, ShowLoader


class PictureLoaders:
    """The picture modeling job loaders of one GraphQL request, for one caller."""

    def __init__(self, upstream: RequestUpstream) -> None:
        # A list item has every field the show answer has, so one loader serves both.
        self.job = ShowLoader(upstream, upstream.client.show_picture_modeling_job)

    def prime_polled(self, job_id: str, data: JobData) -> None:
        """A poll's answer: picture modeling jobs are polled with their show call."""
        self.job.prime(job_id, data)

    def prime(self, jobs: Iterable[JobData]) -> None:
        for job in jobs:
            job_id = job.get("job_id")
            if isinstance(job_id, str) and job_id:
                self.job.prime(job_id, job)
