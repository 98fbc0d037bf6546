"""A training job's states, console phases and nested objects (logs, comments, marks, ...), read leniently."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from schema.fields import FLAG, INTEGER, LINK, TEXT, TEXTS, TIME, Upstream, enum_of, many, upstream
from schema.relay import UNKNOWN_DESCRIPTION, enum_value


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
class TrainingOperationLog(Upstream):
    operate_time: datetime | None = upstream(TIME, "When it happened.")
    log_type: str | None = upstream(
        TEXT,
        "What happened, as the upstream sent it: e.g. USER_CREATE_JOD, USER_VERIFYING_SUBMITTED, "
        "SYSTEM_VERIFY_FAILED, ADMIN_VERIFY_SUCCESS, SYSTEM_TRAINING, SYSTEM_JOB_SUCCESS.",
    )
    log_description: str | None = upstream(
        TEXT, "Review comments when a verification failed, or the error a processing step reported."
    )
    operate_user: str | None = upstream(TEXT, "Who acted: USER, ADMIN or SYSTEM.")
    error_code: str | None = upstream(
        TEXT, "The code of an automatic rejection, e.g. 44005901 (video resolution not accepted)."
    )
    redo_reasons: list[str] = upstream(TEXTS, "Why the material must be redone, when a review asked for it.")


@strawberry.type(description="An area of the training video treated specially in the matting check video.")
class VerifyVideoMattingArea(Upstream):
    dx: int | None = upstream(INTEGER, "X of the area's top-left pixel.")
    dy: int | None = upstream(INTEGER, "Y of the area's top-left pixel.")
    width: int | None = upstream(INTEGER, "Width of the area, in pixels.")
    height: int | None = upstream(INTEGER, "Height of the area, in pixels.")
    method: str | None = upstream(
        TEXT, "RESERVED (keep, no green removal), DELETE (remove green) or NO_DEGREEN (no de-greening)."
    )


@strawberry.type(description="A comment on a training job (CommentLogInfo).")
class TrainingCommentLog(Upstream):
    operate_time: datetime | None = upstream(TIME, "When the comment was made.")
    comment_type: str | None = upstream(TEXT, "USER_REJECT, USER_COMMENT or ADMIN_COMMENT.")
    comment_title: str | None = upstream(TEXT, "The comment's title.")
    comment_message: str | None = upstream(TEXT, "The comment's text.")
    attachment_download_url: list[str] = upstream(TEXTS, "Download URLs of the attachments.")


@strawberry.type(description="An atomic action sample offered for the model (ActionSampleInfo).")
class ActionSample(Upstream):
    action_name_zh: str | None = upstream(TEXT, "The action's Chinese name.")
    action_name_en: str | None = upstream(TEXT, "The action's English name.")
    action_tag: str | None = upstream(TEXT, "The action's tag.")
    catalog: str | None = upstream(TEXT, "The action's category.")
    recommended_value: int | None = upstream(INTEGER, "Recommendation level, 0-100.")
    is_selected: bool | None = upstream(FLAG, "Whether the action is chosen for the model.")
    sample_download_url: str | None = upstream(LINK, "Sample file URL, valid for 24 hours.")


@strawberry.type(description='The part of the training video used for training; offsets as "HH:MM:SS.mmm".')
class TrainingVideoMark(Upstream):
    video_start_time: str | None = upstream(TEXT, "Start of the part used.")
    video_end_time: str | None = upstream(TEXT, "End of the part used.")


@strawberry.type(description='The video parts used for inference preprocessing; offsets as "HH:MM:SS.mmm".')
class InferenceVideoMark(Upstream):
    video_start_time: str | None = upstream(TEXT, "Start of the part used.")
    video_end_time: str | None = upstream(TEXT, "End of the part used.")
    chat_video_start_time: str | None = upstream(TEXT, "Start of the interactive-chat part.")
    chat_video_end_time: str | None = upstream(TEXT, "End of the interactive-chat part.")


@strawberry.type(description="Properties of the voice trained with the model.")
class VoiceProperties(Upstream):
    job_tag: TrainingVoiceJobTag | None = upstream(
        enum_of(TrainingVoiceJobTag), "The use the voice is tuned for."
    )
    sex: TrainingVoiceSex | None = upstream(enum_of(TrainingVoiceSex), "The voice's sex.")
    language: TrainingVoiceLanguage | None = upstream(enum_of(TrainingVoiceLanguage), "The voice's language.")


@strawberry.type(description='One marked action of the inference video; offsets as "HH:MM:SS.mmm".')
class ActionMark(Upstream):
    action_start_time: str | None = upstream(TEXT, "When the action starts.")
    action_end_time: str | None = upstream(TEXT, "When the action ends.")
    action_type: str | None = upstream(TEXT, "SILENCE or ACTION.")


@strawberry.type(
    description="The actions marked in the inference preprocessing video (InferenceActionMarkInfo)."
)
class InferenceActionMark(Upstream):
    action_info: list[ActionMark] = upstream(many(ActionMark), "The marked actions, in video order.")


@strawberry.type(description='The part of the video used for eye correction; offsets as "HH:MM:SS.mmm".')
class InferenceEyeCorrectionMark(Upstream):
    eye_correction_start_time: str | None = upstream(TEXT, "Start of the part used.")
    eye_correction_end_time: str | None = upstream(TEXT, "End of the part used.")


@strawberry.type(description="The resource allocated to a training job.")
class TrainingAllocatedResource(Upstream):
    resource_id: str | None = upstream(TEXT, "Id of the resource.")
    charge_mode: str | None = upstream(TEXT, "PERIODIC (subscription) or ONE_TIME.")
    expire_time: datetime | None = upstream(TIME, "When the resource expires.")


# Unlike the job itself, sub-jobs carry their times as epoch milliseconds (TIME reads both).
@strawberry.type(description="A sub-job of a training job (SubTrainingJobInfoDto).")
class SubTrainingJob(Upstream):
    job_id: str | None = upstream(TEXT, "Id of the sub-job.")
    sub_job_type: str | None = upstream(TEXT, "What the sub-job does, as the upstream sent it.")
    heart_beat_id: str | None = upstream(
        TEXT, "Id of the heartbeat the upstream tracks the sub-job's worker by."
    )
    state: str | None = upstream(TEXT, "The sub-job's state, as the upstream sent it.")
    create_time: datetime | None = upstream(TIME, "When the sub-job was created.")
    last_update_time: datetime | None = upstream(TIME, "When the sub-job last changed.")
