"""2D model training jobs: the TrainingJob type, by-id lookups and the filtered, paged list."""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, ClassVar

import strawberry

from gateway.context import RequestContext
from gateway.upstream import QueryValue
from schema.direct import MaybeAwaitable, direct_field
from schema.errors import BadUserInput, NotFound
from schema.paging import (
    After,
    Before,
    First,
    Last,
    Lazy,
    ListOrder,
    Page,
    PageInfo,
    empty_page,
    page_request,
    paginate,
)
from schema.reading import Data, flag, integer, link, nested, records, text, texts
from schema.relay import (
    GatewayInfo,
    Job,
    JobIdArgument,
    Summary,
    described,
    enum_values,
    optional_enum_value,
    summary_field,
    summary_time,
    upstream_time,
)
from schema.training_types import (
    PHASE_GROUPS,
    TERMINAL_TRAINING_STATES,
    ActionSample,
    InferenceActionMark,
    InferenceEyeCorrectionMark,
    InferenceVideoMark,
    SubTrainingJob,
    TrainingAllocatedResource,
    TrainingAudioSourceType,
    TrainingCommentLog,
    TrainingJobPhase,
    TrainingJobState,
    TrainingModelVersion,
    TrainingOperationLog,
    TrainingSupportedService,
    TrainingVideoMark,
    VerifyVideoMattingArea,
    VoiceProperties,
    training_phase,
    training_state,
)
from schema.video import SortDirection

CURSOR_KIND = "TrainingJob"


