"""Stylized picture modeling routes: multipart upload, by URL, list and show."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import PurePosixPath
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.emulator.access import Principal
from gateway.emulator.emulator import Emulator, Upload, emulator_of, json_object, validated
from gateway.emulator.errors import invalid
from gateway.emulator.jobs import PICTURE_STATES, Job, JobKind
from gateway.emulator.lifecycle import picture_plan
from gateway.emulator.queries import page, paged, sort_jobs, states, time_bound, time_key, within
from gateway.emulator.views import picture_info

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
_EXTENSIONS = {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png"}


def image_format(data: bytes) -> str | None:
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def _start(emulator: Emulator, principal: Principal, fields: dict[str, Any]) -> Job:
    data = {**fields, "model_asset_id": uuid.uuid4().hex}
    job = emulator.new_job(principal, JobKind.PICTURE, "WAITING", data)
    job.callback_url = fields.get("notify_url") or None
    lifecycle = emulator.lifecycle
    lifecycle.schedule(job, picture_plan(lifecycle.timings, lifecycle.fails()), job.created_at)
    return job


async def create_picture_job(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid("Invalid parameter: the request must be multipart/form-data with a file field")
    async with request.form(max_files=1, max_fields=16) as form:
        upload = form.get("file")
        fields = {name: value for name, value in form.items() if name != "file"}
        if not isinstance(upload, UploadFile):
            raise invalid("Invalid parameter: file is required and must be a jpg, jpeg or png file")
        content = await upload.read()
        filename = upload.filename or ""
        content_type = upload.content_type or "application/octet-stream"
    for name, value in fields.items():
        if not isinstance(value, str):
            raise invalid(f"Invalid parameter: {name} must be a text field")
    validated("CreatePictureModelingJobRequestBody", fields)
    extension = PurePosixPath(filename.lower()).suffix
    found = image_format(content)
    if extension not in _EXTENSIONS:
        raise invalid("Invalid parameter: file must be named .jpg, .jpeg or .png")
    if found is None or found != _EXTENSIONS[extension]:
        raise invalid(f"Invalid parameter: file content is not a {_EXTENSIONS[extension]} image")
    job = _start(emulator, principal, {**fields, "source": "upload"})
    emulator.uploads[job.job_id] = Upload(
        hashlib.sha256(content).hexdigest(), len(content), filename, content_type
    )
    return JSONResponse({"job_id": job.job_id, "model_asset_id": job.data["model_asset_id"]})


async def create_picture_job_by_url(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    body = validated("PictureModelingByUrlReq", await json_object(request))
    job = _start(emulator, principal, {**body, "source": "url"})
    return JSONResponse({"job_id": job.job_id, "model_asset_id": job.data["model_asset_id"]})


async def list_picture_jobs(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    params = request.query_params
    at = page(params)
    wanted = states(params, PICTURE_STATES)
    since, until = time_bound(params, "create_since"), time_bound(params, "create_until")
    jobs = sort_jobs(
        [
            job
            for job in emulator.store.jobs_of(principal.label)
            if job.kind is JobKind.PICTURE
            and (wanted is None or job.state in wanted)
            and within(job.created_at, since, until)
        ],
        params,
        {
            "create_time": lambda job: time_key(job.created_at),
            "update_time": lambda job: time_key(job.updated_at),
        },
    )
    links = emulator.links(request)
    return JSONResponse(
        {"count": len(jobs), "picture_modeling_jobs": [picture_info(job, links) for job in paged(jobs, at)]}
    )


async def show_picture_job(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    job = emulator.job(principal, request.path_params["job_id"], JobKind.PICTURE)
    return JSONResponse(picture_info(job, emulator.links(request)))
