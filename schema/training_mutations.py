"""Training job writes: create (with its upload URLs), submit for review, delete."""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Annotated, Any

import strawberry

from gateway.upstream import UpstreamHTTPError
from schema.input_rules import Between, Required, check_fields, ruled, unruled
from schema.mutations import IDEMPOTENCY_KEY, create_job, job_as_now, problems_for, refusal_of, refusals
from schema.reading import Data, text, texts
from schema.relay import encode_global_id
from schema.resolvers import GatewayInfo, JobIdArgument, described
from schema.training import TrainingJob, training_job_by_id
from schema.training_types import (
    TrainingAudioSourceType,
    TrainingModelVersion,
    TrainingSupportedService,
    TrainingVoiceJobTag,
    TrainingVoiceLanguage,
    TrainingVoiceSex,
)
from schema.user_errors import (
    Problems,
    UserError,
    UserErrorCode,
    user_errors_from_upstream,
)

SUBMIT_COMMAND = "SUBMITVERIFYING"
# Execute2dModelTrainingCommandByUser / Update2dModelTrainingJob: a job is (re)submitted for review
# while it waits for its files or after a review refused it.
SUBMITTABLE_STATES = ("WAIT_FILE_UPLOAD", "AUTO_VERIFY_FAILED", "MANUAL_VERIFY_FAILED")
MULTIPART_COUNT = Between(1, 1000)
INPUT = ["input"]
JOB_ID_FIELD = ["jobId"]


@strawberry.enum(description="What the create is for (Create2dModelTrainingJob command_message).")
class TrainingCommandMessage(enum.Enum):
    UPLOAD_VIDEO = strawberry.enum_value("UPLOAD_VIDEO", description="Upload the videos (the default).")
    UPDATE_VIDEO = strawberry.enum_value("UPDATE_VIDEO", description="Update the videos.")
    CONFIRM_ACTION_VIDEO = strawberry.enum_value(
        "CONFIRM_ACTION_VIDEO", description="Confirm the action arrangement video."
    )
    GET_ACTION_VIDEO_MULTIPART = strawberry.enum_value(
        "GET_ACTION_VIDEO_MULTIPART", description="Get the action video's upload parts."
    )


@strawberry.input(description="Properties of the voice trained with the model (VoiceProperties).")
class TrainingVoicePropertiesInput:
    job_tag: TrainingVoiceJobTag = strawberry.field(description="The use the voice is tuned for.")
    sex: TrainingVoiceSex = strawberry.field(description="The voice's sex.")
    language: TrainingVoiceLanguage = strawberry.field(description="The voice's language.")

    def body(self) -> dict[str, Any]:
        return {"job_tag": self.job_tag.value, "sex": self.sex.value, "language": self.language.value}


def _default_services() -> list[TrainingSupportedService]:
    return [TrainingSupportedService.VIDEO_2D, TrainingSupportedService.LIVE_2D]


@strawberry.input(
    description="A new 2D model training job (Create2dModelTrainingJobReq). The job starts in "
    "WAIT_FILE_UPLOAD: put the material at the returned upload URLs, then call submitTrainingJob."
)
class CreateTrainingJobInput:
    name: str = ruled(
        "Model name; also the name of the model asset. {required}", Required(), default=dataclasses.MISSING
    )
    contact: str | None = strawberry.field(default=None, description="Phone number of the job's creator.")
    command_message: TrainingCommandMessage = strawberry.field(
        default=TrainingCommandMessage.UPLOAD_VIDEO, description="UPLOAD_VIDEO unless told otherwise."
    )
    video_multipart_count: int = ruled(
        "Parts the one training video is uploaded in (for concurrent upload), {range}; one upload URL each.",
        MULTIPART_COUNT,
        default=1,
    )
    action_video_multipart_count: int = ruled(
        "Parts the action video is uploaded in, {range}; one upload URL each.", MULTIPART_COUNT, default=1
    )
    is_background_replacement: bool = strawberry.field(
        default=True, description="Replace the background; the video must then be shot on a green screen."
    )
    batch_name: str | None = strawberry.field(default=None, description="The batch the job belongs to.")
    tags: list[str] | None = strawberry.field(default=None, description="The job's tags.")
    model_version: TrainingModelVersion = strawberry.field(
        default=TrainingModelVersion.V3_2, description="V3_2 (V3.2) unless told otherwise."
    )
    is_ondemand_resource: bool = strawberry.field(
        default=False, description="Train on on-demand (trial) resources."
    )
    is_flexus: bool = strawberry.field(default=False, description="A Flexus (basic edition) training.")
    is_fast_flexus: bool = strawberry.field(default=False, description="A fast Flexus training.")
    is_live_copy: bool = strawberry.field(default=False, description="A live-room copy training.")
    is_only_human_model: bool = strawberry.field(
        default=False, description="Train only the image model, without a voice (Flexus only)."
    )
    audio_source_type: TrainingAudioSourceType | None = strawberry.field(
        default=None, description="Where the voice comes from; the upstream decides when unset."
    )
    voice_properties: TrainingVoicePropertiesInput | None = strawberry.field(
        default=None, description="Properties of the voice trained with the model."
    )
    supported_service: list[TrainingSupportedService] = strawberry.field(
        default_factory=_default_services, description="Services the model supports; VIDEO_2D and LIVE_2D."
    )
    idempotency_key: str | None = unruled(IDEMPOTENCY_KEY)

    def check(self, found: Problems) -> None:
        """Every documented rule this input breaks (the enums already hold the allowed values)."""
        check_fields(found, INPUT, self)

    def body(self) -> dict[str, Any]:
        """The Create2dModelTrainingJobReq body, defaults spelled out so equal inputs send equal bodies."""
        body: dict[str, Any] = {
            "name": self.name,
            "contact": self.contact,
            "command_message": self.command_message.value,
            "video_multipart_count": self.video_multipart_count,
            "action_video_multipart_count": self.action_video_multipart_count,
            "is_background_replacement": self.is_background_replacement,
            "batch_name": self.batch_name,
            "tags": self.tags,
            "model_version": self.model_version.value,
            "is_ondemand_resource": self.is_ondemand_resource,
            "is_flexus": self.is_flexus,
            "is_fast_flexus": self.is_fast_flexus,
            "is_live_copy": self.is_live_copy,
            "is_only_human_model": self.is_only_human_model,
            "audio_source_type": None if self.audio_source_type is None else self.audio_source_type.value,
            "voice_properties": None if self.voice_properties is None else self.voice_properties.body(),
            "supported_service": [service.value for service in self.supported_service],
        }
        return {name: value for name, value in body.items() if value is not None}


