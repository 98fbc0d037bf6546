"""UpstreamClient: one method per MetaStudio job operation, each returning the decoded JSON body."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from gateway.upstream.config import Credentials, UpstreamConfig
from gateway.upstream.multipart import MultipartBody, PictureFile
from gateway.upstream.readcache import IsTerminal, JobKind, ReadCache
from gateway.upstream.session import Call, JSONObject, UpstreamSession

if TYPE_CHECKING:
    from gateway.upstream.tracing import UpstreamSpans

QueryValue = str | int | float | bool | Sequence[str] | None

_VIDEOS = "/digital-human-videos"
_VIDEOS_2D = "/2d-digital-human-videos"
_VIDEOS_PHOTO = "/photo-digital-human-videos"
_TRAINING = "/digital-human-training-manage/user/jobs"
_PICTURES = "/digital-human/stylized/picture-modelings"


class UpstreamClient:
    """Calls MetaStudio over one shared connection pool; knows the REST API and nothing above it."""

    def __init__(
        self,
        config: UpstreamConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        is_terminal: IsTerminal | None = None,
    ) -> None:
        self.config = config
        self._session = UpstreamSession(config, transport)
        self._reprobe: asyncio.Future[int | None] | None = None
        # Every GET goes through it; every write tells it what the write may have changed.
        self.reads = ReadCache(
            self._session.call,
            keep_seconds=config.read_cache_seconds,
            terminal_seconds=config.read_cache_terminal_seconds,
            max_entries=config.read_cache_max_entries,
            max_bytes=config.read_cache_max_bytes,
            is_terminal=is_terminal,
        )

    def __repr__(self) -> str:
        return f"UpstreamClient(endpoint={self.config.endpoint!r}, auth_mode={self.config.auth_mode!r})"

    async def aclose(self) -> None:
        if self._reprobe is not None:
            self._reprobe.cancel()
        await self.reads.aclose()
        await self._session.aclose()

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    _PROBE = Call("ListDigitalHumanVideo", "GET", _VIDEOS, [("limit", "1")])

    async def ping(self) -> bool:
        """True when the upstream answers at all below 500 (a 401 still proves it is up)."""
        return await self.unready_reason() is None

    async def unready_reason(self) -> str | None:
        """Why upstream calls cannot succeed now, or None when the upstream answers below 500."""
        health = self._session.pool_health
        if starved := self.pool_starved_for():
            # Answer at once (a probe would wait for a connection like every other call), and look
            # again in the background, so that a pool that healed with no traffic is seen to have.
            if self._reprobe is None or self._reprobe.done():
                self._reprobe = asyncio.ensure_future(self._session.probe(self._PROBE))
            return (
                f"no upstream call has got a connection for {starved:.1f} s: all "
                f"{health.max_connections} connections to MetaStudio are taken"
            )
        status = await self._session.probe(self._PROBE)
        if status is None:
            return "the upstream does not answer"
        if status >= 500:
            return f"the upstream answers HTTP {status}"
        return None

    def observe(self, observer: Callable[[str, str, float], None]) -> None:
        """Have `observer` told of every upstream attempt: operation, HTTP status or transport outcome
        (timeout, unavailable, cancelled), and seconds."""
        self._session.observer = observer

    def trace(self, spans: UpstreamSpans) -> None:
        """Have every operation and every attempt but readiness probes traced by `spans`."""
        self._session.tracing = spans

    def pool_starved_for(self) -> float:
        """Seconds during which calls waited in vain for an upstream connection and none got one."""
        return self._session.pool_health.starved_for(time.monotonic())

    # Videos (2D and photo share the list)

    async def list_digital_human_videos(
        self,
        creds: Credentials,
        /,
        *,
        offset: int | None = None,
        limit: int | None = None,
        state: Sequence[str] | None = None,
        sort_key: str | None = None,
        sort_dir: str | None = None,
        create_since: str | None = None,
        create_until: str | None = None,
        script_id: str | None = None,
        asset_name: str | None = None,
        job_type: str | None = None,
        job_id: str | None = None,
        job_ids: Sequence[str] | None = None,
        fresh: bool = False,
    ) -> JSONObject:
        """`fresh` takes no kept answer (the live state's polls): see ReadCache.read."""
        query = _query(
            offset=offset,
            limit=limit,
            state=_comma_list(state),
            sort_key=sort_key,
            sort_dir=sort_dir,
            create_since=create_since,
            create_until=create_until,
            script_id=script_id,
            asset_name=asset_name,
            job_type=job_type,
            job_id=job_id,
            job_ids=job_ids,
        )
        return await self._get("ListDigitalHumanVideo", "video", creds, _VIDEOS, query, fresh=fresh)

    async def create_2d_digital_human_video(
        self, creds: Credentials, /, body: Mapping[str, Any]
    ) -> JSONObject:
        return await self._send("Create2DDigitalHumanVideo", "video", creds, "POST", _VIDEOS_2D, body)

    async def show_2d_digital_human_video(
        self, creds: Credentials, /, job_id: str, *, show_script: bool = False
    ) -> JSONObject:
        query = _query(show_script=True) if show_script else []
        path = f"{_VIDEOS_2D}/{_segment(job_id)}"
        return await self._get("Show2DDigitalHumanVideo", "video", creds, path, query, job_id=job_id)

    async def cancel_2d_digital_human_video(self, creds: Credentials, /, job_id: str) -> JSONObject:
        path = f"{_VIDEOS_2D}/{_segment(job_id)}/cancel"
        return await self._send("Cancel2DDigitalHumanVideo", "video", creds, "POST", path, job_id=job_id)

    async def create_photo_digital_human_video(
        self, creds: Credentials, /, body: Mapping[str, Any]
    ) -> JSONObject:
        return await self._send("CreatePhotoDigitalHumanVideo", "video", creds, "POST", _VIDEOS_PHOTO, body)

    async def show_photo_digital_human_video(
        self, creds: Credentials, /, job_id: str, *, show_script: bool = False
    ) -> JSONObject:
        query = _query(show_script=True) if show_script else []
        path = f"{_VIDEOS_PHOTO}/{_segment(job_id)}"
        return await self._get("ShowPhotoDigitalHumanVideo", "video", creds, path, query, job_id=job_id)

    async def cancel_photo_digital_human_video(self, creds: Credentials, /, job_id: str) -> JSONObject:
        path = f"{_VIDEOS_PHOTO}/{_segment(job_id)}/cancel"
        return await self._send("CancelPhotoDigitalHumanVideo", "video", creds, "POST", path, job_id=job_id)

    # 2D model training

    async def list_2d_model_training_jobs(self, creds: Credentials, /, **filters: QueryValue) -> JSONObject:
        """Filters are the upstream's query names (offset, limit, state, batch_name, tag, job_id, ...)."""
        return await self._get("List2dModelTrainingJob", "training", creds, _TRAINING, _filters(filters))

    async def create_2d_model_training_job(
        self, creds: Credentials, /, body: Mapping[str, Any]
    ) -> JSONObject:
        return await self._send("Create2dModelTrainingJob", "training", creds, "POST", _TRAINING, body)

    async def show_2d_model_training_job(
        self, creds: Credentials, /, job_id: str, *, fresh: bool = False
    ) -> JSONObject:
        path = f"{_TRAINING}/{_segment(job_id)}"
        return await self._get("Show2dModelTrainingJob", "training", creds, path, job_id=job_id, fresh=fresh)

    async def update_2d_model_training_job(
        self, creds: Credentials, /, job_id: str, body: Mapping[str, Any]
    ) -> JSONObject:
        path = f"{_TRAINING}/{_segment(job_id)}"
        operation = "Update2dModelTrainingJob"
        return await self._send(operation, "training", creds, "PUT", path, body, job_id=job_id)

    async def delete_2d_model_training_job(self, creds: Credentials, /, job_id: str) -> JSONObject:
        path = f"{_TRAINING}/{_segment(job_id)}"
        return await self._send("Delete2dModelTrainingJob", "training", creds, "DELETE", path, job_id=job_id)

    async def execute_2d_model_training_command(
        self, creds: Credentials, /, job_id: str, body: Mapping[str, Any]
    ) -> JSONObject:
        path = f"{_TRAINING}/{_segment(job_id)}/command"
        operation = "Execute2dModelTrainingCommandByUser"
        return await self._send(operation, "training", creds, "POST", path, body, job_id=job_id)

    # Stylized picture modeling

    async def create_picture_modeling_job(
        self,
        creds: Credentials,
        /,
        *,
        file: PictureFile,
        style_id: str,
        name: str | None = None,
        notify_url: str | None = None,
    ) -> JSONObject:
        """Upload a picture as multipart/form-data; streamed, sent once, never repeated."""
        fields = [
            (key, value)
            for key, value in (("style_id", style_id), ("name", name), ("notify_url", notify_url))
            if value is not None
        ]
        call = Call("CreatePictureModelingJob", "POST", _PICTURES, form=MultipartBody(fields, "file", file))
        try:
            return await self._session.call(call, creds)
        finally:
            self.reads.wrote(creds, "picture", None)

    async def create_picture_modeling_job_by_url(
        self, creds: Credentials, /, body: Mapping[str, Any]
    ) -> JSONObject:
        path = f"{_PICTURES}-by-url"
        return await self._send("CreatePictureModelingByUrlJob", "picture", creds, "POST", path, body)

    async def list_picture_modeling_jobs(self, creds: Credentials, /, **filters: QueryValue) -> JSONObject:
        """Filters are the upstream's query names (offset, limit, state, style_id, name, ...)."""
        return await self._get("ListPictureModelingJobs", "picture", creds, _PICTURES, _filters(filters))

    async def show_picture_modeling_job(
        self, creds: Credentials, /, job_id: str, *, fresh: bool = False
    ) -> JSONObject:
        path = f"{_PICTURES}/{_segment(job_id)}"
        return await self._get("ShowPictureModelingJob", "picture", creds, path, job_id=job_id, fresh=fresh)

    async def _get(
        self,
        operation: str,
        kind: JobKind,
        creds: Credentials,
        path: str,
        query: Sequence[tuple[str, str]] = (),
        *,
        job_id: str | None = None,
        fresh: bool = False,
    ) -> JSONObject:
        """A list (no `job_id`) or a job's show call, shared and kept by the read cache."""
        return await self.reads.read(Call(operation, "GET", path, query), creds, kind, job_id, fresh=fresh)

    async def _send(
        self,
        operation: str,
        kind: JobKind,
        creds: Credentials,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        job_id: str | None = None,
    ) -> JSONObject:
        """A write: a create (no `job_id`) or a change to a job. Never repeated; whatever its outcome, the
        read cache drops what it may have made stale."""
        try:
            return await self._session.call(Call(operation, method, path, json=body), creds)
        finally:
            self.reads.wrote(creds, kind, job_id)


def _segment(job_id: str) -> str:
    if not job_id:
        raise ValueError("job_id must not be empty")
    return quote(job_id, safe="")


def _comma_list(values: Sequence[str] | str | None) -> str | None:
    if values is None or isinstance(values, str):
        return values
    return ",".join(values) or None


def _filters(filters: Mapping[str, QueryValue]) -> list[tuple[str, str]]:
    # `state` is one comma-separated value upstream; any other list repeats its key, as the SDK does.
    values = dict(filters)
    state = values.get("state")
    if state is not None and not isinstance(state, str | int | float | bool):
        values["state"] = _comma_list(state)
    return _query(**values)


def _query(**values: QueryValue) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        elif isinstance(value, str | int | float):
            pairs.append((key, str(value)))
        else:
            pairs.extend((key, str(item)) for item in value)
    return pairs
