"""Stylized picture modeling jobs: the PictureModelingJob type, its states, lookups and the list."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import ClassVar

import strawberry

from gateway.context import RequestContext
from gateway.upstream import QueryValue
from schema.direct import MaybeAwaitable, direct_field
from schema.errors import BadUserInput, NotFound
from schema.reading import Data, integer, link, records, text
from schema.relay import (
    GatewayInfo,
    Job,
    PageInfo,
    described,
    encode_cursor,
    enum_value,
    page_info,
    page_window,
    parse_time,
    upstream_time,
)
from schema.video import SortDirection

CURSOR_KIND = "PictureModelingJob"


@strawberry.enum(description="A picture modeling job's state.")
class PictureModelingJobState(enum.Enum):
    WAITING = "WAITING"
    PROCESSING = "PROCESSING"
    PARTIAL_SUCCEED = strawberry.enum_value(
        "PARTIAL_SUCCEED", description="Done, but only part of the model could be built."
    )
    SUCCEED = "SUCCEED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = strawberry.enum_value(
        "UNKNOWN", description="A state this gateway does not know; see rawState."
    )


TERMINAL_PICTURE_STATES = frozenset({"PARTIAL_SUCCEED", "SUCCEED", "FAILED", "CANCELED"})


def picture_state(raw: object) -> PictureModelingJobState:
    return enum_value(PictureModelingJobState, raw)


@strawberry.type(
    description="A stylized picture modeling job: a model built from one photo (ShowPictureModelingJob). "
    "A list page carries every field, so fields of listed jobs cost no extra upstream call."
)
class PictureModelingJob(Job):
    TERMINAL_STATES: ClassVar[frozenset[str]] = TERMINAL_PICTURE_STATES

    async def load_summary(self, info: GatewayInfo) -> Data:
        data = await self.context(info).loaders.picture.job.load(self.job_id)
        if data is None:
            raise NotFound("PictureModelingJob", self.job_id)
        return data

    @direct_field(
        "The state; UNKNOWN for one this gateway does not know (see rawState).", PictureModelingJobState
    )
    def state(self, info: GatewayInfo) -> MaybeAwaitable[PictureModelingJobState]:
        return self.summarized(info, lambda data: picture_state(data.get("state")))

    @direct_field("When processing started.", datetime | None)
    def start_time(self, info: GatewayInfo) -> MaybeAwaitable[datetime | None]:
        return self.summarized(info, lambda data: parse_time(data.get("start_time")))

    @direct_field("When processing ended.", datetime | None)
    def end_time(self, info: GatewayInfo) -> MaybeAwaitable[datetime | None]:
        return self.summarized(info, lambda data: parse_time(data.get("end_time")))

    @direct_field("Id of the model asset the job builds.", str | None)
    def model_asset_id(self, info: GatewayInfo) -> MaybeAwaitable[str | None]:
        return self.summarized(info, lambda data: text(data, "model_asset_id"))

    @direct_field("Name of the model.", str | None)
    def name(self, info: GatewayInfo) -> MaybeAwaitable[str | None]:
        return self.summarized(info, lambda data: text(data, "name"))

    @direct_field("The style the model is built in, e.g. system_male_001.", str | None)
    def style_id(self, info: GatewayInfo) -> MaybeAwaitable[str | None]:
        return self.summarized(info, lambda data: text(data, "style_id"))

    @direct_field("The model's cover image URL, once the job has succeeded.", str | None)
    def model_cover_url(self, info: GatewayInfo) -> MaybeAwaitable[str | None]:
        return self.summarized(info, lambda data: link(data, "model_cover_url"))


@strawberry.enum(description="What a picture modeling job list is ordered by.")
class PictureModelingJobSort(enum.Enum):
    CREATE_TIME = "CREATE_TIME"
    UPDATE_TIME = "UPDATE_TIME"


@strawberry.input(description="Which picture modeling jobs to list; every field narrows the list.")
class PictureModelingJobFilter:
    states: list[PictureModelingJobState] | None = None
    created_since: datetime | None = None
    created_until: datetime | None = None
    sort_by: PictureModelingJobSort | None = strawberry.field(
        default=None, description="CREATE_TIME when unset."
    )
    sort_direction: SortDirection | None = strawberry.field(default=None, description="ASC when unset.")


def list_query(where: PictureModelingJobFilter) -> dict[str, QueryValue]:
    """The ListPictureModelingJobs query parameters for a filter (without paging)."""
    states = None if where.states is None else [state.name for state in where.states]
    if states is not None and PictureModelingJobState.UNKNOWN.name in states:
        raise BadUserInput("filter.states: UNKNOWN is not a state the upstream can filter on")
    return {
        "state": states,
        "create_since": None if where.created_since is None else upstream_time(where.created_since),
        "create_until": None if where.created_until is None else upstream_time(where.created_until),
        "sort_key": None if where.sort_by is None else where.sort_by.name.lower(),
        "sort_dir": None if where.sort_direction is None else where.sort_direction.name.lower(),
    }


@strawberry.type
class PictureModelingJobEdge:
    cursor: str
    node: PictureModelingJob


@strawberry.type(description="A page of picture modeling jobs.")
class PictureModelingJobConnection:
    edges: list[PictureModelingJobEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="How many jobs match the filter, as the upstream counts.")


async def picture_modeling_job_by_id(
    info: GatewayInfo, job_id: str, context: RequestContext | None = None
) -> PictureModelingJob | None:
    """The job, or None when the caller has no picture modeling job with that id (`context` as for videos)."""
    found = await (context or info.context).loaders.picture.job.load(job_id)
    if found is None:
        return None
    return PictureModelingJob(job_id=job_id, bound_context=context, known_summary=found)


@strawberry.type
class PictureModelingQueries:
    @described("A picture modeling job by its upstream id; null with a NOT_FOUND error when missing.")
    async def picture_modeling_job(self, info: GatewayInfo, job_id: str) -> PictureModelingJob | None:
        job = await picture_modeling_job_by_id(info, job_id)
        if job is None:
            raise NotFound("PictureModelingJob", job_id)
        return job

    @described("The caller's picture modeling jobs, a page at a time (first: 1-100).")
    async def picture_modeling_jobs(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        filter: PictureModelingJobFilter | None = None,
    ) -> PictureModelingJobConnection:
        offset, limit = page_window(first, after, CURSOR_KIND)
        query: dict[str, QueryValue] = {
            "offset": offset,
            "limit": limit,
            **list_query(filter or PictureModelingJobFilter()),
        }
        upstream = info.context.upstream
        answer = await upstream.call(upstream.client.list_picture_modeling_jobs, **query)
        jobs = [job for job in records(answer, "picture_modeling_jobs") if text(job, "job_id")]
        info.context.loaders.picture.prime(jobs)
        total = integer(answer, "count") or 0
        edges = [
            PictureModelingJobEdge(
                cursor=encode_cursor(CURSOR_KIND, offset + i),
                node=PictureModelingJob(job_id=str(job["job_id"]), known_summary=job),
            )
            for i, job in enumerate(jobs)
        ]
        return PictureModelingJobConnection(
            edges=edges, page_info=page_info(offset, len(edges), total, CURSOR_KIND), total_count=total
        )
