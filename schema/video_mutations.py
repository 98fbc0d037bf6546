"""Video job mutations: create a 2D or photo video (checked, idempotent), cancel either kind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Annotated, Any, TypeVar, cast

import strawberry
from strawberry.types.nodes import Selection

from gateway.live.callback_tokens import gateway_callback
from gateway.loaders.video import VIDEO_2D, VIDEO_PHOTO
from gateway.upstream import Credentials, JSONObject, UpstreamHTTPError, UpstreamInvalidResponse
from schema.mutations import caller_problems, create_job, problems_for, refusal_of
from schema.resolvers import GatewayInfo, JobIdArgument, selected_fields
from schema.user_errors import (
    UserError,
    UserErrorCode,
    user_errors_from_upstream,
)
from schema.video import VideoJob, show_needs
from schema.video_create import CreatePhotoVideoJobInput, CreateVideoJobInput

F = TypeVar("F", bound=Callable[..., Any])

CreateCall = Callable[[Credentials, Mapping[str, Any]], Awaitable[JSONObject]]
JOB_ID_FIELD = ["jobId"]
# States in which the upstream refuses a cancel ("SUCCESS" is how some answers spell SUCCEED).
CANCEL_REFUSED = frozenset({"SUCCEED", "SUCCESS", "FAILED", "CANCELED"})
_PAYLOAD_TYPES = frozenset({"CreateVideoJobPayload", "CancelVideoJobPayload"})


def _mutation(description: str) -> Callable[[F], F]:
    """`strawberry.mutation` for a resolver, keeping the resolver's own signature for the type checker."""
    return cast(Callable[[F], F], strawberry.mutation(description=description))


@strawberry.type(description="The outcome of createVideoJob or createPhotoVideoJob.")
class CreateVideoJobPayload:
    job: VideoJob | None = strawberry.field(
        description="The new job as MetaStudio sees it right after the create; null when nothing was created."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the job was not created (every broken input rule at once); empty on success."
    )


@strawberry.type(description="The outcome of cancelVideoJob.")
class CancelVideoJobPayload:
    job: VideoJob | None = strawberry.field(
        description="The job as MetaStudio now sees it (CANCELED on success); null when there is no such job."
    )
    user_errors: list[UserError] = strawberry.field(
        description="Why the job was not canceled, e.g. STATE_CONFLICT for a job that already ended."
    )


def _job_needs(info: GatewayInfo) -> tuple[bool, bool]:
    """(details, scripts): whether the payload's job selects fields only the show endpoint answers."""
    return show_needs(info, _job_selections)


def _job_selections(info: GatewayInfo) -> Iterator[Sequence[Selection]]:
    for payload in info.selected_fields:
        for field in selected_fields(payload.selections, _PAYLOAD_TYPES):
            if field.name == "job":
                yield field.selections


async def _job_as_now(info: GatewayInfo, job_id: str) -> VideoJob | None:
    """The job as the upstream sees it now, asking whichever endpoint the selected fields need."""
    details, scripts = _job_needs(info)
    if not await info.context.loaders.video.exists(job_id, details=details, scripts=scripts):
        return None
    return VideoJob(job_id=job_id, scripts_selected=scripts)


async def _create(
    info: GatewayInfo,
    job: CreateVideoJobInput | CreatePhotoVideoJobInput,
    *,
    operation: str,
    job_type: str,
    send: CreateCall,
) -> CreateVideoJobPayload:
    problems = problems_for(info)
    problems.extend(job.problems().errors)
    problems.unknown_values(job, ["input"])
    if problems:
        return CreateVideoJobPayload(job=None, user_errors=problems.errors)
    body = job.upstream_body()
    sent, nonce = dict(body), None
    callback = None if "callback_config" in body else gateway_callback(info.context.settings, "video")
    if callback is not None:
        url, nonce = callback
        sent["callback_config"] = {"callback_url": url, "auth_type": "NONE"}
    upstream = info.context.upstream
    # The client's own input is what identifies a retry; the callback differs on every attempt.
    answer, refusals = await create_job(
        info,
        kind="video",
        operation=operation,
        idempotency_key=job.idempotency_key,
        fingerprint=body,
        send=lambda: upstream.call(send, sent),
        nonce=nonce,
    )
    if answer is None:
        return CreateVideoJobPayload(job=None, user_errors=refusals)
    job_id = answer.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        raise UpstreamInvalidResponse("the create answer carries no job_id", operation=operation)
    # The kind is known from the endpoint used, so loading the job needs no list call to find it.
    video = info.context.loaders.video
    video.kinds.put(upstream.key, job_id, job_type)
    return CreateVideoJobPayload(job=await _job_as_now(info, job_id), user_errors=[])


