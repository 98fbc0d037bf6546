"""Video job loaders: summaries batched through the list's job_ids filter, details from each kind's show."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from gateway.loaders.base import (
    OLDEST_CREATE_SINCE,
    SHOW_CONCURRENCY,
    KindCache,
    RequestUpstream,
    SharedLoader,
    gather_bounded,
    settled,
    weakly,
)
from gateway.upstream import JSONObject, UpstreamHTTPError

K = TypeVar("K")
V = TypeVar("V")

VIDEO_2D = "2D_DIGITAL_HUMAN_VIDEO"
VIDEO_PHOTO = "PHOTO_DIGITAL_HUMAN_VIDEO"
VIDEO_KINDS = frozenset({VIDEO_2D, VIDEO_PHOTO})
# The list endpoint answers at most 100 jobs a page, so a job_ids lookup asks for at most 100 ids.
IDS_PER_LIST_CALL = 100


@dataclass(frozen=True)
class VideoPage:
    total: int | None  # how many jobs match on all pages, when the upstream says
    job_ids: list[str]
    jobs: list[JSONObject]  # the list items, in the upstream's order


# (job_id, with_scripts): the same job asked for with and without scripts still costs one show call.
DetailKey = tuple[str, bool]
Loaded = JSONObject | None


def _loader(
    batch: Callable[[list[K]], Awaitable[list[V | Exception]]], max_batch_size: int | None = None
) -> SharedLoader[K, V]:
    # aiodataloader accepts Exception instances in a batch result (that key fails alone) but types the
    # result list as values only.
    return SharedLoader(cast(Any, batch), max_batch_size=max_batch_size)


class VideoLoaders:
    """One request's video lookups: each job listed or shown at most once, every call within the budget."""

    def __init__(self, upstream: RequestUpstream, kinds: KindCache) -> None:
        self.upstream = upstream
        self.kinds = kinds
        # Weakly: the loaders are this object's, and a cycle back to it would keep the request's jobs.
        self.summaries: SharedLoader[str, Loaded] = _loader(weakly(self._load_summaries), IDS_PER_LIST_CALL)
        self._details: SharedLoader[DetailKey, Loaded] = _loader(weakly(self._load_details))
        # Which jobs already have a summary (loaded, loading or primed) and which a show answer, and
        # whether that show answer carries the scripts.
        self._summarized: set[str] = set()
        # Listed jobs not yet asked for by id: they prime the summary loader when first asked for, as
        # most listed jobs never are (a page's rows answer from the list item itself).
        self._listed: dict[str, Mapping[str, Any]] = {}
        self._shown: dict[str, bool] = {}

    def kind(self, job_id: str) -> str | None:
        """The job's upstream job_type when this caller has seen it before, without any call."""
        return self.kinds.get(self.upstream.key, job_id)

    def summary(self, job_id: str) -> Awaitable[Loaded]:
        """The job's summary fields (None when it does not exist), from the show answer if one is on
        its way and no summary is, else from a batched list call."""
        if job_id in self._shown and job_id not in self._summarized:
            return self.detail(job_id)
        self._summarized.add(job_id)
        self._prime_listed(job_id)
        return self.summaries.shared(job_id)

    def _prime_listed(self, job_id: str) -> None:
        listed = self._listed.pop(job_id, None)
        if listed is not None:
            self.summaries.prime(job_id, dict(listed))

    def forget(self, job_id: str) -> None:
        """Drop what this request knows of the job's summary: the next ask goes to the upstream."""
        self._listed.pop(job_id, None)
        self.summaries.clear(job_id)

    def detail(self, job_id: str, scripts: bool = False) -> Awaitable[Loaded]:
        """The job's show answer (None when it does not exist); `scripts` asks for the shoot scripts."""
        shown = self._shown.get(job_id)
        if shown is not None and (shown or not scripts):
            return self._details.shared((job_id, shown))
        self._shown[job_id] = scripts
        return self._details.shared((job_id, scripts))

    async def exists(self, job_id: str, *, details: bool = False, scripts: bool = False) -> bool:
        """Whether the job exists (see `existence`)."""
        return await self.existence(job_id, self.shows(job_id, details), scripts) is not None

    def shows(self, job_id: str, details: bool) -> bool:
        """Whether the selected fields make `existence` ask the show endpoint: details are wanted and the
        job's kind is known. Otherwise its answer is the job's summary."""
        return details and self.kind(job_id) in VIDEO_KINDS

    def existence(self, job_id: str, shown: bool, scripts: bool = False) -> Awaitable[Loaded]:
        """The job's answer from whichever endpoint the selected fields need anyway (None when it does
        not exist): the show when `shown` (see `shows`), else the batched list. The load is queued at
        the call."""
        return self.detail(job_id, scripts) if shown else self.summary(job_id)

    async def page(self, **filters: Any) -> VideoPage:
        """One page of the list (filters are the upstream's query names); its jobs prime the loaders."""
        answer = await self.upstream.call(self.upstream.client.list_digital_human_videos, **filters)
        jobs = _jobs_of(answer)
        self.prime(jobs)
        count = answer.get("count")
        return VideoPage(
            total=count if isinstance(count, int) and not isinstance(count, bool) else None,
            job_ids=[job["job_id"] for job in jobs if isinstance(job.get("job_id"), str)],
            jobs=[job for job in jobs if isinstance(job.get("job_id"), str)],
        )

    def prime_polled(self, job_id: str, data: Mapping[str, Any]) -> None:
        """A poll's answer: video jobs are polled through the list, so it is a list item."""
        self.prime([data])

    def prime(self, jobs: Iterable[Mapping[str, Any]]) -> None:
        """Remember list items so their summary fields and kinds need no further call."""
        listed, summarized = self._listed, self._summarized
        for job_id, job in self._remember_kinds(jobs):
            # As aiodataloader's prime: what the loader already has for a job stays.
            if job_id not in summarized:
                summarized.add(job_id)
                listed[job_id] = job

    def _remember_kinds(self, jobs: Iterable[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
        """Each job of the list answer `jobs` with its id, their kinds remembered in one pass."""
        identified, kinds = [], []
        for job in jobs:
            job_id = job.get("job_id")
            if type(job_id) is not str:
                continue
            identified.append((job_id, job))
            job_type = job.get("job_type")
            if job_type in VIDEO_KINDS:
                kinds.append((job_id, str(job_type)))
        if kinds:
            self.kinds.put_all(self.upstream.key, kinds)
        return identified

    async def _load_summaries(self, job_ids: list[str]) -> list[Loaded | Exception]:
        # An id holding a comma could never be a job id, and the upstream would split it into two.
        asked = [job_id for job_id in job_ids if job_id and "," not in job_id]
        if not asked:
            return [None] * len(job_ids)
        try:
            answer = await self.upstream.call(
                self.upstream.client.list_digital_human_videos,
                offset=0,
                limit=len(asked),
                create_since=OLDEST_CREATE_SINCE,
                job_ids=asked,
            )
        except Exception as exc:
            return [exc] * len(job_ids)
        found = dict(self._remember_kinds(_jobs_of(answer)))
        return [cast(Loaded, found.get(job_id)) for job_id in job_ids]

    async def _load_details(self, keys: list[DetailKey]) -> list[Loaded | Exception]:
        scripts: dict[str, bool] = {}
        for job_id, with_scripts in keys:
            scripts[job_id] = scripts.get(job_id, False) or with_scripts
        job_types = await self._job_types(list(scripts))
        shown = await gather_bounded(
            (self._show(job_id, job_types[job_id], scripts[job_id]) for job_id in scripts),
            SHOW_CONCURRENCY,
        )
        answers = {job_id: settled(result) for job_id, result in zip(scripts, shown, strict=True)}
        return [answers[job_id] for job_id, _ in keys]

    async def _job_types(self, job_ids: Sequence[str]) -> dict[str, str | Exception | None]:
        """Each job's kind: remembered, else from its summary (all unknown ones in one batched call).
        None means the job does not exist; an empty string that the upstream did not say."""
        kinds: dict[str, str | Exception | None] = {}
        unknown: list[str] = []
        for job_id in job_ids:
            kind = self.kind(job_id)
            if kind is None:
                unknown.append(job_id)
            else:
                kinds[job_id] = kind
        if unknown:
            self._summarized.update(unknown)
            for job_id in unknown:
                self._prime_listed(job_id)
            summaries = await asyncio.gather(
                *(self.summaries.load(job_id) for job_id in unknown), return_exceptions=True
            )
            for job_id, summary in zip(unknown, summaries, strict=True):
                if isinstance(summary, BaseException):
                    kinds[job_id] = settled(summary)
                elif summary is None:
                    kinds[job_id] = None
                else:
                    kinds[job_id] = str(summary.get("job_type") or "")
        return kinds

    async def _show(self, job_id: str, job_type: str | Exception | None, scripts: bool) -> Loaded:
        if isinstance(job_type, Exception):
            raise job_type
        if job_type is None:
            return None
        if job_type in VIDEO_KINDS:
            return await self._show_kind(job_id, job_type, scripts)
        if job_type:
            # A kind this gateway does not know yet has no show endpoint it could ask.
            return None
        # The summary did not say which kind: try 2D, then photo, and remember whichever answers.
        for kind in (VIDEO_2D, VIDEO_PHOTO):
            answer = await self._show_kind(job_id, kind, scripts)
            if answer is not None:
                self.kinds.put(self.upstream.key, job_id, kind)
                return answer
        return None

    async def _show_kind(self, job_id: str, job_type: str, scripts: bool) -> Loaded:
        client = self.upstream.client
        show = (
            client.show_2d_digital_human_video
            if job_type == VIDEO_2D
            else client.show_photo_digital_human_video
        )
        try:
            return await self.upstream.call(show, job_id, show_script=scripts)
        except UpstreamHTTPError as exc:
            if exc.status == 404:
                return None
            raise


def _jobs_of(answer: Mapping[str, Any]) -> list[JSONObject]:
    jobs = answer.get("jobs")
    if not isinstance(jobs, list):
        return []
    return [job for job in jobs if isinstance(job, dict)]
