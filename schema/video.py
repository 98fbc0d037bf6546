"""Video jobs (2D and photo digital-human videos): the VideoJob type, its list and its lookups."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import strawberry
from graphql import FieldNode
from strawberry.types.nodes import Selection

from gateway.context import RequestContext
from gateway.loaders.video import Loaded, VideoLoaders
from schema.connections import (
    After,
    Before,
    Connection,
    Edge,
    Filter,
    First,
    Last,
    total_count_field,
)
from schema.direct import MaybeAwaitable, direct_field
from schema.enums import enum_value
from schema.errors import NotFound
from schema.fields import (
    REAL,
    TEXT,
    TIME,
    JobFields,
    detail,
    detail_fields,
    detailed,
    job_by_id,
    many,
    one,
    summary,
)
from schema.paging import ListOrder, empty_page, page_request, paginate
from schema.reading import Data, record
from schema.relay import Job, Summary, summary_field
from schema.resolvers import GatewayInfo, described, selected_fields
from schema.video_filter import SortDirection, VideoJobFilter, VideoJobKind, VideoJobSort, VideoJobState
from schema.video_types import (
    BackgroundMusicConfig,
    OutputAsset,
    PhotoVideoConfig,
    ShootScriptItem,
    VideoConfig,
    VideoOutputConfig,
    VoiceConfig,
)

CURSOR_KIND = "VideoJob"


# Upstream examples sometimes say SUCCESS where the documented state is SUCCEED.
_STATE_ALIASES = {"SUCCESS": "SUCCEED"}

SCRIPT_FIELDS = frozenset({"shootScripts"})
_JOB_TYPE_NAMES = frozenset({"VideoJob", "Job", "Node"})


_SCRIPTS = many(ShootScriptItem)


def _job_type_of(summary: Mapping[str, Any]) -> str:
    return str(summary.get("job_type") or "")


@strawberry.type(
    description="A digital-human video job: a 2D video from a model asset, or a video from a photo."
)
class VideoJob(Job, JobFields):
    TERMINAL_STATES: ClassVar[frozenset[str]] = frozenset(
        {"SUCCEED", "SUCCESS", "FAILED", "CANCELED", "BLOCK"}
    )

    # Set when the query selects the scripts, so every detail field of this job asks the show endpoint
    # the same question and the job costs one show call.
    scripts_selected: strawberry.Private[bool] = False

    async def load_summary(self, info: GatewayInfo) -> Mapping[str, Any]:
        data = await self.context(info).loaders.video.summary(self.job_id)
        if data is None:
            raise NotFound("VideoJob", self.job_id)
        return data

    async def load_detail(self, info: GatewayInfo, scripts: bool = False) -> Data:
        data = await self.context(info).loaders.video.detail(self.job_id, scripts or self.scripts_selected)
        # None: the job vanished since it was found, or is of a kind that has no show endpoint here.
        return {} if data is None else data

    def _job_type(self, info: GatewayInfo) -> MaybeAwaitable[str]:
        known = self.context(info).loaders.video.kind(self.job_id)
        return known if known is not None else self.summarized(info, _job_type_of)

    @direct_field(
        "DIGITAL_HUMAN_2D or PHOTO_DIGITAL_HUMAN; UNKNOWN for a kind this API does not know yet.",
        VideoJobKind,
    )
    def kind(self, info: GatewayInfo) -> MaybeAwaitable[VideoJobKind]:
        known = self.context(info).loaders.video.kind(self.job_id)
        if known is not None:
            return enum_value(VideoJobKind, known)
        return self.summarized(info, lambda summary: enum_value(VideoJobKind, _job_type_of(summary)))

    @direct_field("The job type exactly as the upstream sent it, e.g. 2D_DIGITAL_HUMAN_VIDEO.", str)
    def job_type(self, info: GatewayInfo) -> MaybeAwaitable[str]:
        return self._job_type(info)

    @summary_field("The job's state; rawState has the upstream's own string.", VideoJobState)
    def state(self, summary: Summary) -> VideoJobState:
        return enum_value(VideoJobState, summary.get("state"), _STATE_ALIASES)

    start_time = summary(TIME, "When the upstream started making the video.")
    end_time = summary(TIME, "When the upstream finished making the video.")
    duration = summary(REAL, "Length of the video in seconds, once it is made.")
    output_asset = summary(one(OutputAsset), "The video asset the job produces.", key="output_asset_config")
    create_time = summary(TIME, "When the job was created.")
    last_update_time = summary(TIME, "When the job last changed.", key="lastupdate_time")

    script_id = detail(TEXT, "Id of the script the video was made from.")
    video_making_type = detail(
        TEXT, "MODEL (from a model asset) or PICTURE (from a photo); deprecated upstream, 2D jobs only."
    )
    human_image = detail(TEXT, "The photo of the person, Base64-encoded (photo jobs).")
    model_asset_id = detail(TEXT, "Id of the digital-human model asset (2D jobs).")
    voice_config = detail(one(VoiceConfig), "The voice the digital human speaks with.")

    @detailed("How the video is encoded: a VideoConfig for 2D jobs, a PhotoVideoConfig for photo jobs.")
    async def video_config(self, info: GatewayInfo) -> VideoOutputConfig | None:
        shown = await self.load_detail(info)
        job_type = shown.get("job_type") or self.context(info).loaders.video.kind(self.job_id)
        return VideoOutputConfig.read(record(shown, "video_config"), job_type)

    @detailed("The scenes of the video's script, in order (asked of the upstream only when selected).")
    async def shoot_scripts(self, info: GatewayInfo) -> list[ShootScriptItem]:
        return _SCRIPTS.read(await self.load_detail(info, scripts=True), "shoot_scripts")

    background_music_config = detail(
        one(BackgroundMusicConfig), "Music played under the whole video (2D jobs)."
    )


# Fields only the show endpoint answers; anything else a job has, the batched list answers too.
DETAIL_FIELDS = detail_fields(VideoJob)


@strawberry.type(description="A video job and where it is in the list.")
class VideoJobEdge(Edge[VideoJob]):
    pass


@strawberry.type(description="A page of video jobs.")
class VideoJobConnection(Connection[VideoJobEdge]):
    total_count = total_count_field(
        "How many jobs match the filter, on all pages (on a page after or before a cursor, asking for it "
        "costs one more upstream call)."
    )


def _edges(scripts: bool) -> Callable[[str, Mapping[str, Any]], VideoJobEdge]:
    """The edge of each listed job, `scripts` as for every job of the list."""

    def edge(cursor: str, job: Mapping[str, Any]) -> VideoJobEdge:
        node = VideoJob(job_id=str(job["job_id"]), scripts_selected=scripts, known_summary=job)
        return VideoJobEdge(cursor=cursor, node=node)

    return edge


# Selections whose needs_show is kept; each entry holds its document's field nodes.
SHOW_NEEDS_KEPT = 2048
_SHOW_NEEDS: OrderedDict[tuple[int, ...], tuple[tuple[FieldNode, ...], tuple[bool, bool]]] = OrderedDict()


def show_needs(
    info: GatewayInfo, job_selections: Callable[[GatewayInfo], Iterable[Sequence[Selection]]]
) -> tuple[bool, bool]:
    """needs_show of the job selections `job_selections` finds in `info`, worked out once per field of
    a parsed document: `info.selected_fields` builds the field's whole selection as objects on every
    call, once per job of a `nodes` list. The answer depends on the document alone (names, fragments
    and their type conditions), which the parse cache shares between requests of one text."""
    nodes = tuple(info._raw_info.field_nodes)
    key = (id(job_selections), *map(id, nodes))
    kept = _SHOW_NEEDS.get(key)
    if kept is not None and all(a is b for a, b in zip(kept[0], nodes, strict=True)):
        return kept[1]
    answer = needs_show(job_selections(info))
    _SHOW_NEEDS[key] = (nodes, answer)
    if len(_SHOW_NEEDS) > SHOW_NEEDS_KEPT:
        _SHOW_NEEDS.popitem(last=False)
    return answer


def field_selections(info: GatewayInfo) -> Iterator[Sequence[Selection]]:
    """The selections on the job a field answers."""
    for field in info.selected_fields:
        yield field.selections


def needs_show(job_selections: Iterable[Sequence[Selection]]) -> tuple[bool, bool]:
    """(details, scripts): whether any of these job selections needs the show endpoint, and its scripts."""
    names = {
        field.name for selections in job_selections for field in selected_fields(selections, _JOB_TYPE_NAMES)
    }
    return bool(names & DETAIL_FIELDS), bool(names & SCRIPT_FIELDS)


def _node_selections(info: GatewayInfo) -> Iterator[Sequence[Selection]]:
    """The selections on each job of a connection (edges { node { ... } })."""
    for connection in info.selected_fields:
        for edges in selected_fields(connection.selections, frozenset({"VideoJobConnection"})):
            if edges.name == "edges":
                for node in selected_fields(edges.selections, frozenset({"VideoJobEdge"})):
                    if node.name == "node":
                        yield node.selections


def video_job_by_id(
    info: GatewayInfo, job_id: str, context: RequestContext | None = None
) -> Awaitable[VideoJob | None]:
    """The caller's video job, or None when it does not exist. The lookup is queued at the call, so
    lookups made together (before any is awaited) batch into one upstream call, without a task each.

    `context` binds the job to a context of its own (a subscription event) instead of the request's.
    """
    details, scripts = show_needs(info, field_selections)
    loaders = (context or info.context).loaders.video
    shown = loaders.shows(job_id, details)
    return _video_job(loaders, job_id, loaders.existence(job_id, shown, scripts), shown, scripts, context)


async def _video_job(
    loaders: VideoLoaders,
    job_id: str,
    existence: Awaitable[Loaded],
    shown: bool,
    scripts: bool,
    context: RequestContext | None,
) -> VideoJob | None:
    found = await existence
    if found is None:
        return None
    # The existence check's answer is the summary itself unless it came from the show; then the
    # summary is answered already by the call it made (the show answer carries every summary field).
    summary = await loaders.summary(job_id) if shown else found
    return VideoJob(job_id=job_id, scripts_selected=scripts, bound_context=context, known_summary=summary)


@strawberry.type
class VideoQueries:
    video_job = job_by_id(
        VideoJob,
        video_job_by_id,
        "A video job by its upstream id; null with a NOT_FOUND error when there is none.",
    )

    @described(
        "The caller's video jobs, a page at a time: forward with first/after, backward with last/before. "
        "In create-time order (the default) a page continues from its cursor's job, so jobs created or "
        "deleted meanwhile neither repeat nor hide one; UPDATE_TIME and ASSET_ORDER page by offset, as "
        "the upstream cannot filter on those keys, and may repeat or skip jobs that change meanwhile."
    )
    async def video_jobs(
        self,
        info: GatewayInfo,
        first: First = None,
        after: After = None,
        filter: Filter[VideoJobFilter] = None,
        last: Last = None,
        before: Before = None,
    ) -> VideoJobConnection:
        where = filter or VideoJobFilter()
        sort_by = where.sort_by or VideoJobSort.CREATE_TIME
        sort_key = str(sort_by.value)
        order = ListOrder(
            kind=CURSOR_KIND,
            sort_key=sort_key,
            descending=where.sort_direction is SortDirection.DESC,
            anchored=sort_by is VideoJobSort.CREATE_TIME,
        )
        request = page_request(order, first, after, last, before)
        query = where.upstream_query()
        if query.get("job_ids") == []:
            return VideoJobConnection.of(empty_page(), _edges(False))
        _, scripts = show_needs(info, _node_selections)
        loaders = info.context.loaders.video

        async def fetch(sent: dict[str, Any], offset: int, limit: int) -> tuple[list[Mapping[str, Any]], int]:
            listed = await loaders.page(offset=offset, limit=limit, **sent)
            jobs: list[Mapping[str, Any]] = list(listed.jobs)
            return jobs, listed.total if listed.total is not None else offset + len(jobs)

        page = await paginate(order, request, query, fetch, "create_time")
        return VideoJobConnection.of(page, _edges(scripts))


# Types a schema must list in `types=`: the implementations of an interface are not reachable from a field.
VIDEO_TYPES: tuple[type, ...] = (VideoJob, VideoConfig, PhotoVideoConfig)