@strawberry.type(
    description="A 2D digital-human model training job (Show2dModelTrainingJob). `terminal` is true for "
    "JOB_SUCCESS, JOB_FINISH, JOB_REJECT, every *_FAILED state and every MANUAL_STOP_* state: the upstream "
    "moves the job no further without a person acting. Waiting states (WAIT_FILE_UPLOAD, WAIT_ADMIN_*, "
    "WAIT_USER_CONFIRM, JOB_PENDING) are not terminal. Fields a list page carries cost no extra upstream "
    "call; the detail fields (files, logs, marks, ...) cost one show call per job per request."
)
class TrainingJob(Job):
    TERMINAL_STATES: ClassVar[frozenset[str]] = TERMINAL_TRAINING_STATES

    async def load_summary(self, info: GatewayInfo) -> Data:
        data = await self.context(info).loaders.training.basic.load(self.job_id)
        if data is None:
            raise NotFound("TrainingJob", self.job_id)
        return data

    async def _detail(self, info: GatewayInfo) -> Data:
        data = await self.context(info).loaders.training.detail.load(self.job_id)
        if data is None:
            raise NotFound("TrainingJob", self.job_id)
        return data

    # Basic fields (TrainingJobBasicInfo): a list page carries them.

    @summary_field("The state; UNKNOWN for one this gateway does not know (see rawState).", TrainingJobState)
    def state(self, basic: Summary) -> TrainingJobState:
        return training_state(basic.get("state"))

    @summary_field("The coarse group the MetaStudio console shows for the state.", TrainingJobPhase)
    def phase(self, basic: Summary) -> TrainingJobPhase:
        return training_phase(training_state(basic.get("state")))

    @summary_field("Model name; also the name of the model asset.", str | None)
    def name(self, basic: Summary) -> str | None:
        return text(basic, "name")

    @summary_field("Id of the model asset.", str | None)
    def asset_id(self, basic: Summary) -> str | None:
        return text(basic, "asset_id")

    @summary_field("Project the model asset belongs to.", str | None)
    def project_id(self, basic: Summary) -> str | None:
        return text(basic, "project_id")

    @summary_field("Model cover download URL, valid for 24 hours.", str | None)
    def cover_download_url(self, basic: Summary) -> str | None:
        return link(basic, "cover_download_url")

    last_update_time = summary_time(
        "When the user last updated the job (creation or resubmission).", "last_update_time"
    )

    create_time = summary_time("When the job was created.", "create_time")

    @summary_field("Phone number of the job's creator.", str | None)
    def contact(self, basic: Summary) -> str | None:
        return text(basic, "contact")

    @summary_field("The batch the job belongs to.", str | None)
    def batch_name(self, basic: Summary) -> str | None:
        return text(basic, "batch_name")

    @summary_field("The job's tags.", list[str])
    def tags(self, basic: Summary) -> list[str]:
        return texts(basic, "tags")

    @summary_field(
        "Model version: V3_2 (V3.2, the default) or V3_3; see rawModelVersion.", TrainingModelVersion | None
    )
    def model_version(self, basic: Summary) -> TrainingModelVersion | None:
        return optional_enum_value(TrainingModelVersion, text(basic, "model_version"))

    @summary_field("The model version exactly as the upstream sent it, e.g. V3.2.", str | None)
    def raw_model_version(self, basic: Summary) -> str | None:
        return text(basic, "model_version")

    @summary_field("Matting type: AI (default) or MANUAL.", str | None)
    def matting_type(self, basic: Summary) -> str | None:
        return text(basic, "matting_type")

    @summary_field("Model resolution: 1080P (default) or 4K.", str | None)
    def model_resolution(self, basic: Summary) -> str | None:
        return text(basic, "model_resolution")

    @summary_field("The X-App-UserId the job was created with, if any.", str | None)
    def app_user_id(self, basic: Summary) -> str | None:
        return text(basic, "app_user_id")

    @summary_field("Whether this is a Flexus (basic edition) training.", bool | None)
    def is_flexus(self, basic: Summary) -> bool | None:
        return flag(basic, "is_flexus")

    @summary_field("Whether this is a live-room copy training.", bool | None)
    def is_live_copy(self, basic: Summary) -> bool | None:
        return flag(basic, "is_live_copy")

    @summary_field("Whether this is a fast Flexus training.", bool | None)
    def is_fast_flexus(self, basic: Summary) -> bool | None:
        return flag(basic, "is_fast_flexus")

    @summary_field("Whether only the image model is trained, without a voice (Flexus only).", bool | None)
    def is_only_human_model(self, basic: Summary) -> bool | None:
        return flag(basic, "is_only_human_model")

    @summary_field("Regions the job may be trained in.", list[str])
    def optional_training_location(self, basic: Summary) -> list[str]:
        return texts(basic, "optional_training_location")

    @summary_field("Whether the background is replaced (the video was shot on a green screen).", bool | None)
    def is_background_replacement(self, basic: Summary) -> bool | None:
        return flag(basic, "is_background_replacement")

    @summary_field("Whether the job runs on on-demand (trial) resources.", bool | None)
    def is_ondemand_resource(self, basic: Summary) -> bool | None:
        return flag(basic, "is_ondemand_resource")

    # Detail fields: only the show call has them. Download URLs are valid for 24 hours.

    @described("The training video.")
    async def training_video_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "training_video_download_url")

    @described("Front of the ID card.")
    async def id_card_image1_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "id_card_image1_download_url")

    @described("Back of the ID card.")
    async def id_card_image2_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "id_card_image2_download_url")

    @described("The letter of authorization.")
    async def grant_file_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "grant_file_download_url")

    @described("The image before whitening.")
    async def pre_beauty_image_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "pre_beauty_image_download_url")

    @described("External action data (JSON).")
    async def external_action_json_data_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "external_action_json_data_download_url")

    @described("The action video.")
    async def action_video_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "action_video_download_url")

    @described("The image after whitening.")
    async def post_beauty_image_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "post_beauty_image_download_url")

    @described("The separately uploaded audio.")
    async def audio_file_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "audio_file_download_url")

    @described("The action mark file.")
    async def action_mark_file_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "action_mark_file_download_url")

    @described("Where to upload the action mark file.")
    async def action_mark_file_upload_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "action_mark_file_upload_url")

    @described("What happened to the job, oldest first.")
    async def operation_logs(self, info: GatewayInfo) -> list[TrainingOperationLog]:
        logs = records(await self._detail(info), "operation_logs")
        return [TrainingOperationLog.from_upstream(entry) for entry in logs]

    @described("Areas treated specially when the matting check video is made.")
    async def verify_video_matting_info(self, info: GatewayInfo) -> list[VerifyVideoMattingArea]:
        areas = records(await self._detail(info), "verify_video_matting_info")
        return [VerifyVideoMattingArea.from_upstream(area) for area in areas]

    @described("Comments on the job, oldest first.")
    async def comment_logs(self, info: GatewayInfo) -> list[TrainingCommentLog]:
        comments = records(await self._detail(info), "comment_logs")
        return [TrainingCommentLog.from_upstream(entry) for entry in comments]

    @described("Action video samples.")
    async def samples(self, info: GatewayInfo) -> list[ActionSample]:
        return [ActionSample.from_upstream(item) for item in records(await self._detail(info), "samples")]

    @described("Whether the mask file has been uploaded.")
    async def is_mask_file_uploaded(self, info: GatewayInfo) -> bool | None:
        return flag(await self._detail(info), "is_mask_file_uploaded")

    @described("The mask file.")
    async def mask_file_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "mask_file_download_url")

    @described("The review video.")
    async def verify_video_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "verify_video_download_url")

    @described("The video to mark.")
    async def markable_video_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "markable_video_download_url")

    @described("The action video to mark.")
    async def markable_action_video_download_url(self, info: GatewayInfo) -> str | None:
        return link(await self._detail(info), "markable_action_video_download_url")

    @described("The part of the training video used (upstream `traning_video_mark_info`).")
    async def training_video_mark_info(self, info: GatewayInfo) -> TrainingVideoMark | None:
        return nested(await self._detail(info), "traning_video_mark_info", TrainingVideoMark.from_upstream)

    @described("The video parts used for inference preprocessing.")
    async def inference_data_process_video_mark_info(self, info: GatewayInfo) -> InferenceVideoMark | None:
        detail = await self._detail(info)
        return nested(detail, "inference_data_process_video_mark_info", InferenceVideoMark.from_upstream)

    @described("Properties of the voice trained with the model.")
    async def voice_properties(self, info: GatewayInfo) -> VoiceProperties | None:
        return nested(await self._detail(info), "voice_properties", VoiceProperties.from_upstream)

    @described("The actions marked in the inference preprocessing video.")
    async def inference_data_process_action_mark_info(self, info: GatewayInfo) -> InferenceActionMark | None:
        detail = await self._detail(info)
        return nested(detail, "inference_data_process_action_mark_info", InferenceActionMark.from_upstream)

    @described("The actions marked for interactive chat in the inference preprocessing video.")
    async def inference_data_process_chat_action_mark_info(
        self, info: GatewayInfo
    ) -> InferenceActionMark | None:
        detail = await self._detail(info)
        return nested(
            detail, "inference_data_process_chat_action_mark_info", InferenceActionMark.from_upstream
        )

    @described("The video part used for eye correction.")
    async def inference_data_process_eye_correction_mark_info(
        self, info: GatewayInfo
    ) -> InferenceEyeCorrectionMark | None:
        detail = await self._detail(info)
        key = "inference_data_process_eye_correction_mark_info"
        return nested(detail, key, InferenceEyeCorrectionMark.from_upstream)

    @described("Machine types of the compile job.")
    async def worker_type(self, info: GatewayInfo) -> list[str]:
        return texts(await self._detail(info), "worker_type")

    @described("Whitening level, 0 (none, the default) to 3.")
    async def beauty_level(self, info: GatewayInfo) -> int | None:
        return integer(await self._detail(info), "beauty_level")

    @described("Id of the voice training job.")
    async def voice_train_job_id(self, info: GatewayInfo) -> str | None:
        return text(await self._detail(info), "voice_train_job_id")

    @described("Retrainings a Flexus job has left (0-10); each one uses one.")
    async def flexus_retry_count(self, info: GatewayInfo) -> int | None:
        return integer(await self._detail(info), "flexus_retry_count")

    @described("Where the voice comes from: VIDEO (extracted) or AUDIO (uploaded apart).")
    async def audio_source_type(self, info: GatewayInfo) -> TrainingAudioSourceType | None:
        return optional_enum_value(
            TrainingAudioSourceType, text(await self._detail(info), "audio_source_type")
        )

    @described("Services the model supports, e.g. VIDEO_2D, LIVE_2D.")
    async def supported_service(self, info: GatewayInfo) -> list[TrainingSupportedService]:
        return enum_values(TrainingSupportedService, (await self._detail(info)).get("supported_service"))

    @described("The resource allocated to the training.")
    async def allocated_resource(self, info: GatewayInfo) -> TrainingAllocatedResource | None:
        detail = await self._detail(info)
        return nested(detail, "allocated_resource", TrainingAllocatedResource.from_upstream)

    @described("Rotation state of the training video.")
    async def train_video_rotation_state(self, info: GatewayInfo) -> str | None:
        return text(await self._detail(info), "train_video_rotation_state")

    @described("Rotation state of the action video.")
    async def action_video_rotation_state(self, info: GatewayInfo) -> str | None:
        return text(await self._detail(info), "action_video_rotation_state")

    @described("The job's sub-jobs.")
    async def sub_training_job_info(self, info: GatewayInfo) -> list[SubTrainingJob]:
        jobs = records(await self._detail(info), "sub_training_job_info")
        return [SubTrainingJob.from_upstream(job) for job in jobs]


