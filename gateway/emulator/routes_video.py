"""Digital-human video routes: list, create, show and cancel 2D and photo video jobs."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.emulator.emulator import emulator_of, json_object, validated
from gateway.emulator.errors import invalid
from gateway.emulator.jobs import VIDEO_STATES, Job, JobKind
from gateway.emulator.lifecycle import video_plan
from gateway.emulator.queries import (
    boolean,
    listed,
    page,
    paged,
    sort_jobs,
    states,
    time_bound,
    time_key,
    within,
)
from gateway.emulator.views import video_detail, video_summary

# The upstream lists only the last month unless create_since asks for older jobs.
DEFAULT_LIST_WINDOW = 30 * 86400
_JOB_TYPES = {kind.value: kind for kind in (JobKind.VIDEO_2D, JobKind.VIDEO_PHOTO)}


def _asset_name(job: Job) -> str:
    request = job.data.get("request", {})
    name = (request.get("output_asset_config") or {}).get("asset_name") or job.data.get("asset_name") or ""
    return str(name)


async def list_videos(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    params = request.query_params
    at = page(params)
    wanted = states(params, VIDEO_STATES)
    since = time_bound(params, "create_since")
    until = time_bound(params, "create_until")
    if since is None:
        since = emulator.clock() - DEFAULT_LIST_WINDOW
    job_type = params.get("job_type") or None
    if job_type is not None and job_type not in _JOB_TYPES:
        raise invalid(f"Invalid parameter: job_type must be one of {', '.join(_JOB_TYPES)}")
    ids = set(listed(params, "job_ids"))
    if params.get("job_id"):
        ids.add(params["job_id"])
    script_id = params.get("script_id") or None
    asset_name = params.get("asset_name") or None

    def keep(job: Job) -> bool:
        return (
            job.kind.is_video
            and (wanted is None or job.state in wanted)
            and within(job.created_at, since, until)
            and (job_type is None or job.kind.value == job_type)
            and (not ids or job.job_id in ids)
            and (script_id is None or job.data.get("request", {}).get("script_id") == script_id)
            and (asset_name is None or asset_name in _asset_name(job))
        )

    jobs = sort_jobs(
        [job for job in emulator.store.jobs_of(principal.label) if keep(job)],
        params,
        {
            "create_time": lambda job: time_key(job.created_at),
            "update_time": lambda job: time_key(job.updated_at),
            "asset_order": _asset_name,
        },
    )
    links = emulator.links(request)
    return JSONResponse({"count": len(jobs), "jobs": [video_summary(job, links) for job in paged(jobs, at)]})


def _duration(body: dict[str, Any]) -> float:
    """Seconds of speech: about four characters a second, like a calm presenter."""
    characters = 0
    seconds = 0.0
    for item in body.get("shoot_scripts") or []:
        script = (item or {}).get("shoot_script") or {}
        characters += len(((script.get("text_config") or {}).get("text")) or "")
        seconds += float(script.get("audio_duration") or 0)
    return round(max(1.0, seconds + characters / 4.0), 1)


async def _create(request: Request, model: str, kind: JobKind) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    body = validated(model, await json_object(request))
    data = {"request": body, "asset_id": uuid.uuid4().hex, "duration": _duration(body)}
    job = emulator.new_job(principal, kind, "WAITING", data)
    job.callback_url = (body.get("callback_config") or {}).get("callback_url") or None
    lifecycle = emulator.lifecycle
    lifecycle.schedule(job, video_plan(lifecycle.timings, lifecycle.fails()), job.created_at)
    return JSONResponse({"job_id": job.job_id})


async def create_2d_video(request: Request) -> JSONResponse:
    return await _create(request, "Create2DDigitalHumanVideoReq", JobKind.VIDEO_2D)


async def create_photo_video(request: Request) -> JSONResponse:
    return await _create(request, "CreatePhotoDigitalHumanVideoReq", JobKind.VIDEO_PHOTO)


async def _show(request: Request, kind: JobKind) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    show_script = boolean(request.query_params, "show_script") or False
    job = emulator.job(principal, request.path_params["job_id"], kind)
    return JSONResponse(video_detail(job, emulator.links(request), show_script))


async def show_2d_video(request: Request) -> JSONResponse:
    return await _show(request, JobKind.VIDEO_2D)


async def show_photo_video(request: Request) -> JSONResponse:
    return await _show(request, JobKind.VIDEO_PHOTO)


async def _cancel(request: Request, kind: JobKind) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    job = emulator.job(principal, request.path_params["job_id"], kind)
    if job.ended:
        raise invalid(
            f"Invalid parameter: job {job.job_id} is {job.state} and a {job.state} job cannot be canceled"
        )
    emulator.lifecycle.set_state(job, "CANCELED", None)
    return JSONResponse({})


async def cancel_2d_video(request: Request) -> JSONResponse:
    return await _cancel(request, JobKind.VIDEO_2D)


async def cancel_photo_video(request: Request) -> JSONResponse:
    return await _cancel(request, JobKind.VIDEO_PHOTO)