_URL_LISTS = frozenset({"training_video_upload_url", "action_video_upload_url"})


@strawberry.type(
    description="Where to PUT the training material (Create2dModelTrainingJobResponse); valid for a "
    "limited time, so upload soon after the create."
)
class TrainingUploadUrls:
    training_video_upload_url: list[str] = strawberry.field(
        description="One URL per training video part (videoMultipartCount)."
    )
    action_video_upload_url: list[str] = strawberry.field(
        description="One URL per action video part (actionVideoMultipartCount)."
    )
    audio_upload_url: str | None = strawberry.field(description="The separately recorded audio.")
    cover_upload_url: str | None = strawberry.field(description="The model's cover image.")
    id_card_image1_upload_url: str | None = strawberry.field(description="Front of the ID card.")
    id_card_image2_upload_url: str | None = strawberry.field(description="Back of the ID card.")
    grant_file_upload_url: str | None = strawberry.field(description="The letter of authorization.")
    pre_beauty_image_upload_url: str | None = strawberry.field(description="The image before whitening.")
    post_beauty_image_upload_url: str | None = strawberry.field(description="The image after whitening.")

    @classmethod
    def from_upstream(cls, data: Data) -> TrainingUploadUrls:
        # Each field has the upstream's name; those typed as lists of URLs are lists there too.
        urls: dict[str, list[str] | str | None] = {}
        for field in dataclasses.fields(cls):
            urls[field.name] = texts(data, field.name) if field.name in _URL_LISTS else text(data, field.name)
        return cls(**urls)  # type: ignore[arg-type]


@strawberry.type(description="The created training job as MetaStudio now sees it, and its upload URLs.")
class CreateTrainingJobPayload:
    job: TrainingJob | None = job_as_now("The new job", "create")
    upload_urls: TrainingUploadUrls | None = strawberry.field(
        description="Where to upload the training material; null when the create was refused."
    )
    user_errors: list[UserError] = refusals("create")


@strawberry.type(description="The training job as MetaStudio now sees it.")
class TrainingJobPayload:
    job: TrainingJob | None = job_as_now("The job", "action")
    user_errors: list[UserError] = refusals("action")


@strawberry.type(description="Which training job was deleted.")
class DeleteTrainingJobPayload:
    deleted_job_id: str | None = strawberry.field(description="The upstream id of the deleted job.")
    deleted_id: strawberry.ID | None = strawberry.field(description="The global id of the deleted job.")
    user_errors: list[UserError] = refusals("delete")


def forget(info: GatewayInfo, job_id: str) -> None:
    """Drop what this request loaded of the job before a write, so later reads see the write."""
    loaders = info.context.loaders.training
    loaders.basic.clear(job_id)
    loaders.detail.clear(job_id)


async def current_job(info: GatewayInfo, job_id: str) -> TrainingJob | None:
    """The job as the upstream sees it now (one show call)."""
    forget(info, job_id)
    return await training_job_by_id(info, job_id)


async def current_data(info: GatewayInfo, job_id: str) -> Data | None:
    """The job's basic fields as the upstream sees them now, or None when it has no such job."""
    forget(info, job_id)
    return await info.context.loaders.training.basic.load(job_id)