@strawberry.enum(description="What a training job list is ordered by.")
class TrainingJobSort(enum.Enum):
    CREATE_TIME = strawberry.enum_value(
        "CREATE_TIME",
        description="By creation time; pages anchor on it, so jobs created meanwhile never shift them.",
    )
    UPDATE_TIME = strawberry.enum_value(
        "UPDATE_TIME",
        description="By last update time; pages go by offset, as an update moves a job within the list.",
    )
    ASSET_ORDER = strawberry.enum_value("ASSET_ORDER", description="The model asset's order.")


@strawberry.input(description="Which training jobs to list; every field narrows the list (all must hold).")
class TrainingJobFilter:
    states: list[TrainingJobState] | None = strawberry.field(
        default=None, description="Only jobs in these states (not UNKNOWN)."
    )
    phases: list[TrainingJobPhase] | None = strawberry.field(
        default=None, description="Console phases; read as the states each one groups."
    )
    created_since: datetime | None = strawberry.field(
        default=None,
        description="Only jobs created at or after this time (the upstream compares whole seconds).",
    )
    created_until: datetime | None = strawberry.field(
        default=None,
        description="Only jobs created at or before this time (the upstream compares whole seconds).",
    )
    updated_since: datetime | None = strawberry.field(
        default=None, description="Only jobs last updated at or after this time."
    )
    updated_until: datetime | None = strawberry.field(
        default=None, description="Only jobs last updated at or before this time."
    )
    batch_name: str | None = strawberry.field(default=None, description="Only jobs of this batch.")
    tag: str | None = strawberry.field(default=None, description="Only jobs with this tag.")
    job_id: str | None = strawberry.field(default=None, description="Only the job with this upstream id.")
    name: str | None = strawberry.field(default=None, description="Jobs whose model name contains this.")
    model_resolution: str | None = strawberry.field(default=None, description="1080P or 4K.")
    is_flexus: bool | None = strawberry.field(
        default=None, description="Only Flexus (basic edition) trainings, or only others."
    )
    is_live_copy: bool | None = strawberry.field(
        default=None, description="Only live-room copy trainings, or only others."
    )
    is_ondemand_resource: bool | None = strawberry.field(
        default=None, description="Only trainings on on-demand (trial) resources, or only others."
    )
    train_location: str | None = strawberry.field(default=None, description="The training region.")
    sort_by: TrainingJobSort | None = strawberry.field(default=None, description="CREATE_TIME when unset.")
    sort_direction: SortDirection | None = strawberry.field(default=None, description="ASC when unset.")


