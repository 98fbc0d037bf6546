"""2D model training routes: list, create, show, update, delete and user commands."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from gateway.emulator.clock import format_time
from gateway.emulator.emulator import Emulator, emulator_of, json_object, validated
from gateway.emulator.errors import forbidden, invalid
from gateway.emulator.jobs import TRAINING_STATES, Job, JobKind
from gateway.emulator.lifecycle import training_plan
from gateway.emulator.queries import (
    boolean,
    page,
    paged,
    sort_jobs,
    states,
    time_bound,
    time_key,
    within,
)
from gateway.emulator.views import training_basic, training_detail, upload_urls

DEFAULTS: dict[str, Any] = {
    "model_version": "V3.2",
    "matting_type": "AI",
    "model_resolution": "1080P",
    "is_background_replacement": True,
    "is_flexus": False,
    "is_live_copy": False,
    "is_fast_flexus": False,
    "is_only_human_model": False,
    "is_ondemand_resource": False,
    "video_multipart_count": 1,
    "action_video_multipart_count": 1,
    "command_message": "UPLOAD_VIDEO",
    "supported_service": ["VIDEO_2D", "LIVE_2D"],
    "tags": [],
}
# States in which the upstream lets a job be deleted, or its request be changed.
DELETABLE = frozenset(
    {
        "WAIT_FILE_UPLOAD",
        "AUTO_VERIFY_FAILED",
        "MANUAL_VERIFYING",
        "MANUAL_VERIFY_FAILED",
        "TRAINING_DATA_PREPROCESS_FAILED",
        "TRAIN_FAILED",
        "INFERENCE_DATA_PREPROCESS_FAILED",
        "JOB_SUCCESS",
        "WAIT_USER_CONFIRM",
        "JOB_REJECT",
        "JOB_FINISH",
    }
)
EDITABLE = frozenset({"WAIT_FILE_UPLOAD", "AUTO_VERIFY_FAILED", "MANUAL_VERIFY_FAILED"})
SUBMITTABLE = EDITABLE
UPLOAD_COMMANDS = frozenset(
    {
        "GET_MULTIPART_UPLOADED",
        "CONFIRM_MULTIPART_UPLOADED",
        "GET_ACTION_VIDEO_MULTIPART_UPLOADED",
        "CONFIRM_ACTION_VIDEO_MULTIPART_UPLOADED",
        "CONFIRM_AUTHORIZATION_LETTER",
    }
)
WHITELIST_COMMANDS = frozenset(
    {
        "CONFIRM_ACCEPT",
        "CONFIRM_REJECT",
        "CONFIRM_ANSWER",
        "CONFIRM_PENDING",
        "CONFIRM_ACTIVE",
    }
)


def _refused(job: Job, what: str) -> Exception:
    return invalid(f"Invalid parameter: job {job.job_id} is {job.state}; that state does not allow {what}")


async def list_training_jobs(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    params = request.query_params
    at = page(params)
    wanted = states(params, TRAINING_STATES)
    created = (time_bound(params, "create_since"), time_bound(params, "create_until"))
    updated = (time_bound(params, "update_since"), time_bound(params, "update_until"))
    flags = {name: boolean(params, name) for name in ("is_flexus", "is_live_copy", "is_ondemand_resource")}
    exact = {name: params.get(name) or None for name in ("batch_name", "job_id", "model_resolution")}
    tag = params.get("tag") or None
    name = params.get("name") or None

    def keep(job: Job) -> bool:
        data = job.data
        return (
            job.kind is JobKind.TRAINING
            and (wanted is None or job.state in wanted)
            and within(job.created_at, *created)
            and within(job.updated_at, *updated)
            and all(value is None or bool(data.get(flag)) == value for flag, value in flags.items())
            and (exact["job_id"] is None or job.job_id == exact["job_id"])
            and (exact["batch_name"] is None or data.get("batch_name") == exact["batch_name"])
            and (
                exact["model_resolution"] is None or data.get("model_resolution") == exact["model_resolution"]
            )
            and (tag is None or tag in (data.get("tags") or []))
            and (name is None or name in str(data.get("name", "")))
        )

    jobs = sort_jobs(
        [job for job in emulator.store.jobs_of(principal.label) if keep(job)],
        params,
        {
            "create_time": lambda job: time_key(job.created_at),
            "update_time": lambda job: time_key(job.updated_at),
            "asset_order": lambda job: str(job.data.get("name", "")),
        },
    )
    links = emulator.links(request)
    project = emulator.config.project_id
    return JSONResponse(
        {"count": len(jobs), "jobs": [training_basic(job, links, project) for job in paged(jobs, at)]}
    )


async def create_training_job(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    body = validated("Create2dModelTrainingJobReq", await json_object(request))
    data = {**DEFAULTS, **body, "app_user_id": principal.app_user_id}
    job = emulator.new_job(principal, JobKind.TRAINING, "WAIT_FILE_UPLOAD", data)
    data["operation_logs"] = [
        {"operate_time": job.created_at, "log_type": "USER_CREATE_JOD", "operate_user": "USER"}
    ]
    data["comment_logs"] = []
    return JSONResponse(upload_urls(job, emulator.links(request)))


async def show_training_job(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    job = emulator.job(principal, request.path_params["job_id"], JobKind.TRAINING)
    return JSONResponse(training_detail(job, emulator.links(request), emulator.config.project_id))


async def update_training_job(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    job = emulator.job(principal, request.path_params["job_id"], JobKind.TRAINING)
    body = validated("Update2dModelTrainingJobReq", await json_object(request))
    if job.state not in EDITABLE:
        raise _refused(job, "updates")
    job.data.update(body)
    job.updated_at = emulator.clock()
    return JSONResponse(upload_urls(job, emulator.links(request)))


async def delete_training_job(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    job = emulator.job(principal, request.path_params["job_id"], JobKind.TRAINING)
    if job.state not in DELETABLE:
        raise _refused(job, "deletion")
    emulator.store.remove(job)
    return JSONResponse({})


def _submit(emulator: Emulator, job: Job) -> None:
    lifecycle = emulator.lifecycle
    failure: str | None = None
    if lifecycle.fails():
        failure = "verify" if lifecycle.random.random() < 0.5 else "train"
    now = emulator.clock()
    job.error_info = None
    job.ended_at = None
    lifecycle.enter(job, "AUTO_VERIFYING", now)
    lifecycle.schedule(job, training_plan(lifecycle.timings, failure), now)


async def run_training_command(request: Request) -> JSONResponse:
    emulator = emulator_of(request)
    principal = await emulator.caller(request)
    job = emulator.job(principal, request.path_params["job_id"], JobKind.TRAINING)
    body = validated("Execute2dModelTrainingCommandByUserReq", await json_object(request))
    command = body.get("command")
    result: dict[str, Any] = {"commond_result": "EXCUTE_SUCCESS"}
    if command == "SUBMITVERIFYING":
        if job.state not in SUBMITTABLE:
            raise _refused(job, f"the command {command}")
        _submit(emulator, job)
    elif command in UPLOAD_COMMANDS:
        if job.state != "WAIT_FILE_UPLOAD":
            raise _refused(job, f"the command {command}")
        if command.startswith("GET_"):
            result["multipart_data"] = []
    elif command in WHITELIST_COMMANDS:
        raise forbidden(f"Forbidden: the command {command} is only available to whitelisted accounts")
    elif command == "CONFIRM_REPAIR":
        if job.state != "JOB_SUCCESS":
            raise _refused(job, f"the command {command}")
    elif command == "DELETE_JOB_VIDEO":
        if not job.ended:
            raise _refused(job, f"the command {command}")
    else:
        raise invalid(f"Invalid parameter: command {command} is not supported")
    comment = body.get("comment_data")
    if isinstance(comment, dict):
        job.data.setdefault("comment_logs", []).append(
            {
                "operate_time": format_time(emulator.clock()),
                "comment_type": "USER_COMMENT",
                "comment_title": comment.get("comment_title"),
                "comment_message": comment.get("comment_message"),
            }
        )
    return JSONResponse(result)
