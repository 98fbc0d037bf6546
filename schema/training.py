"""2D model training jobs: the TrainingJob type, by-id lookups and the filtered, paged list."""

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
from schema.errors import BadUserInput, NotFound
from schema.fields import (
    FLAG,
    INTEGER,
    LINK,
    TEXT,
    TEXTS,
    TIME,
    JobFields,
    detail,
    enum_of,
    enum_type,
    enums_of,
    job_by_id,
    many,
    member,
    one,
    summary,
)
from schema.paging import ListOrder, empty_page, page_request, paginate
from schema.reading import Data, integer, records, text
from schema.relay import Job, Summary, summary_field
from schema.resolvers import GatewayInfo, described
from schema.times import upstream_time
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
from schema.video_filter import SortDirection

CURSOR_KIND = "TrainingJob"


@strawberry.type(
    description="A 2D digital-human model training job (Show2dModelTrainingJob). `terminal` is true for "
    "JOB_SUCCESS, JOB_FINISH, JOB_REJECT, every *_FAILED state and every MANUAL_STOP_* state: the upstream "
    "moves the job no further without a person acting. Waiting states (WAIT_FILE_UPLOAD, WAIT_ADMIN_*, "
    "WAIT_USER_CONFIRM, JOB_PENDING) are not terminal. Fields a list page carries cost no extra upstream "
    "call; the detail fields (files, logs, marks, ...) cost one show call per job per request."
)
class TrainingJob(Job, JobFields):
    TERMINAL_STATES: ClassVar[frozenset[str]] = TERMINAL_TRAINING_STATES

    async def load_summary(self, info: GatewayInfo) -> Data:
        data = await self.context(info).loaders.training.basic.load(self.job_id)
        if data is None:
            raise NotFound("TrainingJob", self.job_id)
        return data

    async def load_detail(self, info: GatewayInfo) -> Data:
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

    name = summary(TEXT, "Model name; also the name of the model asset.")
    asset_id = summary(TEXT, "Id of the model asset.")
    project_id = summary(TEXT, "Project the model asset belongs to.")
    cover_download_url = summary(LINK, "Model cover download URL, valid for 24 hours.")
    last_update_time = summary(TIME, "When the user last updated the job (creation or resubmission).")
    create_time = summary(TIME, "When the job was created.")
    contact = summary(TEXT, "Phone number of the job's creator.")
    batch_name = summary(TEXT, "The batch the job belongs to.")
    tags = summary(TEXTS, "The job's tags.")
    model_version = summary(
        enum_of(TrainingModelVersion), "Model version: V3_2 (V3.2, the default) or V3_3; see rawModelVersion."
    )
    raw_model_version = summary(
        TEXT, "The model version exactly as the upstream sent it, e.g. V3.2.", key="model_version"
    )
    matting_type = summary(TEXT, "Matting type: AI (default) or MANUAL.")
    model_resolution = summary(TEXT, "Model resolution: 1080P (default) or 4K.")
    app_user_id = summary(TEXT, "The X-App-UserId the job was created with, if any.")
    is_flexus = summary(FLAG, "Whether this is a Flexus (basic edition) training.")
    is_live_copy = summary(FLAG, "Whether this is a live-room copy training.")
    is_fast_flexus = summary(FLAG, "Whether this is a fast Flexus training.")
    is_only_human_model = summary(
        FLAG, "Whether only the image model is trained, without a voice (Flexus only)."
    )
    optional_training_location = summary(TEXTS, "Regions the job may be trained in.")
    is_background_replacement = summary(
        FLAG, "Whether the background is replaced (the video was shot on a green screen)."
    )
    is_ondemand_resource = summary(FLAG, "Whether the job runs on on-demand (trial) resources.")

    # Detail fields: only the show call has them. Download URLs are valid for 24 hours.

    training_video_download_url = detail(LINK, "The training video.")
    id_card_image1_download_url = detail(LINK, "Front of the ID card.")
    id_card_image2_download_url = detail(LINK, "Back of the ID card.")
    grant_file_download_url = detail(LINK, "The letter of authorization.")
    pre_beauty_image_download_url = detail(LINK, "The image before whitening.")
    external_action_json_data_download_url = detail(LINK, "External action data (JSON).")
    action_video_download_url = detail(LINK, "The action video.")
    post_beauty_image_download_url = detail(LINK, "The image after whitening.")
    audio_file_download_url = detail(LINK, "The separately uploaded audio.")
    action_mark_file_download_url = detail(LINK, "The action mark file.")
    action_mark_file_upload_url = detail(LINK, "Where to upload the action mark file.")
    operation_logs = detail(many(TrainingOperationLog), "What happened to the job, oldest first.")
    verify_video_matting_info = detail(
        many(VerifyVideoMattingArea), "Areas treated specially when the matting check video is made."
    )
    comment_logs = detail(many(TrainingCommentLog), "Comments on the job, oldest first.")
    samples = detail(many(ActionSample), "Action video samples.")
    is_mask_file_uploaded = detail(FLAG, "Whether the mask file has been uploaded.")
    mask_file_download_url = detail(LINK, "The mask file.")
    verify_video_download_url = detail(LINK, "The review video.")
    markable_video_download_url = detail(LINK, "The video to mark.")
    markable_action_video_download_url = detail(LINK, "The action video to mark.")
    training_video_mark_info = detail(
        one(TrainingVideoMark),
        "The part of the training video used (upstream `traning_video_mark_info`).",
        key="traning_video_mark_info",
    )
    inference_data_process_video_mark_info = detail(
        one(InferenceVideoMark), "The video parts used for inference preprocessing."
    )
    voice_properties = detail(one(VoiceProperties), "Properties of the voice trained with the model.")
    inference_data_process_action_mark_info = detail(
        one(InferenceActionMark), "The actions marked in the inference preprocessing video."
    )
    inference_data_process_chat_action_mark_info = detail(
        one(InferenceActionMark),
        "The actions marked for interactive chat in the inference preprocessing video.",
    )
    inference_data_process_eye_correction_mark_info = detail(
        one(InferenceEyeCorrectionMark), "The video part used for eye correction."
    )
    worker_type = detail(TEXTS, "Machine types of the compile job.")
    beauty_level = detail(INTEGER, "Whitening level, 0 (none, the default) to 3.")
    voice_train_job_id = detail(TEXT, "Id of the voice training job.")
    flexus_retry_count = detail(INTEGER, "Retrainings a Flexus job has left (0-10); each one uses one.")
    audio_source_type = detail(
        enum_of(TrainingAudioSourceType),
        "Where the voice comes from: VIDEO (extracted) or AUDIO (uploaded apart).",
    )
    supported_service = detail(
        enums_of(TrainingSupportedService), "Services the model supports, e.g. VIDEO_2D, LIVE_2D."
    )
    allocated_resource = detail(one(TrainingAllocatedResource), "The resource allocated to the training.")
    train_video_rotation_state = detail(TEXT, "Rotation state of the training video.")
    action_video_rotation_state = detail(TEXT, "Rotation state of the action video.")
    sub_training_job_info = detail(many(SubTrainingJob), "The job's sub-jobs.")