def _wanted_states(where: TrainingJobFilter) -> list[str] | None:
    """The upstream `state` list for a filter; an empty list means no job can match."""
    states = None if where.states is None else set(where.states)
    if states is not None and TrainingJobState.UNKNOWN in states:
        raise BadUserInput("filter.states: UNKNOWN is not a state the upstream can filter on")
    if where.phases is not None:
        if TrainingJobPhase.UNKNOWN in where.phases:
            raise BadUserInput("filter.phases: UNKNOWN is not a phase the upstream can filter on")
        grouped = {state for phase in where.phases for state in PHASE_GROUPS[phase]}
        states = grouped if states is None else states & grouped
    if states is None:
        return None
    return [state.name for state in TrainingJobState if state in states]


def list_query(where: TrainingJobFilter) -> dict[str, QueryValue]:
    """The List2dModelTrainingJob query parameters for a filter (without state, paging)."""
    times = {
        "create_since": where.created_since,
        "create_until": where.created_until,
        "update_since": where.updated_since,
        "update_until": where.updated_until,
    }
    return {
        **{name: upstream_time(value) for name, value in times.items() if value is not None},
        "batch_name": where.batch_name,
        "tag": where.tag,
        "job_id": where.job_id,
        "name": where.name,
        "model_resolution": where.model_resolution,
        "is_flexus": where.is_flexus,
        "is_live_copy": where.is_live_copy,
        "is_ondemand_resource": where.is_ondemand_resource,
        "train_location": where.train_location,
        "sort_key": None if where.sort_by is None else where.sort_by.name.lower(),
        "sort_dir": None if where.sort_direction is None else where.sort_direction.name.lower(),
    }


