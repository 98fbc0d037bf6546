"""Job records the emulator keeps, their kinds and the states each kind can be in."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class JobKind(Enum):
    VIDEO_2D = "2D_DIGITAL_HUMAN_VIDEO"
    VIDEO_PHOTO = "PHOTO_DIGITAL_HUMAN_VIDEO"
    TRAINING = "TRAINING"
    PICTURE = "PICTURE_MODELING"

    @property
    def is_video(self) -> bool:
        return self in (JobKind.VIDEO_2D, JobKind.VIDEO_PHOTO)


VIDEO_STATES = ("WAITING", "PROCESSING", "SUCCEED", "FAILED", "CANCELED", "BLOCK")
VIDEO_ENDS = frozenset({"SUCCEED", "FAILED", "CANCELED"})

PICTURE_STATES = ("WAITING", "PROCESSING", "PARTIAL_SUCCEED", "SUCCEED", "FAILED", "CANCELED")
PICTURE_ENDS = frozenset({"PARTIAL_SUCCEED", "SUCCEED", "FAILED", "CANCELED"})

TRAINING_STATES = (
    "WAIT_FILE_UPLOAD",
    "AUTO_VERIFYING",
    "MANUAL_VERIFYING",
    "AUTO_VERIFY_FAILED",
    "MANUAL_VERIFY_FAILED",
    "MANUAL_VERIFY_SUCCESS",
    "WAIT_TRAINING_DATA_PREPROCESS",
    "TRAINING_DATA_PREPROCESSING",
    "TRAINING_DATA_PREPROCESS_FAILED",
    "TRAINING_DATA_PREPROCESS_SUCCESS",
    "TRAINING",
    "TRAIN_FAILED",
    "TRAIN_SUCCESS",
    "INFERENCE_DATA_PREPROCESSING",
    "INFERENCE_DATA_PREPROCESS_FAILED",
    "WAIT_MAIN_FILE_UPLOAD",
    "MANUAL_STOP_INFERENCE_DATA_PREPROCESS",
    "MANUAL_STOP_TRAIN",
    "MANUAL_STOP_TRAINING_DATA_PREPROCESS",
    "WAIT_ADMIN_CONFIRM",
    "WAIT_COMPILE",
    "COMPILING",
    "COMPILE_FAILED",
    "WAIT_GENERATE_ACTION",
    "WAIT_ARRANGE",
    "ACTION_GENERATE_DATA_PROCESSING",
    "MANUAL_STOP_ACTION_GENERATE_DATA_PROCESSING",
    "MANUAL_STOP_ACTION_GENERATE_ORI_PROCESSING",
    "ACTION_GENERATE_ORI_PROCESSING",
    "ACTION_GENERATE_DATA_FAILED",
    "ACTION_GENERATE_ORI_FAILED",
    "ACTION_GENERATE_ORI_SUCCESS",
    "GENERATE_ACTION_PREPROCESS_FAILED",
    "WAIT_ADMIN_CALIBRATION",
    "WAIT_ASSET_SYNC",
    "WAIT_USER_CONFIRM",
    "JOB_REJECT",
    "JOB_SUCCESS",
    "JOB_FINISH",
    "JOB_PENDING",
)
TRAINING_ENDS = frozenset(
    {
        "AUTO_VERIFY_FAILED",
        "MANUAL_VERIFY_FAILED",
        "TRAINING_DATA_PREPROCESS_FAILED",
        "TRAIN_FAILED",
        "INFERENCE_DATA_PREPROCESS_FAILED",
        "COMPILE_FAILED",
        "JOB_SUCCESS",
        "JOB_FINISH",
        "JOB_REJECT",
    }
)


def states_of(kind: JobKind) -> tuple[str, ...]:
    if kind.is_video:
        return VIDEO_STATES
    return PICTURE_STATES if kind is JobKind.PICTURE else TRAINING_STATES


def ends_of(kind: JobKind) -> frozenset[str]:
    if kind.is_video:
        return VIDEO_ENDS
    return PICTURE_ENDS if kind is JobKind.PICTURE else TRAINING_ENDS


@dataclass(frozen=True)
class Step:
    """A planned move to `state` once the job has spent `after` seconds in its current state."""

    state: str
    after: float
    error: tuple[str, str] | None = None


@dataclass(eq=False)
class Job:
    job_id: str
    kind: JobKind
    owner: str
    state: str
    created_at: float
    updated_at: float
    # What the caller sent (or the seed made up); rendered back in detail answers.
    data: dict[str, Any] = field(default_factory=dict)
    pending: list[Step] = field(default_factory=list)
    due_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    error_info: dict[str, str] | None = None
    callback_url: str | None = None

    @property
    def ended(self) -> bool:
        return self.state in ends_of(self.kind)
