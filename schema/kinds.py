"""The kinds of job the API serves, in one table: each kind's name in the live machinery, its GraphQL
type (the prefix of its global ids), its lookup by upstream id and its job type. `node`, `nodes`, the
subscriptions and the live hub's terminal check all read it; a fourth kind of job is one more entry."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from gateway.context import RequestContext
from gateway.live.events import JobKind
from schema.picture import PictureModelingJob, picture_modeling_job_by_id
from schema.relay import Job
from schema.resolvers import GatewayInfo
from schema.training import TrainingJob, training_job_by_id
from schema.video import VideoJob, video_job_by_id


class Lookup(Protocol):
    """The caller's job by upstream id, or None when there is none, queued at the call (lookups made
    together batch); `context` binds it to a context of its own instead of the request's."""

    def __call__(
        self, info: GatewayInfo, job_id: str, context: RequestContext | None = None, /
    ) -> Awaitable[Job | None]: ...


@dataclass(frozen=True)
class JobKindEntry:
    kind: JobKind
    type_name: str
    lookup: Lookup
    job_type: type[Job]


BY_TYPE_NAME: dict[str, JobKindEntry] = {
    entry.type_name: entry
    for entry in (
        JobKindEntry("video", "VideoJob", video_job_by_id, VideoJob),
        JobKindEntry("training", "TrainingJob", training_job_by_id, TrainingJob),
        JobKindEntry("picture", "PictureModelingJob", picture_modeling_job_by_id, PictureModelingJob),
    )
}
BY_KIND: dict[JobKind, JobKindEntry] = {entry.kind: entry for entry in BY_TYPE_NAME.values()}


def job_is_terminal(kind: JobKind, state: str) -> bool:
    """Whether a job of this kind moves no further from this raw upstream state (what the hub stops at)."""
    return BY_KIND[kind].job_type.is_terminal(state)