@strawberry.type(description="A training job and where it is in the list.")
class TrainingJobEdge:
    cursor: str = strawberry.field(
        description="Opaque; pass as `after` to continue after this job, or `before` to go back from it."
    )
    node: TrainingJob = strawberry.field(description="The job.")


@strawberry.type(description="A page of training jobs.")
class TrainingJobConnection:
    edges: list[TrainingJobEdge] = strawberry.field(description="The jobs of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands in the whole list.")
    total: strawberry.Private[Lazy[int]]

    @direct_field(
        "How many jobs match the filter, as the upstream counts (on a page after or before a cursor, "
        "asking for it costs one more upstream call).",
        int,
    )
    def total_count(self) -> MaybeAwaitable[int]:
        return self.total.get()

    @classmethod
    def of(cls, page: Page) -> TrainingJobConnection:
        edges = [
            TrainingJobEdge(cursor=cursor, node=TrainingJob(job_id=str(job["job_id"]), known_summary=job))
            for job, cursor in zip(page.jobs, page.cursors, strict=True)
        ]
        return cls(edges=edges, page_info=page.page_info(), total=page.total)


def training_job_by_id(
    info: GatewayInfo, job_id: str, context: RequestContext | None = None
) -> Awaitable[TrainingJob | None]:
    """The job, or None when the caller has no training job with that id (queued at the call and
    `context` as for videos)."""
    return TrainingJob.found(job_id, (context or info.context).loaders.training.basic.shared(job_id), context)


@strawberry.type
class TrainingQueries:
    @described("A training job by its upstream id; null with a NOT_FOUND error when missing.")
    async def training_job(self, info: GatewayInfo, job_id: JobIdArgument) -> TrainingJob | None:
        job = await training_job_by_id(info, job_id)
        if job is None:
            raise NotFound("TrainingJob", job_id)
        return job

    @described(
        "The caller's training jobs, a page at a time: forward with first/after, backward with last/before. "
        "In create-time order (the default) a page continues from its cursor's job, so jobs created or "
        "deleted meanwhile neither repeat nor hide one; UPDATE_TIME and ASSET_ORDER page by offset (a "
        "job's update time moves it within the list, so no anchor holds) and may repeat or skip jobs "
        "that change meanwhile."
    )
    async def training_jobs(
        self,
        info: GatewayInfo,
        first: First = None,
        after: After = None,
        filter: Annotated[
            TrainingJobFilter | None,
            strawberry.argument(description="Which jobs, in what order; all by default."),
        ] = None,
        last: Last = None,
        before: Before = None,
    ) -> TrainingJobConnection:
        where = filter or TrainingJobFilter()
        sort_key = (where.sort_by or TrainingJobSort.CREATE_TIME).name.lower()
        order = ListOrder(
            kind=CURSOR_KIND,
            sort_key=sort_key,
            descending=where.sort_direction is SortDirection.DESC,
            anchored=sort_key == "create_time",
        )
        request = page_request(order, first, after, last, before)
        states = _wanted_states(where)
        if states == []:
            return TrainingJobConnection.of(empty_page())
        query: dict[str, QueryValue] = {"state": states, **list_query(where)}
        upstream = info.context.upstream

        async def fetch(sent: dict[str, QueryValue], offset: int, limit: int) -> tuple[list[Data], int]:
            answer = await upstream.call(
                upstream.client.list_2d_model_training_jobs, offset=offset, limit=limit, **sent
            )
            jobs = [job for job in records(answer, "jobs") if text(job, "job_id")]
            info.context.loaders.training.prime(jobs)
            return jobs, integer(answer, "count") or 0

        return TrainingJobConnection.of(await paginate(order, request, query, fetch, "create_time"))
