"""Every documented training state reads as itself, in the console group the API reference puts it in."""

from __future__ import annotations

import pytest

from schema.training import TrainingJob
from schema.training_types import (
    TrainingJobPhase,
    TrainingJobState,
    training_phase,
    training_state,
)

# Show2dModelTrainingJob's reference page: each console group and the states it shows as that group.
DOCUMENTED = {
    "PENDING_UPLOAD": ["WAIT_FILE_UPLOAD"],
    "VERIFYING": ["AUTO_VERIFYING", "MANUAL_VERIFYING"],
    "VERIFY_FAILED": ["AUTO_VERIFY_FAILED", "MANUAL_VERIFY_FAILED"],
    "TRAINING": [
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
    ],
    "AWAITING_USER_CONFIRMATION": ["WAIT_USER_CONFIRM"],
    "REJECTED": ["JOB_REJECT"],
    "SUCCEEDED": ["JOB_SUCCESS", "JOB_FINISH"],
    "SUSPENDED": ["JOB_PENDING"],
}
STATE_PHASES = [(state, phase) for phase, states in DOCUMENTED.items() for state in states]
# The upstream moves these no further unless a person acts: success, rejection, failures, manual stops.
TERMINAL = {
    "JOB_SUCCESS",
    "JOB_FINISH",
    "JOB_REJECT",
    "AUTO_VERIFY_FAILED",
    "MANUAL_VERIFY_FAILED",
    "TRAINING_DATA_PREPROCESS_FAILED",
    "TRAIN_FAILED",
    "INFERENCE_DATA_PREPROCESS_FAILED",
    "COMPILE_FAILED",
    "ACTION_GENERATE_DATA_FAILED",
    "ACTION_GENERATE_ORI_FAILED",
    "GENERATE_ACTION_PREPROCESS_FAILED",
    "MANUAL_STOP_INFERENCE_DATA_PREPROCESS",
    "MANUAL_STOP_TRAIN",
    "MANUAL_STOP_TRAINING_DATA_PREPROCESS",
    "MANUAL_STOP_ACTION_GENERATE_DATA_PROCESSING",
    "MANUAL_STOP_ACTION_GENERATE_ORI_PROCESSING",
}


@pytest.mark.parametrize(("raw", "phase"), STATE_PHASES)
def test_a_documented_state_reads_as_itself_in_its_console_phase(raw: str, phase: str) -> None:
    state = training_state(raw)
    assert state.name == raw
    assert training_phase(state) is TrainingJobPhase[phase]


@pytest.mark.parametrize(("raw", "phase"), STATE_PHASES)
def test_a_state_is_terminal_only_when_nothing_moves_it_on_by_itself(raw: str, phase: str) -> None:
    assert TrainingJob.is_terminal(raw) is (raw in TERMINAL)


def test_the_state_enum_is_exactly_the_documented_states_plus_unknown() -> None:
    documented = {state for _, states in DOCUMENTED.items() for state in states}
    assert len(documented) == 40
    assert {state.name for state in TrainingJobState} == documented | {"UNKNOWN"}
    assert {phase.name for phase in TrainingJobPhase} == set(DOCUMENTED) | {"UNKNOWN"}


@pytest.mark.parametrize("raw", ["JOB_ARCHIVED", "job_success", "", None, 7])
def test_an_unexpected_state_is_unknown_and_never_terminal(raw: object) -> None:
    state = training_state(raw)
    assert state is TrainingJobState.UNKNOWN
    assert training_phase(state) is TrainingJobPhase.UNKNOWN
    assert TrainingJob.is_terminal(str(raw)) is False
