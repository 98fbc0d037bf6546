"""A training job's states, console phases and nested objects (logs, comments, marks, ...), read leniently."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from schema.enums import UNKNOWN_DESCRIPTION, enum_value
from schema.fields import (
    FLAG,
    INTEGER,
    LINK,
    TEXT,
    TEXTS,
    TIME,
    Upstream,
    enum_of,
    enum_type,
    many,
    member,
    upstream,
)


@enum_type("Model version to train (Create2dModelTrainingJob model_version).")
class TrainingModelVersion(enum.Enum):
    V3_2 = strawberry.enum_value("V3.2", description="V3.2 model, the default.")
    V3_3 = strawberry.enum_value("V3.3", description="V3.3 model.")
    UNKNOWN = member(UNKNOWN_DESCRIPTION)


@enum_type("Where the trained voice comes from.")
class TrainingAudioSourceType(enum.Enum):
    VIDEO = member("Extracted from the training video.")
    AUDIO = member("A separately uploaded audio file.")
    UNKNOWN = member(UNKNOWN_DESCRIPTION)


@enum_type("A service the trained model may be used for.")
class TrainingSupportedService(enum.Enum):
    VIDEO_2D = member("2D digital-human video production.")
    LIVE_2D = member("2D digital-human live streaming.")
    CHAT_2D = member("2D digital-human interactive chat.")
    UNKNOWN = member(UNKNOWN_DESCRIPTION)


@enum_type("The use the trained voice is tuned for (VoiceProperties job_tag).")
class TrainingVoiceJobTag(enum.Enum):
    ECOMMERCE = member("E-commerce selling.")
    NEWS = member("News reading.")
    MARKETING = member("Marketing.")
    UNKNOWN = member(UNKNOWN_DESCRIPTION)


@enum_type("The trained voice's sex.")
class TrainingVoiceSex(enum.Enum):
    FEMALE = member("A female voice.")
    MALE = member("A male voice.")
    UNKNOWN = member(UNKNOWN_DESCRIPTION)


@enum_type("The trained voice's language.")
class TrainingVoiceLanguage(enum.Enum):
    CN = member("Chinese.")
    EN = member("English.")
    UNKNOWN = member(UNKNOWN_DESCRIPTION)


@enum_type("A training job's state, as documented for Show2dModelTrainingJob.")
class TrainingJobState(enum.Enum):
    WAIT_FILE_UPLOAD = member("Waiting for the files.")
    AUTO_VERIFYING = member("Automatic review running.")
    MANUAL_VERIFYING = member("Manual review running.")
    AUTO_VERIFY_FAILED = member("Automatic review failed.")
    MANUAL_VERIFY_FAILED = member("Manual review failed.")
    MANUAL_VERIFY_SUCCESS = member("Review passed; waiting for preprocessing resources.")
    WAIT_TRAINING_DATA_PREPROCESS = member("Waiting for training data preprocessing.")
    TRAINING_DATA_PREPROCESSING = member("Preprocessing the training data.")
    TRAINING_DATA_PREPROCESS_FAILED = member("Training data preprocessing failed.")
    TRAINING_DATA_PREPROCESS_SUCCESS = member("Preprocessed; waiting for training resources.")
    TRAINING = member("Training.")
    TRAIN_FAILED = member("Training failed.")
    TRAIN_SUCCESS = member("Trained; waiting for inference preprocessing resources.")
    INFERENCE_DATA_PREPROCESSING = member("Preprocessing the inference data.")
    INFERENCE_DATA_PREPROCESS_FAILED = member("Inference data preprocessing failed.")
    WAIT_MAIN_FILE_UPLOAD = member("Waiting for the main file to be uploaded.")
    MANUAL_STOP_INFERENCE_DATA_PREPROCESS = member("Inference preprocessing stopped by an administrator.")
    MANUAL_STOP_TRAIN = member("Training stopped by an administrator.")
    MANUAL_STOP_TRAINING_DATA_PREPROCESS = member("Training data preprocessing stopped by an administrator.")
    WAIT_ADMIN_CONFIRM = member("Waiting for an administrator.")
    WAIT_COMPILE = member("Waiting to be compiled.")
    COMPILING = member("Compiling.")
    COMPILE_FAILED = member("Compiling failed.")
    WAIT_GENERATE_ACTION = member("Waiting for atomic action generation.")
    WAIT_ARRANGE = member("Waiting for action arrangement.")
    ACTION_GENERATE_DATA_PROCESSING = member("Generating atomic actions.")
    MANUAL_STOP_ACTION_GENERATE_DATA_PROCESSING = member(
        "Atomic action generation stopped by an administrator."
    )
    MANUAL_STOP_ACTION_GENERATE_ORI_PROCESSING = member("Action arrangement stopped by an administrator.")
    ACTION_GENERATE_ORI_PROCESSING = member("Arranging actions.")
    ACTION_GENERATE_DATA_FAILED = member("Atomic action generation failed.")
    ACTION_GENERATE_ORI_FAILED = member("Building the arranged action asset failed.")
    ACTION_GENERATE_ORI_SUCCESS = member("Actions arranged.")
    GENERATE_ACTION_PREPROCESS_FAILED = member("Generating the atomic actions of the arrangement failed.")
    WAIT_ADMIN_CALIBRATION = member("Waiting for an administrator to confirm the actions.")
    WAIT_ASSET_SYNC = member("Waiting for the model asset to be synchronized.")
    WAIT_USER_CONFIRM = member("Waiting for the user to accept the result (whitelisted accounts).")
    JOB_REJECT = member("The user rejected the result.")
    JOB_SUCCESS = member("Done; the model is ready to use.")
    JOB_FINISH = member("Done and accepted by the user; final (whitelisted accounts).")
    JOB_PENDING = member("Suspended (whitelisted accounts).")
    UNKNOWN = member("A state this gateway does not know; see rawState.")


@enum_type("The coarse group the MetaStudio console shows for a training job's state.")
class TrainingJobPhase(enum.Enum):
    PENDING_UPLOAD = member("To submit: files awaited.")
    VERIFYING = member("Under review.")
    VERIFY_FAILED = member("The review did not pass.")
    TRAINING = member(
        "In algorithm training; its many states (including failed or stopped steps) are for "
        "administrators to handle."
    )
    AWAITING_USER_CONFIRMATION = member("Waiting for the user to accept the result.")
    REJECTED = member("Rejected by the user.")
    SUCCEEDED = member("Completed.")
    SUSPENDED = member("Suspended.")
    UNKNOWN = member("A state this gateway does not know.")


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