def _state_conflict(job_id: str, state: str, upstream_error_code: str | None = None) -> UserError:
    return UserError(
        code=UserErrorCode.STATE_CONFLICT,
        message=f"video job {job_id} is {state}, and a {state} job cannot be canceled",
        field=JOB_ID_FIELD,
        upstream_error_code=upstream_error_code,
    )


def _not_found(job_id: str) -> CancelVideoJobPayload:
    error = UserError(
        code=UserErrorCode.NOT_FOUND, message=f"VideoJob {job_id!r} was not found", field=JOB_ID_FIELD
    )
    return CancelVideoJobPayload(job=None, user_errors=[error])


async def _state_now(info: GatewayInfo, job_id: str) -> str | None:
    """The job's state as the upstream says it now, not as this request saw it before; None if gone."""
    video = info.context.loaders.video
    video.forget(job_id)
    summary = await video.summary(job_id)
    return None if summary is None else str(summary.get("state") or "")


async def _refused_cancel(info: GatewayInfo, job_id: str, exc: UpstreamHTTPError) -> CancelVideoJobPayload:
    errors = user_errors_from_upstream(exc, JOB_ID_FIELD)
    if exc.status == 404:
        return CancelVideoJobPayload(job=None, user_errors=errors)
    state = await _state_now(info, job_id)
    if state is None:
        return CancelVideoJobPayload(job=None, user_errors=errors)
    if exc.status == 400 and state in CANCEL_REFUSED:
        errors = [_state_conflict(job_id, state, exc.error_code)]
    return CancelVideoJobPayload(job=await _job_as_now(info, job_id), user_errors=errors)


@strawberry.type
class VideoMutations:
    @_mutation(
        "Start making a 2D digital-human video from a model asset. Every documented input rule is "
        "checked first: a broken one is a userError and nothing is sent to MetaStudio."
    )
    async def create_video_job(
        self,
        info: GatewayInfo,
        input: Annotated[CreateVideoJobInput, strawberry.argument(description="The video to make and how.")],
    ) -> CreateVideoJobPayload:
        client = info.context.upstream.client
        return await _create(
            info,
            input,
            operation="createVideoJob",
            job_type=VIDEO_2D,
            send=client.create_2d_digital_human_video,
        )

    @_mutation(
        "Start making a digital-human video from a photo. Every documented input rule is checked "
        "first: a broken one is a userError and nothing is sent to MetaStudio."
    )
    async def create_photo_video_job(
        self,
        info: GatewayInfo,
        input: Annotated[
            CreatePhotoVideoJobInput,
            strawberry.argument(description="The photo, what it says, and how the video is made."),
        ],
    ) -> CreateVideoJobPayload:
        client = info.context.upstream.client
        return await _create(
            info,
            input,
            operation="createPhotoVideoJob",
            job_type=VIDEO_PHOTO,
            send=client.create_photo_digital_human_video,
        )

    @_mutation(
        "Cancel a video job of either kind that has not ended yet; a job that already ended is a "
        "STATE_CONFLICT userError."
    )
    async def cancel_video_job(self, info: GatewayInfo, job_id: JobIdArgument) -> CancelVideoJobPayload:
        errors = caller_problems(info)
        if errors:
            return CancelVideoJobPayload(job=None, user_errors=errors)
        video = info.context.loaders.video
        job_type = video.kind(job_id)
        if job_type is None:
            summary = await video.summary(job_id)
            if summary is None:
                return _not_found(job_id)
            state = str(summary.get("state") or "")
            if state in CANCEL_REFUSED:
                return CancelVideoJobPayload(
                    job=await _job_as_now(info, job_id), user_errors=[_state_conflict(job_id, state)]
                )
            job_type = str(summary.get("job_type") or "")
        upstream = info.context.upstream
        cancels = {
            VIDEO_2D: upstream.client.cancel_2d_digital_human_video,
            VIDEO_PHOTO: upstream.client.cancel_photo_digital_human_video,
        }
        cancel = cancels.get(job_type)
        if cancel is None:
            error = UserError(
                code=UserErrorCode.INVALID_INPUT,
                message=f"video job {job_id} is of kind {job_type or 'unknown'}, which cannot be canceled",
                field=JOB_ID_FIELD,
            )
            return CancelVideoJobPayload(job=await _job_as_now(info, job_id), user_errors=[error])
        refused = await refusal_of(upstream.call(cancel, job_id))
        if refused is not None:
            return await _refused_cancel(info, job_id, refused)
        # What this request saw before the cancel is stale now.
        video.forget(job_id)
        return CancelVideoJobPayload(job=await _job_as_now(info, job_id), user_errors=[])


__all__ = ["CancelVideoJobPayload", "CreateVideoJobPayload", "VideoMutations"]
