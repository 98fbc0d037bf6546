"""Stylized picture modeling jobs: the PictureModelingJob type, its states, lookups and the list."""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from datetime import datetime
from typing import ClassVar

import strawberry

from gateway.context import RequestContext
from gateway.upstream import QueryValue
from schema.connections import (
    CREATED_SINCE,
    CREATED_UNTIL,
    After,
    Before,
    Connection,
    Edge,
    Filter,
    First,
    Last,
    narrows,
    sort_query,
    total_count_field,
)
from schema.enums import enum_value
from schema.errors import BadUserInput, NotFound
from schema.fields import LINK, TEXT, TIME, JobFields, enum_type, job_by_id, member, summary
from schema.paging import ListOrder, page_request, paginate
from schema.reading import Data, integer, records, text
from schema.relay import Job, Summary, summary_field
from schema.resolvers import GatewayInfo, described
from schema.times import upstream_time
from schema.video_filter import SortDirection

CURSOR_KIND = "PictureModelingJob"


@enum_type("A picture modeling job's state.")
class PictureModelingJobState(enum.Enum):
    WAITING = member("Queued; waiting to be scheduled.")
    PROCESSING = member("Being built.")
    PARTIAL_SUCCEED = member("Done, but only part of the model could be built.")
    SUCCEED = member("Built; the model and its cover are ready.")
    FAILED = member("Building failed; error says why.")
    CANCELED = member("Canceled.")
    UNKNOWN = member("A state this gateway does not know; see rawState.")


TERMINAL_PICTURE_STATES = frozenset({"PARTIAL_SUCCEED", "SUCCEED", "FAILED", "CANCELED"})


def picture_state(raw: object) -> PictureModelingJobState:
    return enum_value(PictureModelingJobState, raw)


@strawberry.type(
    description="A stylized picture modeling job: a model built from one photo (ShowPictureModelingJob). "
    "A list page carries every field, so fields of listed jobs cost no extra upstream call."
)
class PictureModelingJob(Job, JobFields):
    TERMINAL_STATES: ClassVar[frozenset[str]] = TERMINAL_PICTURE_STATES

    async def load_summary(self, info: GatewayInfo) -> Data:
        data = await self.context(info).loaders.picture.job.load(self.job_id)
        if data is None:
            raise NotFound("PictureModelingJob", self.job_id)
        return data

    @summary_field(
        "The state; UNKNOWN for one this gateway does not know (see rawState).", PictureModelingJobState
    )
    def state(self, data: Summary) -> PictureModelingJobState:
        return picture_state(data.get("state"))

    start_time = summary(TIME, "When processing started.")
    end_time = summary(TIME, "When processing ended.")
    model_asset_id = summary(TEXT, "Id of the model asset the job builds.")
    name = summary(TEXT, "Name of the model.")
    style_id = summary(TEXT, "The style the model is built in, e.g. system_male_001.")
    model_cover_url = summary(LINK, "The model's cover image URL, once the job has succeeded.")


@enum_type("What a picture modeling job list is ordered by.")
class PictureModelingJobSort(enum.Enum):
    CREATE_TIME = member("By creation time (the upstream default).")
    UPDATE_TIME = member("By last update time.")


@strawberry.input(description="Which picture modeling jobs to list; every field narrows the list.")
class PictureModelingJobFilter:
    states: list[PictureModelingJobState] | None = narrows("Only jobs in these states (not UNKNOWN).")
    created_since: datetime | None = narrows(CREATED_SINCE)
    created_until: datetime | None = narrows(CREATED_UNTIL)
    sort_by: PictureModelingJobSort | None = narrows("CREATE_TIME when unset.")
    sort_direction: SortDirection | None = narrows("ASC when unset.")


def list_query(where: PictureModelingJobFilter) -> dict[str, QueryValue]:
    """The ListPictureModelingJobs query parameters for a filter (without paging)."""
    states = None if where.states is None else [state.name for state in where.states]
    if states is not None and PictureModelingJobState.UNKNOWN.name in states:
        raise BadUserInput("filter.states: UNKNOWN is not a state the upstream can filter on")
    return {
        "state": states,
        "create_since": None if where.created_since is None else upstream_time(where.created_since),
        "create_until": None if where.created_until is None else upstream_time(where.created_until),
        **sort_query(where.sort_by, where.sort_direction),
    }


@strawberry.type(description="A picture modeling job and where it is in the list.")
class PictureModelingJobEdge(Edge[PictureModelingJob]):
    pass


@strawberry.type(description="A page of picture modeling jobs.")
class PictureModelingJobConnection(Connection[PictureModelingJobEdge]):
    total_count = total_count_field("How many jobs match the filter, as the upstream counts.")


def _edge(cursor: str, job: Data) -> PictureModelingJobEdge:
    node = PictureModelingJob(job_id=str(job["job_id"]), known_summary=job)
    return PictureModelingJobEdge(cursor=cursor, node=node)


def picture_modeling_job_by_id(
    info: GatewayInfo, job_id: str, context: RequestContext | None = None
) -> Awaitable[PictureModelingJob | None]:
    """The job, or None when the caller has no picture modeling job with that id (queued at the call
    and `context` as for videos)."""
    loading = (context or info.context).loaders.picture.job.shared(job_id)
    return PictureModelingJob.found(job_id, loading, context)


@strawberry.type
class PictureModelingQueries:
    picture_modeling_job = job_by_id(
        PictureModelingJob,
        picture_modeling_job_by_id,
        "A picture modeling job by its upstream id; null with a NOT_FOUND error when missing.",
    )

    @described(
        "The caller's picture modeling jobs, a page at a time: forward with first/after, backward with "
        "last/before. Pages go by offset: the upstream's list items carry no create time to anchor a page "
        "on, so a job created or deleted between two pages shifts the later one (in descending create-time "
        "order, a new job repeats the last one seen)."
    )
    async def picture_modeling_jobs(
        self,
        info: GatewayInfo,
        first: First = None,
        after: After = None,
        filter: Filter[PictureModelingJobFilter] = None,
        last: Last = None,
        before: Before = None,
    ) -> PictureModelingJobConnection:
        where = filter or PictureModelingJobFilter()
        order = ListOrder(
            kind=CURSOR_KIND,
            sort_key=(where.sort_by or PictureModelingJobSort.CREATE_TIME).name.lower(),
            descending=where.sort_direction is SortDirection.DESC,
            anchored=False,
        )
        request = page_request(order, first, after, last, before)
        query = list_query(where)
        upstream = info.context.upstream

        async def fetch(sent: dict[str, QueryValue], offset: int, limit: int) -> tuple[list[Data], int]:
            answer = await upstream.call(
                upstream.client.list_picture_modeling_jobs, offset=offset, limit=limit, **sent
            )
            jobs = [job for job in records(answer, "picture_modeling_jobs") if text(job, "job_id")]
            info.context.loaders.picture.prime(jobs)
            return jobs, integer(answer, "count") or 0

        page = await paginate(order, request, query, fetch, "create_time")
        return PictureModelingJobConnection.of(page, _edge)
