"""A training job's states, console phases and nested objects (logs, comments, marks, ...), read leniently."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from schema.reading import Data, flag, integer, link, records, text, texts
from schema.relay import UNKNOWN_DESCRIPTION, enum_value, optional_enum_value, parse_time


@strawberry.enum(description="Model version to train (Create2dModelTrainingJob model_version).")
class TrainingModelVersion(enum.Enum):
    V3_2 = strawberry.enum_value("V3.2", description="V3.2 model, the default.")
    V3_3 = strawberry.enum_value("V3.3", description="V3.3 model.")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="Where the trained voice comes from.")
class TrainingAudioSourceType(enum.Enum):
    VIDEO = strawberry.enum_value("VIDEO", description="Extracted from the training video.")
    AUDIO = strawberry.enum_value("AUDIO", description="A separately uploaded audio file.")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="A service the trained model may be used for.")
class TrainingSupportedService(enum.Enum):
    VIDEO_2D = strawberry.enum_value("VIDEO_2D", description="2D digital-human video production.")
    LIVE_2D = strawberry.enum_value("LIVE_2D", description="2D digital-human live streaming.")
    CHAT_2D = strawberry.enum_value("CHAT_2D", description="2D digital-human interactive chat.")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="The use the trained voice is tuned for (VoiceProperties job_tag).")
class TrainingVoiceJobTag(enum.Enum):
    ECOMMERCE = strawberry.enum_value("ECOMMERCE", description="E-commerce selling.")
    NEWS = strawberry.enum_value("NEWS", description="News reading.")
    MARKETING = strawberry.enum_value("MARKETING", description="Marketing.")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="The trained voice's sex.")
class TrainingVoiceSex(enum.Enum):
    FEMALE = strawberry.enum_value("FEMALE", description="A female voice.")
    MALE = strawberry.enum_value("MALE", description="A male voice.")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="The trained voice's language.")
class TrainingVoiceLanguage(enum.Enum):
    CN = strawberry.enum_value("CN", description="Chinese.")
    EN = strawberry.enum_value("EN", description="English.")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description=UNKNOWN_DESCRIPTION)


@strawberry.enum(description="A training job's state, as documented for Show2dModelTrainingJob.")
class TrainingJobState(enum.Enum):
    WAIT_FILE_UPLOAD = strawberry.enum_value("WAIT_FILE_UPLOAD", description="Waiting for the files.")
    AUTO_VERIFYING = strawberry.enum_value("AUTO_VERIFYING", description="Automatic review running.")
    MANUAL_VERIFYING = strawberry.enum_value("MANUAL_VERIFYING", description="Manual review running.")
    AUTO_VERIFY_FAILED = strawberry.enum_value("AUTO_VERIFY_FAILED", description="Automatic review failed.")
    MANUAL_VERIFY_FAILED = strawberry.enum_value("MANUAL_VERIFY_FAILED", description="Manual review failed.")
    MANUAL_VERIFY_SUCCESS = strawberry.enum_value(
        "MANUAL_VERIFY_SUCCESS", description="Review passed; waiting for preprocessing resources."
    )
    WAIT_TRAINING_DATA_PREPROCESS = strawberry.enum_value(
        "WAIT_TRAINING_DATA_PREPROCESS", description="Waiting for training data preprocessing."
    )
    TRAINING_DATA_PREPROCESSING = strawberry.enum_value(
        "TRAINING_DATA_PREPROCESSING", description="Preprocessing the training data."
    )
    TRAINING_DATA_PREPROCESS_FAILED = strawberry.enum_value(
        "TRAINING_DATA_PREPROCESS_FAILED", description="Training data preprocessing failed."
    )
    TRAINING_DATA_PREPROCESS_SUCCESS = strawberry.enum_value(
        "TRAINING_DATA_PREPROCESS_SUCCESS", description="Preprocessed; waiting for training resources."
    )
    TRAINING = strawberry.enum_value("TRAINING", description="Training.")
    TRAIN_FAILED = strawberry.enum_value("TRAIN_FAILED", description="Training failed.")
    TRAIN_SUCCESS = strawberry.enum_value(
        "TRAIN_SUCCESS", description="Trained; waiting for inference preprocessing resources."
    )
    INFERENCE_DATA_PREPROCESSING = strawberry.enum_value(
        "INFERENCE_DATA_PREPROCESSING", description="Preprocessing the inference data."
    )
    INFERENCE_DATA_PREPROCESS_FAILED = strawberry.enum_value(
        "INFERENCE_DATA_PREPROCESS_FAILED", description="Inference data preprocessing failed."
    )
    WAIT_MAIN_FILE_UPLOAD = strawberry.enum_value(
        "WAIT_MAIN_FILE_UPLOAD", description="Waiting for the main file to be uploaded."
    )
    MANUAL_STOP_INFERENCE_DATA_PREPROCESS = strawberry.enum_value(
        "MANUAL_STOP_INFERENCE_DATA_PREPROCESS",
        description="Inference preprocessing stopped by an administrator.",
    )
    MANUAL_STOP_TRAIN = strawberry.enum_value(
        "MANUAL_STOP_TRAIN", description="Training stopped by an administrator."
    )
    MANUAL_STOP_TRAINING_DATA_PREPROCESS = strawberry.enum_value(
        "MANUAL_STOP_TRAINING_DATA_PREPROCESS",
        description="Training data preprocessing stopped by an administrator.",
    )
    WAIT_ADMIN_CONFIRM = strawberry.enum_value(
        "WAIT_ADMIN_CONFIRM", description="Waiting for an administrator."
    )
    WAIT_COMPILE = strawberry.enum_value("WAIT_COMPILE", description="Waiting to be compiled.")
    COMPILING = strawberry.enum_value("COMPILING", description="Compiling.")
    COMPILE_FAILED = strawberry.enum_value("COMPILE_FAILED", description="Compiling failed.")
    WAIT_GENERATE_ACTION = strawberry.enum_value(
        "WAIT_GENERATE_ACTION", description="Waiting for atomic action generation."
    )
    WAIT_ARRANGE = strawberry.enum_value("WAIT_ARRANGE", description="Waiting for action arrangement.")
    ACTION_GENERATE_DATA_PROCESSING = strawberry.enum_value(
        "ACTION_GENERATE_DATA_PROCESSING", description="Generating atomic actions."
    )
    MANUAL_STOP_ACTION_GENERATE_DATA_PROCESSING = strawberry.enum_value(
        "MANUAL_STOP_ACTION_GENERATE_DATA_PROCESSING",
        description="Atomic action generation stopped by an administrator.",
    )
    MANUAL_STOP_ACTION_GENERATE_ORI_PROCESSING = strawberry.enum_value(
        "MANUAL_STOP_ACTION_GENERATE_ORI_PROCESSING",
        description="Action arrangement stopped by an administrator.",
    )
    ACTION_GENERATE_ORI_PROCESSING = strawberry.enum_value(
        "ACTION_GENERATE_ORI_PROCESSING", description="Arranging actions."
    )
    ACTION_GENERATE_DATA_FAILED = strawberry.enum_value(
        "ACTION_GENERATE_DATA_FAILED", description="Atomic action generation failed."
    )
    ACTION_GENERATE_ORI_FAILED = strawberry.enum_value(
        "ACTION_GENERATE_ORI_FAILED", description="Building the arranged action asset failed."
    )
    ACTION_GENERATE_ORI_SUCCESS = strawberry.enum_value(
        "ACTION_GENERATE_ORI_SUCCESS", description="Actions arranged."
    )
    GENERATE_ACTION_PREPROCESS_FAILED = strawberry.enum_value(
        "GENERATE_ACTION_PREPROCESS_FAILED",
        description="Generating the atomic actions of the arrangement failed.",
    )
    WAIT_ADMIN_CALIBRATION = strawberry.enum_value(
        "WAIT_ADMIN_CALIBRATION", description="Waiting for an administrator to confirm the actions."
    )
    WAIT_ASSET_SYNC = strawberry.enum_value(
        "WAIT_ASSET_SYNC", description="Waiting for the model asset to be synchronized."
    )
    WAIT_USER_CONFIRM = strawberry.enum_value(
        "WAIT_USER_CONFIRM", description="Waiting for the user to accept the result (whitelisted accounts)."
    )
    JOB_REJECT = strawberry.enum_value("JOB_REJECT", description="The user rejected the result.")
    JOB_SUCCESS = strawberry.enum_value("JOB_SUCCESS", description="Done; the model is ready to use.")
    JOB_FINISH = strawberry.enum_value(
        "JOB_FINISH", description="Done and accepted by the user; final (whitelisted accounts)."
    )
    JOB_PENDING = strawberry.enum_value("JOB_PENDING", description="Suspended (whitelisted accounts).")
    UNKNOWN = strawberry.enum_value(
        "UNKNOWN", description="A state this gateway does not know; see rawState."
    )


@strawberry.enum(description="The coarse group the MetaStudio console shows for a training job's state.")
class TrainingJobPhase(enum.Enum):
    PENDING_UPLOAD = strawberry.enum_value("PENDING_UPLOAD", description="To submit: files awaited.")
    VERIFYING = strawberry.enum_value("VERIFYING", description="Under review.")
    VERIFY_FAILED = strawberry.enum_value("VERIFY_FAILED", description="The review did not pass.")
    TRAINING = strawberry.enum_value(
        "TRAINING",
        description="In algorithm training; its many states (including failed or stopped steps) are for "
        "administrators to handle.",
    )
    AWAITING_USER_CONFIRMATION = strawberry.enum_value(
        "AWAITING_USER_CONFIRMATION", description="Waiting for the user to accept the result."
    )
    REJECTED = strawberry.enum_value("REJECTED", description="Rejected by the user.")
    SUCCEEDED = strawberry.enum_value("SUCCEEDED", description="Completed.")
    SUSPENDED = strawberry.enum_value("SUSPENDED", description="Suspended.")
    UNKNOWN = strawberry.enum_value("UNKNOWN", description="A state this gateway does not know.")


S = TrainingJobState

PHASE_GROUPS: dict[TrainingJobPhase, tuple[TrainingJobState, ...]] = {
    TrainingJobPhase.PENDING_UPLOAD: (S.WAIT_FILE_UPLOAD,),
    TrainingJobPhase.VERIFYING: (S.AUTO_VERIFYING, S.MANUAL_VERIFYING),
    TrainingJobPhase.VERIFY_FAILED: (S.AUTO_VERIFY_FAILED, S.MANUAL_VERIFY_FAILED),
    TrainingJobPhase.AWAITING_USER_CONFIRMATION: (S.WAIT_USER_CONFIRM,),
    TrainingJobPhase.REJECTED: (S.JOB_REJECT,),
    TrainingJobPhase.SUCCEEDED: (S.JOB_SUCCESS, S.JOB_FINISH),
    TrainingJobPhase.SUSPENDED: (S.JOB_PENDING,),
}
_OUTSIDE_TRAINING = {state for group in PHASE_GROUPS.values() for state in group} | {S.UNKNOWN}
# The console shows every other documented state as "algorithm training".
PHASE_GROUPS[TrainingJobPhase.TRAINING] = tuple(s for s in TrainingJobState if s not in _OUTSIDE_TRAINING)
PHASE_OF_STATE: dict[TrainingJobState, TrainingJobPhase] = {
    state: phase for phase, states in PHASE_GROUPS.items() for state in states
}

# Terminal: nothing moves the job on unless a person acts. That is success, rejection, every failure
# (review failures included: the user may fix and resubmit, but the system stops) and every manual stop
# (an administrator's halt, like a canceled video). Waiting states (files, admin, user, suspension) are
# steps of the normal flow and resume when the awaited party acts, so they are not terminal.
TERMINAL_TRAINING_STATES = frozenset(
    state.name
    for state in TrainingJobState
    if state.name.endswith("_FAILED") or state.name.startswith("MANUAL_STOP_")
) | {S.JOB_SUCCESS.name, S.JOB_FINISH.name, S.JOB_REJECT.name}


def training_state(raw: object) -> TrainingJobState:
    return enum_value(TrainingJobState, raw)


def training_phase(state: TrainingJobState) -> TrainingJobPhase:
    return PHASE_OF_STATE.get(state, TrainingJobPhase.UNKNOWN)


@strawberry.type(description="One entry of a training job's operation log (OperationLogInfo).")
class TrainingOperationLog:
    operate_time: datetime | None = strawberry.field(description="When it happened.")
    log_type: str | None = strawberry.field(
        description="What happened, as the upstream sent it: e.g. USER_CREATE_JOD, USER_VERIFYING_SUBMITTED, "
        "SYSTEM_VERIFY_FAILED, ADMIN_VERIFY_SUCCESS, SYSTEM_TRAINING, SYSTEM_JOB_SUCCESS."
    )
    log_description: str | None = strawberry.field(
        description="Review comments when a verification failed, or the error a processing step reported."
    )
    operate_user: str | None = strawberry.field(description="Who acted: USER, ADMIN or SYSTEM.")
    error_code: str | None = strawberry.field(
        description="The code of an automatic rejection, e.g. 44005901 (video resolution not accepted)."
    )
    redo_reasons: list[str] = strawberry.field(
        description="Why the material must be redone, when a review asked for it."
    )

    @classmethod
    def from_upstream(cls, data: Data) -> TrainingOperationLog:
        return cls(
            operate_time=parse_time(data.get("operate_time")),
            log_type=text(data, "log_type"),
            log_description=text(data, "log_description"),
            operate_user=text(data, "operate_user"),
            error_code=text(data, "error_code"),
            redo_reasons=texts(data, "redo_reasons"),
        )


@strawberry.type(description="An area of the training video treated specially in the matting check video.")
class VerifyVideoMattingArea:
    dx: int | None = strawberry.field(description="X of the area's top-left pixel.")
    dy: int | None = strawberry.field(description="Y of the area's top-left pixel.")
    width: int | None = strawberry.field(description="Width of the area, in pixels.")
    height: int | None = strawberry.field(description="Height of the area, in pixels.")
    method: str | None = strawberry.field(
        description="RESERVED (keep, no green removal), DELETE (remove green) or NO_DEGREEN (no de-greening)."
    )

    @classmethod
    def from_upstream(cls, data: Data) -> VerifyVideoMattingArea:
        return cls(
            dx=integer(data, "dx"),
            dy=integer(data, "dy"),
            width=integer(data, "width"),
            height=integer(data, "height"),
            method=text(data, "method"),
        )


@strawberry.type(description="A comment on a training job (CommentLogInfo).")
class TrainingCommentLog:
    operate_time: datetime | None = strawberry.field(description="When the comment was made.")
    comment_type: str | None = strawberry.field(description="USER_REJECT, USER_COMMENT or ADMIN_COMMENT.")
    comment_title: str | None = strawberry.field(description="The comment's title.")
    comment_message: str | None = strawberry.field(description="The comment's text.")
    attachment_download_url: list[str] = strawberry.field(description="Download URLs of the attachments.")

    @classmethod
    def from_upstream(cls, data: Data) -> TrainingCommentLog:
        return cls(
            operate_time=parse_time(data.get("operate_time")),
            comment_type=text(data, "comment_type"),
            comment_title=text(data, "comment_title"),
            comment_message=text(data, "comment_message"),
            attachment_download_url=texts(data, "attachment_download_url"),
        )


@strawberry.type(description="An atomic action sample offered for the model (ActionSampleInfo).")
class ActionSample:
    action_name_zh: str | None = strawberry.field(description="The action's Chinese name.")
    action_name_en: str | None = strawberry.field(description="The action's English name.")
    action_tag: str | None = strawberry.field(description="The action's tag.")
    catalog: str | None = strawberry.field(description="The action's category.")
    recommended_value: int | None = strawberry.field(description="Recommendation level, 0-100.")
    is_selected: bool | None = strawberry.field(description="Whether the action is chosen for the model.")
    sample_download_url: str | None = strawberry.field(description="Sample file URL, valid for 24 hours.")

    @classmethod
    def from_upstream(cls, data: Data) -> ActionSample:
        return cls(
            action_name_zh=text(data, "action_name_zh"),
            action_name_en=text(data, "action_name_en"),
            action_tag=text(data, "action_tag"),
            catalog=text(data, "catalog"),
            recommended_value=integer(data, "recommended_value"),
            is_selected=flag(data, "is_selected"),
            sample_download_url=link(data, "sample_download_url"),
        )


@strawberry.type(description='The part of the training video used for training; offsets as "HH:MM:SS.mmm".')
class TrainingVideoMark:
    video_start_time: str | None = strawberry.field(description="Start of the part used.")
    video_end_time: str | None = strawberry.field(description="End of the part used.")

    @classmethod
    def from_upstream(cls, data: Data) -> TrainingVideoMark:
        return cls(
            video_start_time=text(data, "video_start_time"), video_end_time=text(data, "video_end_time")
        )


@strawberry.type(description='The video parts used for inference preprocessing; offsets as "HH:MM:SS.mmm".')
class InferenceVideoMark:
    video_start_time: str | None = strawberry.field(description="Start of the part used.")
    video_end_time: str | None = strawberry.field(description="End of the part used.")
    chat_video_start_time: str | None = strawberry.field(description="Start of the interactive-chat part.")
    chat_video_end_time: str | None = strawberry.field(description="End of the interactive-chat part.")

    @classmethod
    def from_upstream(cls, data: Data) -> InferenceVideoMark:
        return cls(
            video_start_time=text(data, "video_start_time"),
            video_end_time=text(data, "video_end_time"),
            chat_video_start_time=text(data, "chat_video_start_time"),
            chat_video_end_time=text(data, "chat_video_end_time"),
        )


@strawberry.type(description="Properties of the voice trained with the model.")
class VoiceProperties:
    job_tag: TrainingVoiceJobTag | None = strawberry.field(description="The use the voice is tuned for.")
    sex: TrainingVoiceSex | None = strawberry.field(description="The voice's sex.")
    language: TrainingVoiceLanguage | None = strawberry.field(description="The voice's language.")

    @classmethod
    def from_upstream(cls, data: Data) -> VoiceProperties:
        return cls(
            job_tag=optional_enum_value(TrainingVoiceJobTag, text(data, "job_tag")),
            sex=optional_enum_value(TrainingVoiceSex, text(data, "sex")),
            language=optional_enum_value(TrainingVoiceLanguage, text(data, "language")),
        )


@strawberry.type(description='One marked action of the inference video; offsets as "HH:MM:SS.mmm".')
class ActionMark:
    action_start_time: str | None = strawberry.field(description="When the action starts.")
    action_end_time: str | None = strawberry.field(description="When the action ends.")
    action_type: str | None = strawberry.field(description="SILENCE or ACTION.")

    @classmethod
    def from_upstream(cls, data: Data) -> ActionMark:
        return cls(
            action_start_time=text(data, "action_start_time"),
            action_end_time=text(data, "action_end_time"),
            action_type=text(data, "action_type"),
        )


@strawberry.type(
    description="The actions marked in the inference preprocessing video (InferenceActionMarkInfo)."
)
class InferenceActionMark:
    action_info: list[ActionMark] = strawberry.field(description="The marked actions, in video order.")

    @classmethod
    def from_upstream(cls, data: Data) -> InferenceActionMark:
        return cls(action_info=[ActionMark.from_upstream(item) for item in records(data, "action_info")])


@strawberry.type(description='The part of the video used for eye correction; offsets as "HH:MM:SS.mmm".')
class InferenceEyeCorrectionMark:
    eye_correction_start_time: str | None = strawberry.field(description="Start of the part used.")
    eye_correction_end_time: str | None = strawberry.field(description="End of the part used.")

    @classmethod
    def from_upstream(cls, data: Data) -> InferenceEyeCorrectionMark:
        return cls(
            eye_correction_start_time=text(data, "eye_correction_start_time"),
            eye_correction_end_time=text(data, "eye_correction_end_time"),
        )


@strawberry.type(description="The resource allocated to a training job.")
class TrainingAllocatedResource:
    resource_id: str | None = strawberry.field(description="Id of the resource.")
    charge_mode: str | None = strawberry.field(description="PERIODIC (subscription) or ONE_TIME.")
    expire_time: datetime | None = strawberry.field(description="When the resource expires.")

    @classmethod
    def from_upstream(cls, data: Data) -> TrainingAllocatedResource:
        return cls(
            resource_id=text(data, "resource_id"),
            charge_mode=text(data, "charge_mode"),
            expire_time=parse_time(data.get("expire_time")),
        )


@strawberry.type(description="A sub-job of a training job (SubTrainingJobInfoDto).")
class SubTrainingJob:
    job_id: str | None = strawberry.field(description="Id of the sub-job.")
    sub_job_type: str | None = strawberry.field(description="What the sub-job does, as the upstream sent it.")
    heart_beat_id: str | None = strawberry.field(
        description="Id of the heartbeat the upstream tracks the sub-job's worker by."
    )
    state: str | None = strawberry.field(description="The sub-job's state, as the upstream sent it.")
    create_time: datetime | None = strawberry.field(description="When the sub-job was created.")
    last_update_time: datetime | None = strawberry.field(description="When the sub-job last changed.")

    @classmethod
    def from_upstream(cls, data: Data) -> SubTrainingJob:
        # Unlike the job itself, sub-jobs carry their times as epoch milliseconds.
        return cls(
            job_id=text(data, "job_id"),
            sub_job_type=text(data, "sub_job_type"),
            heart_beat_id=text(data, "heart_beat_id"),
            state=text(data, "state"),
            create_time=parse_time(data.get("create_time")),
            last_update_time=parse_time(data.get("last_update_time")),
        )