def names_state(exc: UpstreamHTTPError, state: str | None) -> bool:
    """Whether a refusal is about the job's state: it names the state the job is in."""
    return state is not None and re.search(rf"\b{re.escape(state)}\b", exc.error_msg or "") is not None


def state_conflict(job_id: str, state: str, action: str, exc: UpstreamHTTPError) -> UserError:
    return UserError(
        code=UserErrorCode.STATE_CONFLICT,
        message=f"training job {job_id} is {state}, which does not allow {action}",
        field=JOB_ID_FIELD,
        upstream_error_code=exc.error_code,
    )


def _job_id_problems(info: GatewayInfo, job_id: str) -> list[UserError]:
    problems = problems_for(info)
    problems.required(JOB_ID_FIELD, job_id)
    return problems.errors


@strawberry.type
class TrainingMutations:
    @described(
        "Create a 2D model training job; returns it (WAIT_FILE_UPLOAD) and where to upload its "
        "material. Costs one create and one show call."
    )
    async def create_training_job(
        self,
        info: GatewayInfo,
        input: Annotated[
            CreateTrainingJobInput, strawberry.argument(description="The model to train and its options.")
        ],
    ) -> CreateTrainingJobPayload:
        problems = problems_for(info)
        input.check(problems)
        problems.unknown_values(input, ["input"])
        if problems:
            return CreateTrainingJobPayload(job=None, upload_urls=None, user_errors=problems.errors)
        body = input.body()
        upstream = info.context.upstream

        # Training jobs have no upstream callback (no nonce); they are only polled closely for a while.
        answer, refusals = await create_job(
            info,
            kind="training",
            operation="createTrainingJob",
            idempotency_key=input.idempotency_key,
            fingerprint=body,
            send=lambda: upstream.call(upstream.client.create_2d_model_training_job, body),
            field=["input"],
        )
        if answer is None:
            return CreateTrainingJobPayload(job=None, upload_urls=None, user_errors=refusals)
        job_id = text(answer, "job_id")
        job = None if job_id is None else await current_job(info, job_id)
        return CreateTrainingJobPayload(
            job=job, upload_urls=TrainingUploadUrls.from_upstream(answer), user_errors=[]
        )

    @described(
        "Submit a training job for review (the SUBMITVERIFYING command) once its material is "
        "uploaded. Only a job in WAIT_FILE_UPLOAD, AUTO_VERIFY_FAILED or MANUAL_VERIFY_FAILED can be "
        "submitted; any other state is a STATE_CONFLICT user error. Costs the command and one show call."
    )
    async def submit_training_job(self, info: GatewayInfo, job_id: JobIdArgument) -> TrainingJobPayload:
        errors = _job_id_problems(info, job_id)
        if errors:
            return TrainingJobPayload(job=None, user_errors=errors)
        upstream = info.context.upstream
        command = {"command": SUBMIT_COMMAND}
        exc = await refusal_of(
            upstream.call(upstream.client.execute_2d_model_training_command, job_id, command)
        )
        if exc is not None:
            if exc.status == 404:
                return TrainingJobPayload(job=None, user_errors=user_errors_from_upstream(exc, JOB_ID_FIELD))
            data = await current_data(info, job_id)
            state = None if data is None else text(data, "state")
            if state is not None and (state not in SUBMITTABLE_STATES or names_state(exc, state)):
                errors = [state_conflict(job_id, state, f"the {SUBMIT_COMMAND} command", exc)]
            else:
                errors = user_errors_from_upstream(exc, JOB_ID_FIELD)
            job = None if data is None else TrainingJob(job_id=job_id)
            return TrainingJobPayload(job=job, user_errors=errors)
        return TrainingJobPayload(job=await current_job(info, job_id), user_errors=[])

    @described(
        "Delete a training job (the upstream has no cancel). Costs one delete call; a job whose "
        "state refuses deletion is a STATE_CONFLICT user error."
    )
    async def delete_training_job(self, info: GatewayInfo, job_id: JobIdArgument) -> DeleteTrainingJobPayload:
        errors = _job_id_problems(info, job_id)
        if errors:
            return DeleteTrainingJobPayload(deleted_job_id=None, deleted_id=None, user_errors=errors)
        upstream = info.context.upstream
        exc = await refusal_of(upstream.call(upstream.client.delete_2d_model_training_job, job_id))
        if exc is not None:
            data = None if exc.status == 404 else await current_data(info, job_id)
            state = None if data is None else text(data, "state")
            if state is not None and names_state(exc, state):
                errors = [state_conflict(job_id, state, "deletion", exc)]
            else:
                errors = user_errors_from_upstream(exc, JOB_ID_FIELD)
            return DeleteTrainingJobPayload(deleted_job_id=None, deleted_id=None, user_errors=errors)
        forget(info, job_id)
        return DeleteTrainingJobPayload(
            deleted_job_id=job_id,
            deleted_id=strawberry.ID(encode_global_id("TrainingJob", job_id)),
            user_errors=[],
        )