@enum_type("What a training job list is ordered by.")
class TrainingJobSort(enum.Enum):
    CREATE_TIME = member("By creation time; pages anchor on it, so jobs created meanwhile never shift them.")
    UPDATE_TIME = member("By last update time; pages go by offset, as an update moves a job within the list.")
    ASSET_ORDER = member("The model asset's order.")


@strawberry.input(description="Which training jobs to list; every field narrows the list (all must hold).")
class TrainingJobFilter:
    states: list[TrainingJobState] | None = narrows("Only jobs in these states (not UNKNOWN).")
    phases: list[TrainingJobPhase] | None = narrows("Console phases; read as the states each one groups.")
    created_since: datetime | None = narrows(CREATED_SINCE)
    created_until: datetime | None = narrows(CREATED_UNTIL)
    updated_since: datetime | None = narrows("Only jobs last updated at or after this time.")
    updated_until: datetime | None = narrows("Only jobs last updated at or before this time.")
    batch_name: str | None = narrows("Only jobs of this batch.")
    tag: str | None = narrows("Only jobs with this tag.")
    job_id: str | None = narrows("Only the job with this upstream id.")
    name: str | None = narrows("Jobs whose model name contains this.")
    model_resolution: str | None = narrows("1080P or 4K.")
    is_flexus: bool | None = narrows("Only Flexus (basic edition) trainings, or only others.")
    is_live_copy: bool | None = narrows("Only live-room copy trainings, or only others.")
    is_ondemand_resource: bool | None = narrows(
        "Only trainings on on-demand (trial) resources, or only others."
    )
    train_location: str | None = narrows("The training region.")
    sort_by: TrainingJobSort | None = narrows("CREATE_TIME when unset.")
    sort_direction: SortDirection | None = narrows("ASC when unset.")


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
        **sort_query(where.sort_by, where.sort_direction),
    }


@strawberry.type(description="A training job and where it is in the list.")
class TrainingJobEdge(Edge[TrainingJob]):
    pass


@strawberry.type(description="A page of training jobs.")
class TrainingJobConnection(Connection[TrainingJobEdge]):
    total_count = total_count_field(
        "How many jobs match the filter, as the upstream counts (on a page after or before a cursor, "
        "asking for it costs one more upstream call)."
    )


def _edge(cursor: str, job: Data) -> TrainingJobEdge:
    return TrainingJobEdge(cursor=cursor, node=TrainingJob(job_id=str(job["job_id"]), known_summary=job))


def training_job_by_id(
    info: GatewayInfo, job_id: str, context: RequestContext | None = None
) -> Awaitable[TrainingJob | None]:
    """The job, or None when the caller has no training job with that id (queued at the call and
    `context` as for videos)."""
    return TrainingJob.found(job_id, (context or info.context).loaders.training.basic.shared(job_id), context)


@strawberry.type
class TrainingQueries:
    training_job = job_by_id(
        TrainingJob,
        training_job_by_id,
        "A training job by its upstream id; null with a NOT_FOUND error when missing.",
    )

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
        filter: Filter[TrainingJobFilter] = None,
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
            return TrainingJobConnection.of(empty_page(), _edge)
        query: dict[str, QueryValue] = {"state": states, **list_query(where)}
        upstream = info.context.upstream

        async def fetch(sent: dict[str, QueryValue], offset: int, limit: int) -> tuple[list[Data], int]:
            answer = await upstream.call(
                upstream.client.list_2d_model_training_jobs, offset=offset, limit=limit, **sent
            )
            jobs = [job for job in records(answer, "jobs") if text(job, "job_id")]
            info.context.loaders.training.prime(jobs)
            return jobs, integer(answer, "count") or 0

        page = await paginate(order, request, query, fetch, "create_time")
        return TrainingJobConnection.of(page, _edge)
